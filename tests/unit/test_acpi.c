/* Unit tests for the AML builder and the ACPI tables: encodings checked byte by byte,
 * every table's length and checksum, the XSDT's pointers, the FADT's registers, the MADT's
 * entries, and the DSDT decoded back (devices, their _HID and resources). */
#include "check.h"

#include "acpi/aml.h"
#include "acpi/tables.h"
#include "kvm/mptable.h"
#include "engine/log.h"

static const uint8_t *find(const uint8_t *p, size_t n, const void *pat, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(p + i, pat, m))
			return p + i;
	return NULL;
}

/* A PkgLength at p: returns its value, *n the bytes it takes. */
static size_t pkglen(const uint8_t *p, unsigned *n)
{
	unsigned extra = p[0] >> 6;
	size_t v = extra ? p[0] & 0xf : p[0] & 0x3f;
	for (unsigned i = 0; i < extra; i++)
		v |= (size_t)p[1 + i] << (4 + 8 * i);
	*n = extra + 1;
	return v;
}

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void test_pkglength(void)
{
	static const size_t sizes[] = { 10, 62, 63, 100, 4094, 5000, 70000 };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct aml a;
		static uint8_t body[70000];
		aml_init(&a);
		aml_scope_begin(&a, "_SB");
		aml_bytes(&a, body, sizes[i]);
		aml_end(&a);
		CHECK_EQ(a.error, 0);
		CHECK_EQ(a.buf[0], 0x10);
		unsigned n;
		size_t v = pkglen(a.buf + 1, &n);
		/* the length covers itself, the name and the body, and nothing else */
		CHECK_EQ(v, n + 4 + sizes[i]);
		CHECK_EQ(a.len, 1 + v);
		CHECK(!memcmp(a.buf + 1 + n, "_SB_", 4));
		aml_free(&a);
	}
}

static void test_names_and_integers(void)
{
	struct aml a;
	aml_init(&a);
	aml_namestring(&a, "\\_SB.PCI0");
	CHECK_EQ(a.len, 10);
	CHECK(!memcmp(a.buf, "\\\x2e_SB_PCI0", 10));
	aml_free(&a);
	aml_namestring(&a, "\\_SB.PCI0.S1");
	CHECK(!memcmp(a.buf, "\\\x2f\x03_SB_PCI0S1__", 15));
	aml_free(&a);
	aml_namestring(&a, "^AB");
	CHECK(!memcmp(a.buf, "^AB__", 5));
	aml_free(&a);
	aml_namestring(&a, "pci0"); /* lower case is not a name */
	CHECK(a.error < 0);
	aml_free(&a);
	aml_namestring(&a, "TOOLONG");
	CHECK(a.error < 0);
	aml_free(&a);

	aml_int(&a, 0);
	aml_int(&a, 1);
	aml_int(&a, 0x80);
	aml_int(&a, 0x1234);
	aml_int(&a, 0xd0000000);
	aml_int(&a, 0x100000000ull);
	static const uint8_t want[] = { 0x00, 0x01, 0x0a, 0x80, 0x0b, 0x34, 0x12, 0x0c, 0, 0, 0, 0xd0,
					0x0e, 0, 0, 0, 0, 1, 0, 0, 0 };
	CHECK_EQ(a.len, sizeof(want));
	CHECK(!memcmp(a.buf, want, sizeof(want)));
	aml_free(&a);

	aml_eisaid(&a, "PNP0A08");
	CHECK(!memcmp(a.buf, "\x0c\x41\xd0\x0a\x08", 5));
	aml_free(&a);
	aml_eisaid(&a, "PNP0A0G");
	CHECK(a.error < 0);
	aml_free(&a);

	/* an unbalanced end is an error, not a crash */
	aml_end(&a);
	CHECK(a.error < 0);
	aml_free(&a);
}

