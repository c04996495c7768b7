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
	uint64_t cpu_ns;  /* process CPU time when the stage ended */
} stages[STAGES_MAX];
static unsigned int nr_stages;

static uint64_t process_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void record(const char *name)
{
	if (nr_stages < STAGES_MAX)
		stages[nr_stages++] = (typeof(stages[0])){ .name = name, .cpu_ns = process_cpu_ns() };
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
	uint64_t prev = 0;

	if (!log_enabled(LOG_DEBUG))
		return;
	for (unsigned int i = 0; i < nr_stages; i++) {
		log_debug("start-up stage: %s: %llu us of CPU (total %llu us)", stages[i].name,
			  (unsigned long long)(stages[i].cpu_ns - prev) / 1000,
			  (unsigned long long)stages[i].cpu_ns / 1000);
		prev = stages[i].cpu_ns;
	}
}
