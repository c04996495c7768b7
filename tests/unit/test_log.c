// SPDX-License-Identifier: Apache-2.0
/*
 * test_log.c - log lines (vmm/core/log.c): control characters in a message
 * (a client's JSON key, a path) are escaped, so a message can neither end
 * its line early nor forge one (issue 12 item 4, log injection); long
 * messages are cut without a half escape; stderr lines go through the
 * writer ember sets (non-blocking), and a line it refuses is counted; the
 * time in a line is UTC as gmtime_r gives it, worked out without loading a
 * time zone (issue 18: seven system calls at every start).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/core/log.h"

static void test_escape_control_bytes(void **state)
{
	static const struct { const char *name, *in; size_t len; const char *out; } cases[] = {
		{ "plain", "abc xyz ~!", 10, "abc xyz ~!" },
		{ "newline", "a\nb", 3, "a\\nb" },
		{ "cr tab", "\r\t", 2, "\\r\\t" },
		{ "nul and 1f", "\0\x1f", 2, "\\x00\\x1f" },
		{ "esc sequence", "\x1b[2J", 4, "\\x1b[2J" },
		{ "del", "\x7f", 1, "\\x7f" },
		{ "high bytes kept", "\xc3\xa9", 2, "\xc3\xa9" },
		{ "backslash kept", "a\\b", 3, "a\\b" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = log_escape(out, sizeof(out), cases[i].in, cases[i].len);

		if (strcmp(out, cases[i].out) || n != strlen(cases[i].out))
			fail_msg("case '%s': got '%s' (%zu)", cases[i].name, out, n);
	}
}

static void test_escape_never_splits_an_escape(void **state)
{
	char out[6];

	(void)state;
	/* room for 5 bytes: "ab" then "\x01" does not fit whole */
	assert_int_equal(log_escape(out, sizeof(out), "ab\x01", 3), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(log_escape(out, sizeof(out), "\n\n\n", 3), 4);
	assert_string_equal(out, "\\n\\n");
	assert_int_equal(log_escape(out, 1, "abc", 3), 0);
	assert_string_equal(out, "");
}

/* The trigger: a message quoting a key with newlines becomes one
 * line in the log file, the injected text never at the start of a line. */
struct fake_out {
	int calls;
	ssize_t answer;       /* what the writer returns: a count or -errno */
	char last[512];
};

static ssize_t fake_write(void *opaque, const void *buf, size_t len)
{
	struct fake_out *o = opaque;

	o->calls++;
	snprintf(o->last, sizeof(o->last), "%.*s", (int)len, (const char *)buf);
	return o->answer < 0 ? o->answer : (ssize_t)len;
}

/* Runs before anything else here: a log line must not make glibc load a
 * time zone.  glibc's gmtime_r does, on first use, from $TZ or
 * /etc/localtime; with TZ a POSIX rule, loading it names the zone, so
 * tzname shows whether it happened. */
static void test_log_line_loads_no_time_zone(void **state)
{
	struct fake_out o = { .answer = 0 };

	(void)state;
	assert_int_equal(setenv("TZ", "EMBERTZ-5", 1), 0);
	log_set_stderr_writer(fake_write, &o);
	log_warn("a line");
	log_set_stderr_writer(NULL, NULL);
	assert_int_equal(o.calls, 1);
	assert_string_not_equal(tzname[0], "EMBERTZ");
	unsetenv("TZ");
}

/* The date and time in a log line: the same as gmtime_r's, leap days,
 * century years and times before 1970 included. */
static void test_utc_matches_gmtime(void **state)
{
	static const int64_t fixed[] = {
		0, -1, 59, 86399, 86400, 951782399, 951782400, 951868800,  /* 2000-02-29 */
		4107456000, 4107542400,                                      /* 2100-02-28, 03-01 */
		-2208988800, -62135596800, 253402300799, 1795737600,
	};
	struct log_utc u;
	struct tm tm;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fixed) + 20000; i++) {
		/* then a sweep from 1600 to 2400 with an odd step */
		int64_t t = i < ARRAY_SIZE(fixed) ? fixed[i]
			  : -11676096000LL + (int64_t)(i - ARRAY_SIZE(fixed)) * 1262303LL;
		time_t tt = (time_t)t;

		assert_non_null(gmtime_r(&tt, &tm));
		log_utc_from_epoch(t, &u);
		if (u.year != tm.tm_year + 1900 || u.mon != tm.tm_mon + 1 || u.mday != tm.tm_mday ||
		    u.hour != tm.tm_hour || u.min != tm.tm_min || u.sec != tm.tm_sec)
			fail_msg("%lld: got %lld-%02d-%02d %02d:%02d:%02d, gmtime_r %d-%02d-%02d "
				 "%02d:%02d:%02d", (long long)t, (long long)u.year, u.mon, u.mday,
				 u.hour, u.min, u.sec, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
				 tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
}

/* Runs first: the log still goes to stderr (no log_configure yet). */
static void test_stderr_writer_drops_are_counted(void **state)
{
	struct fake_out o = { .answer = 0 };
	unsigned long missed = log_missed_count();

	(void)state;
	log_set_stderr_writer(fake_write, &o);
	log_warn("first %d", 1);
	assert_int_equal(o.calls, 1);
	assert_non_null(strstr(o.last, "first 1\n"));
	assert_int_equal(log_missed_count(), missed);
	o.answer = -EAGAIN;  /* a full pipe */
	log_warn("second");
	log_error("third");
	assert_int_equal(o.calls, 3);
	assert_int_equal(log_missed_count(), missed + 2);
	log_set_stderr_writer(NULL, NULL);
}

static void test_log_msg_one_line_per_message(void **state)
{
	char dir[] = "/tmp/ember-log-XXXXXX", path[64], buf[8192], err[128];
	char big[3000];
	ssize_t n;
	int fd, lines = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	assert_ret(log_configure(path, LOG_INFO, true, false, err, sizeof(err)), 0);
	log_error("boot-source: unknown field '%s'", "x\nINJECTED LINE\n");
	memset(big, '\n', sizeof(big) - 1);  /* escapes to 4 times the line limit */
	big[sizeof(big) - 1] = '\0';
	log_warn("%s", big);
	log_info("tail \x7f\x1b");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_ret(log_configure("/dev/null", LOG_INFO, true, false, err, sizeof(err)), 0);
	unlink(path);
	rmdir(dir);
	assert_true(n > 0);
	buf[n] = '\0';
	for (char *p = buf; *p; p = strchr(p, '\n') + 1) {
		assert_true(!strncmp(p, "20", 2));   /* every line starts with the time */
		assert_null(strstr(p, "\nINJECTED"));
		lines++;
		assert_non_null(strchr(p, '\n'));
	}
	assert_int_equal(lines, 3);
	assert_non_null(strstr(buf, "unknown field 'x\\nINJECTED LINE\\n'\n"));
	assert_non_null(strstr(buf, "tail \\x7f\\x1b\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_line_loads_no_time_zone),
		cmocka_unit_test(test_stderr_writer_drops_are_counted),
		cmocka_unit_test(test_utc_matches_gmtime),
		cmocka_unit_test(test_escape_control_bytes),
		cmocka_unit_test(test_escape_never_splits_an_escape),
		cmocka_unit_test(test_log_msg_one_line_per_message),
	};

	unit_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
