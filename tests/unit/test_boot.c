/* Unit tests for the PVH and bzImage loaders on images built here, well-formed and
 * broken: what lands in guest RAM, what the boot structures say, what is refused. */
#include "check.h"

#include "engine/log.h"
#include "kvm/boot.h"
#include "kvm/layout.h"

#include <asm/bootparam.h>
#include <elf.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/rv-boot-XXXXXX";

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[8][256];
	static int slot;
	char *p = path[slot++ % 8];
	snprintf(p, 256, "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	fwrite(data, 1, len, f);
	fclose(f);
	return p;
}

/* A PVH ELF: one PT_LOAD of `code` at paddr, one PT_NOTE with the entry (desc 4 or 8 bytes). */
static size_t make_pvh(uint8_t *buf, uint64_t paddr, uint64_t entry, unsigned desc_size, uint64_t memsz)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	uint8_t *note = buf + sizeof(*eh) + 2 * sizeof(*ph);
	uint8_t *code = buf + 512;

	memset(buf, 0, 1024);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = desc_size, .n_type = 18 };
	memcpy(note, &nh, sizeof(nh));
	memcpy(note + sizeof(nh), "Xen", 4);
	memcpy(note + sizeof(nh) + 4, &entry, desc_size);
	ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = (uint64_t)(note - buf), .p_filesz = sizeof(nh) + 4 + 8 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 512, .p_paddr = paddr, .p_filesz = 256, .p_memsz = memsz };
	for (int i = 0; i < 256; i++)
		code[i] = (uint8_t)i;
	return 1024;
}

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

static void test_pvh_load(void)
{
	struct guest_mem m;
	struct boot_state bs;
	uint8_t img[1024], rd[5000];

	CHECK_EQ(guest_mem_create(&m, 64ull << 20, 46), 0);
	make_pvh(img, 0x100000, 0x100040, 8, 0x2000);
	memset(rd, 0x5a, sizeof(rd));
	struct boot_config c = { write_file("k.elf", img, sizeof(img)), write_file("rd", rd, sizeof(rd)), "job=boot x=1", LAYOUT_ACPI_START };
	memset(guest_mem_ptr(&m, 0x100000, 0x2000), 0xff, 0x2000);
	CHECK_EQ(boot_load(&m, &c, &bs), 0);
	CHECK_EQ(bs.mode, BOOT_PVH32);
	CHECK_EQ(bs.entry, 0x100040);
	CHECK_EQ(bs.arg, LAYOUT_PVH_START_INFO);
	uint8_t *k = guest_mem_ptr(&m, 0x100000, 0x2000);
	CHECK_EQ(k[0], 0);
	CHECK_EQ(k[255], 255);
	CHECK_EQ(k[256], 0);    /* bss zeroed */
	CHECK_EQ(k[0x1fff], 0);
	struct hvm_start_info *si = guest_mem_ptr(&m, LAYOUT_PVH_START_INFO, sizeof(*si));
	CHECK_EQ(si->magic, 0x336ec578);
	CHECK_EQ(si->version, 1);
	CHECK(!strcmp(guest_mem_ptr(&m, si->cmdline_paddr, 13), "job=boot x=1"));
	CHECK_EQ(si->memmap_entries, 3);
	CHECK_EQ(si->rsdp_paddr, LAYOUT_ACPI_START);
	CHECK_EQ(si->nr_modules, 1);
	uint64_t *mod = guest_mem_ptr(&m, si->modlist_paddr, 32);
	CHECK_EQ(mod[1], sizeof(rd));
	CHECK_EQ(mod[0] & 0xfff, 0);
	CHECK(mod[0] + mod[1] <= 64ull << 20);
	CHECK(memcmp(guest_mem_ptr(&m, mod[0], sizeof(rd)), rd, sizeof(rd)) == 0);

	/* a 4-byte entry note (as older kernels write it) works too */
	make_pvh(img, 0x200000, 0x200010, 4, 256);
	c = (struct boot_config){ write_file("k4.elf", img, sizeof(img)), NULL, NULL, 0 };
	CHECK_EQ(boot_load(&m, &c, &bs), 0);
	CHECK_EQ(bs.entry, 0x200010);
	guest_mem_destroy(&m);
}

