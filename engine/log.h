/* log: one-line diagnostics on stderr, timestamped from VMM start.
 * On an engine thread lines go through that engine's ring (a registered sink) so the
 * data plane makes no write(2) of its own; elsewhere they are written directly. */
#ifndef RV_LOG_H
#define RV_LOG_H

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

#endif
