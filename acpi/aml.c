/* aml: see aml.h. Encodings follow ACPI 6.5 chapter 20 (AML grammar) and 6.4 (resource
 * descriptors). */
#include "aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

static uint8_t *reserve(struct aml *a, size_t n)
{
	if (a->error)
		return NULL;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		while (cap < a->len + n)
			cap *= 2;
		uint8_t *p = realloc(a->buf, cap);
		if (!p) {
			a->error = -ENOMEM;
			return NULL;
		}
		a->buf = p;
		a->cap = cap;
	}
	uint8_t *p = a->buf + a->len;
	a->len += n;
	return p;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	uint8_t *d = reserve(a, n);
	if (d && n)
		memcpy(d, p, n);
}

void aml_u8(struct aml *a, uint8_t v) { aml_bytes(a, &v, 1); }

void aml_u16(struct aml *a, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	aml_bytes(a, b, 2);
}

void aml_u32(struct aml *a, uint32_t v)
{
	aml_u16(a, (uint16_t)v);
	aml_u16(a, (uint16_t)(v >> 16));
}

void aml_u64(struct aml *a, uint64_t v)
{
	aml_u32(a, (uint32_t)v);
	aml_u32(a, (uint32_t)(v >> 32));
}

void aml_put_u32(struct aml *a, size_t at, uint32_t v)
{
	if (a->error || at + 4 > a->len)
		return;
	for (unsigned i = 0; i < 4; i++)
		a->buf[at + i] = (uint8_t)(v >> (8 * i));
}

/* ---- PkgLength objects ---- */
static void begin(struct aml *a)
{
	if (a->depth == AML_MAX_DEPTH) {
		a->error = -E2BIG;
		return;
	}
	a->open[a->depth++] = a->len;
}

void aml_end(struct aml *a)
{
	if (a->error)
		return;
	if (a->depth == 0) {
		a->error = -EINVAL;
		return;
	}
	size_t at = a->open[--a->depth], body = a->len - at;
	uint8_t enc[4];
	unsigned n;
	/* The length counts its own bytes; one byte holds up to 63, else 4 bits in the lead
	 * byte and 8 in each following one. */
	if (body + 1 <= 0x3f) {
		n = 1;
		enc[0] = (uint8_t)(body + 1);
	} else {
		for (n = 2; n <= 4 && body + n >= (1ull << (4 + 8 * (n - 1))); n++)
			;
		if (n > 4) {
			a->error = -E2BIG;
			return;
		}
		size_t v = body + n;
		enc[0] = (uint8_t)(((n - 1) << 6) | (v & 0xf));
		for (unsigned i = 1; i < n; i++)
			enc[i] = (uint8_t)(v >> (4 + 8 * (i - 1)));
	}
	if (!reserve(a, n))
		return;
	memmove(a->buf + at + n, a->buf + at, body);
	memcpy(a->buf + at, enc, n);
}

/* ---- names ---- */
static bool name_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

void aml_namestring(struct aml *a, const char *path)
{
	const char *p = path;
	char segs[16][4];
	unsigned n = 0;

	if (*p == '\\') {
		aml_u8(a, '\\');
		p++;
	}
	while (*p == '^') {
		aml_u8(a, '^');
		p++;
	}
	while (*p) {
		unsigned len = 0;
		if (n == 16) {
			a->error = -EINVAL;
			return;
		}
		memset(segs[n], '_', 4);
		while (*p && *p != '.') {
			if (len == 4 || !name_char(*p, len == 0)) {
				a->error = -EINVAL;
				return;
			}
			segs[n][len++] = *p++;
		}
		if (len == 0) {
			a->error = -EINVAL;
			return;
		}
		n++;
		if (*p == '.')
			p++;
	}
	if (n == 0)
		aml_u8(a, 0x00); /* NullName */
	else if (n == 2)
		aml_u8(a, 0x2e); /* DualNamePrefix */
	else if (n > 2) {
		aml_u8(a, 0x2f); /* MultiNamePrefix */
		aml_u8(a, (uint8_t)n);
	}
	aml_bytes(a, segs, 4 * n);
}

/* ---- data ---- */
void aml_int(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_u8(a, 0x00);
	else if (v == 1)
		aml_u8(a, 0x01);
	else if (v <= 0xff) {
		aml_u8(a, 0x0a);
		aml_u8(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_u8(a, 0x0b);
		aml_u16(a, (uint16_t)v);
	} else if (v <= 0xffffffffull) {
		aml_u8(a, 0x0c);
		aml_u32(a, (uint32_t)v);
	} else {
		aml_u8(a, 0x0e);
		aml_u64(a, v);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_u8(a, 0x0d);
	aml_bytes(a, s, strlen(s) + 1);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	if (strlen(id) != 7) {
		a->error = -EINVAL;
		return;
	}
	uint16_t vendor = 0, product = 0;
	for (unsigned i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			a->error = -EINVAL;
			return;
		}
		vendor = (uint16_t)(vendor << 5 | (id[i] - 0x40));
	}
	for (unsigned i = 3; i < 7; i++) {
		int h = hexval(id[i]);
		if (h < 0) {
			a->error = -EINVAL;
			return;
		}
		product = (uint16_t)(product << 4 | h);
	}
	/* Both halves big-endian inside a DWord constant. */
	uint8_t b[4] = { (uint8_t)(vendor >> 8), (uint8_t)vendor, (uint8_t)(product >> 8), (uint8_t)product };
	aml_u8(a, 0x0c);
	aml_bytes(a, b, 4);
}

/* ---- named objects and statements ---- */
void aml_name(struct aml *a, const char *name)
{
	aml_u8(a, 0x08);
	aml_namestring(a, name);
}

void aml_scope_begin(struct aml *a, const char *path)
{
	aml_u8(a, 0x10);
	begin(a);
	aml_namestring(a, path);
}

void aml_device_begin(struct aml *a, const char *name)
{
	aml_u8(a, 0x5b);
	aml_u8(a, 0x82);
	begin(a);
	aml_namestring(a, name);
}

void aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized)
{
	aml_u8(a, 0x14);
	begin(a);
	aml_namestring(a, name);
	aml_u8(a, (uint8_t)((nargs & 7) | (serialized ? 8 : 0)));
}

