/* stream: byte streams to and from plain fds (console, serial file, log) as ring ops.
 * A writer buffers what its producer hands it and keeps one write SQE in flight;
 * a reader keeps one read SQE armed and hands each chunk to a callback. Both are
 * used from their engine's thread only. */
#ifndef RV_STREAM_H
#define RV_STREAM_H

#include "engine.h"

#include <stddef.h>
#include <stdint.h>

struct engine_writer {
	struct engine *engine;
	struct engine_op op;
	int fd;
	const char *what;          /* for error messages, e.g. "serial output" */
	char *buf;
	size_t cap;                /* power of two */
	uint64_t head, tail;       /* bytes written out / bytes accepted, ever */
	size_t inflight;           /* bytes in the write SQE now in the kernel */
	int error;                 /* first write error (-errno); the writer then discards */
	uint64_t dropped;          /* bytes refused because the buffer was full */
	void (*on_drained)(struct engine_writer *w); /* called once when empty, then cleared */
	void *ctx;                 /* for on_drained */
};

int engine_writer_init(struct engine_writer *w, struct engine *e, int fd, size_t cap, const char *what);
void engine_writer_destroy(struct engine_writer *w);
/* Accept up to len bytes; returns how many were taken (less only when the buffer is full). */
size_t engine_writer_put(struct engine_writer *w, const void *data, size_t len);
size_t engine_writer_space(const struct engine_writer *w);
static inline int engine_writer_idle(const struct engine_writer *w) { return w->head == w->tail; }
/* Call fn once everything accepted so far is written (at once if it already is). */
void engine_writer_when_drained(struct engine_writer *w, void (*fn)(struct engine_writer *w));
/* A log sink for log_set_thread_sink(): ctx is the writer. */
void engine_writer_log_sink(void *ctx, const char *line, size_t len);

struct engine_reader {
	struct engine *engine;
	struct engine_op op;
	int fd;
	_Alignas(16) char buf[512];
	bool armed, stopped, paused;
	void (*on_data)(struct engine_reader *r, const char *data, size_t len);
	void (*on_end)(struct engine_reader *r, int err); /* 0 at EOF, else -errno */
	void *ctx;
};

void engine_reader_start(struct engine_reader *r, struct engine *e, int fd,
			 void (*on_data)(struct engine_reader *r, const char *data, size_t len),
			 void (*on_end)(struct engine_reader *r, int err), void *ctx);
void engine_reader_stop(struct engine_reader *r);
/* Flow control: a paused reader finishes its current read and takes no more until resumed. */
void engine_reader_pause(struct engine_reader *r);
void engine_reader_resume(struct engine_reader *r);

#endif
