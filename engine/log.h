/* log: one-line diagnostics on stderr, timestamped from VMM start.
 * On an engine thread lines go through that engine's ring (a registered sink) so the
 * data plane makes no write(2) of its own; elsewhere they are written directly. */
#ifndef RV_LOG_H
#define RV_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_QUIET = -1, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Nanoseconds since log_init() (VMM start). */
uint64_t log_uptime_ns(void);
/* Route this thread's log lines to sink (NULL: direct write to stderr). */
void log_set_thread_sink(void (*sink)(void *ctx, const char *line, size_t len), void *ctx);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Rate limit for a warning that can repeat without bound (guest misbehaviour, host I/O
 * errors), given how many times it has now happened: the first 10, then only at powers
 * of two, so the log cannot be flooded yet the running count still shows up. */
static inline bool log_should_report(uint64_t count)
{
	return count <= 10 || (count & (count - 1)) == 0;
}

#endif
