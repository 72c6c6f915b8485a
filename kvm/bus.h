/* bus: address ranges (port I/O or MMIO) mapped to device models and the engine that
 * owns each. Filled before the vCPUs start, then read-only: vCPU threads look up the
 * target of an exit here and forward it to the owning engine. */
#ifndef RV_BUS_H
#define RV_BUS_H

#include <stdint.h>

struct engine;

struct bus_ops {
	/* Run on the owning engine's thread. size is 1, 2, 4 or 8. */
	void (*write)(void *dev, uint64_t addr, uint64_t value, unsigned size);
	uint64_t (*read)(void *dev, uint64_t addr, unsigned size);
};

/* The vCPU stamps accesses to this range with the time it saw them (boot timing):
 * a clock read per exit, so only where asked. */
#define BUS_F_TIMESTAMP 1u

struct bus_entry {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *dev;
	struct engine *engine;
	const char *name;
	unsigned flags;
};

struct bus {
	const char *name; /* "pio" or "mmio" */
	struct bus_entry *entries;
	unsigned n, cap;
};

void bus_init(struct bus *b, const char *name);
void bus_free(struct bus *b);
/* Returns 0, or -EEXIST if the range overlaps one already there (logged). */
int bus_add(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops, void *dev,
	    struct engine *engine, const char *name);
/* Set flags (BUS_F_*) on the entry that starts at base. */
void bus_set_flags(struct bus *b, uint64_t base, unsigned flags);
/* The entry that holds [addr, addr+size), or NULL. */
const struct bus_entry *bus_find(const struct bus *b, uint64_t addr, unsigned size);

struct exitq_msg;
/* Run a forwarded access (an exitq message whose ctx is a bus_entry) on the engine. */
void bus_dispatch(struct exitq_msg *m);
/* In a bus_ops handler: when the vCPU made this access (ns since VMM start). Posted
 * writes run later than they happened; boot timing wants the vCPU's time. */
uint64_t bus_access_time_ns(void);

#endif
