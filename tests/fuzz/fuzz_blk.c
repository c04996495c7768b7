// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_blk.c - libFuzzer target over virtio-block (virtio/blk.c) on the
 * virtio-mmio transport and the split virtqueue, Sync engine (and Async for
 * one drive), over fake guest RAM and small memfd images (reopened through
 * /proc/self/fd).
 *
 * Input: 8 control bytes, a script, then the guest RAM image (descriptors,
 * rings, headers, data; zero-padded):
 *   [0] bits 0-3: queue size 2^(n % 9); bit 7: the read-only drive, else
 *       bit 6: the read-write drive on the Async engine (io_uring)
 *   [1] driver features: 0 INDIRECT_DESC, 1 EVENT_IDX, 2 FLUSH, 3 DISCARD,
 *       4 WRITE_ZEROES, 5 RO, 6 SEG_MAX; bit 7: also ask for what the
 *       device does not offer (FEATURES_OK is then refused)
 *   [2] descriptor table at (n & 31) KiB (+8, misaligned, if bit 5)
 *   [3] available ring at n * 128
 *   [4] used ring at n * 128 (+2, misaligned, if bit 6 of [2])
 *   [5..6] starting ring index
 *   [7] script length
 * The driver initialises the device through the registers, then the
 * script notifies, pokes RAM, bumps avail->idx, resets and re-initialises,
 * reads and writes registers, and, as the host: throttles the drive (a
 * rate limiter that parks the next request for an hour), releases it,
 * replaces the image (PATCH /drives: a 4 KiB image or the 32 KiB one
 * again), and turns on a driver that re-posts every used head as soon as
 * the device returns it (from the engine's submit, so while the notify is
 * being served); on the Async drive it also holds the engine's kick back
 * (requests prepared for the ring, not yet submitted, across a swap or a
 * reset).  Every input ends with the limiter released and a device
 * reset; the images are rewritten, so nothing carries over.  The checks:
 * no request left in flight but a parked one (Async: once drained; after a
 * reset, none at all: the reset cancels and reaps them), no notify serves more than
 * a queue's worth of requests (the per-notify budget; the rest goes
 * through the more-work eventfd), the images keep their sizes (nothing
 * written past a disk's end, whichever image was current when the request
 * was taken), and the sanitizers (guest RAM is a global: any access
 * outside it is caught).
 *
 * FUZZ_BLK_WRITE_SEEDS=dir ./fuzz_blk  writes the seed corpus (valid
 * requests of every type), each checked against its expected status bytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio/blk/blk_priv.h"
#include "vmm/core/event.h"
#include "vmm/core/log.h"
#include "vmm/core/memory.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define RAM_SIZE    (32 * 1024)
#define HDR         8
#define MAX_SCRIPT  32
#define IMG_SECTORS 64
#define IMG_SIZE    (IMG_SECTORS * 512)
#define SMALL_SIZE  4096                /* the image PATCH /drives swaps in */
#define HOUR_MS     (3600 * 1000)

enum {
	REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM = 0x038, REG_QUEUE_READY = 0x044,
	REG_INTERRUPT_STATUS = 0x060, REG_INTERRUPT_ACK = 0x064, REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DRIVER_LOW = 0x090, REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_CONFIG = 0x100,
};

enum op { OP_NOTIFY, OP_POKE, OP_AVAIL_BUMP, OP_REINIT, OP_READ_REGS, OP_WRITE_REG,
	  OP_THROTTLE, OP_RELEASE, OP_SWAP, OP_REPOST, OP_RESET, OP_HOLD, OP_COUNT };

static _Alignas(4096) uint8_t ram[RAM_SIZE];
static uint8_t img_content[IMG_SIZE];
static struct guest_mem gm;
static struct ev_loop loop;
#define NDEVS 3
#define ASYNC_DEV 2
/* read-write writeback; read-only unsafe; read-write writeback on Async */
static struct blk_dev *devs[NDEVS];
static int img_fd[NDEVS] = { -1, -1, -1 };
static int small_fd[NDEVS] = { -1, -1, -1 };   /* the 4 KiB images OP_SWAP puts in */
static char img_path[NDEVS][64], small_path[NDEVS][64];
static bool swapped[NDEVS];              /* the small image is current */
static bool small_used[NDEVS];           /* ... was, during this input */
static bool holding;                     /* the Async drive's kick held back */

