/* Unit tests for the engine alone: op dispatch, exit forwarding over MSG_RING with
 * posted writes ordered before a read, timeouts, writer/reader streams, signals, stop,
 * multishot reads from a provided-buffer ring, the ring's one submitter, and batch waits
 * on a shared CPU. */
#include "check.h"

#include "engine/bufring.h"
#include "engine/engine.h"
#include "engine/exitq.h"
#include "engine/helper.h"
#include "engine/log.h"
#include "engine/runqueue.h"
#include "engine/sigwatch.h"
#include "engine/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

static struct engine_params params(uint64_t poll_ns)
{
	struct engine_params p = { .node = 0, .poll_ns = poll_ns, .name = "rv-test" };
	CPU_ZERO(&p.cpus);
	return p;
}

/* ---- dispatch ---- */
struct nop_ctx {
	struct engine_op op;
	int id, res;
	int *order, *n;
};

static void nop_done(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct nop_ctx *c = op->ctx;
	(void)flags;
	c->res = res;
	c->order[(*c->n)++] = c->id;
	if (*c->n == 8)
		engine_stop(e);
}

static void test_dispatch(void)
{
	struct engine e;
	struct engine_params p = params(0);
	struct nop_ctx ops[8];
	int order[8], n = 0;

	CHECK_EQ(engine_init(&e, &p), 0);
	for (int i = 0; i < 8; i++) {
		ops[i] = (struct nop_ctx){ .op = { nop_done, &ops[i] }, .id = i, .res = -1, .order = order, .n = &n };
		io_uring_prep_nop(engine_sqe(&e, &ops[i].op));
	}
	engine_run(&e);
	CHECK_EQ(n, 8);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(ops[i].res, 0);
		CHECK(order[i] >= 0 && order[i] < 8);
	}
	/* all 8 went in with one submit: the loop's single submit per iteration */
	CHECK(e.stats.enters <= 3);
	engine_destroy(&e);
}

/* A full SQ is flushed, never an error or a lost op. */
static int overflow_done;
static void overflow_cb(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	(void)op, (void)flags;
	if (res == 0 && ++overflow_done == 100)
		engine_stop(e);
}

static void test_sq_overflow(void)
{
	struct engine e;
	struct engine_params p = params(0);
	struct engine_op op = { overflow_cb, NULL };

	p.entries = 8;
	CHECK_EQ(engine_init(&e, &p), 0);
	for (int i = 0; i < 100; i++)
		io_uring_prep_nop(engine_sqe(&e, &op));
	engine_run(&e);
	CHECK_EQ(overflow_done, 100);
	engine_destroy(&e);
}

/* ---- exit forwarding ---- */
struct fwd_state {
	uint64_t sum;      /* engine-thread only */
	uint64_t writes;
	int stop_seen;
};

static void msg_write(struct exitq_msg *m)
{
	struct fwd_state *s = m->ctx;
	s->sum += m->value;
	s->writes++;
}

static void msg_read(struct exitq_msg *m)
{
	struct fwd_state *s = m->ctx;
	m->value = s->sum;
}

static struct engine *stop_target;
static void msg_stop(struct exitq_msg *m)
{
	struct fwd_state *s = m->ctx;
	s->stop_seen = 1;
	engine_stop(stop_target);
}

struct producer {
	struct exitq *q;
	struct fwd_state *s;
	int rounds, writes_per_round;
	bool post_to_sleeper; /* each round waits (≤ 10 ms) for the engine to be asleep first */
	int bad;
};

/* Until the engine has gone to sleep, or 10 ms: a post then has to ring its doorbell,
 * where a producer that happens to catch the engine still awake (a slow, busy host) would
 * not, and the doorbell path would go untested. */
static void wait_engine_asleep(struct engine *e)
{
	uint64_t until = engine_now_ns() + 10 * 1000 * 1000;
	while (atomic_load(&e->awake) && engine_now_ns() < until)
		sched_yield();
}

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	uint64_t expect = 0;

	for (int r = 0; r < p->rounds; r++) {
		if (p->post_to_sleeper)
			wait_engine_asleep(p->q->engine);
		for (int i = 1; i <= p->writes_per_round; i++) {
			struct exitq_msg m = { .fn = msg_write, .ctx = p->s, .value = (uint64_t)i, .is_write = 1, .len = 4 };
			exitq_post(p->q, &m);
			expect += (uint64_t)i;
		}
		struct exitq_msg rd = { .fn = msg_read, .ctx = p->s, .len = 4 };
		exitq_call(p->q, &rd);
		if (rd.value != expect)
			p->bad++;
	}
	struct exitq_msg stop = { .fn = msg_stop, .ctx = p->s };
	exitq_post(p->q, &stop);
	return NULL;
}

