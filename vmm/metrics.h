/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - Firecracker-style metrics: after PUT /metrics, one JSON object
 * per line is appended to the metrics file every METRICS_PERIOD_S seconds,
 * on the FlushMetrics action and at exit.  Counters are totals since start.
 * The file is opened non-blocking: a full pipe drops a line (counted), it
 * never blocks the vmm thread, let alone a vCPU.  vmm thread only.
 */
#ifndef EMBER_METRICS_H
#define EMBER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/core/event.h"
#include "api-socket/router.h"

#define METRICS_PERIOD_S 60

struct metrics {
	int fd;                   /* -1 until PUT /metrics */
	struct ev_source timer;   /* periodic flush (timerfd) */
	struct api_stats api;
	uint64_t lines_written;
	uint64_t lines_dropped;
};

struct vmm;

void metrics_init(struct metrics *m);
/* Open the metrics file and arm the periodic flush in the vmm's loop. */
int metrics_open(struct vmm *vmm, const char *path, char *err, size_t errlen);
/* Write one line now; 0 or -errno (err says why). */
int metrics_flush(struct vmm *vmm, char *err, size_t errlen);
void metrics_close(struct metrics *m);

#endif