static void test_resource_template(void)
{
	struct aml a, r;
	aml_init(&a);
	aml_init(&r);
	aml_res_memory32_fixed(&r, 0xd1000000, 0x1000, true);
	aml_res_interrupt(&r, 5, false, false);
	aml_restemplate(&a, &r);
	CHECK_EQ(a.error, 0);
	/* Buffer(PkgLength, ByteConst size) { 12 + 9 + 2 bytes } */
	CHECK_EQ(a.buf[0], 0x11);
	unsigned n;
	size_t v = pkglen(a.buf + 1, &n);
	CHECK_EQ(v, a.len - 1);
	const uint8_t *p = a.buf + 1 + n;
	CHECK_EQ(p[0], 0x0a);
	CHECK_EQ(p[1], 23);
	p += 2;
	CHECK_EQ(p[0], 0x86);
	CHECK_EQ(rd32(p + 4), 0xd1000000);
	CHECK_EQ(rd32(p + 8), 0x1000);
	p += 12;
	CHECK_EQ(p[0], 0x89);
	CHECK_EQ(p[3], 0x03); /* consumer, edge, active high, exclusive */
	CHECK_EQ(rd32(p + 5), 5);
	CHECK_EQ(p[9], 0x79);
	aml_free(&a);
	aml_free(&r);
}

static struct acpi_machine machine(unsigned cpus, unsigned mmio)
{
	static const unsigned irqs[] = LAYOUT_VIRTIO_MMIO_IRQS;
	struct acpi_machine m = { .n_cpus = cpus, .pci_mmio_start = 0xe0000000, .pci_mmio_end = 0xfec00000 };
	for (unsigned i = 0; i < mmio; i++)
		m.virtio_mmio[i] = (struct acpi_mmio_dev){ LAYOUT_VIRTIO_MMIO + i * LAYOUT_VIRTIO_MMIO_SIZE,
							   LAYOUT_VIRTIO_MMIO_SIZE, irqs[i] };
	m.n_virtio_mmio = mmio;
	return m;
}

static void test_tables_checksums(void)
{
	struct acpi_tables ts;
	struct acpi_machine m = machine(2, 2);
	CHECK_EQ(acpi_build(&m, &ts), 0);
	static const char *sigs[] = { "DSDT", "FACP", "APIC", "MCFG", "XSDT", "RSDP" };
	for (unsigned i = 0; i < 6; i++)
		CHECK(acpi_find(&ts, sigs[i]));
	for (unsigned i = 0; i < ts.n; i++) {
		const struct acpi_table *t = &ts.t[i];
		CHECK(t->gpa >= LAYOUT_ACPI_START && t->gpa + t->data.len <= LAYOUT_BIOS_START);
		if (!strcmp(t->sig, "RSDP"))
			continue;
		CHECK(!memcmp(t->data.buf, t->sig, 4));
		CHECK_EQ(rd32(t->data.buf + 4), t->data.len);
		CHECK_EQ(firmware_checksum(t->data.buf, t->data.len), 0);
		for (unsigned k = 0; k < i; k++) /* no overlaps */
			CHECK(ts.t[k].gpa + ts.t[k].data.len <= t->gpa || t->gpa + t->data.len <= ts.t[k].gpa);
	}
	const struct acpi_table *r = acpi_find(&ts, "RSDP"), *x = acpi_find(&ts, "XSDT");
	CHECK_EQ(r->gpa, LAYOUT_ACPI_START);
	CHECK_EQ(r->data.len, 36);
	CHECK(!memcmp(r->data.buf, "RSD PTR ", 8));
	CHECK_EQ(firmware_checksum(r->data.buf, 20), 0);
	CHECK_EQ(firmware_checksum(r->data.buf, 36), 0);
	CHECK_EQ(r->data.buf[15], 2);
	CHECK_EQ(rd64(r->data.buf + 24), x->gpa);
	/* The XSDT points at FACP, APIC and MCFG, not at the DSDT. */
	unsigned n = (unsigned)(x->data.len - 36) / 8;
	CHECK_EQ(n, 3);
	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa = rd64(x->data.buf + 36 + 8 * i);
		const struct acpi_table *t = NULL;
		for (unsigned k = 0; k < ts.n; k++)
			if (ts.t[k].gpa == gpa)
				t = &ts.t[k];
		CHECK(t);
		CHECK(strcmp(t->sig, "DSDT") && strcmp(t->sig, "XSDT") && strcmp(t->sig, "RSDP"));
	}
	acpi_tables_free(&ts);
}

