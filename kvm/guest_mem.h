/* guest_mem: guest RAM. One memfd (so vhost-user backends can map it later) mapped
 * once in the VMM, split into regions around the 32-bit PCI hole. Every access from the
 * VMM to guest memory goes through guest_mem_ptr(), which refuses ranges that are not
 * wholly inside one region. */
#ifndef RV_GUEST_MEM_H
#define RV_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 8

struct guest_region {
	uint64_t gpa, size;
	uint8_t *hva;
	uint64_t fd_offset;
};

struct guest_mem {
	int fd;
	uint8_t *base;     /* the whole memfd mapping */
	uint64_t total;
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned n_regions;
};

/* Allocate size bytes of RAM laid out below the PCI hole and from 4 GiB up.
 * max_gpa_bits bounds the highest address. Returns 0 or -errno with the reason logged. */
int guest_mem_create(struct guest_mem *m, uint64_t size, unsigned max_gpa_bits);
void guest_mem_destroy(struct guest_mem *m);

/* Host pointer to [gpa, gpa+len) if it lies inside one RAM region, else NULL. */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* Copy into guest RAM; -EFAULT if the range is not RAM. */
int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);

/* Parse "256M", "4G", "1024K", "123" (bytes). Returns 0 or -EINVAL. */
int parse_size(const char *s, uint64_t *out);

#endif
