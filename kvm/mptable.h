/* mptable: an Intel MultiProcessor Specification 1.4 table in the BIOS area, so a
 * guest without ACPI finds every vCPU, the IOAPIC and the ISA interrupt wiring. */
#ifndef RV_MPTABLE_H
#define RV_MPTABLE_H

#include "guest_mem.h"

#include <stddef.h>
#include <stdint.h>

#define MPTABLE_MAX_CPUS 254 /* 8-bit APIC ids; 0xff is broadcast and the IOAPIC takes one */

/* The byte that makes a firmware table's bytes sum to 0 (MP and ACPI tables alike). */
uint8_t firmware_checksum(const void *p, size_t len);

/* Write the table at LAYOUT_BIOS_START. 0 or -errno. */
int mptable_write(const struct guest_mem *m, unsigned n_cpus);

#endif