static void run_forwarding(uint64_t engine_poll_ns, uint64_t call_spin_ns, int rounds, int per_round,
			   uint64_t *doorbells, uint64_t *sleeps, int *bad, uint64_t *writes)
{
	struct engine e;
	struct engine_params p = params(engine_poll_ns);
	static struct exitq q;
	struct fwd_state s = { 0 };
	struct producer prod = { .q = &q, .s = &s, .rounds = rounds, .writes_per_round = per_round,
				 .post_to_sleeper = engine_poll_ns == 0 };
	pthread_t t;

	*bad = -1;
	if (engine_init(&e, &p) || exitq_init(&q, &e, call_spin_ns))
		return;
	stop_target = &e;
	engine_start(&e);
	pthread_create(&t, NULL, producer_main, &prod);
	pthread_join(t, NULL);
	engine_join(&e);
	*doorbells = q.doorbells;
	*sleeps = q.sleeps;
	*bad = prod.bad + (s.stop_seen ? 0 : 1000);
	*writes = s.writes;
	exitq_destroy(&q);
	engine_destroy(&e);
}

/* Engine spinning: posted writes are ordered before each read, nothing lost. */
static void test_forward_ordered_polling(void)
{
	uint64_t bells, sleeps, writes;
	int bad;
	run_forwarding(50 * 1000 * 1000ull, 1000 * 1000ull, 200, 300, &bells, &sleeps, &bad, &writes);
	CHECK_EQ(bad, 0);
	CHECK_EQ(writes, 200 * 300);
}

/* Engine sleeping whenever idle and calls that never spin: every hand-off goes through
 * MSG_RING doorbells and wake-ups, and order still holds. */
static void test_forward_ordered_sleeping(void)
{
	uint64_t bells, sleeps, writes;
	int bad;
	run_forwarding(0, 0, 300, 3, &bells, &sleeps, &bad, &writes);
	CHECK_EQ(bad, 0);
	CHECK_EQ(writes, 300 * 3);
	CHECK(bells > 0);  /* the engine was asleep and was rung */
	CHECK(sleeps > 0); /* the caller slept on its own ring and was woken by MSG_RING */
}

/* ---- order across queues: what two vCPUs do to one device ---- */
struct shared_dev {
	uint64_t value;  /* device state, engine thread only */
	uint64_t seen;   /* what the last read returned */
};

static void dev_write(struct exitq_msg *m) { ((struct shared_dev *)m->ctx)->value = m->value; }
static void dev_read(struct exitq_msg *m)
{
	struct shared_dev *d = m->ctx;
	m->value = d->seen = d->value;
}

/* A write queued on one vCPU's queue, then a read on another's that the guest ordered
 * after it: the read sees the write even though the engine looks at the reader's queue
 * first (queue by queue, it read 0). */
static void test_forward_order_across_queues(void)
{
	struct engine e;
	struct engine_params p = params(0);
	static struct exitq reader, writer; /* attached in this order: the reader's is looked at first */
	struct shared_dev d = { 0 };

	CHECK_EQ(engine_init(&e, &p), 0);
	CHECK_EQ(exitq_init(&reader, &e, 0), 0);
	CHECK_EQ(exitq_init(&writer, &e, 0), 0);
	exitq_post(&writer, &(struct exitq_msg){ .fn = dev_write, .ctx = &d, .value = 7, .is_write = 1, .len = 1 });
	exitq_post(&reader, &(struct exitq_msg){ .fn = dev_read, .ctx = &d, .len = 1 });
	CHECK_EQ(exitq_drain_all(&e), 2);
	CHECK_EQ(d.seen, 7);
	CHECK(!exitq_ready(&e));
	exitq_destroy(&reader);
	exitq_destroy(&writer);
	engine_destroy(&e);
}

/* Two producer threads take turns as two vCPUs under a guest lock would: one posts a
 * write, hands over, the other reads it back with a call and must see it. */
struct turns {
	struct exitq *q;
	struct shared_dev *d;
	_Atomic int *turn;
	int me, rounds, bad;
};