static void test_fadt(void)
{
	struct acpi_tables ts;
	struct acpi_machine m = machine(1, 0);
	CHECK_EQ(acpi_build(&m, &ts), 0);
	const uint8_t *f = acpi_find(&ts, "FACP")->data.buf;
	CHECK_EQ(acpi_find(&ts, "FACP")->data.len, 276);
	CHECK_EQ(f[8], 6);
	CHECK(rd32(f + 112) & (1u << 20));                  /* HW_REDUCED_ACPI */
	CHECK(rd32(f + 112) & (1u << 10));                  /* RESET_REG_SUP */
	CHECK_EQ(f[116], 1);                                /* reset register: I/O */
	CHECK_EQ(rd64(f + 120), PORT_ACPI_RESET);
	CHECK_EQ(f[128], ACPI_RESET_VALUE);
	CHECK_EQ(rd64(f + 140), acpi_find(&ts, "DSDT")->gpa); /* X_DSDT */
	CHECK_EQ(rd32(f + 40), acpi_find(&ts, "DSDT")->gpa);
	CHECK_EQ(f[244], 1);                                /* sleep control: I/O, 8 bits */
	CHECK_EQ(f[245], 8);
	CHECK_EQ(rd64(f + 248), PORT_ACPI_SLEEP_CTL);
	CHECK_EQ(rd64(f + 260), PORT_ACPI_SLEEP_STS);
	/* every legacy block (SCI .. CENTURY, X_PM1a_EVT .. X_GPE1) is absent: all zero, or an
	 * OS sees garbage registers (Linux: "Invalid length for FADT/PmTimerBlock") */
	for (unsigned i = 46; i < 109; i++)
		CHECK_EQ(f[i], 0);
	for (unsigned i = 148; i < 244; i++)
		CHECK_EQ(f[i], 0);
	acpi_tables_free(&ts);
}

static void test_madt(void)
{
	static const unsigned counts[] = { 1, 2, 254, 300 };
	for (unsigned c = 0; c < 4; c++) {
		struct acpi_tables ts;
		struct acpi_machine m = machine(counts[c], 0);
		CHECK_EQ(acpi_build(&m, &ts), 0);
		const struct acpi_table *t = acpi_find(&ts, "APIC");
		CHECK_EQ(rd32(t->data.buf + 36), LAYOUT_LAPIC);
		unsigned lapic = 0, x2apic = 0, ioapic = 0, iso = 0;
		uint64_t seen_ids = 0;
		for (size_t off = 44; off < t->data.len;) {
			const uint8_t *e = t->data.buf + off;
			CHECK(e[1] >= 2 && off + e[1] <= t->data.len);
			if (e[0] == 0) {
				CHECK_EQ(e[3], lapic);       /* APIC id = index */
				CHECK_EQ(rd32(e + 4) & 1, 1);
				lapic++;
				if (e[3] < 64)
					seen_ids |= 1ull << e[3];
			} else if (e[0] == 9) {
				CHECK_EQ(rd32(e + 4), 255 + x2apic);
				x2apic++;
			} else if (e[0] == 1) {
				CHECK_EQ(rd32(e + 4), LAYOUT_IOAPIC);
				ioapic++;
			} else if (e[0] == 2) {
				CHECK_EQ(e[3], 0);
				CHECK_EQ(rd32(e + 4), 2);
				iso++;
			}
			off += e[1];
		}
		CHECK_EQ(lapic + x2apic, counts[c]);
		CHECK_EQ(x2apic, counts[c] > 255 ? counts[c] - 255 : 0);
		CHECK_EQ(ioapic, 1);
		CHECK_EQ(iso, 1);
		CHECK_EQ(seen_ids, counts[c] >= 64 ? ~0ull : (1ull << counts[c]) - 1);
		acpi_tables_free(&ts);
	}
}

