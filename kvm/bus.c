/* bus: sorted range table with binary search. See bus.h. */
#include "bus.h"

#include "engine/exitq.h"
#include "engine/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
}

void bus_free(struct bus *b)
{
	free(b->entries);
	b->entries = NULL;
	b->n = b->cap = 0;
}

int bus_add(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops, void *dev,
	    struct engine *engine, const char *name)
{
	unsigned i;

	if (!len || base + len < base)
		return -EINVAL;
	for (i = 0; i < b->n; i++) {
		struct bus_entry *e = &b->entries[i];
		if (base < e->base + e->len && e->base < base + len) {
			log_error("%s bus: %s at 0x%llx+0x%llx overlaps %s", b->name, name, (unsigned long long)base,
				  (unsigned long long)len, e->name);
			return -EEXIST;
		}
	}
	if (b->n == b->cap) {
		unsigned cap = b->cap ? b->cap * 2 : 16;
		struct bus_entry *n = realloc(b->entries, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		b->entries = n;
		b->cap = cap;
	}
	for (i = b->n; i > 0 && b->entries[i - 1].base > base; i--)
		b->entries[i] = b->entries[i - 1];
	b->entries[i] = (struct bus_entry){ base, len, ops, dev, engine, name, 0 };
	b->n++;
	return 0;
}

void bus_set_flags(struct bus *b, uint64_t base, unsigned flags)
{
	for (unsigned i = 0; i < b->n; i++)
		if (b->entries[i].base == base)
			b->entries[i].flags |= flags;
}

const struct bus_entry *bus_find(const struct bus *b, uint64_t addr, unsigned size)
{
	unsigned lo = 0, hi = b->n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct bus_entry *e = &b->entries[mid];
		if (addr < e->base)
			hi = mid;
		else if (addr - e->base >= e->len)
			lo = mid + 1;
		else
			return (addr - e->base) + size <= e->len ? e : NULL;
	}
	return NULL;
}

static __thread uint64_t access_time_ns;

uint64_t bus_access_time_ns(void) { return access_time_ns; }

void bus_dispatch(struct exitq_msg *m)
{
	const struct bus_entry *be = m->ctx;
	unsigned size = m->len;

	access_time_ns = m->when_ns;

	if (m->count == 1) {
		if (m->is_write)
			be->ops->write(be->dev, m->addr, m->value, size);
		else
			m->value = be->ops->read(be->dev, m->addr, size);
		return;
	}
	/* String port I/O: the vCPU waits while we walk its run-page buffer. */
	for (uint32_t i = 0; i < m->count; i++) {
		uint8_t *p = m->data + (size_t)i * size;
		uint64_t v = 0;
		if (m->is_write) {
			memcpy(&v, p, size);
			be->ops->write(be->dev, m->addr, v, size);
		} else {
			v = be->ops->read(be->dev, m->addr, size);
			memcpy(p, &v, size);
		}
	}
}
