/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmio.h - the virtio-mmio transport, version 2 (virtio 1.2 §4.2), virtio
 * 1.x only.
 *
 * One struct virtio_mmio per device, mapped at a 4 KiB slot of the MMIO
 * hole with its own IRQ.  Register accesses come from vCPU threads through
 * virtio_mmio_ops; the device's data path runs on the vmm thread.  A mutex
 * (`lock`) orders the two: the vmm thread takes it around queue processing.
 *
 * The device-status state machine: ACKNOWLEDGE → DRIVER → FEATURES_OK
 * (offered only when the driver accepted VERSION_1 and nothing the device
 * does not offer) → DRIVER_OK (queues validated and activated).  Writing 0
 * resets.  Feature words may be written only between DRIVER and
 * FEATURES_OK; queue registers only before DRIVER_OK — other writes are
 * ignored and logged.  A device that finds the driver misbehaving calls
 * virtio_mmio_needs_reset: DEVICE_NEEDS_RESET plus a config interrupt.
 */
#ifndef EMBER_VIRTIO_MMIO_H
#define EMBER_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/core/bus.h"
#include "vmm/core/event.h"
#include "virtq.h"

#define VIRTIO_MMIO_MAGIC    0x74726976  /* "virt" */
#define VIRTIO_MMIO_VERSION  2
#define VIRTIO_MMIO_VENDOR   0x52424d45  /* "EMBR" */
#define VIRTIO_F_VERSION_1   32

#define VIRTIO_STATUS_ACKNOWLEDGE        1
#define VIRTIO_STATUS_DRIVER             2
#define VIRTIO_STATUS_DRIVER_OK          4
#define VIRTIO_STATUS_FEATURES_OK        8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED             128

#define VIRTIO_INT_USED   1
#define VIRTIO_INT_CONFIG 2

#define VIRTIO_MMIO_MAX_QUEUES 4
/* The QueueNotify register's offset in a device's slot: the builder binds an
 * ioeventfd per queue there (value = queue index). */
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050

struct virtio_mmio;

/* What a device (blk, net, vsock) plugs into the transport. */
struct virtio_dev_ops {
	uint32_t device_id;
	uint16_t num_queues;
	uint16_t queue_max;                 /* QueueNumMax, ≤ VIRTQ_MAX_SIZE */
	uint32_t config_len;
	/* config_read, config_write, activate, reset: called from the driver's
	 * register accesses, so on a vCPU thread, with `lock` held.
	 * Config space access (off < config_len, bounds checked by the caller). */
	void (*config_read)(struct virtio_mmio *t, uint32_t off, uint8_t *data, unsigned int size);
	void (*config_write)(struct virtio_mmio *t, uint32_t off, const uint8_t *data,
			     unsigned int size);
	/* DRIVER_OK: queues are valid and activated; 0 or -errno (→ NEEDS_RESET). */
	int (*activate)(struct virtio_mmio *t);
	/* The driver reset the device (status 0). */
	void (*reset)(struct virtio_mmio *t);
	/* vmm thread, `lock` held: the driver notified queue `queue` (or the
	 * device was just activated); process what is available. */
	void (*notify)(struct virtio_mmio *t, unsigned int queue);
};

struct virtio_mmio {
	const char *name;
	const struct virtio_dev_ops *ops;
	void *dev;                          /* the device behind the transport */
	const struct guest_mem *gm;
	pthread_mutex_t lock;
	int irq_efd;                        /* eventfd bound to this device's GSI */
	uint64_t device_features;
	uint64_t driver_features;
	uint32_t device_features_sel, driver_features_sel;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	struct virtq queues[VIRTIO_MMIO_MAX_QUEUES];
	/* QueueNotify: one ioeventfd per queue, watched by the vmm thread. */
	int notify_efd[VIRTIO_MMIO_MAX_QUEUES];
	struct ev_source notify_src[VIRTIO_MMIO_MAX_QUEUES];
	struct ev_loop *loop;               /* set by virtio_mmio_attach */
	uint64_t ignored_writes;            /* metrics: writes refused by the state machine */
	uint64_t needs_reset;               /* metrics: times the device asked for a reset */
};

