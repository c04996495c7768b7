// SPDX-License-Identifier: Apache-2.0
/* device_table.c - see device_table.h.  One block per device type. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_table.h"
#include "virtio/blk/blk.h"
#include "virtio/net/net.h"
#include "virtio/vsock/vsock.h"

/* Allocate a device's struct into d->dev (so destroy runs even if create
 * then fails). */
static void *dev_alloc(struct vm_device *d, size_t size)
{
	d->dev = calloc(1, size);
	return d->dev;
}

/* ---- virtio-block: "drives" -------------------------------------------- */

static unsigned int blk_count(const struct vm_config *cfg)
{
	return cfg->devs.nr_drives;
}

/* The i-th drive in the order the guest sees them: the root drive first (it
 * becomes /dev/vda), then the others in the order given. */
static const struct drive_cfg *blk_cfg_at(const struct devices_cfg *d, unsigned int i)
{
	unsigned int k = 0;

	for (unsigned int pass = 0; pass < 2; pass++)
		for (unsigned int j = 0; j < d->nr_drives; j++)
			if (d->drives[j].is_root == !pass && k++ == i)
				return &d->drives[j];
	return NULL;
}

static int blk_new(const struct vm_config *cfg, unsigned int i, const struct device_env *env,
		   struct vm_device *d, char *cmdline, size_t len)
{
	const struct drive_cfg *dr = blk_cfg_at(&cfg->devs, i);
	struct blk_dev *b = dev_alloc(d, sizeof(*b));
	int ret, n = 0;

	*cmdline = '\0';
	if (!b)
		return -ENOMEM;
	d->id = b->id_full;            /* the device's copy: PATCH may replace the config's */
	d->t = &b->t;
	ret = blk_create(b, dr, env->gm, env->loop);
	if (ret)
		return ret;
	if (dr->is_root && dr->partuuid)
		n = snprintf(cmdline, len, " root=PARTUUID=%s %s", dr->partuuid,
			     dr->read_only ? "ro" : "rw");
	else if (dr->is_root)
		n = snprintf(cmdline, len, " root=/dev/vda %s", dr->read_only ? "ro" : "rw");
	return n < 0 || (size_t)n >= len ? -E2BIG : 0;
}

static void blk_free(void *dev)
{
	blk_destroy(dev);
	free(dev);
}

/* A new image and/or rate limiter on the running drive; a refused image
 * leaves the device and the configuration on the old one. */
static int blk_patch(struct vm_config *cfg, const char *id, json_t *body, void *dev, char *err,
		     size_t errlen)
{
	struct drive_cfg *dr = config_find_drive(&cfg->devs, id);
	char *old = dr ? strdup(dr->path) : NULL;
	int ret = config_put_drive(cfg, id, body, true, err, errlen);

	if (ret || !old || !dev)
		goto out;
	dr = config_find_drive(&cfg->devs, id);
	if (json_object_get(body, "rate_limiter"))
		blk_set_rate_limiter(dev, &dr->rate_limiter);
	if (strcmp(dr->path, old)) {
		ret = blk_set_backing(dev, dr->path);
		if (ret) {
			snprintf(err, errlen, "drives: cannot use %s: %s", dr->path, strerror(-ret));
			free(dr->path);
			dr->path = old;
			old = NULL;
		}
	}
out:
	free(old);
	return ret;
}

static void blk_read_stats(void *dev, void *out)
{
	memcpy(out, &((struct blk_dev *)dev)->stats, sizeof(struct blk_stats));
}

/* Firecracker's block metric names, plus ember's own. */
#define BLK_F(name, field) { name, offsetof(struct blk_stats, field) }
static const struct stat_field blk_fields[] = {
	BLK_F("read_count", reads), BLK_F("write_count", writes),
	BLK_F("flush_count", flushes), BLK_F("discard_count", discards),
	BLK_F("read_bytes", read_bytes), BLK_F("write_bytes", write_bytes),
	BLK_F("invalid_reqs_count", invalid_reqs), BLK_F("execute_fails", io_errors),
	BLK_F("short_io_resumed", short_resumed),
	BLK_F("rate_limiter_throttled_events", throttled),
};

static int blk_dev_quiesce(void *dev, uint64_t end_ns, char *err, size_t errlen)
{
	return blk_quiesce(dev, end_ns, err, errlen);
}

static void blk_dev_save(void *dev, union device_snap_state *out)
{
	memset(out, 0, sizeof(*out));
	blk_save(dev, &out->blk);
}

static int blk_dev_restore(void *dev, const union device_snap_state *in, char *err,
			   size_t errlen)
{
	return blk_restore(dev, &in->blk, err, errlen);
}