static void test_pvh_refuses(void)
{
	struct guest_mem m;
	struct boot_state bs;
	uint8_t img[1024];
	struct boot_config c = { NULL, NULL, NULL, 0 };

	log_set_level(LOG_QUIET);
	CHECK_EQ(guest_mem_create(&m, 64ull << 20, 46), 0);
	/* segment below 1 MiB: would overwrite the boot structures */
	make_pvh(img, 0x1000, 0x1000, 8, 256);
	c.kernel = write_file("low.elf", img, sizeof(img));
	CHECK(boot_load(&m, &c, &bs) < 0);
	/* segment past the end of RAM */
	make_pvh(img, 63ull << 20, 63ull << 20, 8, 2ull << 20);
	c.kernel = write_file("high.elf", img, sizeof(img));
	CHECK(boot_load(&m, &c, &bs) < 0);
	/* segment in the PCI hole / at 4 GiB with no RAM there */
	make_pvh(img, LAYOUT_4G, LAYOUT_4G, 8, 256);
	c.kernel = write_file("hole.elf", img, sizeof(img));
	CHECK(boot_load(&m, &c, &bs) < 0);
	/* file data past the end of the file */
	make_pvh(img, 0x100000, 0x100000, 8, 0x1000);
	((Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)))[1].p_filesz = 0x10000;
	((Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)))[1].p_memsz = 0x10000;
	c.kernel = write_file("trunc.elf", img, sizeof(img));
	CHECK(boot_load(&m, &c, &bs) < 0);
	/* program headers past the end of the file */
	make_pvh(img, 0x100000, 0x100000, 8, 256);
	((Elf64_Ehdr *)img)->e_phoff = 0xfffffffffffffff0ull;
	c.kernel = write_file("phoff.elf", img, sizeof(img));
	CHECK(boot_load(&m, &c, &bs) < 0);
	/* a note whose size claims more than the segment holds */
	make_pvh(img, 0x100000, 0x100000, 8, 256);
	((Elf64_Nhdr *)(img + sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr)))->n_namesz = 0x7fffffff;
	c.kernel = write_file("note.elf", img, sizeof(img));
	CHECK(boot_load(&m, &c, &bs) < 0);
	/* a 32-bit ELF */
	make_pvh(img, 0x100000, 0x100000, 8, 256);
	img[EI_CLASS] = ELFCLASS32;
	c.kernel = write_file("elf32", img, sizeof(img));
	CHECK(boot_load(&m, &c, &bs) < 0);
	/* a command line longer than its slot */
	make_pvh(img, 0x100000, 0x100000, 8, 256);
	c.kernel = write_file("ok.elf", img, sizeof(img));
	char *huge = malloc(LAYOUT_CMDLINE_MAX + 10);
	memset(huge, 'a', LAYOUT_CMDLINE_MAX + 9);
	huge[LAYOUT_CMDLINE_MAX + 9] = 0;
	c.cmdline = huge;
	CHECK(boot_load(&m, &c, &bs) < 0);
	free(huge);
	/* an initramfs larger than RAM */
	c.cmdline = NULL;
	static uint8_t big[80 << 20];
	c.initramfs = write_file("big.rd", big, sizeof(big));
	CHECK(boot_load(&m, &c, &bs) < 0);
	log_set_level(LOG_INFO);
	guest_mem_destroy(&m);
}

static size_t make_bzimage(uint8_t *buf, size_t payload, uint16_t version, uint16_t xloadflags)
{
	size_t size = 2 * 512 + payload;
	struct setup_header *h = (struct setup_header *)(buf + 0x1f1);
	memset(buf, 0, size);
	h->setup_sects = 1;
	h->boot_flag = 0xaa55;
	memcpy(&h->header, "HdrS", 4);
	h->version = version;
	h->xloadflags = xloadflags;
	h->init_size = 0x10000;
	h->cmdline_size = 64;
	h->initrd_addr_max = 0x7fffffff;
	h->pref_address = 0x1000000;
	buf[0x201] = 0x6a; /* setup header ends at 0x202 + 0x6a */
	for (size_t i = 0; i < payload; i++)
		buf[1024 + i] = (uint8_t)(i * 7);
	return size;
}

