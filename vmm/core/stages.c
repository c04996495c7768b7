// SPDX-License-Identifier: Apache-2.0
/* stages.c - see stages.h. */
#define _GNU_SOURCE
#include <stdint.h>
#include <time.h>

#include "log.h"
#include "stages.h"

#define STAGES_MAX 48

static struct {
	const char *name;
	uint64_t cpu_ns;   /* process CPU time when the stage ended */
	uint64_t mono_ns;  /* CLOCK_MONOTONIC then */
} stages[STAGES_MAX];
static unsigned int nr_stages;

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void record(const char *name)
{
	if (nr_stages < STAGES_MAX)
		stages[nr_stages++] = (typeof(stages[0])){
			.name = name,
			.cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID),
			.mono_ns = clock_ns(CLOCK_MONOTONIC),
		};
}

void stage_begin(void)
{
	nr_stages = 0;
	record("exec and libc start-up");
}

void stage_mark(const char *name)
{
	if (log_enabled(LOG_DEBUG))
		record(name);
}

void stage_log(void)
{
	uint64_t prev = 0, prev_mono;

	if (!log_enabled(LOG_DEBUG) || !nr_stages)
		return;
	/* Wall time is counted from main's first call: exec and libc's start-up
	 * have none of their own (their CPU time is the process's at that point). */
	prev_mono = stages[0].mono_ns;
	for (unsigned int i = 0; i < nr_stages; i++) {
		log_debug("start-up stage: %s: %llu us of CPU (total %llu us), %llu us of wall time",
			  stages[i].name, (unsigned long long)(stages[i].cpu_ns - prev) / 1000,
			  (unsigned long long)stages[i].cpu_ns / 1000,
			  (unsigned long long)(stages[i].mono_ns - prev_mono) / 1000);
		prev = stages[i].cpu_ns;
		prev_mono = stages[i].mono_ns;
	}
}
