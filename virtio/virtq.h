/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtq.h - the split virtqueue, device side, for a hostile driver.
 *
 * Every ring index, descriptor and length the guest provides is checked
 * before use; all guest memory goes through the checked gm_* accessors.
 * A violation (index jump beyond the queue size, a chain longer than the
 * queue or looping, an address or length outside RAM, a bad indirect table,
 * a head made available again while still in flight, a readable descriptor
 * after a writable one...) marks the queue broken: virtq_pop returns
 * -EPROTO from then on, the violation is counted and logged (rate-limited,
 * with the queue's name), and the transport must set DEVICE_NEEDS_RESET.
 *
 * Threads: the transport activates a queue on the vCPU thread that writes
 * DRIVER_OK, and clears the whole struct on the one that resets the device
 * (status 0); everything else is the devices' data path on the vmm thread.
 * Both hold the transport's `lock`, which is what orders them.
 */
#ifndef EMBER_VIRTQ_H
#define EMBER_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/core/memory.h"

#define VIRTQ_MAX_SIZE 256          /* largest QueueNum offered */

/* Ring layout (virtio 1.2 §2.7). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

/* Feature bits the queue core implements. */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29

/* One guest buffer of a chain, already checked to lie inside guest RAM. */
struct virtq_buf {
	uint64_t gpa;
	uint32_t len;
	bool device_writes;          /* VIRTQ_DESC_F_WRITE */
};

/* A descriptor chain popped from the available ring, readable buffers first. */
struct virtq_chain {
	uint16_t head;               /* what virtq_push takes back */
	uint16_t nr_bufs;
	uint16_t nr_readable;        /* bufs[0..nr_readable) are device-readable */
	uint16_t nr_slots;           /* descriptor-table entries it occupies: each
				      * direct descriptor (zero-length ones too)
				      * one, an indirect table one in all */
	uint64_t readable_len;       /* sum of the readable lengths */
	uint64_t writable_len;       /* sum of the writable lengths */
	struct virtq_buf bufs[VIRTQ_MAX_SIZE];
};

struct virtq {
	const char *name;            /* for logs: "blk0 q0" */
	const struct guest_mem *gm;
	/* Set by the transport from the driver's registers. */
	uint16_t size;               /* QueueNum: power of two, 1..VIRTQ_MAX_SIZE */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx;              /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;               /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	/* Device state. */
	bool ready;                  /* virtq_activate succeeded */
	bool broken;                 /* a violation stopped the queue */
	uint16_t last_avail;         /* next available-ring slot to consume */
	uint16_t used_idx;           /* next used-ring slot to fill */
	uint16_t signalled_used;     /* used_idx when the guest was last interrupted */
	bool signalled_valid;
	uint16_t in_flight;          /* heads popped but not yet pushed (or filled) */
	uint16_t unflushed;          /* used elements filled, not yet published */
	uint8_t head_busy[VIRTQ_MAX_SIZE];
	uint64_t violations;
};

/* Check the ring addresses and size the driver set (aligned, inside RAM)
 * and start the queue; -EINVAL (queue not started) otherwise.  Called by the
 * transport at DRIVER_OK: vCPU thread, `lock` held. */
int virtq_activate(struct virtq *q, const struct guest_mem *gm);
/* Forget all state.  virtq_activate starts with it (the transport itself
 * clears the struct on a device reset); same thread as its caller. */
void virtq_reset(struct virtq *q);
/* The data path, below: called by the devices on the vmm thread, `lock` held.
 *
 * Take the next available chain: 1 and *chain filled, 0 when none,
 * -EPROTO when the queue is (or just became) broken. */
int virtq_pop(struct virtq *q, struct virtq_chain *chain);
/* Return a chain with `written` bytes written into its writable buffers
 * and publish it: virtq_fill(q, head, written, 0) then virtq_flush(q, 1)
 * (so not in the middle of a fill batch).
 * -EPROTO if `head` is not in flight (the queue is then broken). */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);
/* Batched return, part one: write the used element for `head` (`written`
 * bytes) at used-ring entry used_idx + idx_offset, without moving used->idx:
 * the driver does not see it until virtq_flush.  The head leaves the
 * in-flight set at once, with the checks virtq_push makes (-EPROTO and the
 * queue broken if it is not in flight; on a stopped queue the head is only
 * released and -EPROTO returned).  -EINVAL (nothing done) if idx_offset is
 * not below the queue size.  Callers fill offsets 0, 1, ... of one batch. */
