/* uart: 16550A model. See uart.h. Transmission is instant, so THR is always empty
 * unless the host side cannot take more bytes; then THRE drops and a driver that polls
 * LSR (Linux's console does) waits instead of losing output, and one that waits for the
 * THRE interrupt (Linux's tty) gets it once the host has taken the backlog. */
#include "uart.h"

#include "engine/log.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static uint8_t rx_pop(struct uart *u)
{
	uint8_t c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % sizeof(u->rx);
	u->rx_len--;
	return c;
}

static void rx_push(struct uart *u, uint8_t c)
{
	u->rx[(u->rx_head + u->rx_len) % sizeof(u->rx)] = c;
	u->rx_len++;
}

static uint8_t iir(const struct uart *u)
{
	if ((u->ier & UART_IER_RDI) && u->rx_len)
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thr_ipending)
		return UART_IIR_THRI;
	return UART_IIR_NONE;
}

/* ISA lines are edge-triggered: pulse on the rise of the pending condition. */
static void update_irq(struct uart *u)
{
	bool level = iir(u) != UART_IIR_NONE;
	if (level && !u->irq_level && u->irq.fd >= 0)
		irq_line_raise(&u->irq);
	u->irq_level = level;
}

static bool tx_space(const struct uart *u) { return !u->has_out || engine_writer_space(&u->out) >= 16; }

/* The backlog is written out: THR is empty again, which raises THRE as on hardware. */
static void tx_room(struct engine_writer *w)
{
	struct uart *u = (struct uart *)((char *)w - offsetof(struct uart, out));
	u->tx_waiting = false;
	u->thr_ipending = true;
	update_irq(u);
}

/* THR is "full" (no room in the host-side buffer): come back when there is. */
static void tx_wait_for_room(struct uart *u)
{
	if (u->tx_waiting)
		return;
	u->tx_waiting = true;
	engine_writer_when_drained(&u->out, tx_room);
}

/* THR was just written, or its interrupt enabled: THRE is pending if there is room;
 * otherwise THR stays full, and nothing is pending, until the backlog is out. */
static void thre_pending(struct uart *u)
{
	u->thr_ipending = tx_space(u);
	if (!u->thr_ipending)
		tx_wait_for_room(u);
}

static void tx(struct uart *u, uint8_t c)
{
	if (u->mcr & UART_MCR_LOOP) {
		if (u->rx_len < sizeof(u->rx))
			rx_push(u, c);
		return;
	}
	u->tx_bytes++;
	if (u->has_out && engine_writer_put(&u->out, &c, 1) != 1 && u->out.dropped == 1)
		log_warn("serial: output is not being read fast enough; dropping bytes");
}

static void uart_write(void *dev, uint64_t addr, uint64_t value, unsigned size)
{
	struct uart *u = dev;
	uint8_t v = (uint8_t)value;
	(void)size;

	switch (addr & 7) {
	case UART_RBR:
		if (u->lcr & UART_LCR_DLAB) {
			u->dll = v;
			break;
		}
		tx(u, v);
		thre_pending(u);
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB) {
			u->dlm = v;
			break;
		}
		/* Enabling the THR interrupt with THR empty raises it at once (16550 behaviour). */
		if ((v & UART_IER_THRI) && !(u->ier & UART_IER_THRI))
			thre_pending(u);
		u->ier = v & 0x0f;
		break;
	case UART_IIR:
		u->fcr = v;
		if (v & 0x02) /* clear the receive FIFO */
			u->rx_len = 0;
		break;
	case UART_LCR: u->lcr = v; break;
	case UART_MCR: u->mcr = v & 0x1f; break;
	case UART_SCR: u->scr = v; break;
	default: break; /* LSR and MSR are read-only */
	}
	update_irq(u);
}

static uint64_t uart_read(void *dev, uint64_t addr, unsigned size)
{
	struct uart *u = dev;
	uint8_t v = 0;
	(void)size;

	switch (addr & 7) {
	case UART_RBR:
		if (u->lcr & UART_LCR_DLAB) {
			v = u->dll;
			break;
		}
		if (u->rx_len) {
			v = rx_pop(u);
			if (u->has_in && u->in.paused && u->rx_len <= sizeof(u->rx) - sizeof(u->in.buf))
				engine_reader_resume(&u->in);
		}
		break;
	case UART_IER: v = (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier; break;
	case UART_IIR:
		v = iir(u);
		if (v == UART_IIR_THRI)
			u->thr_ipending = false; /* reading IIR acknowledges THRE */
		if (u->fcr & 1)
			v |= 0xc0; /* FIFOs enabled */
		break;
	case UART_LCR: v = u->lcr; break;
	case UART_MCR: v = u->mcr; break;
	case UART_LSR:
		v = u->rx_len ? UART_LSR_DR : 0;
		if (tx_space(u))
			v |= UART_LSR_THRE | UART_LSR_TEMT;
		else
			tx_wait_for_room(u);
		break;
	case UART_MSR:
		if (u->mcr & UART_MCR_LOOP) /* DCD<-OUT2, RI<-OUT1, DSR<-DTR, CTS<-RTS */
			v = (uint8_t)(((u->mcr & 0x08) << 4) | ((u->mcr & 0x04) << 4) | ((u->mcr & 0x01) << 5) |
				      ((u->mcr & 0x02) << 3));
		else
			v = 0xb0; /* DCD, DSR, CTS: a cable is always attached */
		break;
	case UART_SCR: v = u->scr; break;
	}
	update_irq(u);
	return v;
}

const struct bus_ops uart_ops = { .write = uart_write, .read = uart_read };

static void on_input(struct engine_reader *r, const char *data, size_t len)
{
	struct uart *u = r->ctx;
	for (size_t i = 0; i < len; i++)
		rx_push(u, (uint8_t)data[i]);
	u->rx_bytes += len;
	/* Stop reading while the next chunk might not fit: input waits in the host, never lost. */
	if (u->rx_len > sizeof(u->rx) - sizeof(r->buf))
		engine_reader_pause(r);
	update_irq(u);
}

static void on_input_end(struct engine_reader *r, int err)
{
	if (err)
		log_warn("serial: console input stopped: %s", strerror(-err));
	(void)r;
}

int uart_create(struct uart *u, struct vm *vm, struct engine *e, uint16_t base, unsigned gsi, int out_fd,
		int in_fd)
{
	int ret;

	memset(u, 0, sizeof(*u));
	u->vm = vm;
	u->irq.fd = -1;
	if (out_fd >= 0) {
		if ((ret = engine_writer_init(&u->out, e, out_fd, 1 << 16, "serial output")) < 0)
			return ret;
		u->has_out = true;
	}
	if (vm && (ret = irq_line_init(&u->irq, vm->kvm.vm_fd, gsi, e)) < 0)
		return ret;
	if (vm && (ret = bus_add(&vm->pio, base, 8, &uart_ops, u, e, "serial")) < 0)
		return ret;
	if (in_fd >= 0) {
		engine_reader_start(&u->in, e, in_fd, on_input, on_input_end, u);
		u->has_in = true;
	}
	return 0;
}

void uart_destroy(struct uart *u)
{
	if (u->has_out)
		engine_writer_destroy(&u->out);
	if (u->vm)
		irq_line_destroy(&u->irq, u->vm->kvm.vm_fd);
}