static void *turn_main(void *arg)
{
	struct turns *t = arg;
	for (int i = 1; i <= t->rounds; i++) {
		while (atomic_load(t->turn) != t->me)
			sched_yield();
		if (t->me == 0) {
			exitq_post(t->q, &(struct exitq_msg){ .fn = dev_write, .ctx = t->d, .value = (uint64_t)i,
							      .is_write = 1, .len = 8 });
		} else {
			struct exitq_msg m = { .fn = dev_read, .ctx = t->d, .len = 8 };
			exitq_call(t->q, &m);
			if (m.value != (uint64_t)i)
				t->bad++;
		}
		atomic_store(t->turn, 1 - t->me);
	}
	return NULL;
}

static void turns_stop(struct exitq_msg *m) { engine_stop(m->ctx); }

static void test_forward_two_producers_take_turns(void)
{
	struct engine e;
	struct engine_params p = params(50 * 1000 * 1000ull);
	static struct exitq qr, qw; /* the reader's queue first, as above */
	struct shared_dev d = { 0 };
	_Atomic int turn = 0;
	struct turns w = { &qw, &d, &turn, 0, 3000, 0 }, r = { &qr, &d, &turn, 1, 3000, 0 };
	pthread_t tw, tr;

	CHECK_EQ(engine_init(&e, &p), 0);
	CHECK_EQ(exitq_init(&qr, &e, 1000 * 1000ull), 0);
	CHECK_EQ(exitq_init(&qw, &e, 0), 0);
	engine_start(&e);
	pthread_create(&tw, NULL, turn_main, &w);
	pthread_create(&tr, NULL, turn_main, &r);
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	CHECK_EQ(r.bad, 0);
	exitq_post(&qw, &(struct exitq_msg){ .fn = turns_stop, .ctx = &e });
	engine_join(&e);
	exitq_destroy(&qr);
	exitq_destroy(&qw);
	engine_destroy(&e);
}

/* ---- helper: a blocking call off the engine thread ---- */
struct helper_case {
	struct engine e;
	struct engine_helper h;
	struct engine_job job;
	struct engine_timer start, tick;
	pid_t engine_tid, work_tid, done_tid;
	_Atomic int ticks; /* the engine's, read by the job */
	int ticks_at_done;
};

/* Blocks, as an ioctl waiting for rtnl would, until the engine has ticked 5 times (at
 * most 5 s): only an engine that kept running meanwhile lets it finish early. */
static void helper_work(struct engine_job *j)
{
	struct helper_case *c = j->ctx;
	c->work_tid = gettid();
	uint64_t until = engine_now_ns() + 5000ull * 1000 * 1000;
	while (atomic_load(&c->ticks) < 5 && engine_now_ns() < until)
		usleep(1000);
	j->result = 7;
}

static void helper_done(struct engine_job *j)
{
	struct helper_case *c = j->ctx;
	c->done_tid = gettid();
	c->ticks_at_done = atomic_load(&c->ticks);
	engine_stop(&c->e);
}

static void helper_tick(struct engine *e, struct engine_timer *t)
{
	struct helper_case *c = t->ctx;
	atomic_fetch_add(&c->ticks, 1);
	engine_timer_arm(e, t, 1000 * 1000, helper_tick, c);
}

static void helper_start(struct engine *e, struct engine_timer *t)
{
	struct helper_case *c = t->ctx;
	c->engine_tid = gettid();
	CHECK_EQ(engine_helper_submit(&c->h, &c->job), 0);
	engine_timer_arm(e, &c->tick, 1000 * 1000, helper_tick, c);
}

/* The job's work runs on another thread and blocks there while the engine goes on
 * (its 1 ms timer keeps firing, which is what lets the job end); done comes back on the
 * engine thread. */
static void test_helper_blocking_job(void)
{
	static struct helper_case c;
	struct engine_params p = params(0);
	memset(&c, 0, sizeof(c));
	CHECK_EQ(engine_init(&c.e, &p), 0);
	CHECK_EQ(engine_helper_init(&c.h, &c.e, "test"), 0);
	c.job = (struct engine_job){ .work = helper_work, .done = helper_done, .ctx = &c };
	engine_timer_arm(&c.e, &c.start, 1000, helper_start, &c);
	engine_run(&c.e);
	CHECK(c.work_tid != 0 && c.work_tid != c.engine_tid);
	CHECK_EQ(c.done_tid, c.engine_tid);
	CHECK_EQ(c.job.result, 7);
	CHECK(c.ticks_at_done >= 5); /* the engine ticked while the job blocked (it waits for 5) */
	engine_helper_destroy(&c.h);
	engine_destroy(&c.e);
}