static const struct device_type blk_type = {
	.name = "block", .section = "drives",
	.count = blk_count, .create = blk_new, .destroy = blk_free, .patch = blk_patch,
	.read_stats = blk_read_stats, .fields = blk_fields,
	.nr_fields = sizeof(blk_fields) / sizeof(blk_fields[0]),
	.stats_size = sizeof(struct blk_stats), .per_instance = true,
	.quiesce = blk_dev_quiesce, .save = blk_dev_save, .restore = blk_dev_restore,
};

/* ---- virtio-net: "network-interfaces" ---------------------------------- */

static unsigned int net_count(const struct vm_config *cfg)
{
	return cfg->devs.nr_nets;
}

/* In the order given: eth0, eth1... */
static int net_new(const struct vm_config *cfg, unsigned int i, const struct device_env *env,
		   struct vm_device *d, char *cmdline, size_t len)
{
	struct net_dev *n = dev_alloc(d, sizeof(*n));

	(void)len;
	*cmdline = '\0';
	if (!n)
		return -ENOMEM;
	d->id = n->id;
	d->t = &n->t;
	return net_create(n, &cfg->devs.nets[i], env->gm, env->loop);
}

static void net_free(void *dev)
{
	net_destroy(dev);
	free(dev);
}

/* New rate limiters, applied live. */
static int net_patch(struct vm_config *cfg, const char *id, json_t *body, void *dev, char *err,
		     size_t errlen)
{
	int ret = config_put_net(cfg, id, body, true, err, errlen);
	const struct net_cfg *nc = NULL;

	if (ret || !dev)
		return ret;
	for (unsigned int i = 0; i < cfg->devs.nr_nets; i++)
		if (!strcmp(cfg->devs.nets[i].id, id))
			nc = &cfg->devs.nets[i];
	if (nc)
		net_set_rate_limiters(dev, json_object_get(body, "rx_rate_limiter") ? &nc->rx : NULL,
				      json_object_get(body, "tx_rate_limiter") ? &nc->tx : NULL);
	return 0;
}

static void net_read_stats(void *dev, void *out)
{
	memcpy(out, &((struct net_dev *)dev)->stats, sizeof(struct net_stats));
}

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

static int net_dev_quiesce(void *dev, uint64_t end_ns, char *err, size_t errlen)
{
	return net_quiesce(dev, end_ns, err, errlen);
}

static void net_dev_save(void *dev, union device_snap_state *out)
{
	memset(out, 0, sizeof(*out));
	net_save(dev, &out->net);
}

static int net_dev_restore(void *dev, const union device_snap_state *in, char *err,
			   size_t errlen)
{
	return net_restore(dev, &in->net, err, errlen);
}

static const struct device_type net_type = {
	.name = "net", .section = "network-interfaces",
	.count = net_count, .create = net_new, .destroy = net_free, .patch = net_patch,
	.read_stats = net_read_stats, .fields = net_fields,
	.nr_fields = sizeof(net_fields) / sizeof(net_fields[0]),
	.stats_size = sizeof(struct net_stats), .per_instance = true,
	.quiesce = net_dev_quiesce, .save = net_dev_save, .restore = net_dev_restore,
};

/* ---- virtio-vsock: "vsock" --------------------------------------------- */

static unsigned int vsock_count(const struct vm_config *cfg)
{
	return cfg->devs.vsock.set;
}

static int vsock_new(const struct vm_config *cfg, unsigned int i, const struct device_env *env,
		     struct vm_device *d, char *cmdline, size_t len)
{
	struct vsock_dev *v = dev_alloc(d, sizeof(*v));

	(void)i;
	(void)len;
	*cmdline = '\0';
	if (!v)
		return -ENOMEM;
	d->t = &v->t;
	return vsock_create(v, &cfg->devs.vsock, env->gm, env->loop);
}

static void vsock_free(void *dev)
{
	vsock_destroy(dev);
	free(dev);
}

static void vsock_read_stats(void *dev, void *out)
{
	memcpy(out, &((struct vsock_dev *)dev)->stats, sizeof(struct vsock_stats));
}

