/* boot_cpu: the boot vCPU's registers for each entry ABI, and the GDT (and, for the
 * 64-bit entry, identity page tables) they refer to. */
#include "boot.h"

#include "engine/log.h"
#include "ioctl_retry.h"
#include "layout.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

/* Boot GDT: 0x08 32-bit code (PVH), 0x10 64-bit code and 0x18 data (the Linux boot
 * protocol's __BOOT_CS/__BOOT_DS), 0x20 a TSS so TR is valid. */
static const uint64_t boot_gdt[] = {
	0,
	0x00cf9b000000ffffull,
	0x00af9b000000ffffull,
	0x00cf93000000ffffull,
	0x00808b0000000067ull,
};

static struct kvm_segment seg(uint16_t sel, uint8_t type, uint8_t db, uint8_t l)
{
	struct kvm_segment s = {
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = db, .s = 1, .l = l, .g = 1,
	};
	return s;
}

static int write_page_tables(const struct guest_mem *m)
{
	uint64_t *pml4 = guest_mem_ptr(m, LAYOUT_BOOT_PML4, 4096);
	uint64_t *pdpt = guest_mem_ptr(m, LAYOUT_BOOT_PDPT, 4096);
	uint64_t *pd = guest_mem_ptr(m, LAYOUT_BOOT_PD, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = LAYOUT_BOOT_PDPT | 0x3;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_BOOT_PD + i * 4096ull) | 0x3;
	for (unsigned i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83; /* 2 MiB, present, writable */
	return 0;
}

int boot_set_cpu_state(int vcpu_fd, const struct guest_mem *m, const struct boot_state *s)
{
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (guest_mem_write(m, LAYOUT_BOOT_GDT, boot_gdt, sizeof(boot_gdt)) < 0)
		return -EFAULT;
	if (kvm_ioctl(vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	sr.gdt.base = LAYOUT_BOOT_GDT;
	sr.gdt.limit = sizeof(boot_gdt) - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	sr.tr = seg(0x20, 0xb, 0, 0);
	sr.tr.s = 0;
	sr.tr.g = 0;
	sr.tr.limit = 0x67;
	sr.ldt.unusable = 1;
	memset(&r, 0, sizeof(r));
	r.rflags = 0x2;
	r.rip = s->entry;

	if (s->mode == BOOT_PVH32) {
		sr.cs = seg(0x08, 0xb, 1, 0);
		sr.ds = sr.es = sr.fs = sr.gs = sr.ss = seg(0x18, 0x3, 1, 0);
		sr.cr0 = 0x11;  /* PE, ET */
		sr.cr4 = 0;
		sr.efer = 0;
		r.rbx = s->arg;
	} else {
		int ret = write_page_tables(m);
		if (ret < 0)
			return ret;
		sr.cs = seg(0x10, 0xb, 0, 1);
		sr.ds = sr.es = sr.fs = sr.gs = sr.ss = seg(0x18, 0x3, 1, 0);
		sr.cr3 = LAYOUT_BOOT_PML4;
		sr.cr4 = 0x20;        /* PAE */
		sr.cr0 = 0x80000011;  /* PG, ET, PE */
		sr.efer = 0x500;      /* LME, LMA */
		r.rsi = s->arg;
	}
	if (kvm_ioctl(vcpu_fd, KVM_SET_SREGS, &sr) < 0 || kvm_ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0) {
		int err = errno;
		log_error("cannot set the boot vCPU's registers: %s", strerror(err));
		return -err;
	}
	return 0;
}
