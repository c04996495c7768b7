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
 * A FLUSH (offered with cache_type Writeback) is an fdatasync issued only
 * once every write accepted before it has completed; after one fsync error
 * every later flush fails too.  Read-only drives offer VIRTIO_BLK_F_RO and
 * fail writes with IOERR.  A chain that cannot carry a request at all (no
 * room for the header or the status byte) is a driver violation: the
 * device asks for a reset.  vmm thread only, with the transport's lock held
 * (blk_create/blk_destroy: the vmm thread before vCPUs run / after they stop).
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

#define BLK_SECTOR_SIZE   512
#define BLK_QUEUE_SIZE    256
#define BLK_SEG_MAX       (BLK_QUEUE_SIZE - 2)   /* header and status descriptors */
#define BLK_MAX_REQS      (2 * BLK_QUEUE_SIZE)   /* in flight, across a reset */
#define BLK_INLINE_IOV    8
#define BLK_DISCARD_MAX_SECTORS (1u << 22)       /* 2 GiB per request */

enum blk_op { BLK_OP_NONE, BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH, BLK_OP_DISCARD,
	      BLK_OP_ZERO };

/* One request from parse to completion. */
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

struct blk_dev;

/* The I/O engine: submit queues host work for `r` (the engine calls
 * blk_io_done as parts finish); kick pushes queued work to the host. */
struct blk_engine_ops {
	const char *name;
	int (*init)(struct blk_dev *b);
	void (*destroy)(struct blk_dev *b);
	int (*submit)(struct blk_dev *b, struct blk_req *r);
	void (*kick)(struct blk_dev *b);
	/* b->fd was replaced: use it from now on (requests in flight finish on
	 * the old file).  Optional. */
	int (*set_file)(struct blk_dev *b);
};

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
	struct blk_stats stats;
	struct virtq_chain chain;         /* scratch for virtq_pop */
	struct blk_req reqs[BLK_MAX_REQS];
};

extern const struct blk_engine_ops blk_engine_uring, blk_engine_sync;

/* Open the drive's image and set up its transport and engine (not yet
 * attached to KVM: see virtio_mmio_attach).  `loop` receives the engine's
 * completion eventfd.  Logs why and returns -errno on failure. */
int blk_create(struct blk_dev *b, const struct drive_cfg *cfg, const struct guest_mem *gm,
	       struct ev_loop *loop);
void blk_destroy(struct blk_dev *b);
/* vmm thread (PATCH /drives after start): replace the image with `path`,
 * same access mode; the new capacity is announced with a config interrupt.
 * On failure the old image stays.  0 or -errno. */
int blk_set_backing(struct blk_dev *b, const char *path);
/* vmm thread (PATCH /drives): new rate limiter buckets, full from now. */
void blk_set_rate_limiter(struct blk_dev *b, const struct rate_limiter_cfg *cfg);

/* Turn a popped chain into a request: 0 and `r` filled (r->op says what host
 * work is left; BLK_OP_NONE with r->status set means answer right away,
 * e.g. IOERR for a sector past the end), or -EPROTO when the chain cannot be
 * a block request at all (driver violation).  Exposed for the unit tests. */
int blk_parse(struct blk_dev *b, const struct virtq_chain *chain, struct blk_req *r);

/* Engines: part of `r` finished with `res` (bytes, or -errno).  Resumes a
 * short transfer through the engine or completes the request. */
void blk_io_done(struct blk_dev *b, struct blk_req *r, int64_t res);
/* Engines: completions were reaped; publish the used ring and interrupt. */
void blk_io_flush_used(struct blk_dev *b);

#endif
