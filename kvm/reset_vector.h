/* reset_vector: the code at the x86 reset vector (F000:FFF0, physical 0xffff0). There is no
 * firmware here, yet Linux ends a reboot by jumping to it: on a hardware-reduced ACPI machine
 * it picks the EFI reset, and without EFI it falls back to the BIOS one (real mode, far jump
 * to F000:FFF0). A RAM of zeros there runs off into garbage and the guest never resets; this
 * stub writes the FADT's reset value to the reset register instead, so the VM reboots. */
#ifndef RV_RESET_VECTOR_H
#define RV_RESET_VECTOR_H

#include "guest_mem.h"

/* Write the stub at LAYOUT_RESET_VECTOR. 0 or -errno. */
int reset_vector_write(const struct guest_mem *m);

#endif
