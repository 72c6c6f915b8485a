/* sigwatch: process signals (SIGINT, SIGTERM, ...) delivered as ring completions
 * through a signalfd, so stopping the VM is ordinary engine work. The signals must be
 * blocked in every thread (sigwatch_block() before any thread is created). */
#ifndef RV_SIGWATCH_H
#define RV_SIGWATCH_H

#include "stream.h"

#include <signal.h>

struct sigwatch {
	struct engine_reader reader;
	int fd;
	void (*fn)(struct sigwatch *s, int signo);
	void *ctx;
};

/* Block set in the calling thread (and so in threads it creates later). */
int sigwatch_block(const sigset_t *set);
int sigwatch_start(struct sigwatch *s, struct engine *e, const sigset_t *set,
		   void (*fn)(struct sigwatch *s, int signo), void *ctx);
void sigwatch_stop(struct sigwatch *s);

#endif