/* ---- timeouts ---- */
static int fired[4], nfired;
static void timer_fn(struct engine *e, struct engine_timer *t)
{
	fired[nfired++] = (int)(uintptr_t)t->ctx;
	if (nfired == 3)
		engine_stop(e);
}

static void test_timeouts(void)
{
	struct engine e;
	struct engine_params p = params(0);
	struct engine_timer t[4];
	uint64_t t0;

	CHECK_EQ(engine_init(&e, &p), 0);
	nfired = 0;
	t0 = engine_now_ns();
	engine_timer_arm(&e, &t[0], 30000000, timer_fn, (void *)3);
	engine_timer_arm(&e, &t[1], 10000000, timer_fn, (void *)1);
	engine_timer_arm(&e, &t[2], 20000000, timer_fn, (void *)2);
	engine_timer_arm(&e, &t[3], 15000000, timer_fn, (void *)99);
	engine_timer_cancel(&e, &t[3]);
	engine_run(&e);
	CHECK_EQ(nfired, 3);
	CHECK_EQ(fired[0], 1);
	CHECK_EQ(fired[1], 2);
	CHECK_EQ(fired[2], 3);
	CHECK(engine_now_ns() - t0 >= 30000000);
	engine_destroy(&e);
}

/* ---- streams and orderly stop ---- */
static void stop_when_drained(struct engine_writer *w) { engine_stop(w->engine); }