static void test_mcfg(void)
{
	struct acpi_tables ts;
	struct acpi_machine m = machine(1, 0);
	CHECK_EQ(acpi_build(&m, &ts), 0);
	const struct acpi_table *t = acpi_find(&ts, "MCFG");
	CHECK_EQ(t->data.len, 60);
	CHECK_EQ(rd64(t->data.buf + 44), LAYOUT_PCI_ECAM);
	CHECK_EQ(t->data.buf[54], 0);
	CHECK_EQ(t->data.buf[55], 0);
	acpi_tables_free(&ts);
}

/* SRAT and SLIT: present only with a NUMA description, listed in the XSDT, entries as set. */
static void test_srat_slit(void)
{
	struct acpi_tables ts;
	struct acpi_machine m = machine(3, 0);
	CHECK_EQ(acpi_build(&m, &ts), 0);
	CHECK(!acpi_find(&ts, "SRAT") && !acpi_find(&ts, "SLIT"));
	acpi_tables_free(&ts);
	m.numa.n_domains = 2;
	m.numa.cpu_domain[2] = 1;
	m.numa.mem[0].size = 1ull << 30;
	m.numa.mem[1].base = 1ull << 30, m.numa.mem[1].size = 2ull << 30, m.numa.mem[1].domain = 1;
	m.numa.n_mem = 2;
	m.numa.distance[0][0] = m.numa.distance[1][1] = 10;
	m.numa.distance[0][1] = 25, m.numa.distance[1][0] = 20;
	CHECK_EQ(acpi_build(&m, &ts), 0);
	const struct acpi_table *s = acpi_find(&ts, "SRAT"), *l = acpi_find(&ts, "SLIT"), *x = acpi_find(&ts, "XSDT");
	CHECK(s && l && x);
	CHECK_EQ(s->data.len, 48 + 3 * 16 + 2 * 40);
	CHECK_EQ(firmware_checksum(s->data.buf, s->data.len), 0);
	const uint8_t *e = s->data.buf + 48;
	CHECK(e[0] == 0 && e[1] == 16 && e[2] == 0 && e[3] == 0);        /* vCPU 0 in domain 0 */
	CHECK(e[32] == 0 && e[34] == 1 && e[35] == 2 && (e[36] & 1));   /* vCPU 2 in domain 1, enabled */
	e += 48;
	CHECK(e[0] == 1 && e[1] == 40 && rd32(e + 2) == 0 && rd64(e + 16) == 1ull << 30);
	CHECK(rd32(e + 42) == 1 && rd64(e + 48) == 1ull << 30 && rd64(e + 56) == 2ull << 30 && (e[68] & 1));
	CHECK_EQ(l->data.len, 36 + 8 + 4);
	CHECK_EQ(firmware_checksum(l->data.buf, l->data.len), 0);
	CHECK_EQ(rd64(l->data.buf + 36), 2);
	CHECK(!memcmp(l->data.buf + 44, "\x0a\x19\x14\x0a", 4));
	int listed = 0; /* the XSDT points at both */
	for (uint32_t off = 36; off + 8 <= x->data.len; off += 8)
		listed += rd64(x->data.buf + off) == s->gpa || rd64(x->data.buf + off) == l->gpa;
	CHECK_EQ(listed, 2);
	acpi_tables_free(&ts);
}

/* The object that follows Name(_HID) inside the device named dev. */
static const uint8_t *device_hid(const struct acpi_table *dsdt, const char *dev, size_t *dev_len)
{
	uint8_t pat[2 + 1 + 4];
	const uint8_t *p = dsdt->data.buf + 36, *end = dsdt->data.buf + dsdt->data.len;
	while ((p = find(p, (size_t)(end - p), "\x5b\x82", 2))) {
		unsigned n;
		size_t len = pkglen(p + 2, &n);
		if (!memcmp(p + 2 + n, dev, 4)) {
			*dev_len = len;
			const uint8_t *body = p + 2 + n + 4;
			const uint8_t *hid = find(body, len - n - 4, "\x08_HID", 5);
			return hid ? hid + 5 : NULL;
		}
		p += 2;
	}
	(void)pat;
	return NULL;
}

