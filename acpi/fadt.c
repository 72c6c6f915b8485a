/* fadt: the Fixed ACPI Description Table (ACPI 6.x, revision 6) of a hardware-reduced
 * machine: no PM1/GPE blocks, no SCI; power off through the sleep control register and
 * reset through the reset register, both ports that the VMM's power device decodes. */
#include "tables.h"

#define FADT_WBINVD (1u << 0)
#define FADT_PWR_BUTTON (1u << 4) /* the power button is a control-method device (the GED's) */
#define FADT_SLP_BUTTON (1u << 5) /* no fixed sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)

/* No BOOT_ARCH_8042: the i8042 here only takes the reset command (no keyboard, no IRQ);
 * announced, Linux probes it, asks for IRQ 1 that nothing maps, and logs a failed probe. */
#define BOOT_ARCH_NO_VGA (1u << 2)

void acpi_build_fadt(struct aml *t, uint64_t dsdt_gpa)
{
	static const uint8_t zeros[8 * 12];

	acpi_header(t, "FACP", 6);
	aml_u32(t, 0);                     /* FIRMWARE_CTRL: no FACS (optional when reduced) */
	aml_u32(t, (uint32_t)dsdt_gpa);
	aml_u8(t, 0);
	aml_u8(t, 0);                      /* preferred PM profile: unspecified */
	aml_bytes(t, zeros, 109 - 46);     /* SCI .. CENTURY: none of it exists */
	aml_u16(t, BOOT_ARCH_NO_VGA);
	aml_u8(t, 0);
	aml_u32(t, FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_RESET_REG_SUP | FADT_HW_REDUCED_ACPI);
	acpi_gas(t, ACPI_GAS_IO, 8, 1, PORT_ACPI_RESET);
	aml_u8(t, ACPI_RESET_VALUE);
	aml_u16(t, 0);                     /* ARM boot flags */
	aml_u8(t, 5);                      /* FADT minor version: 6.5 */
	aml_u64(t, 0);                     /* X_FIRMWARE_CTRL */
	aml_u64(t, dsdt_gpa);
	aml_bytes(t, zeros, 8 * 12);       /* X_PM1a_EVT .. X_GPE1: not present */
	acpi_gas(t, ACPI_GAS_IO, 8, 1, PORT_ACPI_SLEEP_CTL);
	acpi_gas(t, ACPI_GAS_IO, 8, 1, PORT_ACPI_SLEEP_STS);
	aml_bytes(t, "RINGVSR ", 8);       /* hypervisor vendor identity */
	acpi_finish(t);
}
