/* lib.c — the little libc the kit needs: mem/str helpers, a printf-lite
 * formatter (%s %c %d %u %x %p with 0-padding, width and l/ll/z), fixed-point
 * rendering and number parsing. Pure C, safe at CPL0 and CPL3. */
#include "guest.h"

/* rep stosb / rep movsb: native at CPL3 and a single emulated instruction
 * at CPL0; also keeps GCC from turning a byte loop back into memset(). */
void *memset(void *d, int c, size_t n)
{
    void *r = d;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return r;
}

void *memcpy(void *d, const void *s, size_t n)
{
    void *r = d;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return r;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_num(struct out *o, u64 v, unsigned base, int neg, int width, char pad)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg && pad == '0')
        put(o, '-');
    for (int w = n + (neg != 0); w < width; w++)
        put(o, pad);
    if (neg && pad != '0')
        put(o, '-');
    while (n)
        put(o, tmp[--n]);
}

int vfmt(char *buf, size_t size, const char *f, va_list ap)
{
    struct out o = { buf, size, 0 };
    for (; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        f++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*f == '0') {
            pad = '0';
            f++;
        }
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (*f++ - '0');
        while (*f == 'l' || *f == 'z') {
            lng++;
            f++;
        }
        switch (*f) {
        case 'd':
        case 'i': {
            s64 v = lng ? va_arg(ap, s64) : va_arg(ap, int);
            put_num(&o, v < 0 ? (u64)-v : (u64)v, 10, v < 0, width, pad);
            break;
        }
        case 'u':
        case 'x': {
            u64 v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned);
            put_num(&o, v, *f == 'x' ? 16 : 10, 0, width, pad);
            break;
        }
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_num(&o, (u64)va_arg(ap, void *), 16, 0, width, pad);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            int n = (int)strlen(s);
            for (; n < width; width--)
                put(&o, ' ');
            while (*s)
                put(&o, *s++);
            break;
        }
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case '%':
            put(&o, '%');
            break;
        default: /* unknown: print it verbatim, stop at end of string */
            put(&o, '%');
            if (!*f)
                goto done;
            put(&o, *f);
        }
    }
done:
    if (size)
        buf[o.len < size ? o.len : size - 1] = 0;
    return (int)(o.len < size ? o.len : size - 1);
}

int fmt(char *buf, size_t size, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vfmt(buf, size, f, ap);
    va_end(ap);
    return n;
}

/* v scaled by 10^decimals, rendered as "int.frac". A small ring of buffers
 * lets one printf use several results (single-threaded use only). */
const char *fixed(u64 v, unsigned decimals)
{
    static char ring[8][32];
    static unsigned next;
    char *b = ring[next++ % 8];
    u64 scale = 1;
    for (unsigned i = 0; i < decimals; i++)
        scale *= 10;
    int n = fmt(b, 32, "%lu", v / scale);
    if (decimals) {
        u64 frac = v % scale;
        b[n++] = '.';
        for (unsigned i = decimals; i > 0; i--) {
            b[n + i - 1] = (char)('0' + frac % 10);
            frac /= 10;
        }
        b[n + decimals] = 0;
    }
    return b;
}

/* Decimal, or hex with 0x; optional k/m/g suffix (binary multiples). */
u64 parse_u64(const char *s, const char **end)
{
    u64 v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        for (;; s++) {
            char c = *s;
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0)
                break;
            v = v * 16 + (u64)d;
        }
    } else {
        while (*s >= '0' && *s <= '9')
            v = v * 10 + (u64)(*s++ - '0');
    }
    if (*s == 'k' || *s == 'K')
        v <<= 10, s++;
    else if (*s == 'm' || *s == 'M')
        v <<= 20, s++;
    else if (*s == 'g' || *s == 'G')
        v <<= 30, s++;
    if (end)
        *end = s;
    return v;
}
