// SPDX-License-Identifier: Apache-2.0
/*
 * blk.c - virtio-block: request parsing, the queue loop and completion.
 * The I/O engines are in blk_io.c.  See blk.h for the contract.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "blk_priv.h"
#include "vmm/core/log.h"

#define VIRTIO_ID_BLOCK 2
#define BLK_HDR_LEN     16
#define BLK_SEG_LEN     16     /* struct virtio_blk_discard_write_zeroes */
#define BLK_DISCARD_ALIGN_SECTORS 8

/* The config space (virtio 1.2 §5.2.4), up to the fields ember offers. */
struct blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint8_t geometry[4];
	uint32_t blk_size;
	uint8_t topology[8];
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));
_Static_assert(sizeof(struct blk_config) == 60, "virtio_blk_config layout");
_Static_assert(offsetof(struct blk_config, max_discard_sectors) == 36, "discard fields");

static struct blk_dev *to_blk(struct virtio_mmio *t)
{
	return (struct blk_dev *)t;  /* the transport is the first member */
}

/* ---- a request's data buffers ------------------------------------------ */

/* Point r->iov at `len` bytes from byte `off` of the readable or writable
 * area, straight into guest RAM (room made for every buffer of the area). */
static int req_iov(struct blk_dev *b, struct blk_req *r, const struct virtq_chain *c,
		   bool writable, uint64_t off, uint64_t len)
{
	unsigned int need = writable ? c->nr_bufs - c->nr_readable : c->nr_readable;
	int nr;

	if (need > r->iov_cap) {
		struct iovec *iov = r->iov == r->iov_inline ? NULL : r->iov;

		iov = realloc(iov, need * sizeof(*iov));
		if (!iov)
			return -ENOMEM;
		r->iov = iov;
		r->iov_cap = need;
	}
	r->nr_iov = r->iov_start = 0;
	nr = virtq_chain_iov(b->t.gm, c, writable, off, len, r->iov, r->iov_cap);
	if (nr < 0)
		return nr;
	r->nr_iov = (unsigned int)nr;
	return 0;
}

/* ---- parsing ---------------------------------------------------------- */

static int answer(struct blk_dev *b, struct blk_req *r, uint8_t status, const char *why)
{
	b->stats.invalid_reqs++;
	log_ratelimited(LOG_WARN, "%s: request type %u refused: %s", b->name, r->type, why);
	r->status = status;
	r->op = BLK_OP_NONE;
	return 0;
}

/* Is [sector, sector + bytes / 512) inside the disk? */
static bool in_disk(const struct blk_dev *b, uint64_t sector, uint64_t bytes)
{
	return sector <= b->sectors && bytes / BLK_SECTOR_SIZE <= b->sectors - sector;
}

static int parse_rw(struct blk_dev *b, struct blk_req *r, const struct virtq_chain *c,
		    uint64_t sector)
{
	bool write = r->type == VIRTIO_BLK_T_OUT;
	uint64_t len = write ? c->readable_len - BLK_HDR_LEN : c->writable_len - 1;

	if (write && b->read_only)
		return answer(b, r, VIRTIO_BLK_S_IOERR, "write to a read-only drive");
	if (len % BLK_SECTOR_SIZE)
		return answer(b, r, VIRTIO_BLK_S_IOERR, "data length is not a multiple of 512");
	if (!in_disk(b, sector, len))
		return answer(b, r, VIRTIO_BLK_S_IOERR, "sectors past the end of the disk");
	r->offset = sector * BLK_SECTOR_SIZE;
	r->len = len;
	r->op = len ? (write ? BLK_OP_WRITE : BLK_OP_READ) : BLK_OP_NONE;
	return req_iov(b, r, c, !write, write ? BLK_HDR_LEN : 0, len);
}

static int parse_get_id(struct blk_dev *b, struct blk_req *r, const struct virtq_chain *c)
{
	uint64_t room = c->writable_len - 1, n = room < sizeof(b->id) ? room : sizeof(b->id);
	int ret = req_iov(b, r, c, true, 0, n);

	for (unsigned int i = 0, done = 0; !ret && i < r->nr_iov; i++) {
		memcpy(r->iov[i].iov_base, b->id + done, r->iov[i].iov_len);
		done += (unsigned int)r->iov[i].iov_len;
	}
	r->used_len += (uint32_t)n;
	return ret;
}

