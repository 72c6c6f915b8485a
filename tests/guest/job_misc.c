/* job_misc.c — jobs for the VMM's own tests rather than for measurements:
 *   spin:  count at CPL3 and print `tick=N` every `ms=` milliseconds (default 100) until
 *          the VMM stops the guest (signals, pause/resume, API shutdown tests); with
 *          `ticks=N` it stops by itself after N ticks.
 *   post:  write `count=` bytes (default 3: 1, 2, 3...) to the debug port 0x80, which
 *          ringvisor logs with a timestamp (boot timing).
 *   echo:  read one line from COM1 (polling LSR) and print it back as `echo=LINE`: the
 *          VMM's console input path.
 *   reset: ask the keyboard controller for a reset (0xfe to port 0x64).
 *   fault: `kind=triple` makes the CPU shut down (triple fault) at CPL0; `kind=emulation`
 *          runs an instruction KVM's emulator refuses where KVM must emulate it; so the
 *          VMM's fatal-exit path (exit reason + registers, non-zero status) can be tested. */
#include "guest.h"

static u64 cmdline_u64(const char *key, u64 dflt)
{
    char buf[24];
    if (cmdline_get(key, buf, sizeof buf) <= 0)
        return dflt;
    return parse_u64(buf, NULL);
}

int job_spin(void)
{
    u64 ms = cmdline_u64("ms", 100), limit = cmdline_u64("ticks", 0);
    u64 period = tsc_khz * ms, next = rdtsc() + period;
    gprintf("spinning=1 ms=%lu\n", (unsigned long)ms);
    for (u64 tick = 1; !limit || tick <= limit; tick++) {
        while ((s64)(rdtsc() - next) < 0)
            cpu_relax();
        next += period;
        gprintf("tick=%lu\n", (unsigned long)tick);
    }
    return 0;
}

int job_fault(void)
{
    char kind[16] = "triple";
    cmdline_get("kind", kind, sizeof kind);
    if (streq(kind, "emulation")) {
        /* lock cmpxchg16b on guest-physical memory nothing backs (between the GED and the
         * PCI BAR window): KVM must emulate an access there to turn it into an MMIO exit, and
         * its emulator has no cmpxchg16b, so the VM stops with an internal error (suberror
         * 1). The same on kvm_pvm, whose emulator runs all CPL0 code. */
        gprintf("fault=emulation\n");
        svc(SVC_CMPXCHG16B, 0xd3000000ul, 0, 0);
        gprintf("cmpxchg16b_ran=1\n");
        return 0;
    }
    if (!streq(kind, "triple"))
        fail("unknown_fault_kind");
    gprintf("fault=triple\n");
    svc(SVC_TRIPLE_FAULT, 0, 0, 0);
    fail("still_running_after_triple_fault");
}

int job_post(void)
{
    u64 count = cmdline_u64("count", 3);
    for (u64 i = 1; i <= count; i++)
        svc(SVC_OUTB, 0x80, i & 0xff, 0);
    gprintf("post_bytes=%lu\n", (unsigned long)count);
    return 0;
}

int job_reset(void)
{
    gprintf("reset=i8042\n");
    svc(SVC_OUTB, 0x64, 0xfe, 0);
    /* A reset takes effect a little later on real hardware too: wait for it. */
    for (u64 end = rdtsc() + tsc_khz * 1000; (s64)(rdtsc() - end) < 0;)
        cpu_relax();
    fail("still_running_1s_after_reset");
}

int job_echo(void)
{
    char line[128];
    size_t n = 0;
    u64 deadline = rdtsc() + tsc_khz * 10000; /* 10 s */
    gprintf("echo_ready=1\n");
    while (n < sizeof line - 1) {
        if (!(svc(SVC_INB, PORT_COM1 + 5, 0, 0) & 1)) { /* LSR.DR */
            if ((s64)(rdtsc() - deadline) > 0)
                fail("no_input_within_10s");
            continue;
        }
        char c = (char)svc(SVC_INB, PORT_COM1, 0, 0);
        if (c == '\n' || c == '\r')
            break;
        line[n++] = c;
    }
    line[n] = 0;
    gprintf("echo=%s\n", line);
    return 0;
}
