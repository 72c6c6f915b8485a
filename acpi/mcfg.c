/* mcfg: the PCI Express memory-mapped configuration table: one ECAM window, segment 0,
 * bus 0 (the only bus), at LAYOUT_PCI_ECAM. */
#include "tables.h"

void acpi_build_mcfg(struct aml *t)
{
	acpi_header(t, "MCFG", 1);
	aml_u64(t, 0); /* reserved */
	aml_u64(t, LAYOUT_PCI_ECAM);
	aml_u16(t, 0); /* segment */
	aml_u8(t, 0);  /* first bus */
	aml_u8(t, (uint8_t)(LAYOUT_PCI_ECAM_SIZE / (1 << 20) - 1));
	aml_u32(t, 0);
	acpi_finish(t);
}
