// SPDX-License-Identifier: Apache-2.0
/* log.c - see log.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static char log_id[64] = "anonymous-instance";
static enum log_level log_level = LOG_INFO;
static int log_fd = 2;              /* stderr until PUT /logger */
static bool log_show_level = true;
static bool log_show_origin;
static unsigned long log_dropped;
static log_write_fn stderr_writer;
static void *stderr_opaque;
static const char *const level_names[] = {
	[LOG_OFF] = "OFF", [LOG_ERROR] = "ERROR", [LOG_WARN] = "WARN",
	[LOG_INFO] = "INFO", [LOG_DEBUG] = "DEBUG",
};

void log_set_id(const char *id)
{
	snprintf(log_id, sizeof(log_id), "%s", id);
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

bool log_enabled(enum log_level level)
{
	return level <= log_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct { const char *name; enum log_level level; } map[] = {
		{ "off", LOG_OFF }, { "error", LOG_ERROR }, { "warning", LOG_WARN }, { "warn", LOG_WARN },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG }, { "trace", LOG_DEBUG },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcasecmp(s, map[i].name)) {
			*out = map[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

int log_configure(const char *path, enum log_level level, bool show_level,
		  bool show_origin, char *err, size_t errlen)
{
	if (path) {
		/* Non-blocking: a full pipe drops lines, it never stalls a thread. */
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);

		if (fd < 0) {
			snprintf(err, errlen, "logger: cannot open '%s': %s", path, strerror(errno));
			return -errno;
		}
		if (log_fd > 2)
			close(log_fd);
		log_fd = fd;
	}
	log_level = level;
	log_show_level = show_level;
	log_show_origin = show_origin;
	return 0;
}

void log_set_stderr_writer(log_write_fn fn, void *opaque)
{
	stderr_writer = fn;
	stderr_opaque = opaque;
}

unsigned long log_missed_count(void)
{
	return __atomic_load_n(&log_dropped, __ATOMIC_RELAXED);
}

size_t log_escape(char *dst, size_t size, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (size_t i = 0; i < len && size; i++) {
		unsigned char ch = (unsigned char)src[i];
		char esc[4] = { '\\', 'n' };
		size_t w = 2;

		if (ch >= 0x20 && ch != 0x7f) {
			esc[0] = (char)ch;
			w = 1;
		} else if (ch == '\t') {
			esc[1] = 't';
		} else if (ch == '\r') {
			esc[1] = 'r';
		} else if (ch != '\n') {
			esc[1] = 'x';
			esc[2] = hex[ch >> 4];
			esc[3] = hex[ch & 15];
			w = 4;
		}
		if (n + w >= size)
			break;  /* no half escapes */
		memcpy(dst + n, esc, w);
		n += w;
	}
	if (size)
		dst[n] = '\0';
	return n;
}

/* Days since 1970-01-01 → proleptic Gregorian date.  The calendar is
 * counted from 0000-03-01 so that February, with its leap day, ends each
 * 400-year era's year: an era has 146097 days, a year starts in March. */
static void civil_from_days(int64_t days, struct log_utc *t)
{
	int64_t z = days + 719468;  /* days from 0000-03-01 to 1970-01-01 */
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;                                 /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);          /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;                               /* March = 0 */

	t->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	t->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	t->year = (int64_t)(yoe + era * 400 + (t->mon <= 2));
}

void log_utc_from_epoch(int64_t secs, struct log_utc *t)
{
	int64_t days = secs / 86400, rem = secs % 86400;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, t);
	t->hour = (int)(rem / 3600);
	t->min = (int)(rem / 60 % 60);
	t->sec = (int)(rem % 60);
}

void log_msg(enum log_level level, const char *file, int line_no, const char *fmt, ...)
{
	char raw[LOG_LINE_MAX], line[LOG_LINE_MAX * 4 + 2], thread[16] = "?";
	struct timespec ts;
	struct log_utc tm;
	va_list ap;
	int n;
	size_t len;
	ssize_t written;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	log_utc_from_epoch(ts.tv_sec, &tm);
	pthread_getname_np(pthread_self(), thread, sizeof(thread));
	n = snprintf(raw, sizeof(raw), "%04lld-%02d-%02dT%02d:%02d:%02d.%06ldZ [%s:%s] ",
		     (long long)tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec,
		     ts.tv_nsec / 1000, log_id, thread);
	if (log_show_level && n > 0 && (size_t)n < sizeof(raw))
		n += snprintf(raw + n, sizeof(raw) - (size_t)n, "%s ", level_names[level]);
	if (log_show_origin && n > 0 && (size_t)n < sizeof(raw))
		n += snprintf(raw + n, sizeof(raw) - (size_t)n, "%s:%d ", file, line_no);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(raw))
		n += vsnprintf(raw + n, sizeof(raw) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len = (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1;
	/* Client- and guest-supplied text (JSON keys, paths) is part of many
	 * messages: a control character must never start a line of its own. */
	len = log_escape(line, sizeof(line) - 1, raw, len);
	line[len++] = '\n';
	/* One write per line so lines from different threads never interleave. */
	if (log_fd == 2 && stderr_writer)
		written = stderr_writer(stderr_opaque, line, len);
	else
		written = write(log_fd, line, len);
	if (written < 0 || (size_t)written != len)
		__atomic_fetch_add(&log_dropped, 1, __ATOMIC_RELAXED);
}

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t time_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

uint64_t time_cpu_us(void)
{
	return clock_us(CLOCK_PROCESS_CPUTIME_ID);
}

bool log_ratelimit_ok(struct log_ratelimit *rl)
{
	uint64_t now = time_mono_us() * 1000;
	unsigned int dropped;

	if (now - rl->window_start_ns > LOG_RL_PERIOD_S * 1000000000ULL) {
		dropped = rl->suppressed;
		rl->window_start_ns = now;
		rl->emitted = 0;
		rl->suppressed = 0;
		if (dropped)
			log_msg(LOG_WARN, __FILE__, __LINE__, "%u similar messages suppressed", dropped);
	}
	if (rl->emitted >= LOG_RL_BURST) {
		rl->suppressed++;
		return false;
	}
	rl->emitted++;
	return true;
}
