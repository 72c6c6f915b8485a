/* guest_mem: memfd-backed guest RAM. See guest_mem.h. */
#include "guest_mem.h"

#include "engine/log.h"
#include "layout.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 0: break;
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: return -EINVAL;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -EINVAL;
	if (shift && v > (~0ull >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

int guest_mem_create(struct guest_mem *m, uint64_t size, unsigned max_gpa_bits)
{
	uint64_t low, high;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (size < 16 * MiB) {
		log_error("--memory size=%llu is too small: the guest needs at least 16 MiB", (unsigned long long)size);
		return -EINVAL;
	}
	if (size & 0xfff) {
		log_error("--memory size must be a multiple of 4 KiB");
		return -EINVAL;
	}
	low = size < LAYOUT_PCI_HOLE_START ? size : LAYOUT_PCI_HOLE_START;
	high = size - low;
	if (high && max_gpa_bits < 64 && LAYOUT_4G + high > (1ull << max_gpa_bits)) {
		log_error("--memory size=%llu MiB does not fit the guest's %u-bit physical address space",
			  (unsigned long long)(size >> 20), max_gpa_bits);
		return -EINVAL;
	}
	m->fd = memfd_create("ringvisor-ram", MFD_CLOEXEC);
	if (m->fd < 0) {
		int err = errno;
		log_error("cannot create guest RAM (memfd_create): %s", strerror(err));
		return -err;
	}
	if (ftruncate(m->fd, (off_t)size) < 0) {
		int err = errno;
		log_error("cannot size guest RAM to %llu MiB: %s", (unsigned long long)(size >> 20), strerror(err));
		guest_mem_destroy(m);
		return -err;
	}
	m->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->fd, 0);
	if (m->base == MAP_FAILED) {
		int err = errno;
		m->base = NULL;
		log_error("cannot map %llu MiB of guest RAM: %s", (unsigned long long)(size >> 20), strerror(err));
		guest_mem_destroy(m);
		return -err;
	}
	m->total = size;
	m->regions[m->n_regions++] = (struct guest_region){ 0, low, m->base, 0 };
	if (high)
		m->regions[m->n_regions++] = (struct guest_region){ LAYOUT_4G, high, m->base + low, low };
	return 0;
}

void guest_mem_destroy(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base, m->total);
	if (m->fd >= 0)
		close(m->fd);
	m->base = NULL;
	m->fd = -1;
}

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->n_regions; i++) {
		const struct guest_region *r = &m->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = guest_mem_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}
