/* stream: ring-driven fd writer and reader. See stream.h. */
#include "stream.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void writer_kick(struct engine_writer *w);

static void writer_done(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct engine_writer *w = op->ctx;
	(void)e, (void)flags;

	if (res == -EINTR || res == -EAGAIN) {
		res = 0; /* retry the same bytes */
	} else if (res < 0) {
		if (!w->error) {
			char msg[160];
			int n = snprintf(msg, sizeof(msg), "ringvisor: error: writing %s failed: %s; further output is discarded\n",
					 w->what, strerror(-res));
			/* Not through the log: the log may be this very writer. */
			ssize_t r = write(STDERR_FILENO, msg, (size_t)n);
			(void)r;
		}
		w->error = res;
		res = (int)w->inflight; /* drop it */
	}
	w->head += (size_t)res; /* a short write leaves the rest for the next SQE */
	w->inflight = 0;
	if (w->error)
		w->head = w->tail;
	writer_kick(w);
}

static void writer_kick(struct engine_writer *w)
{
	if (w->inflight)
		return;
	if (w->head == w->tail) {
		if (w->on_drained) {
			void (*fn)(struct engine_writer *) = w->on_drained;
			w->on_drained = NULL;
			fn(w);
		}
		return;
	}
	size_t off = (size_t)(w->head & (w->cap - 1));
	size_t len = (size_t)(w->tail - w->head);
	if (len > w->cap - off)
		len = w->cap - off;
	w->inflight = len;
	io_uring_prep_write(engine_sqe(w->engine, &w->op), w->fd, w->buf + off, (unsigned)len, (uint64_t)-1);
}

int engine_writer_init(struct engine_writer *w, struct engine *e, int fd, size_t cap, const char *what)
{
	memset(w, 0, sizeof(*w));
	if (!cap || (cap & (cap - 1)))
		return -EINVAL;
	w->buf = malloc(cap);
	if (!w->buf)
		return -ENOMEM;
	w->engine = e;
	w->fd = fd;
	w->cap = cap;
	w->what = what;
	w->op.handler = writer_done;
	w->op.ctx = w;
	return 0;
}

void engine_writer_destroy(struct engine_writer *w)
{
	free(w->buf);
	w->buf = NULL;
}

size_t engine_writer_space(const struct engine_writer *w) { return w->cap - (size_t)(w->tail - w->head); }

size_t engine_writer_put(struct engine_writer *w, const void *data, size_t len)
{
	size_t space = engine_writer_space(w);
	const char *p = data;

	if (w->error)
		return len; /* the sink is gone; counted once as an error, not as drops */
	if (len > space) {
		w->dropped += len - space;
		len = space;
	}
	for (size_t done = 0; done < len;) {
		size_t off = (size_t)((w->tail + done) & (w->cap - 1));
		size_t n = len - done;
		if (n > w->cap - off)
			n = w->cap - off;
		memcpy(w->buf + off, p + done, n);
		done += n;
	}
	w->tail += len;
	writer_kick(w);
	return len;
}

void engine_writer_when_drained(struct engine_writer *w, void (*fn)(struct engine_writer *w))
{
	w->on_drained = fn;
	writer_kick(w);
}

void engine_writer_log_sink(void *ctx, const char *line, size_t len)
{
	engine_writer_put(ctx, line, len);
}

static void reader_arm(struct engine_reader *r)
{
	if (r->armed || r->stopped || r->paused)
		return;
	r->armed = true;
	io_uring_prep_read(engine_sqe(r->engine, &r->op), r->fd, r->buf, sizeof(r->buf), (uint64_t)-1);
}

static void reader_done(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct engine_reader *r = op->ctx;
	(void)e, (void)flags;

	r->armed = false;
	if (r->stopped)
		return;
	if (res == -EINTR || res == -EAGAIN) {
		reader_arm(r);
		return;
	}
	if (res <= 0) {
		r->stopped = true;
		if (r->on_end)
			r->on_end(r, res);
		return;
	}
	r->on_data(r, r->buf, (size_t)res);
	reader_arm(r);
}

void engine_reader_start(struct engine_reader *r, struct engine *e, int fd,
			 void (*on_data)(struct engine_reader *r, const char *data, size_t len),
			 void (*on_end)(struct engine_reader *r, int err), void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->engine = e;
	r->fd = fd;
	r->on_data = on_data;
	r->on_end = on_end;
	r->ctx = ctx;
	r->op.handler = reader_done;
	r->op.ctx = r;
	reader_arm(r);
}

void engine_reader_stop(struct engine_reader *r)
{
	if (r->stopped)
		return;
	r->stopped = true;
	if (r->armed)
		io_uring_prep_cancel(engine_sqe(r->engine, &r->engine->ignore_op), &r->op, 0);
}

void engine_reader_pause(struct engine_reader *r) { r->paused = true; }

void engine_reader_resume(struct engine_reader *r)
{
	r->paused = false;
	reader_arm(r);
}
