/* sigwatch: signalfd on the ring. See sigwatch.h. */
#include "sigwatch.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

int sigwatch_block(const sigset_t *set)
{
	int ret = pthread_sigmask(SIG_BLOCK, set, NULL);
	return ret ? -ret : 0;
}

static void sig_data(struct engine_reader *r, const char *data, size_t len)
{
	struct sigwatch *s = r->ctx;
	for (size_t off = 0; off + sizeof(struct signalfd_siginfo) <= len; off += sizeof(struct signalfd_siginfo)) {
		struct signalfd_siginfo si;
		memcpy(&si, data + off, sizeof(si));
		s->fn(s, (int)si.ssi_signo);
	}
}

static void sig_end(struct engine_reader *r, int err)
{
	if (err)
		log_error("signal watch stopped: %s", strerror(-err));
	(void)r;
}

int sigwatch_start(struct sigwatch *s, struct engine *e, const sigset_t *set,
		   void (*fn)(struct sigwatch *s, int signo), void *ctx)
{
	s->fd = signalfd(-1, set, SFD_CLOEXEC);
	if (s->fd < 0) {
		int err = errno;
		log_error("cannot create signalfd: %s", strerror(err));
		return -err;
	}
	s->fn = fn;
	s->ctx = ctx;
	engine_reader_start(&s->reader, e, s->fd, sig_data, sig_end, s);
	return 0;
}

void sigwatch_stop(struct sigwatch *s)
{
	engine_reader_stop(&s->reader);
}
