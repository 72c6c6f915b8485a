/* boot: kernel loaders and the CPU state they hand over.
 *  - PVH: an ELF with the XEN_ELFNOTE_PHYS32_ENTRY note, entered in 32-bit protected
 *    mode with EBX pointing at struct hvm_start_info (the guest kit, Linux's vmlinux).
 *  - bzImage: the Linux x86 boot protocol's 64-bit entry, RSI pointing at boot_params. */
#ifndef RV_BOOT_H
#define RV_BOOT_H

#include "guest_mem.h"

#include <stddef.h>
#include <stdint.h>

enum boot_mode { BOOT_PVH32, BOOT_LINUX64 };

struct boot_config {
	const char *kernel;
	const char *initramfs; /* may be NULL */
	const char *cmdline;   /* may be NULL */
	uint64_t rsdp;         /* the ACPI RSDP's address, 0: none */
};

struct boot_state {
	enum boot_mode mode;
	uint64_t entry;
	uint64_t arg; /* EBX (PVH start_info) or RSI (boot_params) */
};

/* A whole file in memory. */
struct boot_file {
	uint8_t *data;
	size_t size;
};
int boot_file_read(const char *path, const char *what, struct boot_file *f);
void boot_file_free(struct boot_file *f);

/* Load kernel (+initramfs, cmdline) into RAM and fill *out. 0 or -errno, reason logged. */
int boot_load(const struct guest_mem *m, const struct boot_config *c, struct boot_state *out);

int boot_load_pvh(const struct guest_mem *m, const struct boot_file *k, const struct boot_config *c,
		  struct boot_state *out);
int boot_load_bzimage(const struct guest_mem *m, const struct boot_file *k, const struct boot_config *c,
		      struct boot_state *out);
/* Read the initramfs at path into RAM: page-aligned, as high as possible below limit
 * (and below the PCI hole) and above not_below. Returns 0 with its place, or -errno. */
int boot_load_initramfs(const struct guest_mem *m, const char *path, uint64_t not_below, uint64_t limit,
			uint64_t *addr, uint64_t *size);

/* Program vCPU fd with the entry state (writes the boot GDT and, for 64-bit entry,
 * identity page tables into RAM). */
int boot_set_cpu_state(int vcpu_fd, const struct guest_mem *m, const struct boot_state *s);

#endif
