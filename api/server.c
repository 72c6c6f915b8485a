/* server: see server.h. */
#include "server.h"

#include "engine/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ACCEPT_RETRY_NS (100ull * 1000 * 1000)

struct api_conn {
	struct api_server *s;
	struct api_conn *prev, *next;
	int fd;
	struct engine_op io_op, close_op;
	unsigned inflight;       /* our SQEs whose CQEs are still to come */
	bool io_busy;            /* a recv or send is in the kernel */
	bool closing;
	bool refused;            /* over the connection limit: 503 then close */
	bool sending_continue;
	bool continue_sent;
	bool close_after_send;
	uint64_t deadline_ns;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	size_t consume;          /* bytes of the answered request to drop after the reply */
	void (*after_send)(void *ctx);
	void *after_ctx;
};

struct api_server {
	struct engine *e;
	struct api_server_options o;
	struct api_backend b;
	struct routes_cache routes;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	struct engine_op accept_op;
	struct engine_timer retry;
	bool single_accept;        /* the kernel lacks multishot accept */
	/* One ring timeout sweeps every connection's deadline, cancelling the recv or send
	 * of those past it (cheaper than a linked timeout per op: two SQEs, two CQEs and a
	 * kernel timer less per request). */
	struct engine_timer sweep;
	struct api_conn *conns;
	unsigned n_conns;
	struct api_server_stats stats;
};

static void conn_process(struct api_conn *c);
static void conn_close(struct api_conn *c);

static void arm_accept(struct api_server *s)
{
	if (s->single_accept)
		io_uring_prep_accept(engine_sqe(s->e, &s->accept_op), s->fd, NULL, NULL, SOCK_CLOEXEC);
	else
		io_uring_prep_multishot_accept(engine_sqe(s->e, &s->accept_op), s->fd, NULL, NULL, SOCK_CLOEXEC);
}

static void retry_accept(struct engine *e, struct engine_timer *t)
{
	(void)e;
	arm_accept(t->ctx);
}

static void maybe_free(struct api_conn *c)
{
	if (!c->closing || c->inflight || c->fd >= 0)
		return;
	struct api_server *s = c->s;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	free(c->in);
	free(c->out);
	free(c);
}

static void on_closed(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct api_conn *c = op->ctx;
	(void)e, (void)res, (void)flags;
	c->inflight--;
	c->fd = -1;
	maybe_free(c);
}

static void conn_close(struct api_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->inflight++;
	io_uring_prep_close(engine_sqe(c->s->e, &c->close_op), c->fd);
}

static void on_sweep(struct engine *e, struct engine_timer *t);

static void arm_sweep(struct api_server *s)
{
	if (s->sweep.armed)
		return;
	/* A quarter of the timeout (5 ms to 1 s): a stalled client goes within 1.25 timeouts. */
	uint64_t ns = (uint64_t)s->o.timeout_ms * 1000000ull / 4;
	ns = ns < 5000000ull ? 5000000ull : ns > 1000000000ull ? 1000000000ull : ns;
	engine_timer_arm(s->e, &s->sweep, ns, on_sweep, s);
}

static void on_sweep(struct engine *e, struct engine_timer *t)
{
	struct api_server *s = t->ctx;
	uint64_t now = engine_now_ns();
	for (struct api_conn *c = s->conns; c; c = c->next)
		if (c->io_busy && !c->closing && c->deadline_ns < now) {
			/* Its recv or send completes with -ECANCELED and the connection closes. */
			s->stats.timeouts++;
			io_uring_prep_cancel(engine_sqe(e, &e->ignore_op), &c->io_op, 0);
		}
	if (s->conns)
		arm_sweep(s);
}

static struct io_uring_sqe *io_sqe(struct api_conn *c)
{
	c->inflight++;
	c->io_busy = true;
	return engine_sqe(c->s->e, &c->io_op);
}

static void on_sent(struct engine *e, struct engine_op *op, int res, uint32_t flags);
static void on_recv(struct engine *e, struct engine_op *op, int res, uint32_t flags);

