/* runqueue: see runqueue.h. */
#include "runqueue.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int runqueue_open(void)
{
	int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[96];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	struct runqueue_sample s;
	if (n <= 0 || runqueue_parse(buf, (size_t)n, &s) < 0) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int runqueue_parse(const char *buf, size_t len, struct runqueue_sample *s)
{
	char line[96];
	if (!len || len >= sizeof(line))
		return -EINVAL;
	memcpy(line, buf, len);
	line[len] = '\0';
	/* "<ns on CPU> <ns waiting on a run queue> <timeslices>\n" */
	char end;
	if (sscanf(line, "%" SCNu64 " %" SCNu64 " %*u%c", &s->run_ns, &s->wait_ns, &end) != 3 || end != '\n')
		return -EINVAL;
	return 0;
}

bool runqueue_contended(const struct runqueue_sample *before, const struct runqueue_sample *after, unsigned div)
{
	if (after->run_ns < before->run_ns || after->wait_ns < before->wait_ns)
		return false; /* not the same thread's samples */
	uint64_t run = after->run_ns - before->run_ns, wait = after->wait_ns - before->wait_ns;
	return wait * div > run + wait;
}
