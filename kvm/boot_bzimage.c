/* boot_bzimage: the Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 64-bit
 * entry: the protected-mode kernel at 1 MiB, boot_params ("zero page") with the setup
 * header, command line, initramfs and e820 map; entered at load address + 0x200. */
#include "boot.h"

#include "e820.h"
#include "engine/log.h"
#include "layout.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <string.h>

#define BZ_MIN_VERSION 0x020c /* 2.12: xloadflags, so we can see the 64-bit entry */

int boot_load_bzimage(const struct guest_mem *m, const struct boot_file *k, const struct boot_config *c,
		      struct boot_state *out)
{
	struct boot_params *bp = guest_mem_ptr(m, LAYOUT_ZERO_PAGE, sizeof(*bp));
	struct setup_header hdr;
	int ret;

	memcpy(&hdr, k->data + 0x1f1, sizeof(hdr) <= k->size - 0x1f1 ? sizeof(hdr) : k->size - 0x1f1);
	if (hdr.boot_flag != 0xaa55 || hdr.version < BZ_MIN_VERSION) {
		log_error("kernel '%s': boot protocol %u.%02u is too old (2.12 or newer is needed)", c->kernel,
			  hdr.version >> 8, hdr.version & 0xff);
		return -ENOEXEC;
	}
	if (!(hdr.xloadflags & XLF_KERNEL_64)) {
		log_error("kernel '%s' has no 64-bit entry point (XLF_KERNEL_64)", c->kernel);
		return -ENOEXEC;
	}
	unsigned setup_sects = hdr.setup_sects ? hdr.setup_sects : 4;
	uint64_t setup_size = (setup_sects + 1ull) * 512;
	if (setup_size >= k->size) {
		log_error("kernel '%s' is truncated: no protected-mode code after the setup sectors", c->kernel);
		return -ENOEXEC;
	}
	uint64_t kernel_size = k->size - setup_size;
	uint64_t load = LAYOUT_HIMEM;
	/* The kernel decompresses in place and needs init_size bytes from its load address. */
	uint64_t need = hdr.init_size > kernel_size ? hdr.init_size : kernel_size;
	uint8_t *dst = guest_mem_ptr(m, load, need);
	if (!dst) {
		log_error("kernel '%s' needs %llu MiB from 1 MiB up; guest RAM is too small", c->kernel,
			  (unsigned long long)((load + need) >> 20) + 1);
		return -ENOMEM;
	}
	memcpy(dst, k->data + setup_size, kernel_size);

	memset(bp, 0, sizeof(*bp));
	/* The setup header runs from 0x1f1 to 0x202 + the byte at 0x201. */
	size_t hdr_len = 0x202 + k->data[0x201] - 0x1f1;
	if (hdr_len > sizeof(bp->hdr))
		hdr_len = sizeof(bp->hdr);
	memcpy(&bp->hdr, k->data + 0x1f1, hdr_len);
	bp->hdr.type_of_loader = 0xff;
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.vid_mode = 0xffff;
	bp->hdr.code32_start = (uint32_t)load;

	const char *cmd = c->cmdline ? c->cmdline : "";
	size_t cmd_len = strlen(cmd);
	if (hdr.cmdline_size && cmd_len > hdr.cmdline_size) {
		log_error("--cmdline is %zu bytes; this kernel accepts at most %u", cmd_len, hdr.cmdline_size);
		return -E2BIG;
	}
	guest_mem_write(m, LAYOUT_CMDLINE, cmd, cmd_len + 1);
	bp->hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;

	if (c->initramfs) {
		uint64_t limit = hdr.initrd_addr_max ? hdr.initrd_addr_max + 1ull : LAYOUT_PCI_HOLE_START;
		uint64_t addr, size;
		/* A relocatable kernel decompresses to its preferred address (16 MiB for Debian's)
		 * whatever we load it at: keep the initramfs above both. */
		uint64_t kernel_top = load + need;
		if (hdr.pref_address + hdr.init_size > kernel_top)
			kernel_top = hdr.pref_address + hdr.init_size;
		if ((ret = boot_load_initramfs(m, c->initramfs, kernel_top, limit, &addr, &size)) < 0)
			return ret;
		bp->hdr.ramdisk_image = (uint32_t)addr;
		bp->hdr.ramdisk_size = (uint32_t)size;
	}

	struct e820_entry map[LAYOUT_MAX_E820];
	unsigned n = e820_build(m, map, E820_MAX_ENTRIES_ZEROPAGE);
	for (unsigned i = 0; i < n; i++) {
		bp->e820_table[i].addr = map[i].addr;
		bp->e820_table[i].size = map[i].size;
		bp->e820_table[i].type = map[i].type;
	}
	bp->e820_entries = (uint8_t)n;
	bp->acpi_rsdp_addr = c->rsdp;
	out->mode = BOOT_LINUX64;
	out->entry = load + 0x200;
	out->arg = LAYOUT_ZERO_PAGE;
	return 0;
}