struct params {
	uint16_t qsize;
	uint64_t features;
	uint64_t desc, avail, used;
	uint16_t start_idx;
};

/* OP_REPOST's driver: the device's engine and notify op, wrapped. */
static const struct params *cur;         /* this input's rings */
static bool reposting;
static uint16_t repost_seen;             /* used entries re-posted so far */
static unsigned int reposts;             /* ... this input, bounded */
static struct blk_engine_ops fuzz_engine[NDEVS];
static struct virtio_dev_ops fuzz_dev_ops[NDEVS];
static void (*real_notify)(struct virtio_mmio *t, unsigned int queue);

/* ---- the driver, through the registers ----------------------------------- */

static void wr(struct blk_dev *b, uint64_t off, uint32_t v)
{
	virtio_mmio_ops.write(&b->t, off, (const uint8_t *)&v, 4);
}

/* A register (size 4) or config-space (1, 2, 4 or 8 bytes) read. */
static uint32_t rd(struct blk_dev *b, uint64_t off, unsigned int size)
{
	uint8_t buf[8] = { 0 };
	uint32_t v;

	virtio_mmio_ops.read(&b->t, off, buf, size);
	memcpy(&v, buf, 4);
	return v;
}

static uint64_t offered(struct blk_dev *b)
{
	uint64_t lo, hi;

	wr(b, REG_DEVICE_FEATURES_SEL, 0);
	lo = rd(b, REG_DEVICE_FEATURES, 4);
	wr(b, REG_DEVICE_FEATURES_SEL, 1);
	hi = rd(b, REG_DEVICE_FEATURES, 4);
	return lo | hi << 32;
}

