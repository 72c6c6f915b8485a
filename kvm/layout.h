/* layout: where things live in guest-physical memory on the x86 PC machine. */
#ifndef RV_LAYOUT_H
#define RV_LAYOUT_H

#define MiB (1ull << 20)
#define GiB (1ull << 30)

#define LAYOUT_BOOT_GDT        0x500ull
#define LAYOUT_PVH_START_INFO  0x6000ull
#define LAYOUT_PVH_MODLIST     0x6040ull
#define LAYOUT_PVH_MEMMAP      0x6100ull   /* up to LAYOUT_MAX_E820 entries of 24 bytes */
#define LAYOUT_ZERO_PAGE       0x7000ull   /* Linux boot_params */
#define LAYOUT_BOOT_PML4       0x9000ull
#define LAYOUT_BOOT_PDPT       0xa000ull
#define LAYOUT_BOOT_PD         0xb000ull   /* 4 pages: identity map of the first 4 GiB */
#define LAYOUT_CMDLINE         0x20000ull
#define LAYOUT_CMDLINE_MAX     0x10000ull
#define LAYOUT_EBDA            0x9fc00ull
#define LAYOUT_ACPI_START      0xe0000ull  /* RSDP, then the ACPI tables, up to the MP table */
#define LAYOUT_BIOS_START      0xf0000ull  /* MP table lives here */
#define LAYOUT_RESET_VECTOR    0xffff0ull  /* F000:FFF0: see reset_vector.h */
#define LAYOUT_HIMEM           0x100000ull /* kernels load at 1 MiB */

#define LAYOUT_PCI_HOLE_START  0xc0000000ull /* RAM below 4 GiB ends here */
#define LAYOUT_4G              0x100000000ull
#define LAYOUT_IOAPIC          0xfec00000ull
/* The IOAPIC's id, the first after the vCPUs' APIC ids; the MP table and the MADT must
 * agree (with more vCPUs than 8-bit ids, only the MADT exists and 0 is as good as any). */
#define LAYOUT_IOAPIC_ID(n_cpus) ((uint8_t)((n_cpus) < 255 ? (n_cpus) : 0))
/* Between the end of low RAM and the PCI BAR window (0xe0000000): */
#define LAYOUT_PCI_ECAM        0xd0000000ull /* PCI Express ECAM for bus 0 (MCFG) */
#define LAYOUT_PCI_ECAM_SIZE   0x100000ull   /* 32 devices x 8 functions x 4 KiB */
#define LAYOUT_VIRTIO_MMIO     0xd1000000ull /* virtio-mmio device i at + i * SIZE */
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ull
#define LAYOUT_VIRTIO_MMIO_MAX 12            /* one IOAPIC pin each, LAYOUT_VIRTIO_MMIO_IRQS */
#define LAYOUT_GED             0xd2000000ull /* ACPI Generic Event Device: 32-bit event register */
#define LAYOUT_GED_SIZE        0x1000ull
#define LAYOUT_LAPIC           0xfee00000ull

#define LAYOUT_MAX_E820        64

/* Ports */
#define PORT_DEBUG             0x80   /* POST/boot-timing bytes */
#define PORT_DEBUG_EXIT        0xf4   /* 4 bytes: the guest's exit status (QEMU isa-debug-exit place) */
#define PORT_COM1              0x3f8
#define PORT_I8042_DATA        0x60
#define PORT_I8042_CMD         0x64
#define PORT_RTC_INDEX         0x70
#define PORT_RTC_DATA          0x71
#define PORT_SYSCTRL_A         0x92   /* bit 0: fast reset */

#define PORT_ACPI_SLEEP_CTL    0x600  /* FADT sleep control: SLP_TYP (bits 2-4) + SLP_EN (bit 5) */
#define PORT_ACPI_SLEEP_STS    0x601  /* FADT sleep status (reads 0: never woken) */
#define PORT_ACPI_RESET        0x602  /* FADT reset register */
#define ACPI_RESET_VALUE       0x01
#define ACPI_SLEEP_S5          5      /* SLP_TYP for S5 (soft off), as \_S5 says */

#define IRQ_COM1               4
/* IOAPIC pins (= GSIs). PCI INTx is not wired; the _PRT still names pins 16-19 so an OS
 * that looks finds a complete table. */
#define IRQ_PCI_INTX_FIRST     16
#define IRQ_GED                23     /* edge, active high */
#define LAYOUT_VIRTIO_MMIO_IRQS { 5, 6, 7, 10, 11, 12, 13, 14, 15, 20, 21, 22 } /* edge, active high */

#endif