static int parse_discard(struct blk_dev *b, struct blk_req *r, const struct virtq_chain *c)
{
	uint64_t len = c->readable_len - BLK_HDR_LEN;
	bool zero = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	struct { uint64_t sector; uint32_t num_sectors, flags; } seg;
	uint32_t flags;

	if (!b->discard)
		return answer(b, r, VIRTIO_BLK_S_UNSUPP, "discard/write-zeroes not offered");
	if (b->read_only)
		return answer(b, r, VIRTIO_BLK_S_IOERR, "write to a read-only drive");
	if (!len || len % BLK_SEG_LEN)
		return answer(b, r, VIRTIO_BLK_S_IOERR, "segment list length is not 16 * n");
	if (len > BLK_SEG_LEN)
		return answer(b, r, VIRTIO_BLK_S_UNSUPP, "more segments than max_*_seg");
	if (virtq_chain_copy(b->t.gm, c, false, BLK_HDR_LEN, &seg, sizeof(seg)))
		return -EPROTO;
	flags = le32toh(seg.flags);
	if (flags & ~(zero ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0u))
		return answer(b, r, VIRTIO_BLK_S_UNSUPP, "unknown segment flags");
	if (le32toh(seg.num_sectors) > BLK_DISCARD_MAX_SECTORS)
		return answer(b, r, VIRTIO_BLK_S_UNSUPP, "more sectors than max_*_sectors");
	if (!in_disk(b, le64toh(seg.sector), (uint64_t)le32toh(seg.num_sectors) * BLK_SECTOR_SIZE))
		return answer(b, r, VIRTIO_BLK_S_IOERR, "sectors past the end of the disk");
	r->offset = le64toh(seg.sector) * BLK_SECTOR_SIZE;
	r->len = (uint64_t)le32toh(seg.num_sectors) * BLK_SECTOR_SIZE;
	r->unmap = !zero || (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	r->op = !r->len ? BLK_OP_NONE : zero ? BLK_OP_ZERO : BLK_OP_DISCARD;
	return 0;
}

int blk_parse(struct blk_dev *b, const struct virtq_chain *c, struct blk_req *r)
{
	struct { uint32_t type, reserved; uint64_t sector; } hdr;
	const struct virtq_buf *last = &c->bufs[c->nr_bufs ? c->nr_bufs - 1 : 0];

	r->head = c->head;
	r->op = BLK_OP_NONE;
	r->status = VIRTIO_BLK_S_OK;
	r->used_len = 1;
	r->len = 0;
	r->nr_iov = r->iov_start = 0;
	if (c->readable_len < BLK_HDR_LEN || !c->writable_len || !c->nr_bufs ||
	    virtq_chain_copy(b->t.gm, c, false, 0, &hdr, sizeof(hdr)))
		return -EPROTO;  /* no header or nowhere to put the status */
	r->status_gpa = last->gpa + last->len - 1;
	r->type = le32toh(hdr.type);
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return parse_rw(b, r, c, le64toh(hdr.sector));
	case VIRTIO_BLK_T_FLUSH:
		if (!virtio_mmio_has_feature(&b->t, VIRTIO_BLK_F_FLUSH))
			return answer(b, r, VIRTIO_BLK_S_UNSUPP, "FLUSH not negotiated");
		r->op = b->read_only ? BLK_OP_NONE : BLK_OP_FLUSH;
		return 0;
	case VIRTIO_BLK_T_GET_ID:
		return parse_get_id(b, r, c);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return parse_discard(b, r, c);
	default:
		return answer(b, r, VIRTIO_BLK_S_UNSUPP, "unknown request type");
	}
}

/* ---- requests in flight ----------------------------------------------- */

static struct blk_req *req_alloc(struct blk_dev *b)
{
	for (unsigned int i = 0; i < BLK_MAX_REQS; i++) {
		struct blk_req *r = &b->reqs[i];

		if (r->busy)
			continue;
		if (!r->iov) {
			r->iov = r->iov_inline;
			r->iov_cap = BLK_INLINE_IOV;
		}
		r->busy = true;
		r->held = false;
		r->epoch = b->epoch;
		r->seq = b->next_seq++;
		b->nr_busy++;
		return r;
	}
	return NULL;
}

static void req_free(struct blk_dev *b, struct blk_req *r)
{
	r->busy = false;
	b->nr_busy--;
}

