/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk_priv.h - what blk.c and blk_io.c (and the device's unit test and
 * fuzzer) share; nothing outside virtio/blk/ and tests/ includes it.  The
 * device and its threads are described in blk.h.  All of it: the vmm thread
 * (or the transport's reset op on a vCPU thread), transport `lock` held.
 */
#ifndef EMBER_VIRTIO_BLK_PRIV_H
#define EMBER_VIRTIO_BLK_PRIV_H

#include "blk.h"

#define BLK_SECTOR_SIZE   512
#define BLK_SEG_MAX       (BLK_QUEUE_SIZE - 2)   /* header and status descriptors */
#define BLK_DISCARD_MAX_SECTORS (1u << 22)       /* 2 GiB per request */

/* The I/O engine: submit queues host work for `r` (the engine calls
 * blk_io_done as parts finish); kick pushes queued work to the host. */
struct blk_engine_ops {
	const char *name;
	int (*init)(struct blk_dev *b);
	void (*destroy)(struct blk_dev *b);   /* cancels and reaps first, as cancel */
	int (*submit)(struct blk_dev *b, struct blk_req *r);
	void (*kick)(struct blk_dev *b);
	/* b->fd was replaced: use it from now on (requests already handed to
	 * the host, queued ones included, finish on the old file).  Optional. */
	int (*set_file)(struct blk_dev *b);
	/* Cancel what is in flight and hand every completion to blk_io_done
	 * before returning (the device reset: b->epoch is already the new
	 * one).  Optional: an engine that completes inline has nothing. */
	void (*cancel)(struct blk_dev *b);
	/* Wait until b->nr_busy is 0, reaping (and submitting what
	 * completions release) as they come, at most until end_ns.  0,
	 * -ETIME or -errno.  Optional: an engine that completes inline has
	 * nothing in flight. */
	int (*drain)(struct blk_dev *b, uint64_t end_ns);
};

extern const struct blk_engine_ops blk_engine_uring, blk_engine_sync;

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
