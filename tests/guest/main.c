/* main.c — the BSP's first CPL3 code: clears .bss, prints the banner, reads
 * the boot information, selects the job from the command line and reports
 * the result. */
#include "guest.h"

extern char __bss_start[], __bss_end[];

void guest_main(void) __attribute__((noreturn));
void guest_main(void)
{
    char job[32] = "boot";

    memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
    /* Leading newline: firmware (SeaBIOS under QEMU) may leave its last line
     * unterminated on COM1; the banner must start a line of its own. */
    gprintf("\nkit=ringvisor-guest-kit version=1\n");
    pvh_init();
    u64 ram_end = 0;
    for (unsigned i = 0; i < e820_count; i++)
        if (e820[i].type == 1 && e820[i].addr + e820[i].size > ram_end)
            ram_end = e820[i].addr + e820[i].size;
    if (paging_map_high(ram_end) < 0)
        fail("no_room_for_page_tables");
    cmdline_get("job", job, sizeof job);
    gprintf("job=%s\n", job);
    tsc_init();

    static const struct { const char *name; int (*run)(void); } jobs[] = {
        { "boot", job_boot }, { "smp", job_smp },     { "exits", job_exits }, { "spin", job_spin },
        { "fault", job_fault }, { "post", job_post }, { "reset", job_reset }, { "echo", job_echo },
        { "blk-info", job_blk_info }, { "blk-verify", job_blk_verify }, { "blk-load", job_blk_load },
        { "blk-hostile", job_blk_hostile }, { "blk-discard", job_blk_discard }, { "blk-reset", job_blk_reset },
        { "blk-irq", job_blk_irq }, { "numa-info", job_numa_info },
        { "acpi-info", job_acpi_info }, { "poweroff", job_poweroff }, { "reboot", job_reboot },
        { "powerbutton", job_powerbutton },
        { "net-echo", job_net_echo }, { "net-tx", job_net_tx }, { "net-rx", job_net_rx },
        { "net-hostile", job_net_hostile },
    };
    int rc = -1;
    unsigned i;
    for (i = 0; i < sizeof jobs / sizeof jobs[0] && !streq(job, jobs[i].name); i++)
        ;
    if (i == sizeof jobs / sizeof jobs[0])
        fail("unknown_job");
    rc = jobs[i].run();
    if (rc)
        fail("job_failed"); /* jobs normally fail() with a precise reason */
    gprintf("result=pass\n");
    guest_exit(0);
}
