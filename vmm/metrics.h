/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - Firecracker-style metrics: after PUT /metrics, one JSON object
 * per line is appended to the metrics file every METRICS_PERIOD_S seconds,
 * on the FlushMetrics action and at exit.  Counters are totals since start.
 * The file is opened non-blocking: a full pipe drops a line (counted), it
 * never blocks the vmm thread, let alone a vCPU.
 *
 * What goes into a line comes from the registered sources (the orchestrator
 * for the VM and its devices, the API for its requests): metrics itself
 * knows none of them.  vmm thread only.
 */
#ifndef EMBER_METRICS_H
#define EMBER_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/core/event.h"

#define METRICS_PERIOD_S    60
#define METRICS_MAX_SOURCES 4

/* Adds its counters to the line's root object. */
typedef void (*metrics_emit_fn)(void *opaque, json_t *root);

struct metrics_source {
	metrics_emit_fn emit;
	void *opaque;
};

struct metrics {
	int fd;                   /* -1 until PUT /metrics */
	struct ev_source timer;   /* periodic flush (timerfd) */
	struct ev_loop *loop;     /* the timer's, set by metrics_open */
	struct metrics_source sources[METRICS_MAX_SOURCES];
	unsigned int nr_sources;
	uint64_t lines_written;
	uint64_t lines_dropped;
	json_t *tags;             /* top-level keys every line starts with, or NULL */
};

void metrics_init(struct metrics *m);
/* Register a source; its counters appear in every line from now on.
 * -ENOSPC past METRICS_MAX_SOURCES. */
int metrics_add_source(struct metrics *m, metrics_emit_fn emit, void *opaque);
/* Open the metrics file and arm the periodic flush in `loop`. */
int metrics_open(struct metrics *m, struct ev_loop *loop, const char *path, char *err,
		 size_t errlen);
/* PUT /metrics: keys every line carries right after "utc_timestamp_ms"
 * (Firecracker's "id" and "properties"); takes the reference, NULL: none. */
void metrics_set_tags(struct metrics *m, json_t *tags);
/* True once metrics_open succeeded. */
bool metrics_is_open(const struct metrics *m);
/* Write one line now; 0 or -errno (err says why).  No file: nothing, 0. */
int metrics_flush(struct metrics *m, char *err, size_t errlen);
void metrics_close(struct metrics *m);

#endif
