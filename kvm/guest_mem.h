/* guest_mem: guest RAM, made of zones. A zone is one backing — a memfd (so vhost-user
 * backends can map it), on huge pages if asked, or private anonymous memory — bound to a
 * host NUMA node with mbind before anything touches it, and prefaulted in parallel if
 * asked. Zones are laid out one after another in guest-physical space, below the 32-bit
 * PCI hole and then from 4 GiB up, so a zone may give two regions (one KVM slot each).
 * Every access from the VMM to guest memory goes through guest_mem_ptr(), which refuses
 * ranges that are not wholly inside one region. */
#ifndef RV_GUEST_MEM_H
#define RV_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_ZONES 16
#define GUEST_MEM_MAX_REGIONS (2 * GUEST_MEM_MAX_ZONES)

/* What a zone should be. */
struct guest_zone_spec {
	const char *id;
	uint64_t size;
	int host_node;           /* < 0: not bound */
	uint64_t hugepage_size;  /* 0: ordinary pages; else 2 MiB or 1 GiB */
	bool prefault, shared;   /* shared: memfd MAP_SHARED; else private anonymous */
};

struct guest_zone {
	char id[32];
	int fd;                  /* -1 for private anonymous memory */
	uint8_t *base;
	uint64_t size, page_size;
	int host_node;
};

struct guest_region {
	uint64_t gpa, size;
	uint8_t *hva;
	int fd;                  /* the zone's memfd (-1: none) and where this region starts in it */
	uint64_t fd_offset;
	unsigned zone;
};

struct guest_mem {
	uint64_t total;
	struct guest_zone zones[GUEST_MEM_MAX_ZONES];
	unsigned n_zones;
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned n_regions;
};

/* Check what the host must provide for these zones — known host nodes, enough free huge
 * pages per node — against the topology at topo_root (NULL: this host). Logs the first
 * problem and returns -errno; nothing is created. */
int guest_mem_check_host(const struct guest_zone_spec *z, unsigned n, const char *topo_root);
/* Create the zones in order and lay them out. max_gpa_bits bounds the highest address.
 * Returns 0 or -errno with the reason logged (and nothing left allocated). */
int guest_mem_create_zones(struct guest_mem *m, const struct guest_zone_spec *z, unsigned n, unsigned max_gpa_bits);
/* One plain private zone of size bytes. */
int guest_mem_create(struct guest_mem *m, uint64_t size, unsigned max_gpa_bits);
void guest_mem_destroy(struct guest_mem *m);
/* End of the RAM that starts at address 0 (it is contiguous up to the PCI hole). */
uint64_t guest_mem_low_end(const struct guest_mem *m);

/* Host pointer to [gpa, gpa+len) if it lies inside one RAM region, else NULL. */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* Copy into guest RAM; -EFAULT if the range is not RAM. */
int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);

/* Parse "256M", "4G", "1024K", "123" (bytes). Returns 0 or -EINVAL. */
int parse_size(const char *s, uint64_t *out);

#endif