static void arm_send(struct api_conn *c)
{
	struct io_uring_sqe *sqe = io_sqe(c);
	c->io_op.handler = on_sent;
	io_uring_prep_send(sqe, c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
}

static void arm_recv(struct api_conn *c)
{
	const struct http_limits *l = &c->s->o.limits;
	size_t max = l->max_header + l->max_body;
	if (c->in_len == c->in_cap) {
		if (c->in_cap >= max) { /* cannot happen: the parser refuses first */
			conn_close(c);
			return;
		}
		size_t cap = c->in_cap ? c->in_cap * 2 : 4096;
		char *p = realloc(c->in, cap < max ? cap : max);
		if (!p) {
			conn_close(c);
			return;
		}
		c->in = p;
		c->in_cap = cap < max ? cap : max;
	}
	struct io_uring_sqe *sqe = io_sqe(c);
	c->io_op.handler = on_recv;
	io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
}

static void send_buffer(struct api_conn *c, char *buf, size_t len)
{
	free(c->out);
	c->out = buf;
	c->out_len = len;
	c->out_off = 0;
	c->deadline_ns = engine_now_ns() + (uint64_t)c->s->o.timeout_ms * 1000000ull;
	arm_send(c);
}

static void send_response(struct api_conn *c, int status, char *body, bool keep_alive)
{
	size_t len;
	char *buf = http_response(status, body, body ? strlen(body) : 0, keep_alive, &len);
	free(body);
	if (!buf) {
		conn_close(c);
		return;
	}
	c->close_after_send = !keep_alive;
	send_buffer(c, buf, len);
}

static void send_error(struct api_conn *c, int status, const char *why)
{
	struct api_response r = { 0 };
	routes_error(&r, status, why);
	c->s->stats.errors++;
	send_response(c, status, r.body, false);
}

/* A recv or send finished: false when the connection is gone or going (EOF, an error,
 * -ECANCELED when its deadline passed) and the caller must stop. */
static bool io_done(struct api_conn *c, int res)
{
	c->inflight--;
	c->io_busy = false;
	if (c->closing) {
		maybe_free(c);
		return false;
	}
	if (res <= 0) {
		conn_close(c);
		return false;
	}
	return true;
}

static void on_sent(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct api_conn *c = op->ctx;
	(void)e, (void)flags;
	if (!io_done(c, res))
		return;
	c->out_off += (size_t)res;
	if (c->out_off < c->out_len) {
		arm_send(c);
		return;
	}
	if (c->after_send) {
		void (*fn)(void *) = c->after_send;
		c->after_send = NULL;
		fn(c->after_ctx);
	}
	if (c->close_after_send) {
		conn_close(c);
		return;
	}
	if (c->sending_continue) {
		c->sending_continue = false;
		arm_recv(c);
		return;
	}
	/* Drop the answered request; a pipelined one may already be in the buffer. */
	memmove(c->in, c->in + c->consume, c->in_len - c->consume);
	c->in_len -= c->consume;
	c->consume = 0;
	c->continue_sent = false;
	c->deadline_ns = engine_now_ns() + (uint64_t)c->s->o.timeout_ms * 1000000ull;
	conn_process(c);
}

static void on_recv(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct api_conn *c = op->ctx;
	(void)e, (void)flags;
	if (!io_done(c, res))
		return;
	c->in_len += (size_t)res;
	conn_process(c);
}

static void conn_process(struct api_conn *c)
{
	struct http_request req;
	const char *why;
	int r = http_parse(c->in, c->in_len, &c->s->o.limits, &req, &why);

	if (r < 0 || (c->refused && r != HTTP_INCOMPLETE)) {
		/* Over the connection limit: the headers are read first, so the client sees the
		 * answer rather than a reset; its body is neither awaited nor invited (no 100). */
		send_error(c, r < 0 ? -r : 503, r < 0 ? why : "too many open API connections; try again later");
		return;
	}
	if (r == HTTP_INCOMPLETE) {
		arm_recv(c);
		return;
	}
	if (r == HTTP_HEADERS) {
		if (req.expect_continue && !c->continue_sent) {
			size_t len;
			char *buf = http_response(100, NULL, 0, true, &len);
			if (!buf) {
				conn_close(c);
				return;
			}
			c->continue_sent = c->sending_continue = true;
			c->close_after_send = false;
			send_buffer(c, buf, len);
			return;
		}
		arm_recv(c);
		return;
	}
	struct api_response resp;
	c->s->stats.requests++;
	/* The body is not NUL-terminated; handlers get its length. */
	routes_handle(&c->s->routes, &c->s->b, req.method, req.path, req.body, req.content_length, &resp);
	c->consume = req.total_len;
	c->after_send = resp.after_send;
	c->after_ctx = resp.after_ctx;
	send_response(c, resp.status, resp.body, req.keep_alive && !resp.after_send);
}

static void on_accept(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct api_server *s = op->ctx;
	(void)e;
	if (!(flags & IORING_CQE_F_MORE)) {
		if (res == -EINVAL && !s->single_accept) {
			/* Multishot accept needs Linux 5.19: one accept at a time then. */
			log_info("API socket: no multishot accept on this kernel; accepting one at a time");
			s->single_accept = true;
			arm_accept(s);
			return;
		}
		if (res < 0) {
			/* e.g. out of fds: start again shortly */
			log_warn("API socket: accept failed: %s; retrying", strerror(-res));
			engine_timer_arm(s->e, &s->retry, ACCEPT_RETRY_NS, retry_accept, s);
		} else {
			arm_accept(s);
		}
	}
	if (res < 0)
		return;
	struct api_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(res);
		return;
	}
	c->s = s;
	c->fd = res;
	c->io_op.ctx = c->close_op.ctx = c;
	c->close_op.handler = on_closed;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	c->deadline_ns = engine_now_ns() + (uint64_t)s->o.timeout_ms * 1000000ull;
	if (s->n_conns > 2 * s->o.max_connections) {
		/* Far over the limit: not even a 503 (each answer holds a buffer). */
		s->stats.refused++;
		conn_close(c);
		return;
	}
	if (s->n_conns > s->o.max_connections) {
		s->stats.refused++;
		c->refused = true;
		arm_sweep(s);
		arm_recv(c);
		return;
	}
	s->stats.accepted++;
	arm_sweep(s);
	arm_recv(c);
}

