/* e820: the guest's physical memory map, as both boot protocols hand it over. */
#ifndef RV_E820_H
#define RV_E820_H

#include "guest_mem.h"

#include <stdint.h>

#define E820_RAM 1
#define E820_RESERVED 2

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/* Fill map (capacity max) from guest RAM; returns the number of entries. */
unsigned e820_build(const struct guest_mem *m, struct e820_entry *map, unsigned max);

#endif