static bool is_write(enum blk_op op)
{
	return op == BLK_OP_WRITE || op == BLK_OP_DISCARD || op == BLK_OP_ZERO;
}

/* Write the status, return the chain to the driver (unless the device was
 * reset since the request was taken) and free the request. */
static void req_complete(struct blk_dev *b, struct blk_req *r)
{
	struct virtq *q = &b->t.queues[0];

	if (r->epoch == b->epoch && q->ready && !q->broken) {
		if (gm_write(b->t.gm, r->status_gpa, &r->status, 1) ||
		    virtq_push(q, r->head, r->used_len))
			virtio_mmio_needs_reset(&b->t, "cannot complete a request");
		else
			b->need_irq = true;
	}
	req_free(b, r);
}

/* Is [off, off + len) inside the image as it is now? */
static bool in_image(const struct blk_dev *b, uint64_t off, uint64_t len)
{
	uint64_t cap = b->sectors * BLK_SECTOR_SIZE;

	return off <= cap && len <= cap - off;
}

/* Hand `r` to the engine, or complete it.  Every host operation passes
 * here (first submission, a throttled or held request's, a short
 * transfer's rest), so this is where the range is checked against the
 * image as it is at that moment: blk_set_backing may have put a smaller
 * one in place since blk_parse checked it (issue 12 item 7).  A request
 * of a generation the driver reset goes no further. */
static void req_submit(struct blk_dev *b, struct blk_req *r)
{
	int ret;

	if (r->epoch != b->epoch) {
		r->op = BLK_OP_NONE;  /* req_complete drops it */
	} else if ((r->op == BLK_OP_READ || is_write(r->op)) && !in_image(b, r->offset, r->len)) {
		answer(b, r, VIRTIO_BLK_S_IOERR, "sectors past the end of the image, replaced "
		       "since the request was taken");
	}
	if (r->op == BLK_OP_FLUSH && b->fsync_failed) {
		r->status = VIRTIO_BLK_S_IOERR;  /* an earlier fsync failed: data may be lost */
		r->op = BLK_OP_NONE;
	}
	if (r->op == BLK_OP_NONE) {
		req_complete(b, r);
		return;
	}
	ret = b->engine->submit(b, r);
	if (ret)
		blk_io_done(b, r, ret);
}

/* Is a write accepted before `seq` still in flight? */
static bool earlier_write_busy(const struct blk_dev *b, uint64_t seq)
{
	for (unsigned int i = 0; i < BLK_MAX_REQS; i++) {
		const struct blk_req *r = &b->reqs[i];

		if (r->busy && !r->held && is_write(r->op) && r->seq < seq)
			return true;
	}
	return false;
}

/* Submit the held flushes whose earlier writes have all completed. */
static void release_flushes(struct blk_dev *b)
{
	for (unsigned int i = 0; i < BLK_MAX_REQS && b->nr_held_flushes; i++) {
		struct blk_req *r = &b->reqs[i];

		if (!r->busy || !r->held || earlier_write_busy(b, r->seq))
			continue;
		r->held = false;
		b->nr_held_flushes--;
		req_submit(b, r);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Sleep on the rate limiter for `ns`. */
static void rl_arm(struct blk_dev *b, uint64_t ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ns / 1000000000ULL),
						.tv_nsec = (long)(ns % 1000000000ULL) } };

	if (timerfd_settime(b->rl_timer.fd, 0, &its, NULL))
		log_ratelimited(LOG_WARN, "%s: rate limiter timer: %s", b->name, strerror(errno));
}

/* A parsed request with host work: through the rate limiter (a throttled
 * one waits in b->deferred and stops the queue), then to the engine, or
 * held while it is a FLUSH with earlier writes in flight. */
static void req_go(struct blk_dev *b, struct blk_req *r)
{
	uint64_t bytes = r->op == BLK_OP_READ || r->op == BLK_OP_WRITE ? r->len : 0, wait;

	if (r->op != BLK_OP_NONE && rate_limiter_active(&b->rl)) {
		wait = rate_limiter_consume(&b->rl, bytes, now_ns());
		if (wait) {
			b->stats.throttled++;
			b->deferred = r;
			rl_arm(b, wait);
			return;
		}
	}
	if (r->op == BLK_OP_FLUSH && earlier_write_busy(b, r->seq)) {
		r->held = true;
		b->nr_held_flushes++;
		return;
	}
	req_submit(b, r);
}

