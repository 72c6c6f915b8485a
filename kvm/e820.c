/* e820: memory map. See e820.h. The legacy hole from the EBDA to 1 MiB is reserved
 * (the MP table lives there); everything else the guest has is RAM. */
#include "e820.h"

#include "layout.h"

unsigned e820_build(const struct guest_mem *m, struct e820_entry *map, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->n_regions && n + 3 <= max; i++) {
		const struct guest_region *r = &m->regions[i];
		if (r->gpa == 0) {
			map[n++] = (struct e820_entry){ 0, LAYOUT_EBDA, E820_RAM };
			map[n++] = (struct e820_entry){ LAYOUT_EBDA, LAYOUT_HIMEM - LAYOUT_EBDA, E820_RESERVED };
			if (r->size > LAYOUT_HIMEM)
				map[n++] = (struct e820_entry){ LAYOUT_HIMEM, r->size - LAYOUT_HIMEM, E820_RAM };
		} else {
			map[n++] = (struct e820_entry){ r->gpa, r->size, E820_RAM };
		}
	}
	return n;
}
