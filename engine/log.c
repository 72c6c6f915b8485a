/* log: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static uint64_t start_ns;
static enum log_level max_level = LOG_INFO;
static __thread void (*thread_sink)(void *ctx, const char *line, size_t len);
static __thread void *thread_sink_ctx;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void log_init(void)
{
	if (!start_ns)
		start_ns = mono_ns();
}

void log_set_level(enum log_level level) { max_level = level; }
enum log_level log_get_level(void) { return max_level; }

uint64_t log_uptime_ns(void) { return mono_ns() - start_ns; }

void log_set_thread_sink(void (*sink)(void *ctx, const char *line, size_t len), void *ctx)
{
	thread_sink = sink;
	thread_sink_ctx = ctx;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char line[1024];
	va_list ap;
	int n, m;

	if (level > max_level)
		return;
	uint64_t t = log_uptime_ns();
	n = snprintf(line, sizeof(line), "ringvisor[%llu.%06llu] %s: ", (unsigned long long)(t / 1000000000ull),
		     (unsigned long long)(t % 1000000000ull / 1000), names[level]);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2; /* long lines are cut, and say so */
	if (n == (int)sizeof(line) - 2)
		line[n - 1] = '~';
	line[n++] = '\n';
	if (thread_sink) {
		thread_sink(thread_sink_ctx, line, (size_t)n);
		return;
	}
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}
