/* tables: the ACPI tables of the x86 machine (hardware-reduced ACPI 6.x): RSDP, XSDT,
 * FADT, MADT, DSDT, MCFG, built in host memory from a description of the machine, then
 * written into the guest's BIOS area (LAYOUT_ACPI_START, reserved in e820) or dumped as
 * files for iasl. Each table family has its own file (fadt.c, madt.c, mcfg.c, dsdt.c);
 * a new table (SRAT, SLIT) is one more acpi_add() line in acpi_build(). */
#ifndef RV_ACPI_TABLES_H
#define RV_ACPI_TABLES_H

#include "aml.h"

#include "kvm/guest_mem.h"
#include "kvm/layout.h"

#include <stdint.h>

#define ACPI_MAX_TABLES 16
#define ACPI_OEM_ID "RVISOR"       /* 6 bytes */
#define ACPI_OEM_TABLE_ID "RINGVSR " /* 8 bytes */

struct acpi_mmio_dev {
	uint64_t base, size;
	unsigned gsi;
};

#define ACPI_MAX_DOMAINS 16
#define ACPI_MAX_CPUS 256
#define ACPI_MAX_MEM_RANGES 32

/* The guest's NUMA topology (SRAT, SLIT); n_domains 0: none (no SRAT/SLIT). SLIT rows
 * and columns are domains 0..n_domains-1, so domain ids are dense: the machine numbers
 * guest nodes in order. */
struct acpi_numa {
	unsigned n_domains;
	uint32_t cpu_domain[ACPI_MAX_CPUS];      /* per APIC id */
	struct {
		uint64_t base, size;
		uint32_t domain;
	} mem[ACPI_MAX_MEM_RANGES];
	unsigned n_mem;
	uint8_t distance[ACPI_MAX_DOMAINS][ACPI_MAX_DOMAINS];
};

/* What the tables describe. */
struct acpi_machine {
	unsigned n_cpus;            /* APIC ids 0..n-1 */
	uint64_t pci_mmio_start, pci_mmio_end; /* the BAR window (end exclusive) */
	struct acpi_mmio_dev virtio_mmio[LAYOUT_VIRTIO_MMIO_MAX];
	unsigned n_virtio_mmio;
	struct acpi_numa numa;
};

struct acpi_table {
	char sig[5];
	struct aml data;
	uint64_t gpa;
};

struct acpi_tables {
	struct acpi_table t[ACPI_MAX_TABLES];
	unsigned n;
	uint64_t next_gpa;
	uint64_t rsdp_gpa;
};

/* Build every table for machine m, addresses assigned. 0 or -errno (logged). */
int acpi_build(const struct acpi_machine *m, struct acpi_tables *ts);
void acpi_tables_free(struct acpi_tables *ts);
/* Copy them into guest RAM at their addresses. */
int acpi_write(const struct acpi_tables *ts, const struct guest_mem *mem);
/* DIR/<SIG>.dat for each table (RSDP.dat too), like acpidump -b. 0 or -errno (logged). */
int acpi_dump(const struct acpi_tables *ts, const char *dir);
/* The table with this signature, or NULL. */
const struct acpi_table *acpi_find(const struct acpi_tables *ts, const char *sig);

/* ---- for the table builders ---- */
/* Start a table: the 36-byte standard header with length and checksum left to acpi_finish. */
void acpi_header(struct aml *t, const char *sig, uint8_t revision);
/* Fill in length and checksum. */
void acpi_finish(struct aml *t);
/* A Generic Address Structure. */
enum { ACPI_GAS_MEMORY = 0, ACPI_GAS_IO = 1 };
void acpi_gas(struct aml *t, uint8_t space, uint8_t bit_width, uint8_t access_size, uint64_t addr);

void acpi_build_dsdt(struct aml *t, const struct acpi_machine *m);
void acpi_build_fadt(struct aml *t, uint64_t dsdt_gpa);
void acpi_build_madt(struct aml *t, const struct acpi_machine *m);
void acpi_build_mcfg(struct aml *t);
void acpi_build_srat(struct aml *t, const struct acpi_machine *m);
void acpi_build_slit(struct aml *t, const struct acpi_machine *m);

#endif