int virtq_fill(struct virtq *q, uint16_t head, uint32_t written, uint16_t idx_offset);
/* Batched return, part two: publish the `count` elements filled since the
 * last flush (offsets 0..count-1) with one release fence and one used->idx
 * store, so the driver sees all of them or none (a mergeable rx frame's
 * buffers, say).  0; -EINVAL (nothing published) if more than were filled;
 * -EPROTO on a stopped queue (nothing published, the fills forgotten). */
int virtq_flush(struct virtq *q, uint16_t count);
/* After pushes: must the guest be interrupted?  (EVENT_IDX used_event or
 * VIRTQ_AVAIL_F_NO_INTERRUPT.)  Records what was signalled. */
bool virtq_should_interrupt(struct virtq *q);
/* Before sleeping on the queue's notifications: with EVENT_IDX, ask the
 * driver to notify at the next available entry (writes avail_event).
 * Returns true if entries arrived meanwhile (pop again). */
bool virtq_enable_notify(struct virtq *q);
/* Has the driver made entries available that were not popped yet? */
bool virtq_has_avail(struct virtq *q);

/* ---- snapshots ---- */

/* A queue as a snapshot holds it (fixed-width, little-endian): the
 * driver's registers and the device's ring positions.  Nothing is in
 * flight in a saved queue: the devices drain first. */
struct virtq_state {
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t size;               /* 0 (never set) or a power of two */
	uint16_t last_avail, used_idx, signalled_used;
	uint8_t ready, signalled_valid, broken;
	uint8_t reserved[5];         /* 0 */
};
/* Copy q's state out: 0, or -EBUSY when chains are still in flight or
 * filled but not flushed (the device did not drain) on a queue that works:
 * a broken queue, or any queue of a device that needs a reset (`dead`),
 * is saved as it is (the driver must reset the device, which forgets
 * them).  vmm thread, `lock` held, vCPUs paused. */
int virtq_save(const struct virtq *q, bool dead, struct virtq_state *out);
/* Give back the last `n` chains popped, never used (heads[0] popped
 * first): they become available again, as if never taken, so a device that
 * holds buffers for data that may never come (net receive) can be saved
 * with nothing in flight.  -EINVAL (nothing changed) unless those are
 * exactly the last n available entries taken and all still in flight.
 * vmm thread, `lock` held. */
int virtq_unpop(struct virtq *q, const uint16_t *heads, uint16_t n);
/* The checks a state needs before anything is built (pure: the snapshot
 * parser's): size 0 or a power of two up to queue_max, rings aligned,
 * flags 0 or 1, reserved bytes 0.  NULL, or what is wrong. */
const char *virtq_state_error(const struct virtq_state *s, uint16_t queue_max);
/* Put a checked state back into q (whose event_idx/indirect the transport
 * set from the restored features).  A ready queue of a live device
 * (`live`: DRIVER_OK) is activated as at DRIVER_OK (rings checked against
 * gm) and gets its ring positions back, without the driver doing anything;
 * -EINVAL if the rings are not in RAM.  vmm thread, before vCPUs run. */
int virtq_restore(struct virtq *q, const struct guest_mem *gm, const struct virtq_state *s,
		  bool live);

/* A popped chain's bytes.  Its "area" is the concatenation of its readable
 * buffers (writable false) or of its writable ones (writable true); byte
 * `off` of the area is where a range starts.  The buffers were checked by
 * virtq_pop; every access still goes through gm_ptr/gm_read/gm_write.
 * Called by the devices while parsing a chain they popped: vmm thread,
 * `lock` held (they touch no queue state: any thread would do). */

/* Point iov[0..iov_cap) at bytes [off, off + len) of the area, straight
 * into guest RAM (zero-length buffers yield no iovec).  Returns the number
 * of iovecs filled (0 when len is 0); -EFAULT when the range runs past the
 * end of the area; -ENOBUFS when it needs more than iov_cap iovecs.  On an
 * error iov[] holds a prefix of the range. */
int virtq_chain_iov(const struct guest_mem *gm, const struct virtq_chain *c, bool writable,
		    uint64_t off, uint64_t len, struct iovec *iov, unsigned int iov_cap);
/* Copy `len` bytes at byte `off` of the readable area out of guest RAM into
 * buf (writable false), or `len` bytes of buf into the writable area at
 * byte `off` (writable true).  0; -EFAULT when the range runs past the end
 * of the area (the bytes before that end are copied). */
int virtq_chain_copy(const struct guest_mem *gm, const struct virtq_chain *c, bool writable,
		     uint64_t off, void *buf, uint64_t len);

#endif
