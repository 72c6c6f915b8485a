/* mptable: an Intel MultiProcessor Specification 1.4 table in the BIOS area, so a
 * guest without ACPI finds every vCPU, the IOAPIC and the ISA interrupt wiring. */
#ifndef RV_MPTABLE_H
#define RV_MPTABLE_H

#include "guest_mem.h"

#define MPTABLE_MAX_CPUS 254 /* 8-bit APIC ids; 0xff is broadcast and the IOAPIC takes one */

/* Write the table at LAYOUT_BIOS_START. 0 or -errno. */
int mptable_write(const struct guest_mem *m, unsigned n_cpus);

#endif