extern const struct bus_ops virtio_mmio_ops;

/* Set up the transport for `dev` with its feature bits (VERSION_1 is
 * added); creates the interrupt eventfd.  Called by the devices' create
 * (blk_create...) on the vmm thread before vCPUs run.  0 or -errno. */
int virtio_mmio_init(struct virtio_mmio *t, const char *name, const struct virtio_dev_ops *ops,
		     void *dev, uint64_t features, const struct guest_mem *gm);
/* Watch the per-queue notification eventfds (notify_efd[], which the
 * builder binds to QueueNotify writes with KVM ioeventfds, as it binds
 * irq_efd to the device's GSI) in `loop`.  Called by the builder on the vmm
 * thread before vCPUs run.  0 or -errno. */
int virtio_mmio_attach(struct virtio_mmio *t, struct ev_loop *loop);
/* Stop watching the notifications and close every fd.  Called by the
 * devices' destroy on the vmm thread after the vCPUs stopped. */
void virtio_mmio_destroy(struct virtio_mmio *t);
/* Raise VIRTIO_INT_USED (or VIRTIO_INT_CONFIG).  The devices (vmm thread)
 * and the transport (vCPU thread); any thread holding `lock`. */
void virtio_mmio_interrupt(struct virtio_mmio *t, uint32_t why);
/* The driver broke the rules: DEVICE_NEEDS_RESET and a config interrupt
 * (once, and only for a live device).  The devices on the vmm thread, the
 * transport on a vCPU thread (queues refused at DRIVER_OK); `lock` held. */
void virtio_mmio_needs_reset(struct virtio_mmio *t, const char *why);
/* Negotiated feature test.  The devices, vmm or vCPU thread, `lock` held
 * (the driver writes the features from a vCPU thread). */
bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned int bit);
/* ---- snapshots ---- */

/* A transport as a snapshot holds it (fixed-width, little-endian). */
struct virtio_mmio_state {
	uint32_t device_id;                 /* VIRTIO_ID_*: which device it was */
	uint32_t nr_queues;
	uint64_t device_features, driver_features;
	uint32_t device_features_sel, driver_features_sel;
	uint32_t queue_sel, status;
	uint32_t interrupt_status, config_generation;
	struct virtq_state queues[VIRTIO_MMIO_MAX_QUEUES];
};
/* Copy the transport's state out: 0, or -EBUSY when a queue still has
 * chains in flight (virtq_save; not for a device that needs a reset).  vmm thread, vCPUs paused; takes `lock`. */
int virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *out);
/* The checks a state needs before anything is built (pure: the snapshot
 * parser's): queue count, status and interrupt bits, every queue
 * (virtq_state_error with the largest queue any device offers).  NULL or
 * what is wrong (with the queue number in `why`). */
const char *virtio_mmio_state_error(const struct virtio_mmio_state *s, char *why, size_t len);
/* Put a checked state back into the transport of a device just created
 * (same type, offering every feature the driver took: else -EINVAL and
 * why in err), its
 * queues re-activated as at DRIVER_OK without the driver re-negotiating
 * (virtq_restore).  The device's own restore follows; then
 * virtio_mmio_restart.  vmm thread, before vCPUs run; takes `lock`. */
int virtio_mmio_restore(struct virtio_mmio *t, const struct virtio_mmio_state *s, char *err,
			size_t errlen);
/* Wake the vmm thread for queue `i` as if the driver had notified it (the
 * event loop runs the device's notify later).  Any thread. */
void virtio_mmio_kick(struct virtio_mmio *t, unsigned int i);
/* After a restore: wake the device for every queue (buffers may be
 * waiting) and re-raise an interrupt the driver had not acknowledged.
 * vmm thread, before vCPUs run. */
void virtio_mmio_restart(struct virtio_mmio *t);

/* "virtio_mmio.device=4K@0xADDR:IRQ" for the guest command line; its
 * length or -ENOSPC.  The builder, vmm thread, before vCPUs run. */
int virtio_mmio_cmdline(char *buf, size_t len, uint64_t addr, unsigned int irq);

#endif
