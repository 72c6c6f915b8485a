/* madt: the Multiple APIC Description Table: one local APIC per vCPU (x2APIC entries for
 * ids that do not fit 8 bits), the IOAPIC, and the one interrupt source override every PC
 * has (ISA IRQ 0, the PIT, arrives on pin 2), as KVM's in-kernel irqchip wires it. */
#include "tables.h"

#define MADT_PCAT_COMPAT 1u /* the 8259s exist too (KVM emulates them) */
#define LAPIC_ENABLED 1u

enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_ISO = 2, MADT_LAPIC_NMI = 4, MADT_X2APIC = 9 };

void acpi_build_madt(struct aml *t, const struct acpi_machine *m)
{
	acpi_header(t, "APIC", 5);
	aml_u32(t, (uint32_t)LAYOUT_LAPIC);
	aml_u32(t, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < m->n_cpus; i++) {
		if (i < 255) {
			aml_u8(t, MADT_LAPIC);
			aml_u8(t, 8);
			aml_u8(t, (uint8_t)i);   /* processor uid */
			aml_u8(t, (uint8_t)i);   /* APIC id */
			aml_u32(t, LAPIC_ENABLED);
		} else {
			aml_u8(t, MADT_X2APIC);
			aml_u8(t, 16);
			aml_u16(t, 0);
			aml_u32(t, i);           /* x2APIC id */
			aml_u32(t, LAPIC_ENABLED);
			aml_u32(t, i);           /* processor uid */
		}
	}
	aml_u8(t, MADT_IOAPIC);
	aml_u8(t, 12);
	aml_u8(t, LAYOUT_IOAPIC_ID(m->n_cpus));
	aml_u8(t, 0);
	aml_u32(t, (uint32_t)LAYOUT_IOAPIC);
	aml_u32(t, 0);                           /* GSI base */
	aml_u8(t, MADT_ISO);
	aml_u8(t, 10);
	aml_u8(t, 0);                            /* ISA */
	aml_u8(t, 0);                            /* IRQ 0 */
	aml_u32(t, 2);                           /* GSI 2 */
	aml_u16(t, 0);                           /* bus-conforming polarity and trigger */
	aml_u8(t, MADT_LAPIC_NMI);
	aml_u8(t, 6);
	aml_u8(t, 0xff);                         /* every processor */
	aml_u16(t, 0);
	aml_u8(t, 1);                            /* LINT1 */
	acpi_finish(t);
}
