/* serial.c — raw COM1 output and the exit port, CPL0 only.
 *
 * One outb per byte to THR, no LSR polling: polling would cost an emulated
 * instruction plus a VM exit per byte, and both VMMs accept THR writes at any
 * rate. No UART init either: nothing here depends on baud/LCR settings. */
#include "guest.h"

void serial_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        outb(PORT_COM1, (u8)s[i]);
}

void serial_printf(const char *f, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, f);
    int n = vfmt(buf, sizeof buf, f, ap);
    va_end(ap);
    serial_write(buf, (size_t)n);
}

/* ringvisor exits with status `code`; QEMU's isa-debug-exit with
 * (code << 1) | 1. If no exit device exists, park the CPU. */
void vm_exit(u32 code)
{
    outl(PORT_EXIT, code);
    for (;;)
        __asm__ volatile("cli; hlt");
}
