/* print.c — CPL3 output: format into a buffer, hand the whole buffer to the
 * SVC_WRITE service (one CPL0 round trip per call, not per byte). */
#include "guest.h"

void gprintf(const char *f, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, f);
    int n = vfmt(buf, sizeof buf, f, ap);
    va_end(ap);
    svc(SVC_WRITE, (u64)buf, (u64)n, 0);
}

void guest_exit(u32 code)
{
    svc(SVC_EXIT, code, 0, 0);
    for (;;) /* not reached */
        ;
}

void fail(const char *reason)
{
    gprintf("result=fail reason=%s\n", reason);
    guest_exit(1);
}
