/* tables: placement, XSDT/RSDP, writing and dumping. See tables.h. */
#include "tables.h"

#include "engine/log.h"
#include "kvm/mptable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RSDP_SIZE 36

void acpi_header(struct aml *t, const char *sig, uint8_t revision)
{
	aml_bytes(t, sig, 4);
	aml_u32(t, 0);          /* length: acpi_finish */
	aml_u8(t, revision);
	aml_u8(t, 0);           /* checksum: acpi_finish */
	aml_bytes(t, ACPI_OEM_ID, 6);
	aml_bytes(t, ACPI_OEM_TABLE_ID, 8);
	aml_u32(t, 1);          /* OEM revision */
	aml_bytes(t, "RVSR", 4); /* creator id */
	aml_u32(t, 1);          /* creator revision */
}

void acpi_finish(struct aml *t)
{
	if (t->error || t->len < 36)
		return;
	aml_put_u32(t, 4, (uint32_t)t->len);
	t->buf[9] = 0;
	t->buf[9] = firmware_checksum(t->buf, t->len);
}

void acpi_gas(struct aml *t, uint8_t space, uint8_t bit_width, uint8_t access_size, uint64_t addr)
{
	aml_u8(t, space);
	aml_u8(t, bit_width);
	aml_u8(t, 0);           /* bit offset */
	aml_u8(t, access_size); /* 1 byte, 2 word, 3 dword, 4 qword */
	aml_u64(t, addr);
}

/* Take a finished table and give it the next guest address (8-byte aligned). */
static struct acpi_table *place(struct acpi_tables *ts, const char *sig)
{
	if (ts->n == ACPI_MAX_TABLES)
		return NULL;
	struct acpi_table *t = &ts->t[ts->n++];
	memcpy(t->sig, sig, 4);
	t->sig[4] = 0;
	aml_init(&t->data);
	return t;
}

static int assign(struct acpi_tables *ts, struct acpi_table *t)
{
	if (t->data.error) {
		log_error("acpi: building %s failed: %s", t->sig, strerror(-t->data.error));
		return t->data.error;
	}
	t->gpa = ts->next_gpa;
	ts->next_gpa = (ts->next_gpa + t->data.len + 7) & ~7ull;
	if (ts->next_gpa > LAYOUT_BIOS_START) {
		log_error("acpi: the tables do not fit between 0x%llx and 0x%llx", (unsigned long long)LAYOUT_ACPI_START,
			  (unsigned long long)LAYOUT_BIOS_START);
		return -E2BIG;
	}
	return 0;
}

/* Build one table with fn(t, arg...) and place it: the one-liner for a new table. */
#define ACPI_ADD(ts, sig, call)                                                                    \
	do {                                                                                       \
		struct acpi_table *t_ = place(ts, sig);                                            \
		if (!t_)                                                                           \
			return -E2BIG;                                                             \
		struct aml *t = &t_->data;                                                         \
		call;                                                                              \
		if ((ret = assign(ts, t_)) < 0)                                                    \
			return ret;                                                                \
	} while (0)

/* Every table placed so far but the DSDT (the FADT points at that one). */
static void build_xsdt(struct aml *t, const struct acpi_tables *ts)
{
	acpi_header(t, "XSDT", 1);
	for (unsigned i = 0; i + 1 < ts->n; i++)
		if (strcmp(ts->t[i].sig, "DSDT"))
			aml_u64(t, ts->t[i].gpa);
	acpi_finish(t);
}

int acpi_build(const struct acpi_machine *m, struct acpi_tables *ts)
{
	int ret;

	memset(ts, 0, sizeof(*ts));
	ts->rsdp_gpa = LAYOUT_ACPI_START;
	ts->next_gpa = LAYOUT_ACPI_START + 64; /* the RSDP first, 16-byte aligned, where scans look */
	ACPI_ADD(ts, "DSDT", acpi_build_dsdt(t, m));
	uint64_t dsdt = ts->t[ts->n - 1].gpa;
	ACPI_ADD(ts, "FACP", acpi_build_fadt(t, dsdt));
	ACPI_ADD(ts, "APIC", acpi_build_madt(t, m));
	ACPI_ADD(ts, "MCFG", acpi_build_mcfg(t));
	if (m->numa.n_domains) {
		ACPI_ADD(ts, "SRAT", acpi_build_srat(t, m));
		ACPI_ADD(ts, "SLIT", acpi_build_slit(t, m));
	}
	/* New tables go here, one ACPI_ADD each: the XSDT lists them all. */
	ACPI_ADD(ts, "XSDT", build_xsdt(t, ts));
	uint64_t xsdt = ts->t[ts->n - 1].gpa;
	struct acpi_table *r = place(ts, "RSDP");
	if (!r)
		return -E2BIG;
	struct aml *t = &r->data;
	aml_bytes(t, "RSD PTR ", 8);
	aml_u8(t, 0);           /* checksum of the first 20 bytes */
	aml_bytes(t, ACPI_OEM_ID, 6);
	aml_u8(t, 2);           /* revision: ACPI 2.0+, XSDT */
	aml_u32(t, 0);          /* no RSDT */
	aml_u32(t, RSDP_SIZE);
	aml_u64(t, xsdt);
	aml_u8(t, 0);           /* extended checksum */
	aml_bytes(t, "\0\0\0", 3);
	if (t->error)
		return t->error;
	t->buf[8] = firmware_checksum(t->buf, 20);
	t->buf[32] = firmware_checksum(t->buf, RSDP_SIZE);
	r->gpa = ts->rsdp_gpa;
	return 0;
}

void acpi_tables_free(struct acpi_tables *ts)
{
	for (unsigned i = 0; i < ts->n; i++)
		aml_free(&ts->t[i].data);
	ts->n = 0;
}

const struct acpi_table *acpi_find(const struct acpi_tables *ts, const char *sig)
{
	for (unsigned i = 0; i < ts->n; i++)
		if (!strcmp(ts->t[i].sig, sig))
			return &ts->t[i];
	return NULL;
}

int acpi_write(const struct acpi_tables *ts, const struct guest_mem *mem)
{
	uint8_t *area = guest_mem_ptr(mem, LAYOUT_ACPI_START, LAYOUT_BIOS_START - LAYOUT_ACPI_START);
	if (!area) {
		log_error("acpi: guest RAM does not cover the BIOS area for the tables");
		return -EINVAL;
	}
	memset(area, 0, LAYOUT_BIOS_START - LAYOUT_ACPI_START);
	for (unsigned i = 0; i < ts->n; i++)
		if (guest_mem_write(mem, ts->t[i].gpa, ts->t[i].data.buf, ts->t[i].data.len) < 0)
			return -EINVAL;
	return 0;
}

int acpi_dump(const struct acpi_tables *ts, const char *dir)
{
	for (unsigned i = 0; i < ts->n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.dat", dir, ts->t[i].sig);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			int err = errno;
			log_error("--dump-acpi %s: cannot create %s: %s", dir, path, strerror(err));
			return -err;
		}
		ssize_t n = write(fd, ts->t[i].data.buf, ts->t[i].data.len);
		int err = n < 0 ? errno : EIO;
		close(fd);
		if (n != (ssize_t)ts->t[i].data.len) {
			log_error("--dump-acpi %s: cannot write %s: %s", dir, path, strerror(err));
			return -err;
		}
	}
	return 0;
}
