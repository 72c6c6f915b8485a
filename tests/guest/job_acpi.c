/* job_acpi.c — the ACPI jobs:
 *   acpi-info:   the RSDP (and where it was found), every table the XSDT/RSDT lists,
 *                the FADT's power registers and the MADT's processors.
 *   poweroff:    power off through the FADT (sleep control register when hardware-reduced,
 *                PM1 control otherwise); the VMM must stop the VM.
 *   reboot:      counts boots in a stamp on disk 0 (disk=I): boot 1 writes the stamp,
 *                flushes and resets through the FADT's reset register; boot 2 (or the
 *                `boots=N`th) clears it and passes. Needs a disk.
 *   powerbutton: waits (up to `wait_s=`, default 60) for the GED's power-button event by
 *                polling its event register (found in the DSDT: OperationRegion GDST), then
 *                powers off as above. */
#include "virtio.h"

#define REBOOT_MAGIC 0x544f4f4245524b52ul /* "RKREBOOT" */

int job_acpi_info(void)
{
    if (acpi_init() < 0) {
        gprintf("acpi=none\n");
        fail("no_acpi");
    }
    gprintf("acpi_rsdp=0x%lx rsdp_source=%s rsdp_rev=%u root=0x%lx tables=%u\n", acpi.rsdp, acpi.rsdp_source, acpi.rev,
            acpi.root, acpi.n_tables);
    for (unsigned i = 0; i < acpi.n_tables; i++) {
        const char *t = phys(acpi.table[i]);
        gprintf("acpi_table sig=%c%c%c%c addr=0x%lx len=%u rev=%u\n", t[0], t[1], t[2], t[3], acpi.table[i],
                *(const u32 *)(t + 4), (u8)t[8]);
    }
    if (acpi.dsdt) {
        const char *t = phys(acpi.dsdt);
        gprintf("acpi_table sig=DSDT addr=0x%lx len=%u rev=%u\n", acpi.dsdt, *(const u32 *)(t + 4), (u8)t[8]);
    }
    gprintf("fadt hw_reduced=%u sleep_control=%u:0x%lx reset=%u:0x%lx reset_value=0x%x pm1a_cnt=0x%x s5_slp_typ=%u\n",
            (acpi.fadt_flags >> 20) & 1, acpi.sleep_ctl.space, acpi.sleep_ctl.addr, acpi.reset.space, acpi.reset.addr,
            acpi.reset_value, acpi.pm1a_cnt, acpi.s5_typ);
    u64 ged = acpi_ged_register();
    if (ged)
        gprintf("ged=0x%lx\n", ged);
    struct mp_cpu cpus[MAX_CPUS];
    int n = acpi_cpus(cpus, MAX_CPUS);
    for (int i = 0; i < n; i++)
        gprintf("madt_cpu apic_id=%u\n", cpus[i].apic_id);
    gprintf("cpus_madt=%d\n", n);
    return n > 0 ? 0 : -1;
}

int job_poweroff(void)
{
    acpi_poweroff();
}

struct stamp {
    u64 magic, boots;
};

int job_reboot(void)
{
    struct blk_opts o;
    int disk;
    blk_opts_from_cmdline(&o);
    struct blk_dev *b = blk_open_arg_disk(&o, &disk);
    struct blk_req *r = alloc_dma(sizeof *r);
    struct stamp *s = alloc_dma(4096);
    u64 target = arg_u64("boots", 2);

    if (blk_sync(b, 0, r, VIRTIO_BLK_T_IN, 0, s, 4096) != VIRTIO_BLK_S_OK)
        fail("stamp_read");
    u64 boot = s->magic == REBOOT_MAGIC ? s->boots + 1 : 1;
    gprintf("boot_count=%lu\n", boot);
    if (boot < target) {
        s->magic = REBOOT_MAGIC;
        s->boots = boot;
    } else {
        memset(s, 0, sizeof *s);
    }
    if (blk_sync(b, 0, r, VIRTIO_BLK_T_OUT, 0, s, 4096) != VIRTIO_BLK_S_OK ||
        blk_sync(b, 0, r, VIRTIO_BLK_T_FLUSH, 0, NULL, 0) != VIRTIO_BLK_S_OK)
        fail("stamp_write");
    if (boot < target)
        acpi_reset();
    gprintf("reboots_done=%lu\n", boot - 1);
    return 0;
}

int job_powerbutton(void)
{
    if (acpi_init() < 0)
        fail("no_acpi");
    u64 ged = acpi_ged_register();
    if (!ged)
        fail("no_ged_in_dsdt");
    u64 wait_s = arg_u64("wait_s", 60);
    volatile u32 *reg = phys(ged);
    gprintf("powerbutton=waiting ged=0x%lx\n", ged);
    u64 end = rdtsc() + tsc_khz * 1000 * wait_s;
    for (;;) {
        u32 events = *reg; /* reading clears the events */
        if (events & 1)
            break;
        if ((s64)(rdtsc() - end) > 0)
            fail("no_power_button_event");
        for (u64 t = rdtsc() + tsc_khz; (s64)(rdtsc() - t) < 0;) /* 1 ms between reads */
            cpu_relax();
    }
    gprintf("powerbutton=pressed\n");
    acpi_poweroff();
}
