/* Unit tests for guest memory bounds, the e820 map, the MP table, the bus and CPUID. */
#include "check.h"

#include "engine/log.h"
#include "kvm/bus.h"
#include "kvm/cpuid.h"
#include "kvm/e820.h"
#include "kvm/guest_mem.h"
#include "kvm/kvm.h"
#include "kvm/layout.h"
#include "kvm/mptable.h"
#include "kvm/reset_vector.h"

#include <errno.h>
#include <stdlib.h>

static void test_parse_size(void)
{
	uint64_t v;
	CHECK_EQ(parse_size("256M", &v), 0);
	CHECK_EQ(v, 256ull << 20);
	CHECK_EQ(parse_size("4G", &v), 0);
	CHECK_EQ(v, 4ull << 30);
	CHECK_EQ(parse_size("4GiB", &v), 0);
	CHECK_EQ(v, 4ull << 30);
	CHECK_EQ(parse_size("4096", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(parse_size("1k", &v), 0);
	CHECK_EQ(v, 1024);
	CHECK(parse_size("", &v) < 0);
	CHECK(parse_size("-1G", &v) < 0);
	CHECK(parse_size("12X", &v) < 0);
	CHECK(parse_size("99999999999999999999", &v) < 0);
	CHECK(parse_size("17179869184T", &v) < 0); /* 2^34 TiB overflows 64 bits */
}

static void test_guest_mem_bounds(void)
{
	struct guest_mem m;
	CHECK_EQ(guest_mem_create(&m, 4ull << 30, 46), 0);
	CHECK_EQ(m.n_regions, 2);
	CHECK_EQ(m.regions[0].size, LAYOUT_PCI_HOLE_START);
	CHECK_EQ(m.regions[1].gpa, LAYOUT_4G);
	CHECK_EQ(m.regions[1].size, (4ull << 30) - LAYOUT_PCI_HOLE_START);
	CHECK(guest_mem_ptr(&m, 0, 4096) == m.zones[0].base);
	CHECK(guest_mem_ptr(&m, LAYOUT_PCI_HOLE_START - 8, 8) != NULL);
	/* across the end of low RAM into the hole */
	CHECK(guest_mem_ptr(&m, LAYOUT_PCI_HOLE_START - 8, 16) == NULL);
	/* inside the hole */
	CHECK(guest_mem_ptr(&m, LAYOUT_LAPIC, 4) == NULL);
	/* across the gap from the top of low RAM to 4 GiB */
	CHECK(guest_mem_ptr(&m, LAYOUT_PCI_HOLE_START - 4096, LAYOUT_4G - LAYOUT_PCI_HOLE_START + 8192) == NULL);
	CHECK(guest_mem_ptr(&m, LAYOUT_4G, 4096) == m.zones[0].base + LAYOUT_PCI_HOLE_START);
	/* past the end, and lengths that wrap */
	CHECK(guest_mem_ptr(&m, LAYOUT_4G + (1ull << 30), 1) == NULL);
	CHECK(guest_mem_ptr(&m, LAYOUT_4G + (1ull << 30) - 1, 1) != NULL);
	CHECK(guest_mem_ptr(&m, 4096, ~0ull) == NULL);
	CHECK(guest_mem_ptr(&m, ~0ull - 10, 100) == NULL);
	CHECK(guest_mem_ptr(&m, 0x1000, 0xfffffffffffff000ull) == NULL);
	CHECK_EQ(guest_mem_write(&m, LAYOUT_LAPIC, "x", 1), -EFAULT);
	guest_mem_destroy(&m);
}

static void test_guest_mem_refuses(void)
{
	struct guest_mem m;
	log_set_level(LOG_QUIET); /* these failures are expected: keep the output clean */
	CHECK(guest_mem_create(&m, 1 << 20, 46) < 0);               /* too small */
	CHECK(guest_mem_create(&m, (64ull << 20) + 1, 46) < 0);     /* not page-sized */
	CHECK(guest_mem_create(&m, 1ull << 46, 46) < 0);            /* above the address width */
	log_set_level(LOG_INFO);
}

static void test_e820(void)
{
	struct guest_mem m;
	struct e820_entry map[8];
	CHECK_EQ(guest_mem_create(&m, 64ull << 20, 46), 0);
	unsigned n = e820_build(&m, map, 8);
	CHECK_EQ(n, 3);
	CHECK_EQ(map[0].addr, 0);
	CHECK_EQ(map[0].size, LAYOUT_EBDA);
	CHECK_EQ(map[0].type, E820_RAM);
	CHECK_EQ(map[1].type, E820_RESERVED);
	CHECK_EQ(map[1].addr + map[1].size, LAYOUT_HIMEM);
	CHECK_EQ(map[2].addr, LAYOUT_HIMEM);
	CHECK_EQ(map[2].addr + map[2].size, 64ull << 20);
	guest_mem_destroy(&m);

	CHECK_EQ(guest_mem_create(&m, 5ull << 30, 46), 0);
	n = e820_build(&m, map, 8);
	CHECK_EQ(n, 4);
	CHECK_EQ(map[2].addr + map[2].size, LAYOUT_PCI_HOLE_START);
	CHECK_EQ(map[3].addr, LAYOUT_4G);
	CHECK_EQ(map[3].size, (5ull << 30) - LAYOUT_PCI_HOLE_START);
	guest_mem_destroy(&m);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Linux's BIOS-reset fallback jumps to F000:FFF0: the code there must reset through the
 * FADT's register (a guest stuck after "reboot: machine restart" without it). */
static void test_reset_vector(void)
{
	struct guest_mem m;
	CHECK_EQ(guest_mem_create(&m, 64ull << 20, 46), 0);
	CHECK_EQ(mptable_write(&m, MPTABLE_MAX_CPUS), 0);
	uint8_t before[16];
	memcpy(before, guest_mem_ptr(&m, LAYOUT_BIOS_START, 16), 16);
	CHECK_EQ(reset_vector_write(&m), 0);
	const uint8_t *p = guest_mem_ptr(&m, 0xffff0, 16);
	/* mov dx, port; mov al, value; out dx, al */
	CHECK_EQ(p[0], 0xba);
	CHECK_EQ(p[1] | p[2] << 8, PORT_ACPI_RESET);
	CHECK_EQ(p[3], 0xb0);
	CHECK_EQ(p[4], ACPI_RESET_VALUE);
	CHECK_EQ(p[5], 0xee);
	/* then it halts for good: cli; hlt; a jump back to the hlt */
	CHECK_EQ(p[6], 0xfa);
	CHECK_EQ(p[7], 0xf4);
	CHECK_EQ(p[8], 0xeb);
	CHECK_EQ((int8_t)p[9], -3);
	/* the MP table below it is untouched */
	CHECK(memcmp(before, guest_mem_ptr(&m, LAYOUT_BIOS_START, 16), 16) == 0);
	guest_mem_destroy(&m);
}

static void test_mptable(void)
{
	struct guest_mem m;
	CHECK_EQ(guest_mem_create(&m, 64ull << 20, 46), 0);
	CHECK_EQ(mptable_write(&m, 4), 0);
	uint8_t *mpf = guest_mem_ptr(&m, LAYOUT_BIOS_START, 16);
	CHECK(memcmp(mpf, "_MP_", 4) == 0);
	CHECK_EQ(sum(mpf, 16), 0);
	uint32_t physptr;
	memcpy(&physptr, mpf + 4, 4);
	uint8_t *h = guest_mem_ptr(&m, physptr, 44);
	CHECK(h && memcmp(h, "PCMP", 4) == 0);
	uint16_t len;
	memcpy(&len, h + 4, 2);
	CHECK_EQ(sum(h, len), 0);
	/* processor entries: one per vCPU, APIC ids 0..3, only the first is the BSP */
	uint8_t *e = h + 44;
	for (int i = 0; i < 4; i++, e += 20) {
		CHECK_EQ(e[0], 0);
		CHECK_EQ(e[1], i);
		CHECK_EQ(e[3], i == 0 ? 3 : 1);
	}
	CHECK_EQ(e[0], 1); /* then the bus */
	CHECK(mptable_write(&m, 0) < 0);
	CHECK(mptable_write(&m, MPTABLE_MAX_CPUS + 1) < 0);
	CHECK_EQ(mptable_write(&m, MPTABLE_MAX_CPUS), 0);
	guest_mem_destroy(&m);
}

static void nop_write(void *d, uint64_t a, uint64_t v, unsigned s) { (void)d, (void)a, (void)v, (void)s; }
static uint64_t nop_read(void *d, uint64_t a, unsigned s) { (void)d, (void)a, (void)s; return 0; }
static const struct bus_ops nops = { nop_write, nop_read };

static void test_bus(void)
{
	struct bus b;
	bus_init(&b, "test");
	log_set_level(LOG_QUIET);
	CHECK_EQ(bus_add(&b, 0x3f8, 8, &nops, NULL, NULL, "a"), 0);
	CHECK_EQ(bus_add(&b, 0x60, 1, &nops, NULL, NULL, "b"), 0);
	CHECK_EQ(bus_add(&b, 0x64, 1, &nops, NULL, NULL, "c"), 0);
	CHECK_EQ(bus_add(&b, 0x3fc, 8, &nops, NULL, NULL, "overlap"), -EEXIST);
	CHECK_EQ(bus_add(&b, 0x10, 0, &nops, NULL, NULL, "empty"), -EINVAL);
	CHECK_EQ(bus_add(&b, ~0ull - 1, 4, &nops, NULL, NULL, "wraps"), -EINVAL);
	log_set_level(LOG_INFO);
	CHECK(bus_find(&b, 0x3f8, 1) && !strcmp(bus_find(&b, 0x3f8, 1)->name, "a"));
	CHECK(bus_find(&b, 0x3ff, 1) != NULL);
	CHECK(bus_find(&b, 0x3ff, 2) == NULL); /* runs off the end */
	CHECK(bus_find(&b, 0x400, 1) == NULL);
	CHECK(bus_find(&b, 0x61, 1) == NULL);
	CHECK(!strcmp(bus_find(&b, 0x64, 1)->name, "c"));
	CHECK(bus_find(&b, 0, 1) == NULL);
	bus_free(&b);
}

static struct kvm_cpuid2 *fake_supported(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 8 * sizeof(struct kvm_cpuid_entry2));
	c->nent = 4;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0xd };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0x07000800, .edx = 0 };
	/* a host topology leaf with 2 threads/core that must not leak into the guest */
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
						   .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 7 };
	c->entries[3] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 0x3030, .ecx = 0x7007 };
	return c;
}

