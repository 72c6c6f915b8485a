/* rtc: the MC146818 CMOS clock at 0x70/0x71: the host's UTC time (BCD or binary, 24 h
 * or 12 h as the guest selects) and the memory-size bytes firmware tables expect. */
#ifndef RV_RTC_H
#define RV_RTC_H

#include "vm.h"

#include <time.h>

struct rtc {
	uint8_t index;
	uint8_t cmos[128];
	time_t (*now)(void); /* tests replace the clock */
};

int rtc_create(struct rtc *r, struct vm *vm, struct engine *e);
/* Set up CMOS contents for a guest with this much RAM (no bus). */
void rtc_init(struct rtc *r, uint64_t ram_low, uint64_t ram_high);
extern const struct bus_ops rtc_ops;

#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_WEEKDAY 0x06
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32
#define RTC_B_24H 0x02
#define RTC_B_BINARY 0x04

#endif
