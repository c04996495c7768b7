// SPDX-License-Identifier: Apache-2.0
/*
 * blk_io.c - virtio-block's I/O engines (see blk.h).
 *
 * Async: one io_uring per drive.  The ring is created disabled, the image
 * is registered as fixed file 0, the completion eventfd is registered, and
 * then the ring is restricted to READV, WRITEV, FSYNC and FALLOCATE on
 * fixed files only, ASYNC_CANCEL (of its own requests) and replacing that
 * file (PATCH /drives), before it is enabled: from then on the ring can
 * touch nothing but the drive's image.  Completions wake the vmm thread
 * through the eventfd; each is handed to blk_io_done under the transport's
 * lock.  A device reset and the teardown cancel every request in flight
 * (IORING_ASYNC_CANCEL_ANY) and reap them all before going on: a READV
 * left running would write into buffers the guest reuses after the reset,
 * or into guest RAM already unmapped (and maybe mapped again for something
 * else) after the teardown.  That wait has no deadline: a request the
 * kernel is already executing on a regular file cannot be stopped, and
 * nothing else makes the memory safe (the kernel waits the same way when
 * the process exits); it is logged when it lasts over a second.
 *
 * Sync: the same operations, done inline on the vmm thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blk_priv.h"
#include "vmm/core/log.h"
#include "virtio/uring.h"

static int fallocate_mode(const struct blk_req *r)
{
	return FALLOC_FL_KEEP_SIZE | (r->unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
}

/* ---- Sync -------------------------------------------------------------- */

static int sync_init(struct blk_dev *b)
{
	(void)b;
	return 0;
}

static void sync_destroy(struct blk_dev *b)
{
	(void)b;
}

static int sync_submit(struct blk_dev *b, struct blk_req *r)
{
	const struct iovec *iov = r->iov + r->iov_start;
	ssize_t n = 0;

	switch (r->op) {
	case BLK_OP_READ: n = preadv(b->fd, iov, (int)r->nr_iov, (off_t)r->offset); break;
	case BLK_OP_WRITE: n = pwritev(b->fd, iov, (int)r->nr_iov, (off_t)r->offset); break;
	case BLK_OP_FLUSH: n = fdatasync(b->fd); break;
	case BLK_OP_DISCARD:
	case BLK_OP_ZERO:
		n = fallocate(b->fd, fallocate_mode(r), (off_t)r->offset, (off_t)r->len);
		break;
	case BLK_OP_NONE: break;
	}
	blk_io_done(b, r, n < 0 ? -errno : n);
	return 0;
}

static void sync_kick(struct blk_dev *b)
{
	(void)b;
}

const struct blk_engine_ops blk_engine_sync = {
	.name = "Sync",
	.init = sync_init,
	.destroy = sync_destroy,
	.submit = sync_submit,
	.kick = sync_kick,
};

/* ---- Async (io_uring) -------------------------------------------------- */

struct uring {
	struct io_uring ring;
	int efd;
	bool ring_up;
	unsigned int queued;        /* SQEs prepared since the last submit */
	unsigned int pending;       /* requests prepared, not yet completed */
};

/* Hand every completion to blk_io_done (which may queue resubmissions); a
 * cancel's own completion (tagged with the engine) is only looked at. */
static void uring_reap(struct blk_dev *b)
{
	struct uring *u = b->engine_priv;
	struct io_uring_cqe *cqe;

	while (!io_uring_peek_cqe(&u->ring, &cqe)) {
		void *tag = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		if (tag != u) {
			u->pending--;
			blk_io_done(b, tag, res);
		} else if (res < 0 && res != -ENOENT && res != -EALREADY) {  /* ANY: a count */
			log_ratelimited(LOG_WARN, "%s: io_uring cancel: %s", b->name, strerror(-res));
		}
	}
}

/* Submit what is queued, then reap at once: requests the kernel finished
 * inline (page-cache hits) complete without another trip through epoll. */
static void uring_kick(struct blk_dev *b)
{
	struct uring *u = b->engine_priv;

	for (int round = 0; round < 8 && u->queued; round++) {
		int ret = io_uring_submit(&u->ring);

		if (ret < 0) {
			log_ratelimited(LOG_WARN, "%s: io_uring submit: %s", b->name, strerror(-ret));
			return;
		}
		u->queued = 0;
		uring_reap(b);
	}
}

static int uring_submit(struct blk_dev *b, struct blk_req *r)
{
	struct uring *u = b->engine_priv;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {  /* the submission queue is full: push it to the kernel first */
		if (io_uring_submit(&u->ring) >= 0)
			u->queued = 0;
		sqe = io_uring_get_sqe(&u->ring);
		if (!sqe)
			return -EBUSY;
	}
	switch (r->op) {
	case BLK_OP_READ:
		io_uring_prep_readv(sqe, 0, r->iov + r->iov_start, r->nr_iov, r->offset);
		break;
	case BLK_OP_WRITE:
		io_uring_prep_writev(sqe, 0, r->iov + r->iov_start, r->nr_iov, r->offset);
		break;
	case BLK_OP_FLUSH:
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
		break;
	case BLK_OP_DISCARD:
	case BLK_OP_ZERO:
		io_uring_prep_fallocate(sqe, 0, fallocate_mode(r), (off_t)r->offset, (off_t)r->len);
		break;
	case BLK_OP_NONE:
		return -EINVAL;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, r);
	u->queued++;
	u->pending++;
	return 0;
}