static void test_cpuid_topology(void)
{
	struct kvm_cpuid2 *sup = fake_supported();
	for (unsigned idx = 0; idx < 3; idx++) {
		struct kvm_cpuid2 *c = cpuid_for_vcpu(sup, idx, 3);
		struct kvm_cpuid_entry2 *e;
		CHECK(c != NULL);
		e = cpuid_find(c, 1, 0);
		CHECK_EQ(e->ebx >> 24, idx);             /* initial APIC id */
		CHECK_EQ((e->ebx >> 16) & 0xff, 4);      /* logical processors, power of two */
		CHECK(e->edx & (1u << 28));              /* HTT */
		CHECK(e->ecx & (1u << 31));              /* hypervisor */
		e = cpuid_find(c, 0xb, 0);
		CHECK(e != NULL);
		CHECK_EQ(e->ebx, 1);                     /* one thread per core */
		CHECK_EQ(e->eax, 0);
		CHECK_EQ(e->edx, idx);                   /* x2APIC id */
		e = cpuid_find(c, 0xb, 1);
		CHECK(e != NULL);
		CHECK_EQ(e->ebx, 3);                     /* three cores */
		CHECK_EQ(e->eax, 2);                     /* shift to the package id */
		CHECK_EQ((e->ecx >> 8) & 0xff, 2);       /* level type core */
		CHECK_EQ(e->edx, idx);
		e = cpuid_find(c, 0xb, 2);
		CHECK(e && e->ebx == 0 && ((e->ecx >> 8) & 0xff) == 0);
		e = cpuid_find(c, 0x80000008, 0);
		CHECK_EQ(e->ecx & 0xff, 2);              /* AMD: cores - 1 */
		CHECK_EQ(e->eax, 0x3030);                /* address widths pass through */
		free(c);
	}
	struct kvm_cpuid2 *one = cpuid_for_vcpu(sup, 0, 1);
	CHECK(!(cpuid_find(one, 1, 0)->edx & (1u << 28)));
	CHECK_EQ(cpuid_find(one, 0xb, 1)->ebx, 1);
	free(one);
	free(sup);
}