static void test_bzimage_load(void)
{
	struct guest_mem m;
	struct boot_state bs;
	static uint8_t img[1024 + 8192];
	uint8_t rd[3000];

	CHECK_EQ(guest_mem_create(&m, 128ull << 20, 46), 0);
	size_t n = make_bzimage(img, 8192, 0x020f, XLF_KERNEL_64);
	memset(rd, 0x33, sizeof(rd));
	struct boot_config c = { write_file("bz", img, n), write_file("bzrd", rd, sizeof(rd)), "console=ttyS0", LAYOUT_ACPI_START };
	CHECK_EQ(boot_load(&m, &c, &bs), 0);
	CHECK_EQ(bs.mode, BOOT_LINUX64);
	CHECK_EQ(bs.entry, LAYOUT_HIMEM + 0x200);
	CHECK_EQ(bs.arg, LAYOUT_ZERO_PAGE);
	CHECK(memcmp(guest_mem_ptr(&m, LAYOUT_HIMEM, 8192), img + 1024, 8192) == 0);
	struct boot_params *bp = guest_mem_ptr(&m, LAYOUT_ZERO_PAGE, sizeof(*bp));
	CHECK_EQ(bp->hdr.type_of_loader, 0xff);
	CHECK_EQ(bp->hdr.version, 0x020f);
	CHECK(bp->hdr.loadflags & CAN_USE_HEAP);
	CHECK(!strcmp(guest_mem_ptr(&m, bp->hdr.cmd_line_ptr, 14), "console=ttyS0"));
	CHECK_EQ(bp->hdr.ramdisk_size, sizeof(rd));
	CHECK_EQ(bp->hdr.ramdisk_image & 0xfff, 0);
	CHECK(bp->hdr.ramdisk_image >= 0x1000000 + 0x10000); /* above where the kernel unpacks itself */
	CHECK(bp->hdr.ramdisk_image + sizeof(rd) <= 128ull << 20);
	CHECK(memcmp(guest_mem_ptr(&m, bp->hdr.ramdisk_image, sizeof(rd)), rd, sizeof(rd)) == 0);
	CHECK_EQ(bp->e820_entries, 3);
	CHECK_EQ(bp->acpi_rsdp_addr, LAYOUT_ACPI_START);
	CHECK_EQ(bp->e820_table[2].addr, LAYOUT_HIMEM);
	CHECK_EQ(bp->e820_table[2].addr + bp->e820_table[2].size, 128ull << 20);
	guest_mem_destroy(&m);
}

static void test_bzimage_refuses(void)
{
	struct guest_mem m;
	struct boot_state bs;
	static uint8_t img[1024 + 8192];
	struct boot_config c = { NULL, NULL, NULL, 0 };

	log_set_level(LOG_QUIET);
	CHECK_EQ(guest_mem_create(&m, 64ull << 20, 46), 0);
	size_t n = make_bzimage(img, 8192, 0x0206, XLF_KERNEL_64);
	c.kernel = write_file("old", img, n);
	CHECK(boot_load(&m, &c, &bs) < 0);
	n = make_bzimage(img, 8192, 0x020f, 0);
	c.kernel = write_file("no64", img, n);
	CHECK(boot_load(&m, &c, &bs) < 0);
	n = make_bzimage(img, 8192, 0x020f, XLF_KERNEL_64);
	c.kernel = write_file("trunc", img, 1024); /* setup sectors only */
	CHECK(boot_load(&m, &c, &bs) < 0);
	c.kernel = write_file("ok", img, n);
	c.cmdline = "this command line is longer than the sixty-four bytes the header allows us";
	CHECK(boot_load(&m, &c, &bs) < 0);
	/* init_size larger than RAM */
	c.cmdline = NULL;
	((struct setup_header *)(img + 0x1f1))->init_size = 0x7fffffff;
	c.kernel = write_file("huge", img, n);
	CHECK(boot_load(&m, &c, &bs) < 0);
	log_set_level(LOG_INFO);
	guest_mem_destroy(&m);
}

int main(void)
{
	log_init();
	if (!mkdtemp(dir)) {
		printf("FAIL setup: mkdtemp\n");
		return 1;
	}
	RUN(test_pvh_load);
	RUN(test_pvh_refuses);
	RUN(test_bzimage_load);
	RUN(test_bzimage_refuses);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) { /* best effort */ }
	CHECK_EXIT();
}
