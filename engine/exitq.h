/* exitq: a vCPU's queue of forwarded exits to the engine that owns the device.
 *
 * One producer (the vCPU thread), one consumer (the engine thread). A message is a
 * function the engine runs on its own thread plus its arguments. Posted messages
 * (port/MMIO writes) return at once so the vCPU re-enters the guest; they are run in
 * order. A call (a read) is posted the same way and then waits for the engine's reply,
 * spinning briefly, then sleeping on the vCPU's own small ring until the engine sends
 * it a MSG_RING. The engine is woken with a MSG_RING only when it is asleep.
 *
 * The engine runs the messages of all its queues in the order they were queued, not
 * queue by queue: each takes a ticket from the engine's counter as it is published. The
 * guest orders accesses from different vCPUs with its own locks, and a device must see
 * them in that order: with per-queue order only, vCPU0's posted "IER &= ~THRI" (end of
 * a 16550 interrupt) could run after vCPU1's later "IER |= THRI" (new output), leaving
 * the UART silent while Linux waited for a THRE interrupt forever. */
#ifndef RV_EXITQ_H
#define RV_EXITQ_H

#include "engine.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct exitq_msg {
	void (*fn)(struct exitq_msg *m); /* runs on the engine thread */
	void *ctx;
	uint64_t addr;
	uint64_t value;   /* write data (up to 8 bytes) or read result */
	uint8_t *data;    /* calls only: buffer the engine may fill (stays valid until the reply) */
	uint64_t when_ns; /* when the vCPU saw the exit (log_uptime_ns) */
	uint32_t count;   /* repetitions (string port I/O) */
	uint32_t ticket;  /* set by exitq: place in the engine's order of all its queues */
	uint16_t len;     /* access size in bytes */
	uint8_t is_write;
	uint8_t wants_reply;
	_Atomic uint32_t seq; /* set by exitq: publishes the slot (position + 1) */
} __attribute__((aligned(64)));

#define EXITQ_SLOTS 256 /* power of two */

/* Cache lines are laid out so a posted exit costs the vCPU one line transfer (the slot
 * it fills, whose seq publishes it): the engine never reads a producer index, and the
 * producer reads the consumer's index only when its cached copy says the queue is full. */
struct exitq {
	struct exitq_msg slots[EXITQ_SLOTS];
	/* producer-only */
	_Alignas(64) uint32_t tail;
	uint32_t head_cache;
	uint64_t spin_ns;                      /* how long a call spins before sleeping */
	uint64_t posted, calls, sleeps, doorbells;
	struct io_uring ring;                  /* the producer's own small ring */
	struct engine *engine;
	/* consumer-written, producer-read */
	_Alignas(64) _Atomic uint32_t head;
	_Atomic uint32_t replied;              /* seq of the last call answered */
	uint64_t reply_value;                  /* its result, on the same line as replied */
	/* producer-written, consumer-read */
	_Alignas(64) _Atomic int sleeping;     /* producer waits on its ring for a reply */
};

/* Set up the queue and its producer ring, and attach it to engine e (before start). */
int exitq_init(struct exitq *q, struct engine *e, uint64_t spin_ns);
void exitq_destroy(struct exitq *q);

/* Producer: queue m and return. */
void exitq_post(struct exitq *q, const struct exitq_msg *m);
/* Producer: queue m, wait until the engine has run it, copy its result back into m. */
void exitq_call(struct exitq *q, struct exitq_msg *m);

/* Engine: run what e's queues hold, in ticket order, up to the first ticket not yet
 * published (its producer is between taking it and publishing; it rings the doorbell
 * after); returns how many messages ran. */
unsigned exitq_drain_all(struct engine *e);
/* Engine: whether the next message in ticket order is published (do not sleep). */
bool exitq_ready(struct engine *e);

#endif