static void test_cpuid_tsc_leaf(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 4 * sizeof(struct kvm_cpuid_entry2));
	c->nent = 1;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0x40000000, .eax = 0x40000001 };
	cpuid_set_tsc_khz(c, 2596122);
	CHECK_EQ(c->nent, 2);
	CHECK_EQ(cpuid_find(c, 0x40000000, 0)->eax, 0x40000010);
	CHECK_EQ(cpuid_find(c, 0x40000010, 0)->eax, 2596122);
	cpuid_set_tsc_khz(c, 1000000); /* updated in place, not added twice */
	CHECK_EQ(c->nent, 2);
	CHECK_EQ(cpuid_find(c, 0x40000010, 0)->eax, 1000000);
	free(c);
	struct kvm_cpuid2 *none = fake_supported(); /* no hypervisor leaves: left alone */
	unsigned n = none->nent;
	cpuid_set_tsc_khz(none, 2596122);
	CHECK_EQ(none->nent, n);
	free(none);
}

static int caps_all(void *ctx, int cap) { (void)ctx, (void)cap; return 1; }
static int caps_no_irqfd(void *ctx, int cap) { (void)ctx; return cap == KVM_CAP_IRQFD ? 0 : 1; }

static void test_kvm_required_caps(void)
{
	CHECK(kvm_missing_cap(caps_all, NULL) == NULL);
	const struct kvm_required_cap *m = kvm_missing_cap(caps_no_irqfd, NULL);
	CHECK(m != NULL);
	CHECK(!strcmp(m->name, "KVM_CAP_IRQFD"));
	CHECK(m->why && *m->why);
}

int main(void)
{
	log_init();
	RUN(test_parse_size);
	RUN(test_guest_mem_bounds);
	RUN(test_guest_mem_refuses);
	RUN(test_e820);
	RUN(test_mptable);
	RUN(test_reset_vector);
	RUN(test_bus);
	RUN(test_cpuid_topology);
	RUN(test_cpuid_tsc_leaf);
	RUN(test_kvm_required_caps);
	CHECK_EXIT();
}
