/* guest_mem: guest RAM zones. See guest_mem.h. */
#include "guest_mem.h"

#include "engine/log.h"
#include "engine/topology.h"
#include "layout.h"

#include <ctype.h>
#include <errno.h>
#include <numaif.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/memfd.h>
#include <linux/mman.h>
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

static uint64_t zone_page(const struct guest_zone_spec *z)
{
	return z->hugepage_size ? z->hugepage_size : 4096;
}

static bool same_pool(const struct guest_zone_spec *a, const struct guest_zone_spec *b)
{
	return a->hugepage_size == b->hugepage_size && a->host_node == b->host_node;
}

int guest_mem_check_host(const struct guest_zone_spec *z, unsigned n, const char *topo_root)
{
	struct host_topology topo;
	int ret = topology_load(&topo, topo_root);
	if (ret < 0) {
		log_error("cannot read the host's NUMA topology: %s", strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < n; i++) {
		if (z[i].host_node >= 0 && topology_find(&topo, z[i].host_node) < 0) {
			log_error("memory zone %s: host_numa_node=%d: this host has no such NUMA node (it has %d node%s)", z[i].id,
				  z[i].host_node, topo.n_nodes, topo.n_nodes > 1 ? "s" : "");
			return -ENODEV;
		}
		if (!z[i].hugepage_size)
			continue;
		/* A pool (node and page size) is checked once, at its first zone, for all its zones. */
		bool checked = false;
		for (unsigned k = 0; k < i && !checked; k++)
			checked = same_pool(&z[k], &z[i]);
		if (checked)
			continue;
		unsigned long long need = 0, free_pages = 0;
		for (unsigned k = i; k < n; k++)
			if (same_pool(&z[k], &z[i]))
				need += z[k].size / z[k].hugepage_size;
		ret = topology_free_hugepages(topo_root, z[i].host_node, z[i].hugepage_size, &free_pages);
		if (ret == -ENOENT) {
			log_error("memory zone %s: this host has no %llu KiB huge pages", z[i].id,
				  (unsigned long long)(z[i].hugepage_size >> 10));
			return -EINVAL;
		}
		if (ret < 0) {
			log_error("memory zone %s: cannot read the free huge page count: %s", z[i].id, strerror(-ret));
			return ret;
		}
		if (free_pages < need) {
			char where[48] = "on this host";
			if (z[i].host_node >= 0)
				snprintf(where, sizeof(where), "on host node %d", z[i].host_node);
			log_error("memory zone %s: needs %llu free %llu KiB huge pages %s, there are %llu (reserve more in "
				  "/sys/kernel/mm/hugepages or /sys/devices/system/node/nodeN/hugepages)", z[i].id, need,
				  (unsigned long long)(z[i].hugepage_size >> 10), where, free_pages);
			return -ENOMEM;
		}
	}
	return 0;
}

struct prefault_part {
	pthread_t thread;
	uint8_t *start;
	uint64_t len, page;
	int err;
};

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static void *prefault_part(void *arg)
{
	struct prefault_part *p = arg;
	if (madvise(p->start, p->len, MADV_POPULATE_WRITE) == 0)
		return NULL;
	if (errno != EINVAL) {
		p->err = errno;
		return NULL;
	}
	/* Kernels before 5.14: touch one byte per page (the memory is new, so zero). */
	for (uint64_t off = 0; off < p->len; off += p->page)
		((volatile uint8_t *)p->start)[off] = 0;
	return NULL;
}

/* Populate the zone from several threads: faulting in a large zone one page at a time is
 * the slow part of starting a big guest. */
static int prefault_zone(struct guest_zone *z)
{
	enum { MAX_THREADS = 8 };
	struct prefault_part parts[MAX_THREADS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t pages = z->size / z->page_size;
	unsigned n = cpus > 0 && cpus < MAX_THREADS ? (unsigned)cpus : MAX_THREADS;
	if (pages < n)
		n = (unsigned)pages;
	uint64_t per = (pages + n - 1) / n * z->page_size;
	unsigned started = 0;
	int err = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t off = i * per;
		if (off >= z->size)
			break;
		parts[i] = (struct prefault_part){ .start = z->base + off, .len = z->size - off < per ? z->size - off : per,
						   .page = z->page_size };
		if (pthread_create(&parts[i].thread, NULL, prefault_part, &parts[i])) {
			prefault_part(&parts[i]);
			parts[i].thread = 0;
		}
		started = i + 1;
	}
	for (unsigned i = 0; i < started; i++) {
		if (parts[i].thread)
			pthread_join(parts[i].thread, NULL);
		if (parts[i].err && !err)
			err = parts[i].err;
	}
	if (err) {
		log_error("memory zone %s: cannot prefault %llu MiB: %s", z->id, (unsigned long long)(z->size >> 20),
			  strerror(err));
		return -err;
	}
	return 0;
}

#define THP_SIZE (2ull << 20)

/* Map a zone of small pages at a 2 MiB-aligned address and ask for transparent huge
 * pages: KVM can then map the guest's 2 MiB-aligned ranges with one large page each
 * (fewer faults while the guest first touches its RAM, fewer TLB misses after). Whether
 * the kernel gives them is its policy: /sys/kernel/mm/transparent_hugepage/enabled for
 * private memory, .../shmem_enabled (advise or always) for a memfd. */
static void *map_thp_aligned(uint64_t size, int mflags, int fd)
{
	uint8_t *area = mmap(NULL, size + THP_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return MAP_FAILED;
	uint8_t *start = (uint8_t *)(((uintptr_t)area + THP_SIZE - 1) & ~(uintptr_t)(THP_SIZE - 1));
	void *p = mmap(start, size, PROT_READ | PROT_WRITE, mflags | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		int err = errno;
		munmap(area, size + THP_SIZE);
		errno = err;
		return MAP_FAILED;
	}
	if (start > area)
		munmap(area, (size_t)(start - area));
	if (area + size + THP_SIZE > start + size)
		munmap(start + size, (size_t)(area + size + THP_SIZE - (start + size)));
	if (madvise(p, size, MADV_HUGEPAGE) < 0)
		log_debug("guest memory: no transparent huge pages (madvise: %s)", strerror(errno));
	return p;
}

static int zone_create(struct guest_zone *z, const struct guest_zone_spec *s)
{
	memset(z, 0, sizeof(*z));
	z->fd = -1;
	snprintf(z->id, sizeof(z->id), "%s", s->id ? s->id : "mem0");
	z->size = s->size;
	z->page_size = zone_page(s);
	z->host_node = s->host_node;
	int mflags = MAP_NORESERVE;
	if (s->shared) {
		unsigned fl = MFD_CLOEXEC;
		if (s->hugepage_size)
			fl |= MFD_HUGETLB | (s->hugepage_size == GiB ? MFD_HUGE_1GB : MFD_HUGE_2MB);
		char name[48];
		snprintf(name, sizeof(name), "ringvisor-ram-%s", z->id);
		if ((z->fd = memfd_create(name, fl)) < 0) {
			int err = errno;
			log_error("memory zone %s: cannot create its memfd%s: %s", z->id, s->hugepage_size ? " on huge pages" : "",
				  strerror(err));
			return -err;
		}
		if (ftruncate(z->fd, (off_t)z->size) < 0) {
			int err = errno;
			log_error("memory zone %s: cannot size it to %llu MiB: %s", z->id, (unsigned long long)(z->size >> 20),
				  strerror(err));
			return -err;
		}
		mflags |= MAP_SHARED;
	} else {
		mflags |= MAP_PRIVATE | MAP_ANONYMOUS;
		if (s->hugepage_size)
			mflags |= MAP_HUGETLB | (s->hugepage_size == GiB ? MAP_HUGE_1GB : MAP_HUGE_2MB);
	}
	/* Huge pages are reserved when mapped, so a shortfall fails here rather than as a
	 * SIGBUS when the guest first touches the page. */
	if (s->hugepage_size)
		mflags &= ~MAP_NORESERVE;
	void *p = s->hugepage_size ? mmap(NULL, z->size, PROT_READ | PROT_WRITE, mflags, z->fd, 0)
				   : map_thp_aligned(z->size, mflags, z->fd);
	if (p == MAP_FAILED) {
		int err = errno;
		log_error("memory zone %s: cannot map %llu MiB%s: %s", z->id, (unsigned long long)(z->size >> 20),
			  s->hugepage_size ? " of huge pages (not enough reserved?)" : "", strerror(err));
		return -err;
	}
	z->base = p;
	if (s->host_node >= 0) {
		unsigned long mask[(TOPO_MAX_NODES + 63) / 64 + 1] = { 0 };
		mask[s->host_node / 64] = 1ul << (s->host_node % 64);
		if (mbind(z->base, z->size, MPOL_BIND, mask, sizeof(mask) * 8, 0) < 0) {
			int err = errno;
			log_error("memory zone %s: cannot bind it to host node %d (mbind): %s", z->id, s->host_node, strerror(err));
			return -err;
		}
	}
	/* Where it is, for whoever reads the process's numa_maps or smaps: private memory
	 * has no name of its own there. */
	log_info("memory zone %s: %llu MiB of %s at host address 0x%llx", z->id, (unsigned long long)(z->size >> 20),
		 s->hugepage_size ? (s->shared ? "huge pages (memfd)" : "huge pages")
				  : (s->shared ? "shared memory (memfd)" : "private memory"),
		 (unsigned long long)(uintptr_t)p);
	return s->prefault ? prefault_zone(z) : 0;
}

/* Where a zone of `page` pages starts when the previous one ended at gpa: on its own page
 * size in guest-physical space too, since KVM maps a huge page as one only where guest and
 * host addresses agree modulo its size (the PCI hole and 4 GiB are 1 GiB-aligned, so a
 * split keeps that), and never inside the PCI hole. */
static uint64_t zone_gpa_start(uint64_t gpa, uint64_t page)
{
	gpa = (gpa + page - 1) & ~(page - 1);
	return gpa >= LAYOUT_PCI_HOLE_START && gpa < LAYOUT_4G ? LAYOUT_4G : gpa;
}

/* Where a zone of `size` bytes starting at gpa ends, the PCI hole skipped. */
static uint64_t zone_gpa_end(uint64_t gpa, uint64_t size)
{
	if (gpa < LAYOUT_PCI_HOLE_START && size > LAYOUT_PCI_HOLE_START - gpa)
		return LAYOUT_4G + (size - (LAYOUT_PCI_HOLE_START - gpa));
	return gpa + size;
}

int guest_mem_create_zones(struct guest_mem *m, const struct guest_zone_spec *z, unsigned n, unsigned max_gpa_bits)
{
	uint64_t gpa = 0, total = 0;
	int ret;

	memset(m, 0, sizeof(*m));
	if (!n || n > GUEST_MEM_MAX_ZONES) {
		log_error("guest RAM needs 1 to %d memory zones", GUEST_MEM_MAX_ZONES);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!z[i].size || z[i].size % zone_page(&z[i])) {
			log_error("memory zone %s: size %llu is not a positive multiple of its page size (%llu)", z[i].id,
				  (unsigned long long)z[i].size, (unsigned long long)zone_page(&z[i]));
			return -EINVAL;
		}
		total += z[i].size;
	}
	if (z[0].size < 16 * MiB) {
		log_error("--memory size=%llu is too small: the guest needs at least 16 MiB in its first zone",
			  (unsigned long long)z[0].size);
		return -EINVAL;
	}
	/* The layout first, so that RAM that cannot fit fails before any of it is allocated
	 * (or prefaulted, which takes seconds for large zones). */
	for (unsigned i = 0; i < n; i++)
		gpa = zone_gpa_end(zone_gpa_start(gpa, zone_page(&z[i])), z[i].size);
	if (max_gpa_bits < 64 && gpa > (1ull << max_gpa_bits)) {
		log_error("--memory: %llu MiB of guest RAM would end at 0x%llx (zones aligned to their page sizes, the "
			  "PCI hole skipped): beyond the guest's %u-bit physical address space",
			  (unsigned long long)(total >> 20), (unsigned long long)gpa, max_gpa_bits);
		return -EINVAL;
	}
	gpa = 0;
	for (unsigned i = 0; i < n; i++) {
		struct guest_zone *gz = &m->zones[i];
		m->n_zones = i + 1;
		if ((ret = zone_create(gz, &z[i])) < 0) {
			guest_mem_destroy(m);
			return ret;
		}
		gpa = zone_gpa_start(gpa, gz->page_size);
		for (uint64_t off = 0; off < gz->size;) {
			if (gpa == LAYOUT_PCI_HOLE_START)
				gpa = LAYOUT_4G;
			uint64_t len = gz->size - off;
			if (gpa < LAYOUT_PCI_HOLE_START && len > LAYOUT_PCI_HOLE_START - gpa)
				len = LAYOUT_PCI_HOLE_START - gpa;
			m->regions[m->n_regions++] = (struct guest_region){ gpa, len, gz->base + off, gz->fd, off, i };
			gpa += len;
			off += len;
		}
	}
	m->total = total;
	return 0;
}

int guest_mem_create(struct guest_mem *m, uint64_t size, unsigned max_gpa_bits)
{
	struct guest_zone_spec z = { .id = "mem0", .size = size, .host_node = -1 };
	return guest_mem_create_zones(m, &z, 1, max_gpa_bits);
}

void guest_mem_destroy(struct guest_mem *m)
{
	for (unsigned i = 0; i < m->n_zones; i++) {
		struct guest_zone *z = &m->zones[i];
		if (z->base)
			munmap(z->base, z->size);
		if (z->fd >= 0)
			close(z->fd);
		z->base = NULL;
		z->fd = -1;
	}
	m->n_zones = m->n_regions = 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *m)
{
	uint64_t end = 0;
	for (unsigned i = 0; i < m->n_regions; i++)
		if (m->regions[i].gpa == end)
			end += m->regions[i].size;
	return end;
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
