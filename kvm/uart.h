/* uart: a 16550A on the port bus (COM1). Output goes to a ring writer (the terminal or
 * a file) or nowhere; input comes from a ring reader (stdin). Interrupts via irqfd. */
#ifndef RV_UART_H
#define RV_UART_H

#include "irqfd.h"
#include "vm.h"

#include "engine/stream.h"

struct uart {
	struct vm *vm;
	struct irq_line irq;
	struct engine_writer out;
	bool has_out;
	struct engine_reader in;
	bool has_in;
	uint8_t rx[1024];
	unsigned rx_head, rx_len;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thr_ipending, irq_level;
	bool tx_waiting; /* THRE is low until the output backlog is written out */
	uint64_t tx_bytes, rx_bytes;
};

/* out_fd < 0: output discarded (--serial off). in_fd < 0: no input. */
int uart_create(struct uart *u, struct vm *vm, struct engine *e, uint16_t base, unsigned gsi, int out_fd,
		int in_fd);
void uart_destroy(struct uart *u);
/* Engine thread: is all output written out? */
static inline bool uart_drained(const struct uart *u) { return !u->has_out || engine_writer_idle(&u->out); }

/* Register offsets and bits, shared with the unit tests. */
enum { UART_RBR = 0, UART_IER = 1, UART_IIR = 2, UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7 };
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LCR_DLAB 0x80
#define UART_MCR_LOOP 0x10
#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IIR_NONE 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04

extern const struct bus_ops uart_ops;

#endif
