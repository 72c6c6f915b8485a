/* reset_vector: see reset_vector.h. */
#include "reset_vector.h"

#include "layout.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

int reset_vector_write(const struct guest_mem *m)
{
	/* 16-bit code: the same write a guest makes through the FADT, then halt for good
	 * (the VMM tears the vCPU down for the reboot). */
	static const uint8_t stub[] = {
		0xba, PORT_ACPI_RESET & 0xff, PORT_ACPI_RESET >> 8, /* mov dx, PORT_ACPI_RESET */
		0xb0, ACPI_RESET_VALUE,                              /* mov al, ACPI_RESET_VALUE */
		0xee,                                                /* out dx, al */
		0xfa,                                                /* cli */
		0xf4,                                                /* hlt */
		0xeb, 0xfd,                                          /* jmp hlt */
	};
	_Static_assert(sizeof(stub) <= 16, "the reset vector has 16 bytes below 1 MiB");
	uint8_t *p = guest_mem_ptr(m, LAYOUT_RESET_VECTOR, sizeof(stub));
	if (!p)
		return -EFAULT;
	memcpy(p, stub, sizeof(stub));
	return 0;
}