static void driver_init(struct blk_dev *b, const struct params *p)
{
	uint64_t f = p->features;

	wr(b, REG_STATUS, 0);
	wr(b, REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(b, REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(b, REG_DRIVER_FEATURES_SEL, 0);
	wr(b, REG_DRIVER_FEATURES, (uint32_t)f);
	wr(b, REG_DRIVER_FEATURES_SEL, 1);
	wr(b, REG_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(b, REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			  VIRTIO_STATUS_FEATURES_OK);
	wr(b, REG_QUEUE_SEL, 0);
	wr(b, REG_QUEUE_NUM, p->qsize);
	wr(b, REG_QUEUE_DESC_LOW, (uint32_t)p->desc);
	wr(b, REG_QUEUE_DRIVER_LOW, (uint32_t)p->avail);
	wr(b, REG_QUEUE_DEVICE_LOW, (uint32_t)p->used);
	wr(b, REG_QUEUE_READY, 1);
	wr(b, REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	if (b->t.queues[0].ready && p->start_idx)
		b->t.queues[0].last_avail = b->t.queues[0].used_idx = p->start_idx;
}

/* The driver that re-posts each head as soon as it is used: every used
 * entry since the last call goes back on the available ring (at most
 * 3 queues' worth per input, so that an input ends). */
static void repost(void)
{
	const struct params *p = cur;
	uint16_t used_idx, avail_idx, head;
	uint32_t id;

	if (!reposting || p->used + 4 + 8u * p->qsize > RAM_SIZE ||
	    p->avail + 4 + 2u * p->qsize > RAM_SIZE)
		return;
	memcpy(&used_idx, ram + p->used + 2, 2);
	memcpy(&avail_idx, ram + p->avail + 2, 2);
	for (; repost_seen != used_idx && reposts < 3u * p->qsize; repost_seen++, reposts++) {
		memcpy(&id, ram + p->used + 4 + 8u * (repost_seen % p->qsize), 4);
		head = (uint16_t)id;
		memcpy(ram + p->avail + 4 + 2u * (avail_idx % p->qsize), &head, 2);
		avail_idx++;
	}
	memcpy(ram + p->avail + 2, &avail_idx, 2);
}

static const struct blk_engine_ops *real_engine(const struct blk_dev *b)
{
	return b == devs[ASYNC_DEV] ? &blk_engine_uring : &blk_engine_sync;
}

/* The engine, then the re-posting driver. */
static int fuzz_submit(struct blk_dev *b, struct blk_req *r)
{
	int ret = real_engine(b)->submit(b, r);

	repost();
	return ret;
}

/* The engine's kick, unless OP_HOLD holds it back. */
static void fuzz_kick(struct blk_dev *b)
{
	if (!holding)
		real_engine(b)->kick(b);
}

/* Every notify, the loop's on_more and on_rl_timer ones too: at most a
 * queue's worth of chains taken. */
static void checked_notify(struct virtio_mmio *t, unsigned int queue)
{
	const struct virtq *q = &t->queues[0];
	uint16_t before = q->last_avail;

	real_notify(t, queue);
	CHECK(!q->ready || (uint16_t)(q->last_avail - before) <= q->size);
}

static bool live(const struct blk_dev *b)
{
	return (b->t.status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(b->t.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* What the vmm thread does on a QueueNotify (see on_queue_notify). */
static void notify(struct blk_dev *b)
{
	pthread_mutex_lock(&b->t.lock);
	if (live(b))
		b->t.ops->notify(&b->t, 0);
	pthread_mutex_unlock(&b->t.lock);
	/* then the loop: on_more takes what a notify left past its budget
	 * (a queue's worth; every chain here is served in one or two passes,
	 * or four with the re-posting driver) */
	for (int i = 0; i < 6 && ev_run_once(&loop, 0) > 0; i++)
		;
	if (b != devs[ASYNC_DEV])            /* Sync: all answered but a parked one */
		CHECK(b->nr_busy == (b->deferred ? 1u : 0u));
}

/* Let go of the Async drive's kick: what it held goes to the ring. */
static void hold(struct blk_dev *b, bool on)
{
	bool was = holding;

	holding = on;
	if (was && !on) {
		pthread_mutex_lock(&b->t.lock);
		b->engine->kick(b);
		blk_io_flush_used(b);
		pthread_mutex_unlock(&b->t.lock);
	}
}

/* Async: run the loop until the engine returned everything but a parked
 * request (memfd I/O is quick: a bound of 10 s is never reached). */
static void drain(struct blk_dev *b)
{
	hold(b, false);
	for (int i = 0; i < 1000 && b->nr_busy > (b->deferred ? 1u : 0u); i++)
		ev_run_once(&loop, 10);
	CHECK(b->nr_busy == (b->deferred ? 1u : 0u));
}

/* PATCH /drives rate_limiter: `size` operations per hour, the bucket full
 * (the next request past it is parked), or none (the parked one goes). */
static void throttle(struct blk_dev *b, uint64_t size)
{
	struct rate_limiter_cfg cfg = { .ops = { .set = size != 0, .size = size,
						 .refill_time_ms = HOUR_MS } };

	blk_set_rate_limiter(b, size ? &cfg : &(struct rate_limiter_cfg){ 0 });
}

/* Lift the limiter and run the loop until the parked request went (its
 * timer fires after 1 ns). */
static void release(struct blk_dev *b)
{
	if (b == devs[ASYNC_DEV])
		drain(b);
	throttle(b, 0);
	for (int i = 0; i < 100 && b->deferred; i++)
		ev_run_once(&loop, 1);
	CHECK(!b->deferred);
	for (int i = 0; i < 6 && ev_run_once(&loop, 0) > 0; i++)
		;
}

/* PATCH /drives path_on_host: the 4 KiB image, or the usual one again. */
static void swap(int dev, bool small)
{
	CHECK(blk_set_backing(devs[dev], small ? small_path[dev] : img_path[dev]) == 0);
	swapped[dev] = small;
	small_used[dev] |= small;
}

static void avail_bump(const struct params *p)
{
	uint16_t idx;

	if (p->avail + 4 > RAM_SIZE)
		return;
	memcpy(&idx, ram + p->avail + 2, 2);
	idx++;
	memcpy(ram + p->avail + 2, &idx, 2);
}

/* One script step; returns how many script bytes it consumed. */
static size_t step(int dev, const struct params *p, const uint8_t *s, size_t left)
{
	struct blk_dev *b = devs[dev];

	switch (s[0] % OP_COUNT) {
	case OP_NOTIFY:
		notify(b);
		return 1;
	case OP_POKE:                       /* the driver writes a byte */
		if (left < 4)
			return left;
		ram[(s[1] | (unsigned int)s[2] << 8) % RAM_SIZE] ^= s[3];
		return 4;
	case OP_AVAIL_BUMP:
		avail_bump(p);
		return 1;
	case OP_REINIT:
		driver_init(b, p);
		return 1;
	case OP_READ_REGS:
		if (left < 2)
			return left;
		(void)rd(b, REG_INTERRUPT_STATUS, 4);
		wr(b, REG_INTERRUPT_ACK, s[1] & 3);
		(void)rd(b, REG_STATUS, 4);
		(void)rd(b, REG_CONFIG + s[1] % 72, 1u << (s[1] >> 6 & 3));
		return 2;
	case OP_THROTTLE:                   /* 1 to 4 requests, then parked */
		if (left < 2)
			return left;
		throttle(b, 1 + (s[1] & 3));
		return 2;
	case OP_RELEASE:
		release(b);
		return 1;
	case OP_SWAP:
		if (left < 2)
			return left;
		swap(dev, s[1] & 1);
		return 2;
	case OP_REPOST:                     /* from now on, then a notify */
		if (!reposting && cur->used + 4 <= RAM_SIZE)
			memcpy(&repost_seen, ram + cur->used + 2, 2);
		reposting = true;
		notify(b);
		return 1;
	case OP_RESET:
		wr(b, REG_STATUS, 0);
		CHECK(b->nr_busy == 0 && !b->deferred);
		return 1;
	case OP_HOLD:                       /* Async drive: hold the kick, or let go */
		if (left < 2)
			return left;
		if (b == devs[ASYNC_DEV])
			hold(b, s[1] & 1);
		return 2;
	case OP_WRITE_REG:
	default:                            /* any register write */
		if (left < 4)
			return left;
		wr(b, (uint64_t)(s[1] & 0x3f) * 4, s[2] | (uint32_t)s[3] << 24);
		return 4;
	}
}

static void params(const uint8_t *h, struct blk_dev *b, struct params *p)
{
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1;

	p->qsize = (uint16_t)(1u << ((h[0] & 15) % 9));
	if (h[1] & 1)
		want |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (h[1] & 2)
		want |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (h[1] & 4)
		want |= 1ULL << VIRTIO_BLK_F_FLUSH;
	if (h[1] & 8)
		want |= 1ULL << VIRTIO_BLK_F_DISCARD;
	if (h[1] & 16)
		want |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	if (h[1] & 32)
		want |= 1ULL << VIRTIO_BLK_F_RO;
	if (h[1] & 64)
		want |= 1ULL << VIRTIO_BLK_F_SEG_MAX;
	p->features = h[1] & 128 ? want : want & offered(b);
	p->desc = (uint64_t)(h[2] & 31) * 1024 + (h[2] & 32 ? 8 : 0);
	p->avail = (uint64_t)h[3] * 128;
	p->used = (uint64_t)h[4] * 128 + (h[2] & 64 ? 2 : 0);
	p->start_idx = (uint16_t)(h[5] | h[6] << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blk_dev *b;
	struct params p;
	size_t nscript, off = 0;
	struct stat st;
	uint64_t v;
	int dev;

	if (size < HDR)
		return 0;
	dev = data[0] >> 7 ? 1 : data[0] & 0x40 ? ASYNC_DEV : 0;
	b = devs[dev];
	nscript = data[7] % (MAX_SCRIPT + 1);
	if (size < HDR + nscript)
		nscript = size - HDR;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + HDR + nscript,
	       size - HDR - nscript < RAM_SIZE ? size - HDR - nscript : RAM_SIZE);
	CHECK(pwrite(img_fd[dev], img_content, IMG_SIZE, 0) == IMG_SIZE);
	if (small_used[dev])
		CHECK(pwrite(small_fd[dev], img_content, SMALL_SIZE, 0) == SMALL_SIZE);
	small_used[dev] = false;
	if (swapped[dev])
		swap(dev, false);
	reposting = false;
	reposts = 0;
	holding = false;
	cur = &p;

	params(data, b, &p);
	driver_init(b, &p);
	notify(b);                          /* DRIVER_OK kicks the queue */
	while (off < nscript)
		off += step(dev, &p, data + HDR + off, nscript - off);
	notify(b);
	release(b);
	if (b == devs[ASYNC_DEV])
		drain(b);

	CHECK(b->nr_busy == 0 && b->nr_held_flushes == 0);
	CHECK(fstat(img_fd[dev], &st) == 0 && st.st_size == IMG_SIZE);
	CHECK(fstat(small_fd[dev], &st) == 0 && st.st_size == SMALL_SIZE);
	CHECK(b->t.queues[0].in_flight == 0 || !live(b));
	reposting = false;
	wr(b, REG_STATUS, 0);
	CHECK(b->t.status == 0 && !b->t.queues[0].ready);
	while (read(b->t.irq_efd, &v, sizeof(v)) == sizeof(v))
		;
	return 0;
}

/* ---- the seed corpus ----------------------------------------------------- */

/* Seeds: queue of 16, descriptors at 0, available ring at 0x100, used ring
 * at 0x200, headers at 0x300 + 16 i, status bytes at 0x400 + i, segments at
 * 0x480, indirect tables at 0x500, data from 0x600. */
#define S_DESC   0x000
#define S_AVAIL  0x100
#define S_USED   0x200
#define S_HDR    0x300
#define S_STATUS 0x400
#define S_SEG    0x480
#define S_TABLE  0x500
#define S_DATA   0x600
#define SEED_RAM (S_DATA + 4 * 512)
#define F_NEXT   VIRTQ_DESC_F_NEXT
#define F_WRITE  VIRTQ_DESC_F_WRITE

struct seed {
	const char *name;
	uint8_t in[HDR + MAX_SCRIPT + SEED_RAM];
	uint8_t *ram;
	size_t ram_len;
	uint16_t next_desc, nreq;
	uint8_t want[8];                    /* expected status bytes */
};

/* A seed for drive `dev` (0 read-write, 1 read-only, ASYNC_DEV) whose
 * script is `script` (n bytes). */
static void seed_start_script(struct seed *s, const char *name, uint8_t feat, uint8_t dev,
			      const uint8_t *script, uint8_t n)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->in[0] = 4 | (dev == 1 ? 0x80 : dev == ASYNC_DEV ? 0x40 : 0);   /* 16 entries */
	s->in[1] = feat;
	s->in[2] = 0;
	s->in[3] = S_AVAIL / 128;
	s->in[4] = S_USED / 128;
	s->in[7] = n;
	memcpy(s->in + HDR, script, n);
	s->ram = s->in + HDR + n;
	s->ram_len = S_DATA;
}

/* ... whose script is one notify */
static void seed_start(struct seed *s, const char *name, uint8_t feat, uint8_t dev)
{
	seed_start_script(s, name, feat, dev, (const uint8_t[]){ OP_NOTIFY }, 1);
}

static void seed_put(struct seed *s, uint64_t gpa, const void *p, size_t len)
{
	memcpy(s->ram + gpa, p, len);
	if (gpa + len > s->ram_len)
		s->ram_len = gpa + len;
}

/* Nothing available when the driver sets DRIVER_OK: the script's
 * OP_AVAIL_BUMPs hand the requests over. */
static void seed_unpost(struct seed *s)
{
	uint16_t zero = 0;

	seed_put(s, S_AVAIL + 2, &zero, 2);
}

static void seed_desc(struct seed *s, uint64_t at, uint64_t addr, uint32_t len, uint16_t flags,
		      uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	seed_put(s, at, d, 16);
}

struct sbuf {
	uint64_t gpa;
	uint32_t len;
	bool w;
};

static void seed_avail(struct seed *s, uint16_t head)
{
	uint16_t idx = s->nreq + 1;

	seed_put(s, S_AVAIL + 4 + 2u * s->nreq, &head, 2);
	seed_put(s, S_AVAIL + 2, &idx, 2);
	s->nreq++;
}

/* A chain for request number s->nreq: header type/sector, the buffers
 * given, its status byte; expected status `want`. */
static void seed_req(struct seed *s, uint32_t type, uint64_t sector, const struct sbuf *bufs,
		     unsigned int n, uint8_t want)
{
	uint8_t hdr[16] = { 0 };
	uint16_t h = s->next_desc;
	uint8_t sentinel = 0xee;

	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	seed_put(s, S_HDR + 16u * s->nreq, hdr, 16);
	seed_put(s, S_STATUS + s->nreq, &sentinel, 1);
	seed_desc(s, S_DESC + 16u * h, S_HDR + 16u * s->nreq, 16, F_NEXT, h + 1);
	for (unsigned int i = 0; i < n; i++)
		seed_desc(s, S_DESC + 16u * (h + 1 + i), bufs[i].gpa, bufs[i].len,
			  (uint16_t)(F_NEXT | (bufs[i].w ? F_WRITE : 0)), (uint16_t)(h + 2 + i));
	seed_desc(s, S_DESC + 16u * (h + 1 + n), S_STATUS + s->nreq, 1, F_WRITE, 0);
	s->want[s->nreq] = want;
	s->next_desc = (uint16_t)(h + n + 2);
	seed_avail(s, h);
}

static void seed_seg(struct seed *s, uint64_t sector, uint32_t num, uint32_t flags)
{
	uint8_t seg[16];

	memcpy(seg, &sector, 8);
	memcpy(seg + 8, &num, 4);
	memcpy(seg + 12, &flags, 4);
	seed_put(s, S_SEG, seg, 16);
}

static void seed_data(struct seed *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		s->ram[S_DATA + i] = (uint8_t)(i * 13 + 5);
	if (S_DATA + len > s->ram_len)
		s->ram_len = S_DATA + len;
}

/* Write the seed, then run it and check the status bytes it gets. */
static void seed_emit(struct seed *s, const char *dir)
{
	size_t len = HDR + s->in[7] + s->ram_len;
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/seed-%s", dir, s->name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(s->in, 1, len, fp) != len || fclose(fp)) {
		perror(path);
		exit(1);
	}
	LLVMFuzzerTestOneInput(s->in, len);
	for (unsigned int i = 0; i < s->nreq; i++) {
		if (ram[S_STATUS + i] != s->want[i]) {
			fprintf(stderr, "%s: request %u got status %u, expected %u\n", s->name, i,
				ram[S_STATUS + i], s->want[i]);
			exit(1);
		}
	}
	printf("%s: %zu bytes, %u request(s) as expected\n", path, len, s->nreq);
}

static void write_seeds(const char *dir)
{
	const uint8_t std = 1 | 4 | 8 | 16 | 64;   /* INDIRECT FLUSH DISCARD WRITE_ZEROES SEG_MAX */
	struct seed *s = calloc(1, sizeof(*s));
	uint8_t hdr[16] = { 0 };
	uint32_t type;
	uint64_t sector;

	CHECK(s);
	seed_start(s, "in", std, 0);
	seed_req(s, VIRTIO_BLK_T_IN, 1, (struct sbuf[]){ { S_DATA, 1024, true } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_emit(s, dir);

	seed_start(s, "out", std, 0);
	seed_data(s, 512);
	seed_req(s, VIRTIO_BLK_T_OUT, 2, (struct sbuf[]){ { S_DATA, 512, false } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_emit(s, dir);

	seed_start(s, "flush", std, 0);
	seed_req(s, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, VIRTIO_BLK_S_OK);
	seed_emit(s, dir);

	seed_start(s, "get-id", std, 0);
	seed_req(s, VIRTIO_BLK_T_GET_ID, 0, (struct sbuf[]){ { S_DATA, 20, true } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_emit(s, dir);

	seed_start(s, "discard", std, 0);
	seed_seg(s, 8, 8, 0);
	seed_req(s, VIRTIO_BLK_T_DISCARD, 0, (struct sbuf[]){ { S_SEG, 16, false } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_emit(s, dir);

	seed_start(s, "write-zeroes", std, 0);
	seed_seg(s, 3, 5, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	seed_req(s, VIRTIO_BLK_T_WRITE_ZEROES, 0, (struct sbuf[]){ { S_SEG, 16, false } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_emit(s, dir);

	seed_start(s, "unknown-type", std, 0);
	seed_req(s, 99, 0, (struct sbuf[]){ { S_DATA, 512, true } }, 1, VIRTIO_BLK_S_UNSUPP);
	seed_emit(s, dir);

	seed_start(s, "past-the-end", std, 0);
	seed_req(s, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, (struct sbuf[]){ { S_DATA, 1024, true } },
		 1, VIRTIO_BLK_S_IOERR);
	seed_emit(s, dir);

	seed_start(s, "read-only-out", std & ~(8 | 16), 1);
	seed_data(s, 512);
	seed_req(s, VIRTIO_BLK_T_OUT, 0, (struct sbuf[]){ { S_DATA, 512, false } }, 1,
		 VIRTIO_BLK_S_IOERR);
	seed_req(s, VIRTIO_BLK_T_IN, 0, (struct sbuf[]){ { S_DATA, 512, true } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_emit(s, dir);

	/* Split header, data in three pieces, status shared with the data. */
	seed_start(s, "layouts", std, 0);
	type = VIRTIO_BLK_T_IN;
	sector = 4;
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	seed_put(s, S_HDR, hdr, 16);
	seed_desc(s, S_DESC, S_HDR, 7, F_NEXT, 1);
	seed_desc(s, S_DESC + 16, S_HDR + 7, 9, F_NEXT, 2);
	seed_desc(s, S_DESC + 32, S_DATA, 100, F_NEXT | F_WRITE, 3);
	seed_desc(s, S_DESC + 48, S_DATA + 200, 300, F_NEXT | F_WRITE, 4);
	seed_desc(s, S_DESC + 64, S_DATA + 600, 113, F_WRITE, 0);
	s->ram[S_STATUS] = 0xee;
	seed_avail(s, 0);
	s->want[0] = 0xee;                  /* the status is in the data buffer */
	seed_emit(s, dir);

	/* The same request through an indirect table. */
	seed_start(s, "indirect", std, 0);
	seed_put(s, S_HDR, hdr, 16);
	seed_desc(s, S_TABLE, S_HDR, 16, F_NEXT, 1);
	seed_desc(s, S_TABLE + 16, S_DATA, 512, F_NEXT | F_WRITE, 2);
	seed_desc(s, S_TABLE + 32, S_STATUS, 1, F_WRITE, 0);
	seed_desc(s, S_DESC, S_TABLE, 48, VIRTQ_DESC_F_INDIRECT, 0);
	s->ram[S_STATUS] = 0xee;
	seed_avail(s, 0);
	s->want[0] = VIRTIO_BLK_S_OK;
	seed_emit(s, dir);

	/* One of each in one notification, with EVENT_IDX. */
	seed_start(s, "batch", std | 2, 0);
	seed_data(s, 1024);
	seed_req(s, VIRTIO_BLK_T_OUT, 10, (struct sbuf[]){ { S_DATA, 512, false } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_req(s, VIRTIO_BLK_T_IN, 10, (struct sbuf[]){ { S_DATA + 512, 512, true } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_req(s, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, VIRTIO_BLK_S_OK);
	seed_req(s, VIRTIO_BLK_T_GET_ID, 0, (struct sbuf[]){ { S_DATA + 1024, 20, true } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_seg(s, 20, 2, 0);
	seed_req(s, VIRTIO_BLK_T_WRITE_ZEROES, 0, (struct sbuf[]){ { S_SEG, 16, false } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_emit(s, dir);

	/* A write parked by the rate limiter, then the image replaced by a
	 * 4 KiB one it does not fit (IOERR), then the limiter released. */
	seed_start_script(s, "throttled-swap", std, 0, (const uint8_t[]){
		OP_THROTTLE, 0, OP_AVAIL_BUMP, OP_AVAIL_BUMP, OP_NOTIFY, OP_SWAP, 1, OP_RELEASE },
		8);
	seed_data(s, 512);
	seed_req(s, VIRTIO_BLK_T_IN, 0, (struct sbuf[]){ { S_DATA + 512, 512, true } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_req(s, VIRTIO_BLK_T_OUT, 16, (struct sbuf[]){ { S_DATA, 512, false } }, 1,
		 VIRTIO_BLK_S_IOERR);
	seed_unpost(s);
	seed_emit(s, dir);

	/* The same request parked, then a device reset: dropped unanswered. */
	seed_start_script(s, "throttled-reset", std, 0, (const uint8_t[]){
		OP_THROTTLE, 0, OP_AVAIL_BUMP, OP_AVAIL_BUMP, OP_NOTIFY, OP_RESET }, 6);
	seed_data(s, 512);
	seed_req(s, VIRTIO_BLK_T_IN, 0, (struct sbuf[]){ { S_DATA + 512, 512, true } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_req(s, VIRTIO_BLK_T_OUT, 16, (struct sbuf[]){ { S_DATA, 512, false } }, 1, 0xee);
	seed_unpost(s);
	seed_emit(s, dir);

	/* The driver re-posting each head as soon as it is used, while the
	 * notify is served: 48 more requests, at most 16 per notify. */
	seed_start_script(s, "repost", std, 0, (const uint8_t[]){
		OP_REPOST, OP_AVAIL_BUMP, OP_AVAIL_BUMP, OP_NOTIFY }, 4);
	seed_req(s, VIRTIO_BLK_T_IN, 0, (struct sbuf[]){ { S_DATA, 512, true } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_req(s, VIRTIO_BLK_T_GET_ID, 0, (struct sbuf[]){ { S_DATA + 512, 20, true } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_unpost(s);
	seed_emit(s, dir);
	CHECK(reposts == 48);

	/* Async: a write prepared for the ring but not submitted (the kick
	 * held back) when the image is swapped: it was taken for the old
	 * image and lands there (OK), the small one keeps its size. */
	seed_start_script(s, "async-held-swap", std, ASYNC_DEV, (const uint8_t[]){
		OP_HOLD, 1, OP_AVAIL_BUMP, OP_NOTIFY, OP_SWAP, 1, OP_HOLD, 0 }, 8);
	seed_data(s, 512);
	seed_req(s, VIRTIO_BLK_T_OUT, 16, (struct sbuf[]){ { S_DATA, 512, false } }, 1,
		 VIRTIO_BLK_S_OK);
	seed_unpost(s);
	seed_emit(s, dir);

	/* Async: a read and a write held back at a reset: cancelled and reaped
	 * before the reset completes, unanswered. */
	seed_start_script(s, "async-held-reset", std, ASYNC_DEV, (const uint8_t[]){
		OP_HOLD, 1, OP_AVAIL_BUMP, OP_AVAIL_BUMP, OP_NOTIFY, OP_RESET }, 6);
	seed_data(s, 512);
	seed_req(s, VIRTIO_BLK_T_IN, 0, (struct sbuf[]){ { S_DATA + 512, 512, true } }, 1, 0xee);
	seed_req(s, VIRTIO_BLK_T_OUT, 16, (struct sbuf[]){ { S_DATA, 512, false } }, 1, 0xee);
	seed_unpost(s);
	seed_emit(s, dir);
	free(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("FUZZ_BLK_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);   /* refused requests and violations are expected */
	for (size_t i = 0; i < IMG_SIZE; i++)
		img_content[i] = (uint8_t)(i * 7 + (i >> 9));
	gm_init_fake(&gm, ram, RAM_SIZE);
	CHECK(ev_init(&loop) == 0);
	for (int i = 0; i < NDEVS; i++) {
		static const char *const ids[NDEVS] = { "fuzz-rw", "fuzz-ro", "fuzz-async" };
		struct drive_cfg cfg = {
			.id = (char *)ids[i],
			.path = img_path[i],
			.read_only = i == 1,
			.cache = i == 1 ? DRIVE_CACHE_UNSAFE : DRIVE_CACHE_WRITEBACK,
			.engine = i == ASYNC_DEV ? DRIVE_ENGINE_ASYNC : DRIVE_ENGINE_SYNC,
		};

		img_fd[i] = memfd_create(cfg.id, MFD_CLOEXEC);
		small_fd[i] = memfd_create("fuzz-small", MFD_CLOEXEC);
		CHECK(img_fd[i] >= 0 && small_fd[i] >= 0);
		CHECK(ftruncate(img_fd[i], IMG_SIZE) == 0 && ftruncate(small_fd[i], SMALL_SIZE) == 0);
		snprintf(img_path[i], sizeof(img_path[i]), "/proc/self/fd/%d", img_fd[i]);
		snprintf(small_path[i], sizeof(small_path[i]), "/proc/self/fd/%d", small_fd[i]);
		devs[i] = calloc(1, sizeof(*devs[i]));
		CHECK(devs[i] && blk_create(devs[i], &cfg, &gm, &loop) == 0);
		fuzz_engine[i] = *devs[i]->engine;
		fuzz_engine[i].submit = fuzz_submit;
		fuzz_engine[i].kick = fuzz_kick;
		devs[i]->engine = &fuzz_engine[i];
		fuzz_dev_ops[i] = *devs[i]->t.ops;
		real_notify = fuzz_dev_ops[i].notify;
		fuzz_dev_ops[i].notify = checked_notify;
		devs[i]->t.ops = &fuzz_dev_ops[i];
	}
	if (seeds) {
		write_seeds(seeds);
		exit(0);
	}
	return 0;
}
