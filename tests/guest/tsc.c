/* tsc.c — TSC frequency, needed to turn cycles into ns. CPUID is asked at
 * CPL0 (vcpuid): on kvm_pvm a CPL3 cpuid returns the *host's* leaves.
 * Preference order:
 * the hypervisor leaf 0x40000010 (VMware/KVM convention, EAX = kHz), CPUID
 * 0x15 (Intel crystal ratio), CPUID 0x16 (Intel base MHz), then one PIT
 * calibration at CPL0 (a single 10 ms service call), else an assumed 1 GHz. */
#include "guest.h"

u64 tsc_khz;
static const char *tsc_source = "none";

void tsc_init(void)
{
    u32 r[4], max;

    vcpuid(0x40000000, 0, r);
    if (r[0] >= 0x40000010 && r[0] < 0x40010000) {
        vcpuid(0x40000010, 0, r);
        if (r[0]) {
            tsc_khz = r[0];
            tsc_source = "cpuid_40000010";
        }
    }
    vcpuid(0, 0, r);
    max = r[0];
    if (!tsc_khz && max >= 0x15) {
        vcpuid(0x15, 0, r);
        if (r[0] && r[1] && r[2]) {
            tsc_khz = (u64)r[2] * r[1] / r[0] / 1000;
            tsc_source = "cpuid_15";
        }
    }
    if (!tsc_khz && max >= 0x16) {
        vcpuid(0x16, 0, r);
        if (r[0] & 0xffff) {
            tsc_khz = (u64)(r[0] & 0xffff) * 1000;
            tsc_source = "cpuid_16";
        }
    }
    if (!tsc_khz) {
        u64 cyc = svc(SVC_PIT_CAL, 0, 0, 0);
        /* below 100 MHz means the PIT did not count (absent, reads 0xff) */
        if (cyc >= 1000000) {
            tsc_khz = cyc * 100 / 1000;
            tsc_source = "pit";
        }
    }
    if (!tsc_khz) {
        /* No clock to calibrate against: assume 1 GHz so timeouts still
         * work; tsc_source=assumed flags every ns figure as unreliable. */
        tsc_khz = 1000000;
        tsc_source = "assumed";
    }
    gprintf("tsc_khz=%lu tsc_source=%s\n", tsc_khz, tsc_source);
}

/* cycles -> picoseconds (ps = cycles * 1e9 / kHz), split so that it cannot
 * overflow for any realistic duration. */
u64 cycles_to_ps(u64 cycles)
{
    if (!tsc_khz)
        return 0;
    return cycles / tsc_khz * 1000000000ul + cycles % tsc_khz * 1000000000ul / tsc_khz;
}