/* Bind path; a socket file nobody listens on is replaced, a live one refused. */
static int bind_socket(struct api_server *s)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(s->o.path) >= sizeof(addr.sun_path)) {
		log_error("--api-socket %s: path too long (at most %zu bytes)", s->o.path, sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, s->o.path, strlen(s->o.path) + 1);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	if (bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;
		if (err != EADDRINUSE) {
			log_error("--api-socket %s: cannot bind: %s", s->o.path, strerror(err));
			return -err;
		}
		if (lstat(s->o.path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			log_error("--api-socket %s: the path exists and is not a socket; not replacing it", s->o.path);
			return -EEXIST;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			close(probe);
			log_error("--api-socket %s: another process is listening on it (another VMM?); refusing to take it over",
				  s->o.path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		log_info("--api-socket %s: replacing a stale socket file", s->o.path);
		unlink(s->o.path);
		if (bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			err = errno;
			log_error("--api-socket %s: cannot bind: %s", s->o.path, strerror(err));
			return -err;
		}
	}
	snprintf(s->path, sizeof(s->path), "%s", s->o.path);
	if (listen(s->fd, 4096) < 0) {
		int err = errno;
		log_error("--api-socket %s: cannot listen: %s", s->o.path, strerror(err));
		return -err;
	}
	return 0;
}

int api_server_start(struct api_server **out, struct engine *e, const struct api_server_options *o,
		     const struct api_backend *b)
{
	struct api_server *s = calloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->e = e;
	s->o = *o;
	s->b = *b;
	s->fd = -1;
	if (!s->o.limits.max_line)
		s->o.limits = (struct http_limits){ API_DEFAULT_MAX_LINE, API_DEFAULT_MAX_HEADER, API_DEFAULT_MAX_BODY };
	if ((ret = bind_socket(s)) < 0) {
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return ret;
	}
	s->accept_op.handler = on_accept;
	s->accept_op.ctx = s;
	arm_accept(s);
	log_info("API listening on %s", s->path);
	*out = s;
	return 0;
}

void api_server_destroy(struct api_server *s)
{
	if (!s)
		return;
	/* The sweep and accept-retry timers may still be armed: with the engine stopped their
	 * completions are never reaped (cancelling would only queue more CQEs pointing here),
	 * and the ring's teardown drops them. */
	while (s->conns) {
		struct api_conn *c = s->conns;
		s->conns = c->next;
		if (c->fd >= 0 && !c->closing)
			close(c->fd);
		free(c->in);
		free(c->out);
		free(c);
	}
	if (s->fd >= 0)
		close(s->fd);
	if (s->path[0])
		unlink(s->path);
	routes_cache_free(&s->routes);
	free(s);
}

const struct api_server_stats *api_server_stats(const struct api_server *s) { return &s->stats; }

bool api_server_sending(const struct api_server *s)
{
	for (const struct api_conn *c = s ? s->conns : NULL; c; c = c->next)
		if (!c->closing && c->out_off < c->out_len)
			return true;
	return false;
}
