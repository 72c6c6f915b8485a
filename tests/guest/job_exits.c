/* job_exits.c — `job=exits`: cost of a port write the VMM handles in
 * userspace (COM1 scratch 0x3ff), of one KVM handles in the kernel (PIC IMR
 * 0x21), of a VMM-handled port read, and of an empty service call.
 *
 * The port loops run at CPL0 inside one service call (port I/O is a #GP at
 * CPL3 on kvm_pvm) and are timed there, so exit_*_ns do not include the
 * service call; they do include the CPL0 emulation of the in/out instruction
 * itself and 1/4 of a loop instruction per op (8x unrolled). cpl0_nop_ns is
 * the same loop with nop instead of I/O: the per-instruction emulation cost. */
#include "guest.h"

static const char *ns_per_op(u64 cycles, u64 n)
{
    return fixed(cycles_to_ps(cycles) / n / 100, 1); /* tenths of ns */
}

int job_exits(void)
{
    char v[32];
    u64 n = 100000;

    if (cmdline_get("n", v, sizeof v))
        n = parse_u64(v, 0);
    n = (n + 7) & ~7ul; /* the CPL0 loops are unrolled 8x */
    if (n < 8)
        n = 8;

    u64 uw = svc(SVC_BENCH, BENCH_OUT_VMM, n, 0);
    u64 kw = svc(SVC_BENCH, BENCH_OUT_KVM, n, 0);
    u64 ur = svc(SVC_BENCH, BENCH_IN_VMM, n, 0);
    u64 nop = svc(SVC_BENCH, BENCH_NOP, n, 0);
    u64 t0 = rdtsc();
    for (u64 i = 0; i < n; i++)
        svc(SVC_NOP, 0, 0, 0);
    u64 sc = rdtsc() - t0;
    if (!uw || !kw || !ur || !tsc_khz)
        fail("bench_unavailable");

    gprintf("exit_user_write_ns=%s exit_kernel_write_ns=%s exit_user_read_ns=%s service_call_ns=%s n=%lu\n",
            ns_per_op(uw, n), ns_per_op(kw, n), ns_per_op(ur, n), ns_per_op(sc, n), n);
    gprintf("cpl0_nop_ns=%s\n", ns_per_op(nop, n));
    return 0;
}
