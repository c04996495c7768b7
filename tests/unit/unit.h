/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit.h - shared bits for the tier-1 cmocka tests (tests/unit/test_*.c).
 *
 * Each test file is one program, built with ASan/UBSan against the vmm
 * sources by tests/unit/unit.mk.  Everything here is header-only.
 */
#ifndef EMBER_UNIT_H
#define EMBER_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Compare an int-returning call with an exact (usually negative errno)
 * value and say both in decimal when they differ. */
#define assert_ret(expr, want)                                               \
	do {                                                                 \
		long got__ = (long)(expr), want__ = (long)(want);            \
		if (got__ != want__)                                         \
			fail_msg("%s returned %ld, expected %ld", #expr,     \
				 got__, want__);                             \
	} while (0)

/* Same, inside a table-driven loop: names the table row that failed. */
#define assert_ret_case(name, expr, want)                                    \
	do {                                                                 \
		long got__ = (long)(expr), want__ = (long)(want);            \
		if (got__ != want__)                                         \
			fail_msg("case '%s': %s returned %ld, expected %ld",  \
				 (name), #expr, got__, want__);              \
	} while (0)

/* A scratch directory the test program works in: made under $TMPDIR (or
 * /tmp), entered with chdir, and holding an empty regular file at each of
 * `files` (relative paths, at most one directory level: "k", "old/vmlinux"),
 * so parsers that open the files they are given (PUT /boot-source) find
 * them.  unit_scratch_leave() removes it all.  Call from main(). */
static char unit_scratch[256];

static inline void unit_scratch_enter(const char *const *files, size_t n)
{
	const char *dir = getenv("TMPDIR");
	char sub[256];

	snprintf(unit_scratch, sizeof(unit_scratch), "%s/ember-unit-XXXXXX",
		 dir && *dir ? dir : "/tmp");
	if (!mkdtemp(unit_scratch) || chdir(unit_scratch)) {
		perror("unit_scratch_enter");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		const char *slash = strchr(files[i], '/');
		FILE *fp;

		if (slash) {
			snprintf(sub, sizeof(sub), "%.*s", (int)(slash - files[i]), files[i]);
			mkdir(sub, 0700);
		}
		fp = fopen(files[i], "w");
		if (!fp) {
			perror(files[i]);
			exit(1);
		}
		fclose(fp);
	}
}

static inline void unit_scratch_leave(const char *const *files, size_t n)
{
	char sub[256];

	for (size_t i = 0; i < n; i++) {
		const char *slash = strchr(files[i], '/');

		unlink(files[i]);
		if (slash) {
			snprintf(sub, sizeof(sub), "%.*s", (int)(slash - files[i]), files[i]);
			rmdir(sub);
		}
	}
	if (chdir("/") == 0)
		rmdir(unit_scratch);
}

/* The runner sends stdout to a log file: keep cmocka's progress lines
 * line-buffered so they survive a sanitizer abort. */
static inline void unit_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Test-owned heap blocks that a failing assertion (which longjmps out of
 * the test) must not leak: unit_keep() registers a block, unit_drop()
 * frees it early, and a fixture's teardown calls unit_drop_all(). */
#define UNIT_KEEP_MAX 16
static void *unit_kept[UNIT_KEEP_MAX];

static inline void *unit_keep(void *p)
{
	assert_non_null(p);
	for (int i = 0; i < UNIT_KEEP_MAX; i++) {
		if (!unit_kept[i]) {
			unit_kept[i] = p;
			return p;
		}
	}
	fail_msg("unit_keep: more than %d blocks held", UNIT_KEEP_MAX);
	return NULL;
}

static inline void unit_drop(void *p)
{
	for (int i = 0; i < UNIT_KEEP_MAX; i++) {
		if (p && unit_kept[i] == p) {
			unit_kept[i] = NULL;
			free(p);
			return;
		}
	}
	fail_msg("unit_drop: %p was not kept", p);
}

static inline void unit_drop_all(void)
{
	for (int i = 0; i < UNIT_KEEP_MAX; i++) {
		free(unit_kept[i]);
		unit_kept[i] = NULL;
	}
}

/* An exact-size heap copy, so ASan flags any read past the end (a length
 * of 0 gives a zero-byte allocation: any read at all is flagged).  Kept:
 * release with unit_drop(). */
static inline uint8_t *unit_dup(const void *src, size_t len)
{
	uint8_t *p = unit_keep(malloc(len));

	if (len)
		memcpy(p, src, len);
	return p;
}

/* How long a test waits for asynchronous work it expects to finish (the
 * engines' io_uring completions, io-wq workers, a device's timers): on a
 * loaded machine that can take far longer than the few milliseconds it
 * takes on an idle one.  Generous, as the waits end as soon as the work
 * is done: a passing run does not pay for it. */
#define UNIT_WAIT_US (10ull * 1000 * 1000)

/* Run the event loop `loop` (a struct ev_loop *, vmm/core/event.h) one
 * pass at a time until `cond` holds or UNIT_WAIT_US pass; the caller then
 * asserts what it expects, so work that never finishes still fails.
 * Stopping at the pass that made `cond` true matters too: a timer the
 * device armed in that pass has not fired yet. */
#define unit_run_until(loop, cond)                                           \
	do {                                                                 \
		uint64_t end__ = time_mono_us() + UNIT_WAIT_US;              \
		while (!(cond) && time_mono_us() < end__)                    \
			assert_true(ev_run_once((loop), 2) >= 0);            \
	} while (0)

#endif
