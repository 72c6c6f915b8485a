/* boot_pvh: the Xen PVH boot ABI for ELF kernels. Loads PT_LOAD segments at their
 * physical addresses, finds the 32-bit entry in the XEN_ELFNOTE_PHYS32_ENTRY note and
 * builds struct hvm_start_info with the command line, memory map and initramfs. */
#include "boot.h"

#include "e820.h"
#include "engine/log.h"
#include "layout.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

/* All ELF offsets/sizes come from the file: check each against its size. */
static int in_file(const struct boot_file *k, uint64_t off, uint64_t len)
{
	return off <= k->size && len <= k->size - off;
}

static int find_entry(const struct boot_file *k, const Elf64_Phdr *ph, unsigned n, uint64_t *entry)
{
	for (unsigned i = 0; i < n; i++) {
		if (ph[i].p_type != PT_NOTE || !in_file(k, ph[i].p_offset, ph[i].p_filesz))
			continue;
		const uint8_t *p = k->data + ph[i].p_offset, *end = p + ph[i].p_filesz;
		while (end - p >= (long)sizeof(Elf64_Nhdr)) {
			const Elf64_Nhdr *nh = (const Elf64_Nhdr *)p;
			uint64_t name_len = (nh->n_namesz + 3ull) & ~3ull, desc_len = (nh->n_descsz + 3ull) & ~3ull;
			const uint8_t *name = p + sizeof(*nh), *desc = name + name_len;
			if ((uint64_t)(end - name) < name_len || (uint64_t)(end - desc) < desc_len)
				break;
			if (nh->n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh->n_namesz == 4 && !memcmp(name, "Xen", 4)) {
				if (nh->n_descsz == 4) {
					uint32_t v;
					memcpy(&v, desc, 4);
					*entry = v;
				} else if (nh->n_descsz == 8) {
					memcpy(entry, desc, 8);
				} else {
					return -ENOEXEC;
				}
				return 0;
			}
			p = desc + desc_len;
		}
	}
	return -ENOENT;
}

int boot_load_pvh(const struct guest_mem *m, const struct boot_file *k, const struct boot_config *c,
		  struct boot_state *out)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)k->data;
	uint64_t entry = 0, kernel_end = 0;
	int ret;

	if (k->size < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64) {
		log_error("kernel '%s': only 64-bit x86 ELF kernels are supported", c->kernel);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !in_file(k, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr))) {
		log_error("kernel '%s': program headers lie outside the file", c->kernel);
		return -ENOEXEC;
	}
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(k->data + eh->e_phoff);
	ret = find_entry(k, ph, eh->e_phnum, &entry);
	if (ret < 0) {
		log_error("kernel '%s' is an ELF without a usable PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)", c->kernel);
		return -ENOEXEC;
	}
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		uint8_t *dst = guest_mem_ptr(m, ph[i].p_paddr, ph[i].p_memsz);
		if (ph[i].p_filesz > ph[i].p_memsz || !in_file(k, ph[i].p_offset, ph[i].p_filesz)) {
			log_error("kernel '%s': segment %u lies outside the file", c->kernel, i);
			return -ENOEXEC;
		}
		if (!dst || ph[i].p_paddr < LAYOUT_HIMEM) {
			log_error("kernel '%s': segment %u at 0x%llx+0x%llx does not fit guest RAM above 1 MiB", c->kernel, i,
				  (unsigned long long)ph[i].p_paddr, (unsigned long long)ph[i].p_memsz);
			return -ENOEXEC;
		}
		memcpy(dst, k->data + ph[i].p_offset, ph[i].p_filesz);
		memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
		if (ph[i].p_paddr + ph[i].p_memsz > kernel_end)
			kernel_end = ph[i].p_paddr + ph[i].p_memsz;
	}

	struct hvm_start_info si = { .magic = HVM_START_MAGIC, .version = 1, .rsdp_paddr = c->rsdp };
	struct e820_entry map[LAYOUT_MAX_E820];
	unsigned n = e820_build(m, map, LAYOUT_MAX_E820);
	struct hvm_memmap_entry *mm = guest_mem_ptr(m, LAYOUT_PVH_MEMMAP, n * sizeof(*mm));
	for (unsigned i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_entry){ map[i].addr, map[i].size, map[i].type, 0 };
	si.memmap_paddr = LAYOUT_PVH_MEMMAP;
	si.memmap_entries = n;

	const char *cmd = c->cmdline ? c->cmdline : "";
	guest_mem_write(m, LAYOUT_CMDLINE, cmd, strlen(cmd) + 1);
	si.cmdline_paddr = LAYOUT_CMDLINE;

	if (c->initramfs) {
		struct hvm_modlist_entry mod = { 0 };
		if ((ret = boot_load_initramfs(m, c->initramfs, kernel_end, LAYOUT_PCI_HOLE_START, &mod.paddr, &mod.size)) < 0)
			return ret;
		guest_mem_write(m, LAYOUT_PVH_MODLIST, &mod, sizeof(mod));
		si.nr_modules = 1;
		si.modlist_paddr = LAYOUT_PVH_MODLIST;
	}
	guest_mem_write(m, LAYOUT_PVH_START_INFO, &si, sizeof(si));
	out->mode = BOOT_PVH32;
	out->entry = entry;
	out->arg = LAYOUT_PVH_START_INFO;
	return 0;
}
