# guest.mk — builds the guest kit ($(BUILD)/guest/guest.elf), a freestanding
# PVH-bootable x86-64 ELF. Included by the top-level Makefile; it defines only
# GUEST_* variables and its own rules, never touches the host CFLAGS.
#
# Code generation notes (why these flags): CPL0 code is emulated on kvm_pvm
# and its emulator rejects SSE/AVX/VEX encodings, so: general registers only,
# baseline x86-64 ISA, no red zone (exceptions arrive on the same stack at
# CPL0), no PIC/PIE (linked at a fixed physical address), no stack protector
# (no TLS).

BUILD ?= build
GUEST_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
GUEST_OUT := $(BUILD)/guest

GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -nostdlib -fno-builtin -mgeneral-regs-only -mno-red-zone \
	-march=x86-64 -mtune=generic -mcmodel=small -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fcf-protection=none -fno-tree-loop-distribute-patterns
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack \
	-Wl,--no-warn-rwx-segments -Wl,-T,$(GUEST_DIR)/guest.ld

GUEST_C := $(wildcard $(GUEST_DIR)/*.c)
GUEST_S := $(wildcard $(GUEST_DIR)/*.S)
GUEST_OBJS := $(patsubst $(GUEST_DIR)/%.c,$(GUEST_OUT)/%.o,$(GUEST_C)) \
	$(patsubst $(GUEST_DIR)/%.S,$(GUEST_OUT)/%.S.o,$(GUEST_S))

.PHONY: guest guest-clean
guest: $(GUEST_OUT)/guest.elf

$(GUEST_OUT)/guest.elf: $(GUEST_OBJS) $(GUEST_DIR)/guest.ld
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS)

$(filter %.S.o,$(GUEST_OBJS)): $(GUEST_OUT)/%.S.o: $(GUEST_DIR)/%.S
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(filter-out %.S.o,$(GUEST_OBJS)): $(GUEST_OUT)/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

guest-clean:
	rm -rf $(GUEST_OUT)

-include $(GUEST_OBJS:.o=.d)
