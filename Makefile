# ringvisor build. `make` builds build/ringvisor and the guest kit; `make test` installs
# what is missing, builds, and runs every test; `make demo` boots the guest kit.
BUILD   ?= build
CC      ?= gcc
WARN     = -Wall -Wextra -Werror
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) -D_GNU_SOURCE -I. -MMD -MP $(EXTRA_CFLAGS)
LDLIBS   = -luring -lfdt -lnuma -lcjson -lpthread
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

LIB_DIRS = engine kvm virtio vfio acpi api
LIB_SRC  = $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ = $(BUILD)/vmm/main.o $(BUILD)/vmm/machine.o $(BUILD)/vmm/vmm.o
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Host tools for tests and benches, one C file each: tests/tools/NAME.c -> $(BUILD)/tests/NAME
TOOL_BIN = $(addprefix $(BUILD)/tests/,deny_io_uring api_load net_peer http_fixed tap_guest)

.PHONY: all asan deps test unit demo bench clean linux-image
all: $(BUILD)/ringvisor $(BUILD)/ringvisor-remote $(BUILD)/guest/guest.elf $(UNIT_BIN) $(TOOL_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DRV_VERSION='"$(VERSION)"' -c $< -o $@

$(BUILD)/libringvisor.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/ringvisor: $(MAIN_OBJ) $(BUILD)/libringvisor.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/ringvisor-remote: $(BUILD)/vmm/remote.o
	$(CC) $(ALL_CFLAGS) -o $@ $^

$(TOOL_BIN): $(BUILD)/tests/%: tests/tools/%.c tests/tools/net_payload.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libringvisor.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

include tests/guest/guest.mk

# Sanitizer build in its own tree: ringvisor and the unit tests under ASan + UBSan.
asan:
	$(MAKE) BUILD=build/asan EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		build/asan/ringvisor $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)

deps:
	@bash .ci/install-deps

test: deps
	$(MAKE) all
	$(MAKE) asan
	bash tests/run.sh

unit: all
	bash tests/run.sh --unit

demo: deps
	$(MAKE) all
	bash tests/demo.sh

linux-image: deps
	bash tests/linux/build-image.sh

bench: deps all
	bash bench/boot.sh

clean:
	rm -rf build

-include $(shell find $(BUILD) -path $(BUILD)/linux -prune -o -type f -name '*.d' -print 2>/dev/null)