/* vmm thread: the rate limiter may have tokens for the deferred request. */
static void on_rl_timer(struct ev_source *src, uint32_t events)
{
	struct blk_dev *b = src->opaque;
	struct blk_req *r;
	uint64_t v;

	(void)events;
	if (read(src->fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&b->t.lock);
	r = b->deferred;
	b->deferred = NULL;
	if (r) {
		req_go(b, r);
		b->t.ops->notify(&b->t, 0);  /* the rest of the queue, unless throttled again */
	}
	pthread_mutex_unlock(&b->t.lock);
}

void blk_set_rate_limiter(struct blk_dev *b, const struct rate_limiter_cfg *cfg)
{
	pthread_mutex_lock(&b->t.lock);
	rate_limiter_set(&b->rl, cfg, now_ns());
	if (b->deferred)
		rl_arm(b, 1);  /* try again under the new limits */
	pthread_mutex_unlock(&b->t.lock);
}

static void req_start(struct blk_dev *b, struct blk_req *r)
{
	int ret = blk_parse(b, &b->chain, r);

	if (ret) {
		req_free(b, r);
		virtio_mmio_needs_reset(&b->t, ret == -ENOMEM ? "out of memory" :
					"descriptor chain is not a block request");
		return;
	}
	if (r->op == BLK_OP_READ) {
		b->stats.reads++;
		b->stats.read_bytes += r->len;
	} else if (r->op == BLK_OP_WRITE) {
		b->stats.writes++;
		b->stats.write_bytes += r->len;
	} else if (r->op == BLK_OP_FLUSH) {
		b->stats.flushes++;
	} else if (r->op != BLK_OP_NONE) {
		b->stats.discards++;
	}
	req_go(b, r);
}

void blk_io_done(struct blk_dev *b, struct blk_req *r, int64_t res)
{
	enum blk_op op = r->op;

	if (op == BLK_OP_READ && res > 0)  /* the host wrote guest RAM: dirty pages */
		gm_mark_dirty_iov(b->t.gm, r->iov + r->iov_start, r->nr_iov);
	if (res == -EOPNOTSUPP && op == BLK_OP_ZERO && !r->unmap) {
		r->unmap = true;  /* no ZERO_RANGE here: a punched hole reads as zeros */
		req_submit(b, r);
		return;
	}
	if ((op == BLK_OP_READ || op == BLK_OP_WRITE) && res > 0 && (uint64_t)res < r->len) {
		uint64_t n = (uint64_t)res;

		if (op == BLK_OP_READ)
			r->used_len += (uint32_t)n;
		r->offset += n;
		r->len -= n;
		while (n >= r->iov[r->iov_start].iov_len) {
			n -= r->iov[r->iov_start].iov_len;
			r->iov_start++;
			r->nr_iov--;
		}
		r->iov[r->iov_start].iov_base = (uint8_t *)r->iov[r->iov_start].iov_base + n;
		r->iov[r->iov_start].iov_len -= n;
		b->stats.short_resumed++;
		req_submit(b, r);
		return;
	}
	if (res < 0 || ((op == BLK_OP_READ || op == BLK_OP_WRITE) && res == 0)) {
		b->stats.io_errors++;
		log_ratelimited(LOG_WARN, "%s: host I/O error at byte %llu: %s", b->name,
				(unsigned long long)r->offset, res ? strerror((int)-res) : "end of file");
		r->status = VIRTIO_BLK_S_IOERR;
		if (op == BLK_OP_FLUSH)
			b->fsync_failed = true;
	} else if (op == BLK_OP_READ) {
		r->used_len += (uint32_t)r->len;
	}
	r->op = BLK_OP_NONE;
	req_complete(b, r);
	if (is_write(op) && b->nr_held_flushes)
		release_flushes(b);
}

void blk_io_flush_used(struct blk_dev *b)
{
	struct virtq *q = &b->t.queues[0];

	if (b->need_irq && virtq_should_interrupt(q))
		virtio_mmio_interrupt(&b->t, VIRTIO_INT_USED);
	b->need_irq = false;
	if (b->starved && b->nr_busy < BLK_MAX_REQS) {
		b->starved = false;
		b->t.ops->notify(&b->t, 0);
	}
}

/* ---- the queue loop ---------------------------------------------------- */

/* The budget ran out with requests maybe still available: have the event
 * loop call on_more once it has served the other sources. */
static void blk_more(struct blk_dev *b)
{
	uint64_t one = 1;

	b->more = true;
	if (write(b->more_src.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_WARN, "%s: more-work eventfd: %s", b->name, strerror(errno));
}

/* Take the available requests (at most a queue's worth per call: a driver
 * re-posting each head as soon as it is used must not keep the vmm thread
 * here; past the budget on_more calls again), then re-enable
 * notifications and look once more for entries that raced with that. */
static void blk_notify(struct virtio_mmio *t, unsigned int queue)
{
	struct blk_dev *b = to_blk(t);
	struct virtq *q = &t->queues[0];
	unsigned int budget = q->size;
	int ret = 1;

	(void)queue;
	b->more = false;  /* this call covers what on_more would have taken */
	do {
		while (ret > 0) {
			struct blk_req *r;

			if (b->deferred)
				goto out;  /* throttled: on_rl_timer resumes */
			r = req_alloc(b);

			if (!r) {
				b->starved = true;  /* resumed by blk_io_flush_used */
				goto out;
			}
			ret = virtq_pop(q, &b->chain);
			if (ret <= 0) {
				req_free(b, r);
				break;
			}
			req_start(b, r);
			if (!--budget) {
				blk_more(b);  /* notifications stay as they are */
				goto out;
			}
		}
		if (ret < 0) {
			virtio_mmio_needs_reset(t, "virtqueue violation");
			goto out;
		}
		ret = 1;
	} while (virtq_enable_notify(q));
out:
	b->engine->kick(b);
	blk_io_flush_used(b);
}

/* vmm thread: a notify stopped at its budget; the loop has served the
 * other sources since, so take the next batch (as on_queue_notify would). */
static void on_more(struct ev_source *src, uint32_t events)
{
	struct blk_dev *b = src->opaque;
	uint64_t v;

	(void)events;
	if (read(src->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&b->t.lock);
	if (b->more && (b->t.status & VIRTIO_STATUS_DRIVER_OK) &&
	    !(b->t.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		b->t.ops->notify(&b->t, 0);  /* sets b->more again if it stops short */
	else
		b->more = false;
	pthread_mutex_unlock(&b->t.lock);
}

/* The driver reset the device: the throttled request and held flushes
 * are dropped, and what is in the engine is cancelled and reaped before
 * the reset completes (virtio 1.2 §2.4: the driver may reuse its buffers
 * at once); those completions belong to the old generation and are
 * dropped too. */
static void blk_reset(struct virtio_mmio *t)
{
	struct blk_dev *b = to_blk(t);

	b->epoch++;
	if (b->deferred) {
		req_free(b, b->deferred);
		b->deferred = NULL;
	}
	for (unsigned int i = 0; i < BLK_MAX_REQS; i++) {
		struct blk_req *r = &b->reqs[i];

		if (r->busy && r->held) {
			r->held = false;
			b->nr_held_flushes--;
			req_free(b, r);
		}
	}
	if (b->engine->cancel)
		b->engine->cancel(b);
	b->need_irq = false;
	b->starved = false;
	b->more = false;
}

/* ---- snapshots ------------------------------------------------------------ */

int blk_quiesce(struct blk_dev *b, uint64_t end_ns, char *err, size_t errlen)
{
	struct virtq *q = &b->t.queues[0];
	struct blk_req *r;
	unsigned int busy;
	int ret = 0;

	pthread_mutex_lock(&b->t.lock);
	busy = b->nr_busy;
	r = b->deferred;
	b->deferred = NULL;
	if (r && r->op == BLK_OP_FLUSH && earlier_write_busy(b, r->seq)) {
		r->held = true;
		b->nr_held_flushes++;
	} else if (r) {
		req_submit(b, r);  /* past the rate limiter: the guest is paused */
	}
	b->engine->kick(b);
	if (b->nr_busy && b->engine->drain)
		ret = b->engine->drain(b, end_ns);
	if (!ret && b->nr_busy)
		ret = -ETIME;
	if (ret)
		snprintf(err, errlen, "%s: %u requests still in flight: %s", b->name, b->nr_busy,
			 ret == -ETIME ? "the host did not finish them in time" : strerror(-ret));
	else if (busy)
		log_info("%s: %u requests in flight completed before the snapshot%s", b->name,
			 busy, r ? " (one throttled)" : "");
	/* blk_io_flush_used without its pop: nothing new is taken now */
	if (b->need_irq && virtq_should_interrupt(q))
		virtio_mmio_interrupt(&b->t, VIRTIO_INT_USED);
	b->need_irq = false;
	pthread_mutex_unlock(&b->t.lock);
	return ret;
}

void blk_save(struct blk_dev *b, struct blk_snap_state *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&b->t.lock);
	rate_limiter_save(&b->rl, now_ns(), &out->rl);
	out->fsync_failed = b->fsync_failed;
	pthread_mutex_unlock(&b->t.lock);
}

int blk_restore(struct blk_dev *b, const struct blk_snap_state *st, char *err, size_t errlen)
{
	if (st->fsync_failed > 1 || st->reserved) {
		snprintf(err, errlen, "%s: invalid device state", b->name);
		return -EINVAL;
	}
	pthread_mutex_lock(&b->t.lock);
	rate_limiter_restore(&b->rl, &st->rl, now_ns());
	b->fsync_failed = st->fsync_failed;
	/* the queue is full of what was taken before: look again once running */
	b->starved = false;
	pthread_mutex_unlock(&b->t.lock);
	return 0;
}

static void blk_config_read(struct virtio_mmio *t, uint32_t off, uint8_t *data, unsigned int size)
{
	struct blk_dev *b = to_blk(t);
	struct blk_config cfg = {
		.capacity = htole64(b->sectors),
		.seg_max = htole32(BLK_SEG_MAX),
		.num_queues = htole16(1),
		.max_discard_sectors = htole32(b->discard ? BLK_DISCARD_MAX_SECTORS : 0),
		.max_discard_seg = htole32(b->discard ? 1 : 0),
		.discard_sector_alignment = htole32(BLK_DISCARD_ALIGN_SECTORS),
		.max_write_zeroes_sectors = htole32(b->discard ? BLK_DISCARD_MAX_SECTORS : 0),
		.max_write_zeroes_seg = htole32(b->discard ? 1 : 0),
		.write_zeroes_may_unmap = b->discard,
	};

	memcpy(data, (uint8_t *)&cfg + off, size);
}

static void blk_config_write(struct virtio_mmio *t, uint32_t off, const uint8_t *data,
			     unsigned int size)
{
	(void)data;
	(void)size;
	t->ignored_writes++;
	log_ratelimited(LOG_WARN, "%s: ignored write to config offset %u: read-only", t->name, off);
}

static const struct virtio_dev_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = BLK_QUEUE_SIZE,
	.config_len = sizeof(struct blk_config),
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.reset = blk_reset,
	.notify = blk_notify,
};

/* ---- set-up ----------------------------------------------------------- */

/* The size of the image open at b->fd; *punch: can it punch holes? */
static int image_size(struct blk_dev *b, const char *path, uint64_t *size, bool *punch)
{
	struct stat st;

	if (fstat(b->fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, size))
			return -errno;
	} else {
		log_error("%s: %s is neither a regular file nor a block device", b->name, path);
		return -EINVAL;
	}
	if (*size % BLK_SECTOR_SIZE)
		log_warn("%s: %s is not a whole number of 512-byte sectors; the last %llu bytes are not visible",
			 b->name, path, (unsigned long long)(*size % BLK_SECTOR_SIZE));
	/* Probe hole punching past the end, where no data lives. */
	*punch = !b->read_only && S_ISREG(st.st_mode) &&
		 !fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    (off_t)((*size + 4095) & ~4095ULL), 4096);
	return 0;
}

static int open_image(struct blk_dev *b, const char *path)
{
	int fd = open(path, (b->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0) {
		fd = -errno;
		log_error("%s: cannot open %s: %s", b->name, path, strerror(errno));
	}
	return fd;
}

int blk_set_backing(struct blk_dev *b, const char *path)
{
	int fd = open_image(b, path), old = b->fd, ret;
	uint64_t size;
	bool punch;

	if (fd < 0)
		return fd;
	pthread_mutex_lock(&b->t.lock);
	b->fd = fd;
	ret = image_size(b, path, &size, &punch);
	if (!ret && b->engine->set_file)
		ret = b->engine->set_file(b);
	if (ret) {
		b->fd = old;
		old = fd;
	} else {
		b->sectors = size / BLK_SECTOR_SIZE;
		b->t.config_generation++;
		if (b->t.status & VIRTIO_STATUS_DRIVER_OK)
			virtio_mmio_interrupt(&b->t, VIRTIO_INT_CONFIG);
		log_info("%s: now backed by %s, %llu sectors", b->name, path,
			 (unsigned long long)b->sectors);
	}
	pthread_mutex_unlock(&b->t.lock);
	close(old);
	return ret;
}

int blk_create(struct blk_dev *b, const struct drive_cfg *cfg, const struct guest_mem *gm,
	       struct ev_loop *loop)
{
	uint64_t size, features = (1ULL << VIRTIO_BLK_F_SEG_MAX) |
				  (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
				  (1ULL << VIRTIO_RING_F_EVENT_IDX);
	int ret;

	snprintf(b->name, sizeof(b->name), "blk %s", cfg->id);
	snprintf(b->id_full, sizeof(b->id_full), "%s", cfg->id);
	/* NUL-padded, not terminated when 20 bytes long (§5.2.6) */
	memcpy(b->id, cfg->id, strnlen(cfg->id, sizeof(b->id)));
	b->fd = -1;
	b->loop = loop;
	b->read_only = cfg->read_only;
	b->flush = cfg->cache == DRIVE_CACHE_WRITEBACK;
	b->engine = cfg->engine == DRIVE_ENGINE_SYNC ? &blk_engine_sync : &blk_engine_uring;
	b->fd = open_image(b, cfg->path);
	if (b->fd < 0)
		return b->fd;
	ret = image_size(b, cfg->path, &size, &b->discard);
	if (ret)
		return ret;
	b->sectors = size / BLK_SECTOR_SIZE;
	features |= b->read_only ? 1ULL << VIRTIO_BLK_F_RO : 0;
	features |= b->flush ? 1ULL << VIRTIO_BLK_F_FLUSH : 0;
	features |= b->discard ? (1ULL << VIRTIO_BLK_F_DISCARD) |
				 (1ULL << VIRTIO_BLK_F_WRITE_ZEROES) : 0;
	ret = virtio_mmio_init(&b->t, b->name, &blk_ops, b, features, gm);
	if (ret)
		return ret;
	rate_limiter_set(&b->rl, &cfg->rate_limiter, now_ns());
	b->rl_timer = (struct ev_source){ .cb = on_rl_timer, .opaque = b,
		.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK) };
	if (b->rl_timer.fd < 0 || ev_add(loop, &b->rl_timer, EPOLLIN))
		return b->rl_timer.fd < 0 ? -errno : -EINVAL;
	b->more_src = (struct ev_source){ .cb = on_more, .opaque = b,
		.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	if (b->more_src.fd < 0 || ev_add(loop, &b->more_src, EPOLLIN))
		return b->more_src.fd < 0 ? -errno : -EINVAL;
	ret = b->engine->init(b);
	if (ret) {
		log_error("%s: cannot start the %s I/O engine: %s", b->name, b->engine->name,
			  strerror(-ret));
		return ret;
	}
	log_info("%s: %s, %llu sectors%s%s, %s engine", b->name, cfg->path,
		 (unsigned long long)b->sectors, b->read_only ? ", read-only" : "",
		 b->flush ? ", writeback (flush offered)" : "", b->engine->name);
	return 0;
}

void blk_destroy(struct blk_dev *b)
{
	b->epoch++;  /* what the engine still reaps is dropped, not pushed */
	if (b->engine)
		b->engine->destroy(b);
	if (b->rl_timer.cb) {
		if (b->rl_timer.fd >= 0) {
			ev_del(b->loop, &b->rl_timer);
			close(b->rl_timer.fd);
		}
		b->rl_timer.cb = NULL;
	}
	if (b->more_src.cb) {
		if (b->more_src.fd >= 0) {
			ev_del(b->loop, &b->more_src);
			close(b->more_src.fd);
		}
		b->more_src.cb = NULL;
	}
	if (b->t.ops)
		virtio_mmio_destroy(&b->t);
	for (unsigned int i = 0; i < BLK_MAX_REQS; i++)
		if (b->reqs[i].iov != b->reqs[i].iov_inline)
			free(b->reqs[i].iov);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}
