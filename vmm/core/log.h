/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - log lines on stderr (or a log file), prefixed with time, VM id,
 * thread name and level.  Callable from any thread.  Anything a guest can
 * trigger must go through log_ratelimited().
 */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* LOG_OFF as the configured level writes nothing at all. */
enum log_level { LOG_OFF, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Set the VM id shown in every line (default "anonymous-instance"). */
void log_set_id(const char *id);
void log_set_level(enum log_level level);
/* Whether a line at `level` is written now. */
bool log_enabled(enum log_level level);
/* Parse "Off", "Error", "Warning", "Info", "Debug", "Trace" (any case; Trace
 * is Debug); -EINVAL if unknown. */
int log_level_parse(const char *s, enum log_level *out);

/* A line's text before escaping is cut at LOG_LINE_MAX - 1 bytes. */
#define LOG_LINE_MAX 1024

/* Every log line is written through this: copy src[0..len) to dst (at most
 * size - 1 bytes, then a NUL), each byte below 0x20 and 0x7f escaped C
 * style (backslash n, t, r, else backslash xNN), so no byte of the text can
 * end or forge a line (or drive a terminal).  Stops before an escape that
 * does not fit.  Returns the bytes written, without the NUL.  Any thread. */
/* Lines for stderr (no PUT /logger file) go through `fn` instead of a plain
 * write(2, ...): ember gives it a non-blocking stderr (conout.h), so a
 * stalled reader costs dropped lines, never a parked thread.  NULL: write. */
typedef ssize_t (*log_write_fn)(void *opaque, const void *buf, size_t len);
void log_set_stderr_writer(log_write_fn fn, void *opaque);
/* Lines lost so far (the output refused them: full, closed). */
unsigned long log_missed_count(void);

size_t log_escape(char *dst, size_t size, const char *src, size_t len);
void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* PUT /logger: send lines to `path` (NULL: keep the current output), at
 * `level`, with or without the level and file:line.  vmm thread, before the
 * microVM starts.  0 or -errno with the reason in err. */
int log_configure(const char *path, enum log_level level, bool show_level,
		  bool show_origin, char *err, size_t errlen);

/* A token bucket per call site: at most LOG_RL_BURST lines per LOG_RL_PERIOD_S. */
#define LOG_RL_BURST    10
#define LOG_RL_PERIOD_S 5
struct log_ratelimit {
	uint64_t window_start_ns;
	unsigned int emitted;
	unsigned int suppressed;
};
/* Returns true when the caller may log now (thread-safe enough: races only
 * let one extra line through). */
bool log_ratelimit_ok(struct log_ratelimit *rl);

#define log_error(...) log_msg(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)
#define log_ratelimited(level, ...)                                     \
	do {                                                            \
		static struct log_ratelimit rl__;                       \
		if (log_ratelimit_ok(&rl__))                            \
			log_msg(level, __FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

/* A UTC date and time, as a log line shows it (month 1-12, day 1-31).
 * Computed here rather than by gmtime_r: glibc's reads the time zone
 * (/etc/localtime, seven system calls) on first use although UTC needs
 * none, a cost at every start (docs/benchmarks.md, start-up). */
struct log_utc {
	int64_t year;
	int mon, mday, hour, min, sec;
};
void log_utc_from_epoch(int64_t secs, struct log_utc *t);

/* Monotonic and process-CPU clocks in microseconds. */
uint64_t time_mono_us(void);
uint64_t time_cpu_us(void);

#endif
