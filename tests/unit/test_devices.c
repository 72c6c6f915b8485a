/* Unit tests for the legacy device models, driven through their bus ops as the engine
 * would: the 16550's registers, interrupts and loopback, output flow control; the
 * CMOS clock's encodings; the i8042's probe answers. */
#include "check.h"

#include "engine/engine.h"
#include "engine/log.h"
#include "kvm/i8042.h"
#include "kvm/layout.h"
#include "kvm/rtc.h"
#include "kvm/uart.h"

#include <pthread.h>
#include <unistd.h>

static struct engine eng;

static void setup_engine(void)
{
	struct engine_params p = { .node = 0, .name = "rv-test" };
	CPU_ZERO(&p.cpus);
	engine_init(&eng, &p);
}

#define W(u, reg, v) uart_ops.write((u), PORT_COM1 + (reg), (v), 1)
#define R(u, reg) ((uint8_t)uart_ops.read((u), PORT_COM1 + (reg), 1))

static void test_uart_registers(void)
{
	static struct uart u;
	CHECK_EQ(uart_create(&u, NULL, &eng, PORT_COM1, 4, -1, -1), 0);
	CHECK_EQ(R(&u, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(R(&u, UART_IIR) & 0x0f, UART_IIR_NONE);
	/* divisor latch */
	W(&u, UART_LCR, UART_LCR_DLAB);
	W(&u, UART_RBR, 0x0c);
	W(&u, UART_IER, 0x00);
	CHECK_EQ(R(&u, UART_RBR), 0x0c);
	W(&u, UART_LCR, 0x03);
	CHECK_EQ(R(&u, UART_LCR), 0x03);
	/* scratch register round trip */
	W(&u, UART_SCR, 0xa5);
	CHECK_EQ(R(&u, UART_SCR), 0xa5);
	/* enabling the THR interrupt with THR empty makes it pending at once; reading IIR acks */
	W(&u, UART_IER, UART_IER_THRI);
	CHECK_EQ(R(&u, UART_IIR) & 0x0f, UART_IIR_THRI);
	CHECK_EQ(R(&u, UART_IIR) & 0x0f, UART_IIR_NONE);
	W(&u, UART_RBR, 'x');
	CHECK_EQ(R(&u, UART_IIR) & 0x0f, UART_IIR_THRI);
	CHECK_EQ(u.tx_bytes, 1);
	uart_destroy(&u);
}

static void test_uart_loopback(void)
{
	static struct uart u;
	CHECK_EQ(uart_create(&u, NULL, &eng, PORT_COM1, 4, -1, -1), 0);
	/* Linux's autoconfig: loopback with OUT2|RTS must read back DCD|CTS */
	W(&u, UART_MCR, UART_MCR_LOOP | 0x0a);
	CHECK_EQ(R(&u, UART_MSR) & 0xf0, 0x90);
	W(&u, UART_MCR, UART_MCR_LOOP | 0x05);
	CHECK_EQ(R(&u, UART_MSR) & 0xf0, 0x60);
	/* bytes written in loopback come back as received data, with the RX interrupt */
	W(&u, UART_IER, UART_IER_RDI);
	W(&u, UART_RBR, 'A');
	CHECK(R(&u, UART_LSR) & UART_LSR_DR);
	CHECK_EQ(R(&u, UART_IIR) & 0x0f, UART_IIR_RDI);
	CHECK_EQ(R(&u, UART_RBR), 'A');
	CHECK(!(R(&u, UART_LSR) & UART_LSR_DR));
	CHECK_EQ(u.tx_bytes, 0);
	W(&u, UART_MCR, 0);
	CHECK_EQ(R(&u, UART_MSR), 0xb0);
	uart_destroy(&u);
}

/* Engine timer: stop once the UART says THRE (interrupt pending), or after 5 s. */
struct drain_check {
	struct uart *u;
	struct engine_timer t;
	int ticks;
	bool thri;
};

static void drain_tick(struct engine *e, struct engine_timer *t)
{
	struct drain_check *c = t->ctx;
	if ((R(c->u, UART_IIR) & 0x0f) == UART_IIR_THRI) {
		c->thri = true;
		engine_stop(e);
	} else if (++c->ticks > 5000) {
		engine_stop(e);
	} else {
		engine_timer_arm(e, t, 1000 * 1000, drain_tick, c);
	}
}

/* The host side: reads the console pipe until it closes. */
static size_t piped;
static void *pipe_reader(void *arg)
{
	char b[4096];
	ssize_t n;
	while ((n = read(*(int *)arg, b, sizeof(b))) > 0)
		piped += (size_t)n;
	return NULL;
}

static void test_uart_output_backpressure(void)
{
	static struct uart u;
	int fds[2];
	CHECK_EQ(pipe(fds), 0);
	CHECK_EQ(uart_create(&u, NULL, &eng, PORT_COM1, 4, fds[1], -1), 0);
	/* Fill the output buffer without running the engine: THRE must drop before loss. */
	size_t written = 0;
	while ((R(&u, UART_LSR) & UART_LSR_THRE) && written < (1u << 20)) {
		W(&u, UART_RBR, 'a' + written % 26);
		written++;
	}
	CHECK(written < (1u << 20));
	CHECK_EQ(u.out.dropped, 0);
	CHECK(!uart_drained(&u));
	/* An interrupt-driven driver (Linux's tty) now waits for THRE: no interrupt while
	 * THR is full, then one once the host has read the backlog. */
	W(&u, UART_IER, UART_IER_THRI);
	CHECK_EQ(R(&u, UART_IIR) & 0x0f, UART_IIR_NONE);
	struct drain_check c = { .u = &u };
	pthread_t reader;
	pthread_create(&reader, NULL, pipe_reader, &fds[0]);
	engine_timer_arm(&eng, &c.t, 1000 * 1000, drain_tick, &c);
	engine_run(&eng);
	CHECK(c.thri);
	CHECK(uart_drained(&u));
	CHECK(R(&u, UART_LSR) & UART_LSR_THRE);
	close(fds[1]);
	pthread_join(reader, NULL);
	CHECK_EQ(piped, written);
	uart_destroy(&u);
	close(fds[0]);
}

static time_t fixed_time(void) { return 1795703696; /* 2026-11-26 14:34:56 UTC, a Thursday */ }

static uint8_t cmos(struct rtc *r, uint8_t reg)
{
	rtc_ops.write(r, PORT_RTC_INDEX, reg, 1);
	return (uint8_t)rtc_ops.read(r, PORT_RTC_DATA, 1);
}

static void test_rtc(void)
{
	struct rtc r;
	rtc_init(&r, 512ull << 20, 1ull << 30);
	r.now = fixed_time;
	CHECK_EQ(cmos(&r, RTC_SECONDS), 0x56); /* BCD by default */
	CHECK_EQ(cmos(&r, RTC_MINUTES), 0x34);
	CHECK_EQ(cmos(&r, RTC_HOURS), 0x14);
	CHECK_EQ(cmos(&r, RTC_DAY), 0x26);
	CHECK_EQ(cmos(&r, RTC_MONTH), 0x11);
	CHECK_EQ(cmos(&r, RTC_YEAR), 0x26);
	CHECK_EQ(cmos(&r, RTC_CENTURY), 0x20);
	CHECK_EQ(cmos(&r, RTC_WEEKDAY), 5);
	CHECK_EQ(cmos(&r, RTC_REG_A) & 0x80, 0); /* never mid-update */
	CHECK_EQ(cmos(&r, RTC_REG_D), 0x80);
	/* binary mode */
	rtc_ops.write(&r, PORT_RTC_INDEX, RTC_REG_B, 1);
	rtc_ops.write(&r, PORT_RTC_DATA, RTC_B_24H | RTC_B_BINARY, 1);
	CHECK_EQ(cmos(&r, RTC_SECONDS), 56);
	CHECK_EQ(cmos(&r, RTC_HOURS), 14);
	/* 12-hour binary: 2 PM */
	rtc_ops.write(&r, PORT_RTC_INDEX, RTC_REG_B, 1);
	rtc_ops.write(&r, PORT_RTC_DATA, RTC_B_BINARY, 1);
	CHECK_EQ(cmos(&r, RTC_HOURS), 0x80 | 2);
	/* the guest cannot move the host clock; other CMOS bytes are plain RAM */
	rtc_ops.write(&r, PORT_RTC_INDEX, RTC_SECONDS, 1);
	rtc_ops.write(&r, PORT_RTC_DATA, 0, 1);
	CHECK_EQ(cmos(&r, RTC_SECONDS), 56);
	rtc_ops.write(&r, PORT_RTC_INDEX, 0x40, 1);
	rtc_ops.write(&r, PORT_RTC_DATA, 0x5a, 1);
	CHECK_EQ(cmos(&r, 0x40), 0x5a);
	/* the NMI-mask bit of the index port does not select another register */
	rtc_ops.write(&r, PORT_RTC_INDEX, 0x80 | 0x40, 1);
	CHECK_EQ(rtc_ops.read(&r, PORT_RTC_DATA, 1), 0x5a);
	/* memory size bytes: 1 GiB above 4 GiB in 64 KiB units */
	CHECK_EQ(cmos(&r, 0x5b) | (cmos(&r, 0x5c) << 8) | (cmos(&r, 0x5d) << 16), (1 << 30) >> 16);
}

static void test_i8042(void)
{
	struct i8042 k = { .ctr = 0x47 };
	i8042_ops.write(&k, PORT_I8042_CMD, I8042_CMD_SELF_TEST, 1);
	CHECK(i8042_ops.read(&k, PORT_I8042_CMD, 1) & 1);
	CHECK_EQ(i8042_ops.read(&k, PORT_I8042_DATA, 1), 0x55);
	CHECK(!(i8042_ops.read(&k, PORT_I8042_CMD, 1) & 1));
	i8042_ops.write(&k, PORT_I8042_CMD, I8042_CMD_WRITE_CTR, 1);
	i8042_ops.write(&k, PORT_I8042_DATA, 0x65, 1);
	i8042_ops.write(&k, PORT_I8042_CMD, I8042_CMD_READ_CTR, 1);
	CHECK_EQ(i8042_ops.read(&k, PORT_I8042_DATA, 1), 0x65);
}

int main(void)
{
	log_init();
	setup_engine();
	RUN(test_uart_registers);
	RUN(test_uart_loopback);
	RUN(test_uart_output_backpressure);
	RUN(test_rtc);
	RUN(test_i8042);
	engine_destroy(&eng);
	CHECK_EXIT();
}