static void test_writer_drains_before_stop(void)
{
	struct engine e;
	struct engine_params p = params(0);
	struct engine_writer w;
	int fds[2];
	char big[3000], got[4096];

	CHECK_EQ(pipe(fds), 0);
	CHECK_EQ(engine_init(&e, &p), 0);
	CHECK_EQ(engine_writer_init(&w, &e, fds[1], 1024, "test pipe"), 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	/* more than the buffer holds: the rest is refused and counted, never silently lost */
	size_t took = engine_writer_put(&w, big, sizeof(big));
	CHECK_EQ(took, 1024);
	CHECK_EQ(w.dropped, sizeof(big) - 1024);
	engine_writer_when_drained(&w, stop_when_drained);
	engine_run(&e);
	CHECK(engine_writer_idle(&w));
	ssize_t n = read(fds[0], got, sizeof(got));
	CHECK_EQ(n, 1024);
	CHECK(memcmp(got, big, 1024) == 0);
	engine_writer_destroy(&w);
	engine_destroy(&e);
	close(fds[0]);
	close(fds[1]);
}

static char rx[64];
static size_t rx_len;
static int rx_end = 1;
static void on_rx(struct engine_reader *r, const char *d, size_t len)
{
	(void)r;
	memcpy(rx + rx_len, d, len);
	rx_len += len;
}
static void on_rx_end(struct engine_reader *r, int err)
{
	rx_end = err;
	engine_stop(r->engine);
}

static void test_reader_until_eof(void)
{
	struct engine e;
	struct engine_params p = params(0);
	struct engine_reader r;
	int fds[2];

	CHECK_EQ(pipe(fds), 0);
	CHECK_EQ(write(fds[1], "hello ", 6), 6);
	CHECK_EQ(write(fds[1], "world", 5), 5);
	close(fds[1]);
	CHECK_EQ(engine_init(&e, &p), 0);
	engine_reader_start(&r, &e, fds[0], on_rx, on_rx_end, NULL);
	engine_run(&e);
	CHECK_EQ(rx_end, 0);
	CHECK_EQ(rx_len, 11);
	CHECK(memcmp(rx, "hello world", 11) == 0);
	engine_destroy(&e);
	close(fds[0]);
}

static int got_signal;
static void on_signal(struct sigwatch *s, int signo)
{
	got_signal = signo;
	engine_stop(s->reader.engine);
}

static void test_sigterm_on_ring(void)
{
	struct engine e;
	struct engine_params p = params(0);
	struct sigwatch sw;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	CHECK_EQ(sigwatch_block(&set), 0);
	CHECK_EQ(engine_init(&e, &p), 0);
	CHECK_EQ(sigwatch_start(&sw, &e, &set, on_signal, NULL), 0);
	kill(getpid(), SIGTERM);
	engine_run(&e);
	CHECK_EQ(got_signal, SIGTERM);
	engine_destroy(&e);
	close(sw.fd);
}

/* ---- provided-buffer ring + multishot read ---- */
struct ms_ctx {
	struct engine_op op;
	int res[8];
	uint16_t bid[8];
	int n, last_res;
	bool ended;
};

static void ms_done(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct ms_ctx *c = op->ctx;
	if (flags & IORING_CQE_F_BUFFER) {
		c->res[c->n] = res;
		c->bid[c->n++] = (uint16_t)(flags >> IORING_CQE_BUFFER_SHIFT);
	}
	if (!(flags & IORING_CQE_F_MORE)) {
		c->ended = true;
		c->last_res = res;
	}
	engine_stop(e); /* the test looks after each completion */
}

/* Write msg into the pipe, then run the engine until its completion arrives. */
static void ms_feed(struct engine *e, int fd, const char *msg)
{
	ssize_t w = write(fd, msg, strlen(msg));
	(void)w;
	e->stop = false;
	engine_run(e);
}

static void test_multishot_read_buf_ring(void)
{
	struct engine e;
	struct engine_params p = params(0);
	struct engine_buf_ring r;
	static char bufs[4][64];
	int fds[2];

	CHECK_EQ(engine_init(&e, &p), 0);
	if (!engine_can_read_multishot(&e)) {
		engine_destroy(&e);
		SKIP("this kernel has no IORING_OP_READ_MULTISHOT (Linux 6.7)");
	}
	CHECK_EQ(engine_buf_ring_init(&e, &r, 4), 0);
	CHECK_EQ(pipe(fds), 0);
	/* two buffers, lent in the order 3, 1: the kernel fills them in that order */
	engine_buf_ring_add(&r, bufs[3], 64, 3);
	engine_buf_ring_add(&r, bufs[1], 64, 1);
	engine_buf_ring_publish(&r);
	struct ms_ctx c = { .op = { ms_done, &c } };
	engine_prep_read_multishot(engine_sqe(&e, &c.op), fds[0], false, &r);
	ms_feed(&e, fds[1], "first");
	CHECK(!c.ended);
	ms_feed(&e, fds[1], "second");
	/* the ring is empty now: the next data ends the read, and stays in the pipe */
	CHECK(!c.ended);
	ms_feed(&e, fds[1], "third");
	CHECK(c.ended);
	CHECK_EQ(c.n, 2);
	CHECK_EQ(c.bid[0], 3);
	CHECK_EQ(c.res[0], 5);
	CHECK(!memcmp(bufs[3], "first", 5));
	CHECK_EQ(c.bid[1], 1);
	CHECK_EQ(c.res[1], 6);
	CHECK(!memcmp(bufs[1], "second", 6));
	CHECK_EQ(c.last_res, -ENOBUFS);
	/* a lent buffer the kernel has not used is taken back by a reset */
	engine_buf_ring_add(&r, bufs[0], 64, 0);
	engine_buf_ring_publish(&r);
	CHECK_EQ(engine_buf_ring_reset(&e, &r), 0);
	engine_buf_ring_add(&r, bufs[2], 64, 2);
	engine_buf_ring_publish(&r);
	c = (struct ms_ctx){ .op = { ms_done, &c } };
	engine_prep_read_multishot(engine_sqe(&e, &c.op), fds[0], false, &r);
	e.stop = false;
	engine_run(&e); /* "third" is waiting in the pipe */
	CHECK(!c.ended);
	ms_feed(&e, fds[1], "fourth"); /* no buffer for it: the read ends */
	CHECK(c.ended);
	CHECK_EQ(c.n, 1);
	CHECK_EQ(c.bid[0], 2); /* not 0: that one was taken back */
	CHECK_EQ(c.res[0], 5);
	CHECK(!memcmp(bufs[2], "third", 5));
	CHECK_EQ(c.last_res, -ENOBUFS);
	engine_buf_ring_free(&e, &r);
	close(fds[0]);
	close(fds[1]);
	engine_destroy(&e);
}

static void stop_engine(struct engine *e, struct engine_timer *t);

/* ---- who may use a SINGLE_ISSUER ring ---- */
static void *owns_from_other_thread(void *arg)
{
	return (void *)(uintptr_t)engine_owns_ring(arg);
}

static void test_ring_owner(void)
{
	struct engine e;
	struct engine_params p = params(0);
	struct engine_timer t;
	pthread_t other;
	void *owns;

	CHECK_EQ(engine_init(&e, &p), 0);
	CHECK(engine_owns_ring(&e)); /* not started: anyone may register */
	engine_timer_arm(&e, &t, 1000000, stop_engine, NULL);
	engine_run(&e); /* this thread becomes the submitter */
	CHECK(engine_owns_ring(&e));
	CHECK_EQ(pthread_create(&other, NULL, owns_from_other_thread, &e), 0);
	pthread_join(other, &owns);
	/* another thread only where the kernel enforces one submitter */
	CHECK_EQ(owns != NULL, !(e.ring.flags & IORING_SETUP_SINGLE_ISSUER));
	engine_destroy(&e);
}

/* ---- batch waits on a shared CPU ---- */
static void test_runqueue_parse(void)
{
	struct runqueue_sample a, b;
	const char good[] = "369603 71726 2\n";
	CHECK_EQ(runqueue_parse(good, sizeof(good) - 1, &a), 0);
	CHECK_EQ(a.run_ns, 369603);
	CHECK_EQ(a.wait_ns, 71726);
	CHECK_EQ(runqueue_parse(good, sizeof(good) - 2, &a), -EINVAL); /* cut short */
	CHECK_EQ(runqueue_parse("12 x 3\n", 7, &a), -EINVAL);
	CHECK_EQ(runqueue_parse("", 0, &a), -EINVAL);
	/* 1/8 of the runnable time spent waiting is the threshold */
	a = (struct runqueue_sample){ 1000, 1000 };
	b = (struct runqueue_sample){ 1000 + 700, 1000 + 100 };
	CHECK(!runqueue_contended(&a, &b, 8));
	b.wait_ns = 1000 + 101;
	CHECK(runqueue_contended(&a, &b, 8));
	CHECK(!runqueue_contended(&b, &a, 8)); /* samples out of order: no verdict */
}

static _Atomic int hog_run;

static void *cpu_hog(void *arg)
{
	(void)arg;
	while (atomic_load(&hog_run))
		;
	return NULL;
}

static void stop_engine(struct engine *e, struct engine_timer *t) { (void)t; engine_stop(e); }

/* An engine that always has a reason to spin (poll_us of a second), on CPU 0, with a
 * busy thread on CPU 0 beside it for 300 ms: how many batch waits it took. */
static void batch_waits_beside_hog(uint64_t batch_ns, uint64_t *n)
{
	struct engine e;
	struct engine_params p = params(1000000000);
	struct engine_timer t;
	pthread_t hog;
	pthread_attr_t attr;

	p.batch_ns = batch_ns;
	CPU_SET(0, &p.cpus);
	CHECK_EQ(engine_init(&e, &p), 0);
	engine_timer_arm(&e, &t, 300000000, stop_engine, NULL);
	atomic_store(&hog_run, 1);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(p.cpus), &p.cpus);
	CHECK_EQ(pthread_create(&hog, &attr, cpu_hog, NULL), 0);
	pthread_attr_destroy(&attr);
	CHECK_EQ(engine_start(&e), 0);
	engine_join(&e);
	atomic_store(&hog_run, 0);
	pthread_join(hog, NULL);
	*n = e.stats.batch_waits;
	engine_destroy(&e);
}

static void test_batch_on_shared_cpu(void)
{
	/* a spinning engine and a busy thread on one CPU: the engine stops spinning */
	uint64_t n = 0;
	batch_waits_beside_hog(100000, &n);
	CHECK(n > 0);
	/* batch_us=0 keeps the old behaviour: always spin */
	batch_waits_beside_hog(0, &n);
	CHECK_EQ(n, 0);
}

int main(void)
{
	log_init();
	RUN(test_dispatch);
	RUN(test_sq_overflow);
	RUN(test_forward_ordered_polling);
	RUN(test_forward_ordered_sleeping);
	RUN(test_forward_order_across_queues);
	RUN(test_forward_two_producers_take_turns);
	RUN(test_timeouts);
	RUN(test_writer_drains_before_stop);
	RUN(test_reader_until_eof);
	RUN(test_sigterm_on_ring);
	RUN(test_multishot_read_buf_ring);
	RUN(test_ring_owner);
	RUN(test_runqueue_parse);
	RUN(test_batch_on_shared_cpu);
	RUN(test_helper_blocking_job);
	CHECK_EXIT();
}
