// SPDX-License-Identifier: Apache-2.0
/* metrics.c - see metrics.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "virtio/blk/blk.h"
#include "vmm/devices/boot_timer.h"
#include "vmm/core/log.h"
#include "metrics.h"
#include "virtio/net/net.h"
#include "vmm/devices/serial.h"
#include "vmm/kvm/vcpu.h"
#include "vmm.h"
#include "virtio/vsock/vsock.h"

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

/* A stats struct's counters, by name, with the transport's two. */
struct stat_field {
	const char *name;
	size_t off;
};

#define NET_F(name, field) { name, offsetof(struct net_stats, field) }
static const struct stat_field net_fields[] = {
	NET_F("rx_bytes_count", rx_bytes), NET_F("rx_packets_count", rx_frames),
	NET_F("tx_bytes_count", tx_bytes), NET_F("tx_packets_count", tx_frames),
	NET_F("tx_malformed_frames", tx_dropped_bad_hdr), NET_F("tx_runt_frames", tx_dropped_runt),
	NET_F("tx_oversize_frames", tx_dropped_oversize),
	NET_F("rx_malformed_frames", rx_dropped_bad_hdr), NET_F("rx_bad_length_frames", rx_dropped_bad_len),
	NET_F("no_rx_avail_buffer", rx_waits_no_buffers),
	NET_F("rx_rate_limiter_throttled", rx_throttled), NET_F("tx_rate_limiter_throttled", tx_throttled),
	NET_F("tap_io_errors", io_errors), NET_F("stale_completions", stale_completions),
	NET_F("reset_read_timeouts", reset_read_timeouts),
	NET_F("rx_queue_event_count", rx_queue_events), NET_F("tx_queue_event_count", tx_queue_events),
	NET_F("interrupts", interrupts), NET_F("io_wakeups", io_wakeups),
	NET_F("io_wakeups_idle", io_wakeups_idle), NET_F("tap_reads", tap_reads),
	NET_F("rx_wait_timeouts", rx_wait_timeouts),
};

#define VSOCK_F(field) { #field, offsetof(struct vsock_stats, field) }
static const struct stat_field vsock_fields[] = {
	VSOCK_F(rx_queue_event_count), VSOCK_F(tx_queue_event_count), VSOCK_F(rx_packets_count),
	VSOCK_F(rx_bytes_count), VSOCK_F(tx_packets_count), VSOCK_F(tx_bytes_count),
	VSOCK_F(conns_added), VSOCK_F(conns_killed), VSOCK_F(conns_removed), VSOCK_F(conns_refused),
	VSOCK_F(handshake_fails), VSOCK_F(connect_fails), VSOCK_F(bad_packets),
	VSOCK_F(credit_violations), VSOCK_F(rst_dropped), VSOCK_F(rx_read_fails),
	VSOCK_F(tx_write_fails), VSOCK_F(ring_errors),
};

static json_t *stats_to_json(const struct stat_field *f, size_t n, const void *stats,
			     uint64_t needs_reset, uint64_t ignored)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < n; i++) {
		uint64_t v;

		memcpy(&v, (const uint8_t *)stats + f[i].off, sizeof(v));
		json_object_set_new(o, f[i].name, json_integer((json_int_t)v));
	}
	if (o) {
		json_object_set_new(o, "device_needs_reset", json_integer((json_int_t)needs_reset));
		json_object_set_new(o, "ignored_register_writes", json_integer((json_int_t)ignored));
	}
	return o;
}

/* "net" (all interfaces) and "net_<iface_id>" (each). */
static void nets_to_json(struct vm *vm, json_t *root)
{
	struct net_stats all = { 0 };
	uint64_t resets = 0, ignored = 0;
	size_t n = sizeof(net_fields) / sizeof(net_fields[0]);
	char key[80];

	for (unsigned int i = 0; i < vm->nr_nets; i++) {
		struct net_dev *d = vm->nets[i];
		const uint64_t *src = (const uint64_t *)&d->stats;
		uint64_t *dst = (uint64_t *)&all;

		pthread_mutex_lock(&d->t.lock);
		for (size_t k = 0; k < sizeof(all) / sizeof(uint64_t); k++)
			dst[k] += src[k];
		resets += d->t.needs_reset;
		ignored += d->t.ignored_writes;
		snprintf(key, sizeof(key), "net_%s", d->id);
		json_object_set_new(root, key, stats_to_json(net_fields, n, &d->stats,
							     d->t.needs_reset, d->t.ignored_writes));
		pthread_mutex_unlock(&d->t.lock);
	}
	json_object_set_new(root, "net", stats_to_json(net_fields, n, &all, resets, ignored));
}

static void vsock_to_json(struct vm *vm, json_t *root)
{
	struct vsock_dev *v = vm->vsock;
	struct vsock_stats none = { 0 };
	size_t n = sizeof(vsock_fields) / sizeof(vsock_fields[0]);

	if (v)
		pthread_mutex_lock(&v->t.lock);
	json_object_set_new(root, "vsock", stats_to_json(vsock_fields, n, v ? &v->stats : &none,
							 v ? v->t.needs_reset : 0,
							 v ? v->t.ignored_writes : 0));
	if (v)
		pthread_mutex_unlock(&v->t.lock);
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
	if (root) {
		blks_to_json(vm, root);
		nets_to_json(vm, root);
		vsock_to_json(vm, root);
	}
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
