/* runqueue: how long a thread has run and how long it has waited for a CPU while
 * runnable, from the scheduler's own accounting (/proc/thread-self/schedstat). The
 * engine reads it, through its ring, to tell whether its spinning takes a CPU another
 * thread is waiting for (see engine.h, batch_ns). */
#ifndef RV_RUNQUEUE_H
#define RV_RUNQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct runqueue_sample {
	uint64_t run_ns;  /* on a CPU */
	uint64_t wait_ns; /* runnable, waiting on a run queue */
};

/* Open the calling thread's schedstat: an fd, or -errno (no schedstat: kernel without
 * CONFIG_SCHED_INFO, or /proc not mounted). */
int runqueue_open(void);
/* Parse len bytes read from it: 0, or -EINVAL when they are not a schedstat line. */
int runqueue_parse(const char *buf, size_t len, struct runqueue_sample *s);
/* Whether, between two samples, the thread spent more than 1/div of its runnable
 * time waiting for a CPU. */
bool runqueue_contended(const struct runqueue_sample *before, const struct runqueue_sample *after, unsigned div);

#endif
