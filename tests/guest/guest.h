/* guest.h — shared definitions for the ringvisor guest kit: types, machine
 * constants (ports, addresses), service-call numbers and the prototypes of
 * every module. One header on purpose: the kit is small and freestanding. */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#include "asm.h" /* MAX_CPUS, stack sizes, selectors, TRAMPOLINE_PA */

/* Machine contract: ports every VMM we run on must provide. */
#define PORT_COM1 0x3f8     /* 16550 THR: output, one byte per outb        */
#define PORT_COM1_SCR 0x3ff /* 16550 scratch register: handled by the VMM  */
#define PORT_PIC1_IMR 0x21  /* master PIC mask: handled inside KVM         */
#define PORT_EXIT 0xf4      /* outl v: stop the VM (QEMU: status (v<<1)|1) */

#define LAPIC_BASE 0xfee00000ul
#define IOAPIC_BASE 0xfec00000ul
#define IRQ_VECTOR 0x40 /* the one MSI vector the kit uses */
/* Interrupts taken on IRQ_VECTOR (CPL0 handler: count, EOI, iretq). */
extern volatile u64 irq_count;

/* Service calls: CPL3 -> CPL0 via `int $0x80` (see trap.c for why the #UD
 * path exists). rax = number, rdi/rsi/rdx = arguments, rax = result. */
enum svc {
    SVC_NOP = 0,       /* round trip only                                    */
    SVC_WRITE = 1,     /* (buf, len): bytes to COM1                          */
    SVC_EXIT = 2,      /* (code): outl code to 0xf4, never returns            */
    SVC_PIT_CAL = 3,   /* () -> TSC cycles in 10 ms of PIT ch2, 0 on failure */
    SVC_BENCH = 4,     /* (kind, n) -> TSC cycles of n port ops at CPL0       */
    SVC_HALT = 5,      /* () cli;hlt forever (parks an AP)                    */
    SVC_CPUID = 6,     /* (leaf, subleaf, u32 out[4]): CPUID as the VM sees it */
    SVC_FLUSH_TLB = 7, /* () reload CR3 after page-table edits at CPL3        */
    SVC_TRIPLE_FAULT = 8, /* () empty IDT + exception: the CPU shuts down     */
    SVC_OUTB = 9,      /* (port, value): one port write at CPL0               */
    SVC_INB = 10,      /* (port) -> value: one port read at CPL0              */
    SVC_CMPXCHG16B = 11, /* (pa) lock cmpxchg16b at CPL0 on physical address pa (0: on RAM):
                            KVM's instruction emulator cannot do it */
    SVC_OUTL = 12,     /* (port, value): one 32-bit port write (PCI 0xCF8/0xCFC) */
    SVC_INL = 13,      /* (port) -> value: one 32-bit port read                */
    SVC_PCI_READ = 14, /* (cf8 address) -> dword: outl 0xCF8 + inl 0xCFC in one call */
    SVC_PCI_WRITE = 15, /* (cf8 address, value): outl 0xCF8 + outl 0xCFC        */
    SVC_IRQ_ENABLE = 16, /* () software-enable the LAPIC; return to CPL3 with IF=1 */
    SVC_OUTW = 17,     /* (port, value): one 16-bit port write (ACPI PM1 control) */
};
enum bench_kind { BENCH_OUT_VMM = 0, BENCH_OUT_KVM = 1, BENCH_IN_VMM = 2, BENCH_NOP = 3 };

static inline u64 svc(u64 nr, u64 a, u64 b, u64 c)
{
    u64 ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "memory");
    return ret;
}

/* CPUID as the VMM configured it: executed at CPL0 by a service call. */
static inline void vcpuid(u32 leaf, u32 sub, u32 r[4])
{
    svc(SVC_CPUID, leaf, sub, (u64)r);
}

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

/* Raw CPUID. Beware: on kvm_pvm CPUID at CPL3 is not intercepted and
 * returns the host's values (host APIC ID, host features, host hypervisor
 * leaves). Guest-visible CPUID at CPL3 must go through vcpuid(). */
static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

/* A pointer to a physical (= virtual, identity map) address. The empty asm
 * hides the constant from GCC, which otherwise "knows" that low fixed
 * addresses such as 0x40e point at zero-sized objects (-Warray-bounds). */
static inline void *phys(u64 pa)
{
    void *p = (void *)pa;
    __asm__("" : "+r"(p));
    return p;
}

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

