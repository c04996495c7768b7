/* SPDX-License-Identifier: Apache-2.0 */
/*
 * device_table.h - the one place a device type is registered.
 *
 * Every device the configuration can ask for (drives, network interfaces,
 * vsock) has one entry in device_table[]: its configuration section, how to
 * create and destroy an instance, how to apply a live update (PATCH), and
 * the names of its counters for the metrics line.  The builder walks the
 * table to assemble a machine, the orchestrator to patch a device, metrics
 * to report them; none of them names a device.  Adding a device means its
 * own folder under virtio/ plus one entry here (and its section under
 * vmm/config/).  Everything here runs on the vmm thread.
 */
#ifndef EMBER_DEVICE_TABLE_H
#define EMBER_DEVICE_TABLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config/config.h"
#include "vmm/core/event.h"
#include "vmm/core/memory.h"
#include "virtio/blk/blk.h"
#include "virtio/mmio.h"
#include "virtio/net/net.h"

/* What a device is created with. */
struct device_env {
	const struct guest_mem *gm;
	struct ev_loop *loop;          /* the vmm thread's: completions, notifications */
};

struct device_type;

/* A device's own part of a snapshot, whatever its type (fixed size: the
 * state file's virtio sections have one length). */
union device_snap_state {
	struct blk_snap_state blk;
	struct net_snap_state net;
	uint8_t raw[256];
};

/* One device of a built machine. */
struct vm_device {
	const struct device_type *type;
	const char *id;                /* drive_id, iface_id (the device's copy), or NULL */
	void *dev;                     /* the device's own struct (owned: freed by destroy) */
	struct virtio_mmio *t;         /* its transport, inside dev */
};

/* A counter of a device's stats struct (all uint64_t), by its metrics name. */
struct stat_field {
	const char *name;
	size_t off;
};

struct device_type {
	const char *name;              /* metrics: "<name>" (all) and "<name>_<id>" (each) */
	const char *section;           /* configuration key and API path, e.g. "drives" */
	/* Instances the configuration asks for, created in index order (the
	 * guest sees them in this order: the root drive first). */
	unsigned int (*count)(const struct vm_config *cfg);
	/* Create instance `i` into d (dev, t, id).  d->dev is set as soon as it is
	 * allocated, so destroy runs after a failure too.  `cmdline` always
	 * receives the words this device adds to the guest command line ("" for
	 * none): the builder appends it whatever it held before. */
	int (*create)(const struct vm_config *cfg, unsigned int i, const struct device_env *env,
		      struct vm_device *d, char *cmdline, size_t len);
	void (*destroy)(void *dev);
	/* PATCH <section>/{id}: update the configuration and, with `dev` (the
	 * running instance, or NULL before the VM is built), the device.  NULL:
	 * no live update.  Refused: 400 text in err, configuration unchanged. */
	int (*patch)(struct vm_config *cfg, const char *id, json_t *body, void *dev, char *err,
		     size_t errlen);
	/* Counters: copy the device's stats struct into `out` (stats_size bytes). */
	void (*read_stats)(void *dev, void *out);
	const struct stat_field *fields;
	size_t nr_fields;
	size_t stats_size;
	bool per_instance;             /* also emit "<name>_<id>" */
	/* Snapshots; NULL: a microVM with this device cannot be saved yet.
	 * quiesce (vCPUs paused; NULL: nothing is ever in flight between
	 * events): finish the I/O in flight, each request in
	 * the used ring, by end_ns (CLOCK_MONOTONIC); 0, or -errno with why
	 * in err.  save: the device's own state.  restore: put it back into an
	 * instance just created from the snapshot's configuration, before the
	 * vCPUs run; 0 or -EINVAL with why in err. */
	int (*quiesce)(void *dev, uint64_t end_ns, char *err, size_t errlen);
	void (*save)(void *dev, union device_snap_state *out);
	int (*restore)(void *dev, const union device_snap_state *in, char *err, size_t errlen);
};

extern const struct device_type *const device_table[];
extern const size_t device_table_len;

/* The table entry for `section`, or NULL. */
const struct device_type *device_type_find(const char *section);

/* Add every type's counters for `devs` (n of them, any types) to `root`:
 * "<name>" summed over its instances (zeros when it has none), and
 * "<name>_<id>" for each where per_instance. */
void device_metrics(const struct vm_device *devs, unsigned int n, json_t *root);

#endif
