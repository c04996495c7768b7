/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk.h - virtio-block (virtio 1.2 §5.2) over a raw image file.
 *
 * One request queue.  The vmm thread pops descriptor chains, parses each
 * request once (blk_parse: header copied out of guest RAM and validated,
 * sector range checked against the disk, data buffers turned into iovecs
 * pointing straight into guest RAM) and hands it to the I/O engine:
 *  - Async (default): one io_uring per device, created disabled, restricted
 *    to the image file (registered, fixed) and to readv/writev/fsync/
 *    fallocate, completions signalled through an eventfd in the vmm loop;
 *  - Sync: the same operations done inline (fallback, and the fuzzer's).
 * Short transfers are resumed; host errors become VIRTIO_BLK_S_IOERR.
 * A request's sector range is checked again each time it goes to the host
 * (the image may have been replaced by a smaller one while it was parked).
 * A device reset cancels what is in the engine and waits for it before it
 * completes (no read lands in a buffer the driver got back).
 * A FLUSH (offered with cache_type Writeback) is an fdatasync issued only
 * once every write accepted before it has completed; after one fsync error
 * every later flush fails too.  Read-only drives offer VIRTIO_BLK_F_RO and
 * fail writes with IOERR.  A chain that cannot carry a request at all (no
 * room for the header or the status byte) is a driver violation: the
 * device asks for a reset.
 *
 * Threads: the data path (queue notifications, engine completions, the rate
 * limiter's timer) runs on the vmm thread with the transport's `lock` held;
 * the transport's config and reset ops run on a vCPU thread, also under
 * `lock`.  blk_create/blk_destroy: the vmm thread before vCPUs run / after
 * they stop.
 *
 * This is the device's public side, for vmm/device_table.c: the device
 * struct (which it allocates, and of which it reads `t`, `id_full` and
 * `stats`), the counters, create/destroy and the live updates.  What blk.c
 * and blk_io.c share is in blk_priv.h.
 */
#ifndef EMBER_VIRTIO_BLK_H
#define EMBER_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/config/config.h"
#include "vmm/core/event.h"
#include "virtio/mmio.h"
#include "vmm/core/ratelimit.h"

#define BLK_QUEUE_SIZE    256
#define BLK_MAX_REQS      (2 * BLK_QUEUE_SIZE)   /* in flight, across a reset */
#define BLK_INLINE_IOV    8

enum blk_op { BLK_OP_NONE, BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH, BLK_OP_DISCARD,
	      BLK_OP_ZERO };

/* One request from parse to completion (here only because struct blk_dev
 * holds them). */
struct blk_req {
	bool busy;
	bool held;                /* a FLUSH waiting for earlier writes */
	uint16_t head;
	uint32_t epoch;           /* device reset generation it belongs to */
	uint64_t seq;             /* acceptance order (flush ordering) */
	uint32_t type;            /* VIRTIO_BLK_T_* from the header */
	enum blk_op op;           /* host work left to do, BLK_OP_NONE when none */
	uint8_t status;           /* VIRTIO_BLK_S_* once known */
	uint64_t status_gpa;      /* where the status byte goes */
	uint32_t used_len;        /* bytes written into the chain, status included */
	uint64_t offset;          /* byte offset in the image */
	uint64_t len;             /* bytes still to transfer (or to discard) */
	bool unmap;               /* WRITE_ZEROES may deallocate */
	unsigned int nr_iov;      /* iovecs still to transfer, from iov[iov_start] */
	unsigned int iov_start;
	unsigned int iov_cap;
	struct iovec *iov;        /* iov_inline or heap */
	struct iovec iov_inline[BLK_INLINE_IOV];
};

/* Counters (all uint64_t: metrics.c sums them field by field). */
struct blk_stats {
	uint64_t reads, writes, flushes, discards, read_bytes, write_bytes;
	uint64_t invalid_reqs;    /* answered IOERR/UNSUPP for the request itself */
	uint64_t io_errors;       /* host I/O failed */
	uint64_t short_resumed;   /* short transfers resumed */
	uint64_t throttled;       /* requests the rate limiter delayed */
};

struct blk_engine_ops;

struct blk_dev {
	struct virtio_mmio t;             /* first: the transport */
	char name[48];                    /* "blk <drive_id>" */
	char id[20];                      /* GET_ID: the drive id, NUL-padded */
	char id_full[65];                 /* the drive id, for PATCH /drives */
	int fd;                           /* the image */
	uint64_t sectors;                 /* capacity */
	bool read_only, flush, discard;
	const struct blk_engine_ops *engine;
	void *engine_priv;
	struct ev_loop *loop;
	struct ev_source done_src;        /* engine completion eventfd */
	uint32_t epoch;
	uint64_t next_seq;
	bool fsync_failed;                /* sticky: later flushes fail too */
	unsigned int nr_busy;
	unsigned int nr_held_flushes;     /* flushes waiting for earlier writes */
	bool need_irq;
	bool starved;                     /* every request slot busy: pop later */
	struct rate_limiter rl;           /* the drive's rate_limiter */
	struct blk_req *deferred;         /* throttled: retried when rl_timer fires */
	struct ev_source rl_timer;        /* timerfd */
	bool more;                        /* a notify stopped at its budget: go on */
	struct ev_source more_src;        /* eventfd: brings the vmm thread back for it */
	struct blk_stats stats;
	struct virtq_chain chain;         /* scratch for virtq_pop */
	struct blk_req reqs[BLK_MAX_REQS];
};

/* The device's own part of a snapshot (fixed-width, little-endian). */
struct blk_snap_state {
	struct rate_limiter_state rl;     /* the drive's buckets */
	uint32_t fsync_failed;            /* 0 or 1: later flushes fail */
	uint32_t reserved;
};

/* Open the drive's image and set up its transport, rate limiter and I/O
 * engine on a zeroed `b` (not yet attached to KVM: the builder then calls
 * virtio_mmio_attach).  `loop` receives the engine's completion eventfd,
 * the rate limiter's timer and the eventfd that resumes a notify stopped at
 * its budget (a queue's worth of requests per call).  Called by the device
 * table (the builder) on the vmm thread before vCPUs run.  Logs why and returns -errno on failure;
 * the caller then still calls blk_destroy, which releases what was set up. */
int blk_create(struct blk_dev *b, const struct drive_cfg *cfg, const struct guest_mem *gm,
	       struct ev_loop *loop);
/* Cancel the requests in flight and wait until the kernel has returned
 * every one (guest RAM is unmapped next), then stop the engine, the timer
 * and the transport, free the requests' iovecs, close the image.  Called
 * by the device table on the vmm thread after the vCPUs stopped; safe on a
 * half-created device. */
void blk_destroy(struct blk_dev *b);
/* Replace the image with `path`, same access mode; the new capacity is
 * announced with a config interrupt.  On failure the old image stays.
 * Called by the device table for PATCH /drives on the vmm thread; takes
 * the transport's `lock` itself.  0 or -errno. */
int blk_set_backing(struct blk_dev *b, const char *path);
/* New rate limiter buckets, full from now; a throttled request is retried
 * under them.  Called by the device table for PATCH /drives on the vmm
 * thread; takes the transport's `lock` itself. */
void blk_set_rate_limiter(struct blk_dev *b, const struct rate_limiter_cfg *cfg);

/* Snapshot create, vCPUs paused: finish every request taken from the
 * queue (a throttled one goes now, past its rate limiter; held flushes
 * when their writes are done) and put it in the used ring, interrupting
 * the driver as usual; nothing new is taken.  Waits for the host until
 * end_ns (CLOCK_MONOTONIC): 0, or -ETIME (or -errno) with why in err.
 * Called by the device table on the vmm thread; takes `lock`. */
int blk_quiesce(struct blk_dev *b, uint64_t end_ns, char *err, size_t errlen);
/* After blk_quiesce: the device's state (rate limiter buckets relative to
 * now).  Device table, vmm thread. */
void blk_save(struct blk_dev *b, struct blk_snap_state *out);
/* On a drive just created from the snapshot's configuration: the saved
 * buckets and the sticky flush failure.  Device table, vmm thread, before
 * vCPUs run.  0, or -EINVAL with why in err. */
int blk_restore(struct blk_dev *b, const struct blk_snap_state *st, char *err, size_t errlen);

#endif