/* Port I/O: only legal at CPL0 on kvm_pvm (a #GP at CPL3 even with IOPL=3). */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline u32 inl(u16 port)
{
    u32 v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline u8 inb(u16 port)
{
    u8 v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* Trap frame built by isr.S: caller-saved registers, then what the CPU pushed. */
struct frame {
    u64 r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
    u64 vector, err, rip, cs, rflags, rsp, ss;
};

/* lib.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);
static inline int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}
int vfmt(char *buf, size_t size, const char *fmt, va_list ap);
int fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *fixed(u64 v, unsigned decimals); /* v / 10^decimals, printed */
u64 parse_u64(const char *s, const char **end);

/* print.c (CPL3) */
void gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void guest_exit(u32 code) __attribute__((noreturn));
void fail(const char *reason) __attribute__((noreturn));

/* serial.c (CPL0) */
void serial_write(const char *s, size_t n);
void serial_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vm_exit(u32 code) __attribute__((noreturn));

/* cpu.c (CPL0) */
void cpu_init_cpl0(u64 cpu);
/* service.c (CPL0) */
void service(struct frame *f);

/* pvh.c */
struct e820 { u64 addr, size; u32 type; };
#define E820_MAX 128
extern struct e820 e820[E820_MAX];
extern unsigned e820_count;
extern char cmdline[1024];
extern u64 pvh_rsdp; /* hvm_start_info.rsdp_paddr (0: none given) */
void pvh_init(void);
int cmdline_get(const char *key, char *out, size_t outsz);
int cmdline_get_nth(const char *key, unsigned nth, char *out, size_t outsz); /* nth occurrence */

/* paging.c */
int paging_map_high(u64 end);

/* tsc.c */
extern u64 tsc_khz;
void tsc_init(void);
u64 cycles_to_ps(u64 cycles);

/* mptable.c */
struct mp_cpu { u8 apic_id; u8 bsp; };
int mptable_cpus(struct mp_cpu *out, int max); /* -1: no table */

/* acpi.c: RSDP (PVH's rsdp_paddr, else a scan of 0xE0000-0xFFFFF), XSDT or RSDT, MADT, FADT */
struct acpi_gas { u8 space, bits, offset, access; u64 addr; } __attribute__((packed));
struct acpi_info {
    u64 rsdp, root;          /* addresses; root is the XSDT (rev >= 2) or the RSDT */
    const char *rsdp_source; /* "pvh" or "scan" */
    u8 rev;
    unsigned n_tables;
    u64 table[32];
    u32 fadt_flags;
    struct acpi_gas sleep_ctl, reset;
    u8 reset_value, s5_typ;
    u32 pm1a_cnt, pm1b_cnt;  /* legacy (non-reduced) PM1 control blocks: I/O ports */
    u64 dsdt;
};
extern struct acpi_info acpi;
int acpi_init(void); /* 0, or -1: no ACPI tables */
const void *acpi_table(const char *sig); /* NULL: not there */
int acpi_cpus(struct mp_cpu *out, int max); /* enabled (x2)APIC entries of the MADT; -1: none */
void acpi_gas_write(const struct acpi_gas *g, u64 value);
void acpi_poweroff(void) __attribute__((noreturn)); /* through the FADT; fails if nothing happens */
void acpi_reset(void) __attribute__((noreturn));
u64 acpi_ged_register(void); /* the GED's event register, from the DSDT's GDST region; 0: none */

/* smp.c */
extern volatile u32 cpu_alive[MAX_CPUS];
int smp_start_ap(u32 cpu, u32 apic_id);
void ap_main(u64 cpu) __attribute__((noreturn));
extern void (*volatile ap_work)(u64 cpu);

/* pci.c: bus 0 through 0xCF8/0xCFC (CPL0 services) */
struct pci_dev {
    u8 bus, dev, fn;
    u16 vendor, device;
    u32 class_rev;
    u64 bar[6], bar_size[6]; /* memory BARs: address, size (0: none) */
    u8 bar_flags[6];         /* low BAR bits; 0xff = upper half of a 64-bit BAR */
    u32 bar_assigned;        /* bit i: the kit gave BAR i its address */
};
int pci_scan(struct pci_dev *out, int max);
int pci_enable(struct pci_dev *all, int n, int idx); /* assign BARs, MEM + bus master */
u32 pci_read32(const struct pci_dev *d, u32 off);
void pci_write32(const struct pci_dev *d, u32 off, u32 v);
u16 pci_read16(const struct pci_dev *d, u32 off);
u8 pci_read8(const struct pci_dev *d, u32 off);
u8 pci_cap_next(const struct pci_dev *d, u8 prev, u8 id);

/* alloc.c: DMA memory (zeroed, 4 KiB aligned, RAM >= 16 MiB below 4 GiB) */
void *alloc_dma(u64 bytes);
u64 alloc_mark(void);
void alloc_release(u64 mark);
u64 alloc_ram_end(void);

/* jobs */
int job_boot(void);
int job_smp(void);
int job_exits(void);
int job_spin(void);
int job_fault(void);
int job_post(void);
int job_reset(void);
int job_echo(void);
int job_blk_irq(void);
int job_blk_info(void);
int job_blk_verify(void);
int job_blk_load(void);
int job_blk_hostile(void);
int job_blk_discard(void);
int job_blk_reset(void);
int job_acpi_info(void);
int job_numa_info(void);
int job_poweroff(void);
int job_reboot(void);
int job_powerbutton(void);
int job_net_echo(void);
int job_net_tx(void);
int job_net_rx(void);
int job_net_hostile(void);

#endif
