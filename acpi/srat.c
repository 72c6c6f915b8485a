/* srat: the guest's NUMA topology. SRAT gives each vCPU (by APIC id) and each range of
 * RAM a proximity domain; SLIT gives the distance between every pair of domains (10 to
 * itself). Domains are the guest NUMA node ids the user chose (--numa guest_numa_id). */
#include "tables.h"

enum { SRAT_LAPIC = 0, SRAT_MEMORY = 1, SRAT_X2APIC = 2 };
#define SRAT_ENABLED 1u

void acpi_build_srat(struct aml *t, const struct acpi_machine *m)
{
	const struct acpi_numa *n = &m->numa;
	acpi_header(t, "SRAT", 3);
	aml_u32(t, 1); /* reserved, must be 1 for compatibility */
	aml_u64(t, 0);
	for (unsigned i = 0; i < m->n_cpus; i++) {
		uint32_t dom = n->cpu_domain[i];
		if (i < 255) {
			aml_u8(t, SRAT_LAPIC);
			aml_u8(t, 16);
			aml_u8(t, (uint8_t)dom);          /* proximity domain bits 0..7 */
			aml_u8(t, (uint8_t)i);            /* APIC id */
			aml_u32(t, SRAT_ENABLED);
			aml_u8(t, 0);                     /* local SAPIC EID */
			aml_u8(t, (uint8_t)(dom >> 8));   /* proximity domain bits 8..31 */
			aml_u8(t, (uint8_t)(dom >> 16));
			aml_u8(t, (uint8_t)(dom >> 24));
			aml_u32(t, 0);                    /* clock domain */
		} else {
			aml_u8(t, SRAT_X2APIC);
			aml_u8(t, 24);
			aml_u16(t, 0);
			aml_u32(t, dom);
			aml_u32(t, i);                    /* x2APIC id */
			aml_u32(t, SRAT_ENABLED);
			aml_u32(t, 0);                    /* clock domain */
			aml_u32(t, 0);
		}
	}
	for (unsigned i = 0; i < n->n_mem; i++) {
		aml_u8(t, SRAT_MEMORY);
		aml_u8(t, 40);
		aml_u32(t, n->mem[i].domain);
		aml_u16(t, 0);
		aml_u64(t, n->mem[i].base);
		aml_u64(t, n->mem[i].size);
		aml_u32(t, 0);
		aml_u32(t, SRAT_ENABLED);
		aml_u64(t, 0);
	}
	acpi_finish(t);
}

void acpi_build_slit(struct aml *t, const struct acpi_machine *m)
{
	const struct acpi_numa *n = &m->numa;
	acpi_header(t, "SLIT", 1);
	aml_u64(t, n->n_domains);
	for (unsigned i = 0; i < n->n_domains; i++)
		for (unsigned k = 0; k < n->n_domains; k++)
			aml_u8(t, n->distance[i][k]);
	acpi_finish(t);
}