static void test_dsdt_decodes(void)
{
	struct acpi_tables ts;
	struct acpi_machine m = machine(2, 3);
	size_t len;
	CHECK_EQ(acpi_build(&m, &ts), 0);
	const struct acpi_table *d = acpi_find(&ts, "DSDT");
	CHECK_EQ(d->data.buf[8], 2);
	/* \_SB scope covering every device */
	const uint8_t *sb = find(d->data.buf, d->data.len, "\x10", 1);
	CHECK(sb);
	const uint8_t *h;
	CHECK((h = device_hid(d, "PCI0", &len)));
	CHECK(!memcmp(h, "\x0c\x41\xd0\x0a\x08", 5));
	CHECK((h = device_hid(d, "COM1", &len)));
	CHECK(!memcmp(h, "\x0c\x41\xd0\x05\x01", 5));
	CHECK((h = device_hid(d, "PWRB", &len)));
	CHECK(!memcmp(h, "\x0c\x41\xd0\x0c\x0c", 5));
	CHECK((h = device_hid(d, "GED0", &len)));
	CHECK(!memcmp(h, "\x0d" "ACPI0013", 10));
	for (unsigned i = 0; i < 3; i++) {
		char name[5];
		snprintf(name, sizeof(name), "VR%02u", i);
		CHECK((h = device_hid(d, name, &len)));
		CHECK(!memcmp(h, "\x0d" "LNRO0005", 10));
		/* its _CRS: the MMIO window and the interrupt */
		const uint8_t *crs = find(h, len, "\x08_CRS\x11", 6);
		CHECK(crs);
		const uint8_t *mem = find(crs, 40, "\x86\x09\x00\x01", 4);
		CHECK(mem);
		CHECK_EQ(rd32(mem + 4), m.virtio_mmio[i].base);
		CHECK_EQ(rd32(mem + 8), LAYOUT_VIRTIO_MMIO_SIZE);
		CHECK_EQ(mem[12], 0x89);
		CHECK_EQ(rd32(mem + 12 + 5), m.virtio_mmio[i].gsi);
	}
	/* the GED's register region and the \_S5 package */
	const uint8_t *region = find(d->data.buf, d->data.len, "\x5b\x80GDST\x00\x0c", 8);
	CHECK(region);
	CHECK_EQ(rd32(region + 8), LAYOUT_GED);
	CHECK(find(d->data.buf, d->data.len, "\x08\\_S5_\x12\x05\x02\x0a\x05\x00", 12));
	/* the host bridge's memory window is the BAR window */
	const uint8_t *win = find(d->data.buf, d->data.len, "\x87\x17\x00\x00", 4);
	CHECK(win);
	CHECK_EQ(rd32(win + 10), 0xe0000000);
	CHECK_EQ(rd32(win + 14), 0xfebfffff);
	acpi_tables_free(&ts);
}

static void test_too_many_devices_fit(void)
{
	struct acpi_tables ts;
	struct acpi_machine m = machine(254, LAYOUT_VIRTIO_MMIO_MAX);
	CHECK_EQ(acpi_build(&m, &ts), 0);
	acpi_tables_free(&ts);
}

int main(void)
{
	log_init();
	RUN(test_pkglength);
	RUN(test_names_and_integers);
	RUN(test_resource_template);
	RUN(test_tables_checksums);
	RUN(test_fadt);
	RUN(test_madt);
	RUN(test_srat_slit);
	RUN(test_mcfg);
	RUN(test_dsdt_decodes);
	RUN(test_too_many_devices_fit);
	CHECK_EXIT();
}