#define VSOCK_F(field) { #field, offsetof(struct vsock_stats, field) }
static const struct stat_field vsock_fields[] = {
	VSOCK_F(rx_queue_event_count), VSOCK_F(tx_queue_event_count), VSOCK_F(rx_packets_count),
	VSOCK_F(rx_bytes_count), VSOCK_F(tx_packets_count), VSOCK_F(tx_bytes_count),
	VSOCK_F(conns_added), VSOCK_F(conns_killed), VSOCK_F(conns_removed), VSOCK_F(conns_refused),
	VSOCK_F(handshake_fails), VSOCK_F(connect_fails), VSOCK_F(bad_packets),
	VSOCK_F(credit_violations), VSOCK_F(credit_grants), VSOCK_F(rst_dropped), VSOCK_F(rx_read_fails),
	VSOCK_F(tx_write_fails), VSOCK_F(ring_errors),
};

/* Nothing in flight between events (each chain is used as it is taken),
 * and no state of its own: connections are not carried across a snapshot;
 * the restored device tells the guest so (TRANSPORT_RESET). */
static void vsock_dev_save(void *dev, union device_snap_state *out)
{
	(void)dev;
	memset(out, 0, sizeof(*out));
}

static int vsock_dev_restore(void *dev, const union device_snap_state *in, char *err,
			     size_t errlen)
{
	(void)in;
	(void)err;
	(void)errlen;
	vsock_restore(dev);
	return 0;
}

static const struct device_type vsock_type = {
	.name = "vsock", .section = "vsock",
	.count = vsock_count, .create = vsock_new, .destroy = vsock_free,
	.read_stats = vsock_read_stats, .fields = vsock_fields,
	.nr_fields = sizeof(vsock_fields) / sizeof(vsock_fields[0]),
	.stats_size = sizeof(struct vsock_stats),
	.save = vsock_dev_save, .restore = vsock_dev_restore,
};

/* ---- the table ----------------------------------------------------------- */

/* In the order the builder creates them (the guest's probe order). */
const struct device_type *const device_table[] = { &blk_type, &net_type, &vsock_type };
const size_t device_table_len = sizeof(device_table) / sizeof(device_table[0]);

const struct device_type *device_type_find(const char *section)
{
	for (size_t i = 0; i < device_table_len; i++)
		if (!strcmp(device_table[i]->section, section))
			return device_table[i];
	return NULL;
}

/* ---- metrics --------------------------------------------------------------- */

#define STATS_MAX_BYTES 512

static json_t *stats_to_json(const struct device_type *dt, const uint64_t *stats,
			     uint64_t needs_reset, uint64_t ignored)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < dt->nr_fields; i++)
		json_object_set_new(o, dt->fields[i].name,
				    json_integer((json_int_t)stats[dt->fields[i].off / sizeof(uint64_t)]));
	if (o) {
		json_object_set_new(o, "device_needs_reset", json_integer((json_int_t)needs_reset));
		json_object_set_new(o, "ignored_register_writes", json_integer((json_int_t)ignored));
	}
	return o;
}

static void type_metrics(const struct device_type *dt, const struct vm_device *devs,
			 unsigned int n, json_t *root)
{
	uint64_t all[STATS_MAX_BYTES / sizeof(uint64_t)] = { 0 };
	uint64_t one[STATS_MAX_BYTES / sizeof(uint64_t)];
	uint64_t resets = 0, ignored = 0;
	char key[80];

	for (unsigned int i = 0; i < n; i++) {
		const struct vm_device *d = &devs[i];
		uint64_t r, w;

		if (d->type != dt)
			continue;
		pthread_mutex_lock(&d->t->lock);
		dt->read_stats(d->dev, one);
		r = d->t->needs_reset;
		w = d->t->ignored_writes;
		pthread_mutex_unlock(&d->t->lock);
		for (size_t k = 0; k < dt->stats_size / sizeof(uint64_t); k++)
			all[k] += one[k];
		resets += r;
		ignored += w;
		if (dt->per_instance && d->id) {
			snprintf(key, sizeof(key), "%s_%s", dt->name, d->id);
			json_object_set_new(root, key, stats_to_json(dt, one, r, w));
		}
	}
	json_object_set_new(root, dt->name, stats_to_json(dt, all, resets, ignored));
}

void device_metrics(const struct vm_device *devs, unsigned int n, json_t *root)
{
	for (size_t i = 0; i < device_table_len; i++)
		type_metrics(device_table[i], devs, n, root);
}

_Static_assert(sizeof(struct blk_stats) <= STATS_MAX_BYTES, "blk_stats outgrew STATS_MAX_BYTES");
_Static_assert(sizeof(struct net_stats) <= STATS_MAX_BYTES, "net_stats outgrew STATS_MAX_BYTES");
_Static_assert(sizeof(union device_snap_state) == 256, "a device's snapshot state outgrew 256");
_Static_assert(sizeof(struct vsock_stats) <= STATS_MAX_BYTES, "vsock_stats outgrew STATS_MAX_BYTES");
