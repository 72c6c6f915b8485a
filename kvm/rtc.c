/* rtc: see rtc.h. The clock is read from the host at each access rather than ticked,
 * so there is no update cycle: UIP is always clear and reads are always consistent. */
#include "rtc.h"

#include "layout.h"

#include <string.h>

static uint8_t encode(const struct rtc *r, unsigned v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_BINARY)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t clock_reg(const struct rtc *r, uint8_t reg)
{
	time_t t = r->now ? r->now() : time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);

	switch (reg) {
	case RTC_SECONDS: return encode(r, (unsigned)tm.tm_sec);
	case RTC_MINUTES: return encode(r, (unsigned)tm.tm_min);
	case RTC_HOURS:
		if (r->cmos[RTC_REG_B] & RTC_B_24H)
			return encode(r, (unsigned)tm.tm_hour);
		/* 12-hour mode: 12, 1..11 and bit 7 for PM */
		return (uint8_t)(encode(r, (unsigned)(tm.tm_hour % 12 ? tm.tm_hour % 12 : 12)) |
				 (tm.tm_hour >= 12 ? 0x80 : 0));
	case RTC_WEEKDAY: return encode(r, (unsigned)tm.tm_wday + 1);
	case RTC_DAY: return encode(r, (unsigned)tm.tm_mday);
	case RTC_MONTH: return encode(r, (unsigned)tm.tm_mon + 1);
	case RTC_YEAR: return encode(r, (unsigned)(tm.tm_year % 100));
	case RTC_CENTURY: return encode(r, (unsigned)(tm.tm_year / 100 + 19));
	default: return r->cmos[reg];
	}
}

static void rtc_write(void *dev, uint64_t addr, uint64_t value, unsigned size)
{
	struct rtc *r = dev;
	(void)size;
	if (addr == PORT_RTC_INDEX) {
		r->index = (uint8_t)(value & 0x7f); /* bit 7 is the NMI mask */
		return;
	}
	switch (r->index) {
	case RTC_REG_A: r->cmos[RTC_REG_A] = (uint8_t)(value & 0x7f); break; /* UIP is read-only */
	case RTC_REG_C: case RTC_REG_D: break;                              /* read-only */
	case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS: case RTC_WEEKDAY:
	case RTC_DAY: case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
		break; /* the guest cannot set the host's clock; it keeps reading host time */
	default: r->cmos[r->index] = (uint8_t)value; break;
	}
}

static uint64_t rtc_read(void *dev, uint64_t addr, unsigned size)
{
	struct rtc *r = dev;
	(void)size;
	if (addr == PORT_RTC_INDEX)
		return 0xff;
	if (r->index == RTC_REG_C) {
		uint8_t v = r->cmos[RTC_REG_C];
		r->cmos[RTC_REG_C] = 0; /* reading C clears pending flags */
		return v;
	}
	return clock_reg(r, r->index);
}

const struct bus_ops rtc_ops = { .write = rtc_write, .read = rtc_read };

void rtc_init(struct rtc *r, uint64_t ram_low, uint64_t ram_high)
{
	memset(r, 0, sizeof(*r));
	r->cmos[RTC_REG_A] = 0x26; /* 32.768 kHz base, 1024 Hz rate */
	r->cmos[RTC_REG_B] = RTC_B_24H;
	r->cmos[RTC_REG_D] = 0x80; /* valid RAM and time */
	r->cmos[0x15] = 640 & 0xff; /* base memory in KiB */
	r->cmos[0x16] = 640 >> 8;
	uint64_t ext_kib = ram_low > MiB ? (ram_low - MiB) / 1024 : 0;
	if (ext_kib > 0xffff)
		ext_kib = 0xffff;
	r->cmos[0x17] = r->cmos[0x30] = (uint8_t)ext_kib;
	r->cmos[0x18] = r->cmos[0x31] = (uint8_t)(ext_kib >> 8);
	uint64_t above16 = ram_low > 16 * MiB ? (ram_low - 16 * MiB) >> 16 : 0; /* 64 KiB units */
	if (above16 > 0xffff)
		above16 = 0xffff;
	r->cmos[0x34] = (uint8_t)above16;
	r->cmos[0x35] = (uint8_t)(above16 >> 8);
	uint64_t above4g = ram_high >> 16;
	r->cmos[0x5b] = (uint8_t)above4g;
	r->cmos[0x5c] = (uint8_t)(above4g >> 8);
	r->cmos[0x5d] = (uint8_t)(above4g >> 16);
}

int rtc_create(struct rtc *r, struct vm *vm, struct engine *e)
{
	uint64_t low = guest_mem_low_end(&vm->mem), high = vm->mem.total - low;
	rtc_init(r, low, high);
	return bus_add(&vm->pio, PORT_RTC_INDEX, 2, &rtc_ops, r, e, "rtc");
}