/* uring_wait_idle's reap: anything still in flight? */
static bool reap_pending(void *opaque)
{
	struct blk_dev *b = opaque;
	struct uring *u = b->engine_priv;

	uring_reap(b);
	return u->pending;
}

/* Cancel every request in flight, queued ones included, and reap them all
 * (through blk_io_done: the caller made them a past epoch's, so none is
 * resubmitted or pushed), however long the kernel takes. */
static void uring_cancel(struct blk_dev *b)
{
	struct uring *u = b->engine_priv;
	int ret;

	if (!u || !u->ring_up || !u->pending)
		return;
	ret = uring_prep_cancel(&u->ring, NULL, u);
	if (ret)  /* no SQE: they end on their own */
		log_ratelimited(LOG_WARN, "%s: cannot cancel the requests in flight: %s",
				b->name, strerror(-ret));
	ret = uring_wait_idle(&u->ring, reap_pending, b, uring_now_ns() + 1000000000ULL);
	if (ret == -ETIME) {
		log_ratelimited(LOG_WARN, "%s: still waiting for %u requests in flight to end",
				b->name, u->pending);
		ret = uring_wait_idle(&u->ring, reap_pending, b, UINT64_MAX);
	}
	if (ret)
		log_ratelimited(LOG_ERROR, "%s: %u requests in flight could not be reaped: %s",
				b->name, u->pending, strerror(-ret));
	u->queued = io_uring_sq_ready(&u->ring);
}

/* uring_drain's reap: completions in, what they release out. */
static bool drain_pending(void *opaque)
{
	struct blk_dev *b = opaque;

	uring_reap(b);
	uring_kick(b);
	return b->nr_busy;
}

static int uring_drain(struct blk_dev *b, uint64_t end_ns)
{
	struct uring *u = b->engine_priv;

	if (!u || !u->ring_up)
		return 0;
	return uring_wait_idle(&u->ring, drain_pending, b, end_ns);
}

/* vmm thread: the ring signalled completions. */
static void uring_on_done(struct ev_source *src, uint32_t events)
{
	struct blk_dev *b = src->opaque;
	struct uring *u = b->engine_priv;
	uint64_t v;

	(void)events;
	if (read(u->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&b->t.lock);
	uring_reap(b);
	uring_kick(b);
	blk_io_flush_used(b);
	pthread_mutex_unlock(&b->t.lock);
}

/* Only the image, only the operations virtio-block needs, ASYNC_CANCEL
 * (of this ring's own requests: reset, teardown) and replacing the image
 * (PATCH /drives). */
static const uint8_t blk_ring_ops[] = { IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
					IORING_OP_FALLOCATE, IORING_OP_ASYNC_CANCEL };

static int uring_init(struct blk_dev *b)
{
	struct uring *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return -ENOMEM;
	b->engine_priv = u;
	u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->efd < 0)
		return -errno;
	ret = uring_open(&u->ring, &(struct uring_spec){
		.entries = BLK_QUEUE_SIZE, .files = &b->fd, .nr_files = 1, .efd = u->efd,
		.ops = blk_ring_ops, .nr_ops = sizeof(blk_ring_ops), .files_update = true });
	if (ret)
		return ret;
	u->ring_up = true;
	b->done_src = (struct ev_source){ .fd = u->efd, .cb = uring_on_done, .opaque = b };
	return ev_add(b->loop, &b->done_src, EPOLLIN);
}

/* SQEs prepared but not yet submitted name fixed file 0, which the kernel
 * resolves when it takes them: submit them first, so that they run on the
 * file they were checked against (issue 12 item 7); refuse the swap if the
 * kernel does not take them all. */
static int uring_set_file(struct blk_dev *b)
{
	struct uring *u = b->engine_priv;
	int ret;

	if (io_uring_sq_ready(&u->ring)) {
		ret = io_uring_submit(&u->ring);
		if (ret < 0 || io_uring_sq_ready(&u->ring)) {
			log_error("%s: cannot submit the queued requests before replacing the image: %s",
				  b->name, ret < 0 ? strerror(-ret) : "submission queue not drained");
			return ret < 0 ? ret : -EBUSY;
		}
		u->queued = 0;
	}
	ret = io_uring_register_files_update(&u->ring, 0, &b->fd, 1);
	return ret < 0 ? ret : 0;
}

static void uring_destroy(struct blk_dev *b)
{
	struct uring *u = b->engine_priv;

	if (!u)
		return;
	if (b->done_src.cb)
		ev_del(b->loop, &b->done_src);
	b->done_src.cb = NULL;
	if (u->ring_up) {
		uring_cancel(b);  /* io_uring_queue_exit alone would not wait for them */
		io_uring_queue_exit(&u->ring);
	}
	if (u->efd >= 0)
		close(u->efd);
	free(u);
	b->engine_priv = NULL;
}

const struct blk_engine_ops blk_engine_uring = {
	.name = "Async",
	.init = uring_init,
	.destroy = uring_destroy,
	.submit = uring_submit,
	.kick = uring_kick,
	.set_file = uring_set_file,
	.cancel = uring_cancel,
	.drain = uring_drain,
};