void aml_package_begin(struct aml *a, unsigned n_elements)
{
	aml_u8(a, 0x12);
	begin(a);
	aml_u8(a, (uint8_t)n_elements);
}

void aml_if_begin(struct aml *a)
{
	aml_u8(a, 0xa0);
	begin(a);
}

void aml_store(struct aml *a) { aml_u8(a, 0x70); }
void aml_notify(struct aml *a) { aml_u8(a, 0x86); }
void aml_local(struct aml *a, unsigned n) { aml_u8(a, (uint8_t)(0x60 + (n & 7))); }

void aml_and(struct aml *a) { aml_u8(a, 0x7b); }
void aml_null(struct aml *a) { aml_u8(a, 0x00); }

void aml_opregion(struct aml *a, const char *name, enum aml_region space, uint64_t offset, uint64_t length)
{
	aml_u8(a, 0x5b);
	aml_u8(a, 0x80);
	aml_namestring(a, name);
	aml_u8(a, (uint8_t)space);
	aml_int(a, offset);
	aml_int(a, length);
}

void aml_field32(struct aml *a, const char *region, const char *name)
{
	aml_u8(a, 0x5b);
	aml_u8(a, 0x81);
	begin(a);
	aml_namestring(a, region);
	aml_u8(a, 0x03 | (2 << 5)); /* DWordAcc, NoLock, WriteAsZeros */
	aml_namestring(a, name);
	aml_u8(a, 32);              /* the field's width in bits, as a one-byte PkgLength */
	aml_end(a);
}

/* ---- resource descriptors ---- */
void aml_res_memory32_fixed(struct aml *r, uint32_t base, uint32_t len, bool writable)
{
	aml_u8(r, 0x86);
	aml_u16(r, 9);
	aml_u8(r, writable ? 1 : 0);
	aml_u32(r, base);
	aml_u32(r, len);
}

void aml_res_interrupt(struct aml *r, uint32_t gsi, bool level, bool active_low)
{
	aml_u8(r, 0x89);
	aml_u16(r, 6);
	/* consumer, edge (bit 1) or level, active low (bit 2), exclusive */
	aml_u8(r, (uint8_t)(1 | (level ? 0 : 2) | (active_low ? 4 : 0)));
	aml_u8(r, 1);
	aml_u32(r, gsi);
}

void aml_res_io(struct aml *r, uint16_t base, uint8_t len)
{
	aml_u8(r, 0x47);
	aml_u8(r, 1); /* 16-bit decode */
	aml_u16(r, base);
	aml_u16(r, base);
	aml_u8(r, 1);
	aml_u8(r, len);
}

/* Word address space descriptor: a producer window with fixed ends. */
static void word_space(struct aml *r, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max)
{
	aml_u8(r, 0x88);
	aml_u16(r, 13);
	aml_u8(r, type);
	aml_u8(r, 0x0c); /* min and max fixed, producer, positive decode */
	aml_u8(r, type_flags);
	aml_u16(r, 0);   /* granularity */
	aml_u16(r, min);
	aml_u16(r, max);
	aml_u16(r, 0);   /* translation */
	aml_u16(r, (uint16_t)(max - min + 1));
}

void aml_res_bus_numbers(struct aml *r, uint16_t first, uint16_t last)
{
	word_space(r, 2, 0, first, last);
}

void aml_res_io_window(struct aml *r, uint16_t min, uint16_t max)
{
	word_space(r, 1, 3 /* ISA and non-ISA ranges */, min, max);
}

void aml_res_mem32_window(struct aml *r, uint32_t min, uint32_t max)
{
	aml_u8(r, 0x87);
	aml_u16(r, 23);
	aml_u8(r, 0);    /* memory */
	aml_u8(r, 0x0c);
	aml_u8(r, 0x01); /* read-write, non-cacheable */
	aml_u32(r, 0);
	aml_u32(r, min);
	aml_u32(r, max);
	aml_u32(r, 0);
	aml_u32(r, max - min + 1);
}

void aml_restemplate(struct aml *a, const struct aml *r)
{
	if (r->error) {
		a->error = r->error;
		return;
	}
	aml_u8(a, 0x11);
	begin(a);
	aml_int(a, r->len + 2);
	aml_bytes(a, r->buf, r->len);
	aml_u8(a, 0x79); /* end tag; checksum 0 means "treat as correct" */
	aml_u8(a, 0);
	aml_end(a);
}
