// SPDX-License-Identifier: Apache-2.0
/* metrics.c - see metrics.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "blk.h"
#include "boot_timer.h"
#include "log.h"
#include "metrics.h"
#include "serial.h"
#include "vcpu.h"
#include "vmm.h"

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->timer.fd = -1;
}

static void on_metrics_timer(struct ev_source *src, uint32_t events)
{
	struct vmm *vmm = src->opaque;
	char err[128];
	uint64_t ticks;

	(void)events;
	if (read(src->fd, &ticks, sizeof(ticks)) > 0 && metrics_flush(vmm, err, sizeof(err)))
		log_ratelimited(LOG_WARN, "%s", err);
}

int metrics_open(struct vmm *vmm, const char *path, char *err, size_t errlen)
{
	struct metrics *m = &vmm->metrics;
	struct itimerspec period = { .it_interval.tv_sec = METRICS_PERIOD_S,
				     .it_value.tv_sec = METRICS_PERIOD_S };
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(err, errlen, "metrics: cannot open '%s': %s", path, strerror(errno));
		return -errno;
	}
	m->timer = (struct ev_source){ .fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
				       .cb = on_metrics_timer, .opaque = vmm };
	if (m->timer.fd < 0 || timerfd_settime(m->timer.fd, 0, &period, NULL) ||
	    ev_add(&vmm->loop, &m->timer, EPOLLIN)) {
		snprintf(err, errlen, "metrics: cannot arm the flush timer: %s", strerror(errno));
		if (m->timer.fd >= 0)
			close(m->timer.fd);
		m->timer.fd = -1;
		close(fd);
		return -EIO;
	}
	m->fd = fd;
	return 0;
}

static json_t *api_to_json(const struct api_stats *s)
{
	json_t *req = json_object(), *errs = json_object();

	for (int i = 0; i < ROUTE_COUNT; i++) {
		json_object_set_new(req, api_route_names[i], json_integer((json_int_t)s->requests[i]));
		json_object_set_new(errs, api_route_names[i], json_integer((json_int_t)s->errors[i]));
	}
	return json_pack("{so so}", "requests", req, "errors", errs);
}

/* Firecracker's block metric names, plus ember's own. */
static json_t *blk_to_json(const struct blk_stats *s, uint64_t needs_reset, uint64_t ignored)
{
	return json_pack("{sI sI sI sI sI sI sI sI sI sI sI sI}",
			 "read_count", (json_int_t)s->reads, "write_count", (json_int_t)s->writes,
			 "flush_count", (json_int_t)s->flushes,
			 "discard_count", (json_int_t)s->discards,
			 "read_bytes", (json_int_t)s->read_bytes,
			 "write_bytes", (json_int_t)s->write_bytes,
			 "invalid_reqs_count", (json_int_t)s->invalid_reqs,
			 "execute_fails", (json_int_t)s->io_errors,
			 "short_io_resumed", (json_int_t)s->short_resumed,
			 "rate_limiter_throttled_events", (json_int_t)s->throttled,
			 "device_needs_reset", (json_int_t)needs_reset,
			 "ignored_register_writes", (json_int_t)ignored);
}

/* "block" (all drives) and "block_<drive_id>" (each). */
static void blks_to_json(struct vm *vm, json_t *root)
{
	struct blk_stats all = { 0 };
	uint64_t resets = 0, ignored = 0;
	char key[80];

	for (unsigned int i = 0; i < vm->nr_blks; i++) {
		struct blk_dev *b = vm->blks[i];
		const uint64_t *src = (const uint64_t *)&b->stats;
		uint64_t *dst = (uint64_t *)&all;

		pthread_mutex_lock(&b->t.lock);
		for (size_t k = 0; k < sizeof(all) / sizeof(uint64_t); k++)
			dst[k] += src[k];
		resets += b->t.needs_reset;
		ignored += b->t.ignored_writes;
		snprintf(key, sizeof(key), "block_%s", b->id_full);
		json_object_set_new(root, key, blk_to_json(&b->stats, b->t.needs_reset,
							   b->t.ignored_writes));
		pthread_mutex_unlock(&b->t.lock);
	}
	json_object_set_new(root, "block", blk_to_json(&all, resets, ignored));
}

static json_t *vm_to_json(struct vmm *vmm)
{
	json_t *root;
	struct vm *vm = &vmm->vm;
	uint64_t exits = 0;

	if (!vmm->vm_built)
		return json_object();
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		exits += __atomic_load_n(&vm->vcpus[i].exits, __ATOMIC_RELAXED);
	root = json_pack("{s{sI sI} s{sI sI} s{sI sI}}",
			 "vcpu", "count", (json_int_t)vm->nr_vcpus, "exits", (json_int_t)exits,
			 "uart", "tx_bytes", (json_int_t)__atomic_load_n(&vm->serial->tx_bytes, __ATOMIC_RELAXED),
			 "rx_bytes", (json_int_t)__atomic_load_n(&vm->serial->rx_bytes, __ATOMIC_RELAXED),
			 "boot_timer", "boot_time_us", (json_int_t)vm->boot_timer->boot_us,
			 "boot_time_cpu_us", (json_int_t)vm->boot_timer->boot_cpu_us);
	if (root)
		blks_to_json(vm, root);
	return root;
}

int metrics_flush(struct vmm *vmm, char *err, size_t errlen)
{
	struct metrics *m = &vmm->metrics;
	struct timespec ts;
	json_t *root;
	char *line;
	ssize_t n;
	size_t len;

	if (m->fd < 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	root = vm_to_json(vmm);
	json_object_set_new(root, "utc_timestamp_ms",
			    json_integer((json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	json_object_set_new(root, "state", json_string(vmm_state_name(vmm->state)));
	json_object_set_new(root, "api_server", api_to_json(&m->api));
	json_object_set_new(root, "metrics", json_pack("{sI sI}", "lines_written",
			    (json_int_t)m->lines_written, "lines_dropped", (json_int_t)m->lines_dropped));
	line = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!line)
		return -ENOMEM;
	len = strlen(line);
	line[len++] = '\n';  /* replaces the NUL: written by length */
	n = write(m->fd, line, len);
	free(line);
	if (n != (ssize_t)len) {
		m->lines_dropped++;
		snprintf(err, errlen, "metrics: line dropped: %s",
			 n < 0 ? strerror(errno) : "short write");
		return n < 0 ? -errno : -EIO;
	}
	m->lines_written++;
	return 0;
}

void metrics_close(struct metrics *m)
{
	if (m->timer.fd >= 0)
		close(m->timer.fd);
	if (m->fd >= 0)
		close(m->fd);
	m->timer.fd = m->fd = -1;
}
