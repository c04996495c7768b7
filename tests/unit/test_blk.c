// SPDX-License-Identifier: Apache-2.0
/*
 * test_blk.c - virtio-block (virtio/blk.c, virtio/blk_io.c) end to end: a
 * real struct blk_dev over a temporary image file (or a memfd reopened via
 * /proc/self/fd), fake guest RAM and the vmm's event loop.  The test is the
 * driver: it negotiates through the virtio-mmio registers, lays requests
 * out in a split ring and notifies the queue as the vmm thread would (lock
 * held); for the Async (io_uring) engine it then runs the event loop until
 * every request in flight has completed.
 *
 * Most tests run once per engine (the cmocka prestate says which).  Every
 * check is exact: status bytes, used-ring entries and lengths, the guest
 * buffers and the bytes of the image file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "virtio/blk/blk_priv.h"
#include "vmm/core/event.h"
#include "vmm/core/log.h"
#include "vmm/core/memory.h"

#define S_OK     VIRTIO_BLK_S_OK
#define S_IOERR  VIRTIO_BLK_S_IOERR
#define S_UNSUPP VIRTIO_BLK_S_UNSUPP
#define T_IN     VIRTIO_BLK_T_IN
#define T_OUT    VIRTIO_BLK_T_OUT
#define T_FLUSH  VIRTIO_BLK_T_FLUSH
#define T_GET_ID VIRTIO_BLK_T_GET_ID
#define T_DISCARD VIRTIO_BLK_T_DISCARD
#define T_ZEROES VIRTIO_BLK_T_WRITE_ZEROES
#define UNMAP    VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP

/* Guest RAM layout. */
#define RAM_SIZE   (4ull << 20)
#define DESC_GPA   0x1000ull        /* up to 256 descriptors */
#define AVAIL_GPA  0x2000ull
#define USED_GPA   0x3000ull
#define TABLE_GPA  0x5000ull        /* indirect tables */
#define HDR_GPA    0x6000ull        /* header of the chain with head h: + 16 h */
#define STATUS_GPA 0x7000ull        /* its status byte: + h */
#define MISC_GPA   0x8000ull        /* hand-built headers, segments, ids */
#define DATA_GPA   0x10000ull       /* data buffers */
#define DATA2_GPA  0x100000ull
#define RINGS_END  DATA_GPA

#define SECTORS    2048ull          /* a 1 MiB image */
#define IMG_SIZE   (SECTORS * 512)
#define QSIZE      64
#define SENTINEL   0xee             /* status byte before the device writes it */

static const enum drive_engine engine_sync = DRIVE_ENGINE_SYNC;
static const enum drive_engine engine_async = DRIVE_ENGINE_ASYNC;

struct opts {
	bool read_only;
	bool unsafe;        /* cache Unsafe: no FLUSH offered */
	bool memfd;         /* image in a memfd (no FALLOC_FL_ZERO_RANGE) */
	const char *id;
};

struct fx {
	enum drive_engine engine;
	struct blk_dev *b;
	bool created;
	struct guest_mem gm;
	uint8_t *ram;
	struct ev_loop loop;
	char path[256];
	int img;                    /* the test's own fd on the image */
	uint16_t qsize;
	uint16_t avail_idx;         /* the driver's shadow of avail->idx */
	uint16_t next_desc;         /* next free descriptor */
	/* hold_engine(): the engine with its kick held back */
	const struct blk_engine_ops *real_engine;
	struct blk_engine_ops held_engine;
	bool hold;
};

/* put/get, desc_at, wr/rd and friends, on this fixture (unit_virtio.h) */
#define UNIT_FX      struct fx
#define UNIT_GM(f)   (&(f)->gm)
#define UNIT_MMIO(f) (&(f)->b->t)
#include "unit_virtio.h"

/* ---- the image --------------------------------------------------------- */

/* What the image holds at byte `off` before any write. */
static uint8_t pat(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9) * 13 + 1);
}

static void make_image(struct fx *f, bool memfd)
{
	uint8_t *buf = unit_keep(malloc(IMG_SIZE));

	if (memfd) {
		f->img = memfd_create("test-blk", MFD_CLOEXEC);
		snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->img);
	} else {
		const char *dir = getenv("TMPDIR");

		snprintf(f->path, sizeof(f->path), "%s/ember-test-blk-XXXXXX", dir ? dir : "/tmp");
		f->img = mkstemp(f->path);
	}
	assert_true(f->img >= 0);
	for (uint64_t i = 0; i < IMG_SIZE; i++)
		buf[i] = pat(i);
	assert_int_equal(pwrite(f->img, buf, IMG_SIZE, 0), IMG_SIZE);
	unit_drop(buf);
}

static void img_read(struct fx *f, uint64_t off, void *buf, uint64_t len)
{
	assert_int_equal(pread(f->img, buf, len, (off_t)off), (ssize_t)len);
}

static uint64_t img_size(struct fx *f)
{
	struct stat st;

	assert_int_equal(fstat(f->img, &st), 0);
	return (uint64_t)st.st_size;
}

/* A copy of the whole image, kept until teardown. */
static uint8_t *img_snapshot(struct fx *f)
{
	uint8_t *s = unit_keep(malloc(IMG_SIZE));

	assert_int_equal(img_size(f), IMG_SIZE);
	img_read(f, 0, s, IMG_SIZE);
	return s;
}

static void assert_img_is(struct fx *f, const uint8_t *snap)
{
	uint8_t *now = img_snapshot(f);

	assert_memory_equal(now, snap, IMG_SIZE);
	unit_drop(now);
}

static void assert_img_pattern(struct fx *f, uint64_t off, uint64_t len)
{
	uint8_t *buf = unit_keep(malloc(len));

	img_read(f, off, buf, len);
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != pat(off + i))
			fail_msg("image byte %llu is %#x, expected the pattern's %#x",
				 (unsigned long long)(off + i), buf[i], pat(off + i));
	unit_drop(buf);
}

static void assert_img_zero(struct fx *f, uint64_t off, uint64_t len)
{
	uint8_t *buf = unit_keep(malloc(len));

	img_read(f, off, buf, len);
	for (uint64_t i = 0; i < len; i++)
		if (buf[i])
			fail_msg("image byte %llu is %#x, expected 0",
				 (unsigned long long)(off + i), buf[i]);
	unit_drop(buf);
}

/* ---- guest RAM ----------------------------------------------------------- */

static void put8(struct fx *f, uint64_t gpa, uint8_t v) { put(f, gpa, &v, 1); }

static uint8_t get8(struct fx *f, uint64_t gpa)
{
	uint8_t v;

	get(f, gpa, &v, 1);
	return v;
}

/* Guest data that differs from the image's pattern. */
static void fill(struct fx *f, uint64_t gpa, uint64_t len, uint8_t seed)
{
	for (uint64_t i = 0; i < len; i++)
		put8(f, gpa + i, (uint8_t)(i * 31 + seed));
}

static void fill_byte(struct fx *f, uint64_t gpa, uint64_t len, uint8_t byte)
{
	assert_int_equal(gm_fill(&f->gm, gpa, byte, len), 0);
}

static void assert_ram_byte(struct fx *f, uint64_t gpa, uint64_t len, uint8_t byte)
{
	for (uint64_t i = 0; i < len; i++)
		if (get8(f, gpa + i) != byte)
			fail_msg("guest byte %#llx is %#x, expected %#x",
				 (unsigned long long)(gpa + i), get8(f, gpa + i), byte);
}

/* Guest bytes [gpa, gpa+len) equal the image at byte `off`. */
static void assert_ram_is_img(struct fx *f, uint64_t gpa, uint64_t off, uint64_t len)
{
	uint8_t *buf = unit_keep(malloc(len));

	img_read(f, off, buf, len);
	assert_memory_equal(gm_ptr(&f->gm, gpa, len), buf, len);
	unit_drop(buf);
}

/* ---- the transport, as the driver sees it ----------------------------- */

/* Everything the device offers but EVENT_IDX. */
static uint64_t std_features(struct fx *f)
{
	return device_features(f) & ~BIT(VIRTIO_RING_F_EVENT_IDX);
}

/* Device initialisation as a driver does it (virtio 1.2 §3.1.1), starting
 * with a reset; queue 0 gets `qsize` entries at the fixed ring addresses. */
static void driver_init(struct fx *f, uint64_t features, uint16_t qsize)
{
	wr(f, REG_STATUS, 0);
	assert_int_equal(rd(f, REG_STATUS), 0);
	assert_int_equal(gm_fill(&f->gm, 0, 0, RINGS_END), 0);
	f->avail_idx = f->next_desc = 0;
	f->qsize = qsize;
	assert_int_equal(rd(f, REG_DEVICE_ID), 2);
	driver_negotiate(f, features);
	assert_int_equal(rd(f, REG_STATUS), ACK | DRIVER | FEAT_OK);
	wr(f, REG_QUEUE_SEL, 0);
	assert_int_equal(rd(f, REG_QUEUE_NUM_MAX), BLK_QUEUE_SIZE);
	wr(f, REG_QUEUE_NUM, qsize);
	wr(f, REG_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
	wr(f, REG_QUEUE_DESC_HIGH, 0);
	wr(f, REG_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_GPA);
	wr(f, REG_QUEUE_DRIVER_HIGH, 0);
	wr(f, REG_QUEUE_DEVICE_LOW, (uint32_t)USED_GPA);
	wr(f, REG_QUEUE_DEVICE_HIGH, 0);
	wr(f, REG_QUEUE_READY, 1);
	wr(f, REG_STATUS, LIVE);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
	assert_true(f->b->t.queues[0].ready);
	irqs(f);
	wr(f, REG_INTERRUPT_ACK, VIRTIO_INT_USED | VIRTIO_INT_CONFIG);
}

/* ---- building requests ----------------------------------------------- */

static void desc(struct fx *f, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	desc_at(f, DESC_GPA + 16ull * idx, addr, len, flags, next);
}

/* `n` consecutive free descriptors (from 0 again when the table's end is
 * near: the earlier requests must have completed by then). */
static uint16_t alloc_desc(struct fx *f, unsigned int n)
{
	uint16_t h;

	assert_true(n <= f->qsize);
	if (f->next_desc + n > f->qsize)
		f->next_desc = 0;
	h = f->next_desc;
	f->next_desc = (uint16_t)(f->next_desc + n);
	return h;
}

static void set_avail_idx(struct fx *f, uint16_t idx)
{
	f->avail_idx = idx;
	put16(f, AVAIL_GPA + 2, idx);
}

static void avail(struct fx *f, uint16_t head)
{
	put16(f, AVAIL_GPA + 4 + 2ull * (f->avail_idx % f->qsize), head);
	set_avail_idx(f, (uint16_t)(f->avail_idx + 1));
}

static uint64_t hdr_gpa(uint16_t head)    { return HDR_GPA + 16ull * head; }
static uint64_t status_gpa(uint16_t head) { return STATUS_GPA + head; }
static uint64_t used_event_gpa(struct fx *f)  { return AVAIL_GPA + 4 + 2ull * f->qsize; }
static uint64_t avail_event_gpa(struct fx *f) { return USED_GPA + 4 + 8ull * f->qsize; }

static void put_hdr(struct fx *f, uint64_t gpa, uint32_t type, uint64_t sector)
{
	uint8_t h[16] = { 0 };

	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	put(f, gpa, h, sizeof(h));
}

/* A discard / write-zeroes segment. */
static void put_seg(struct fx *f, uint64_t gpa, uint64_t sector, uint32_t num, uint32_t flags)
{
	uint8_t s[16];

	memcpy(s, &sector, 8);
	memcpy(s + 8, &num, 4);
	memcpy(s + 12, &flags, 4);
	put(f, gpa, s, sizeof(s));
}

struct buf {
	uint64_t gpa;
	uint32_t len;
	bool w;                      /* device-writable */
};

/* The buffers as one chain of direct descriptors, made available. */
static uint16_t chain(struct fx *f, const struct buf *bufs, unsigned int n)
{
	uint16_t h = alloc_desc(f, n);

	for (unsigned int i = 0; i < n; i++)
		desc(f, (uint16_t)(h + i), bufs[i].gpa, bufs[i].len,
		     (uint16_t)((bufs[i].w ? F_WRITE : 0) | (i + 1 < n ? F_NEXT : 0)),
		     (uint16_t)(h + i + 1));
	avail(f, h);
	return h;
}

/* The buffers through one indirect table at `table`, made available. */
static uint16_t chain_indirect(struct fx *f, uint64_t table, const struct buf *bufs,
			       unsigned int n)
{
	uint16_t h = alloc_desc(f, 1);

	for (unsigned int i = 0; i < n; i++)
		desc_at(f, table + 16ull * i, bufs[i].gpa, bufs[i].len,
			(uint16_t)((bufs[i].w ? F_WRITE : 0) | (i + 1 < n ? F_NEXT : 0)),
			(uint16_t)(i + 1));
	desc(f, h, table, 16 * n, F_IND, 0);
	avail(f, h);
	return h;
}

/* The usual request: header | data (`len` bytes at `data`, device-writable
 * for IN and GET_ID; none when 0) | status byte.  Returns the head. */
static uint16_t req(struct fx *f, uint32_t type, uint64_t sector, uint64_t data, uint32_t len)
{
	unsigned int n = len ? 3 : 2;
	uint16_t h = alloc_desc(f, n);
	bool dev_writes = type == T_IN || type == T_GET_ID;

	put_hdr(f, hdr_gpa(h), type, sector);
	put8(f, status_gpa(h), SENTINEL);
	desc(f, h, hdr_gpa(h), 16, F_NEXT, (uint16_t)(h + 1));
	if (len)
		desc(f, (uint16_t)(h + 1), data, len, F_NEXT | (dev_writes ? F_WRITE : 0),
		     (uint16_t)(h + 2));
	desc(f, (uint16_t)(h + n - 1), status_gpa(h), 1, F_WRITE, 0);
	avail(f, h);
	return h;
}

/* A DISCARD or WRITE_ZEROES with one segment. */
static uint16_t req_seg(struct fx *f, uint32_t type, uint64_t sector, uint32_t num,
			uint32_t flags)
{
	uint64_t seg = MISC_GPA + 16ull * f->avail_idx % 0x1000;

	put_seg(f, seg, sector, num, flags);
	return req(f, type, 0, seg, 16);
}

/* ---- running the device ------------------------------------------------- */

/* The vmm thread, woken by the queue's ioeventfd. */
static void notify(struct fx *f)
{
	pthread_mutex_lock(&f->b->t.lock);
	f->b->t.ops->notify(&f->b->t, 0);
	pthread_mutex_unlock(&f->b->t.lock);
}

/* Run the event loop until `busy` requests are left (and at most 10 s). */
static void settle_until(struct fx *f, unsigned int busy)
{
	for (int i = 0; f->b->nr_busy > busy && i < 1000; i++)
		assert_true(ev_run_once(&f->loop, 10) >= 0);
	assert_int_equal(f->b->nr_busy, busy);
}

/* Run the event loop until the engine has finished every request. */
static void settle(struct fx *f)
{
	settle_until(f, 0);
}

/* While `hold` is set the engine's kick (handing queued work to the host,
 * and for Async reaping what the kernel finished inline) is held back, so
 * the requests a notification accepted are surely still in flight.
 * Releasing the hold kicks. */
static struct fx *held_fx;

static void held_kick(struct blk_dev *b)
{
	if (!held_fx->hold)
		held_fx->real_engine->kick(b);
}

static void hold_engine(struct fx *f, bool hold)
{
	if (!f->real_engine) {
		f->real_engine = f->b->engine;
		f->held_engine = *f->real_engine;
		f->held_engine.kick = held_kick;
		f->b->engine = &f->held_engine;
		held_fx = f;
	}
	f->hold = hold;
	if (!hold) {
		pthread_mutex_lock(&f->b->t.lock);
		f->b->engine->kick(f->b);
		blk_io_flush_used(f->b);
		pthread_mutex_unlock(&f->b->t.lock);
	}
}

static void run(struct fx *f)
{
	notify(f);
	settle(f);
}

static uint16_t used_idx(struct fx *f)
{
	return get16(f, USED_GPA + 2);
}

static uint32_t used_id(struct fx *f, uint16_t i)
{
	return get32(f, USED_GPA + 4 + 8ull * (i % f->qsize));
}

static uint32_t used_len_at(struct fx *f, uint16_t i)
{
	return get32(f, USED_GPA + 8 + 8ull * (i % f->qsize));
}

/* Run the one request made available at `head`: exactly one used entry,
 * for it, and no reset asked; returns its used length. */
static uint32_t run_one(struct fx *f, uint16_t head)
{
	uint16_t before = used_idx(f);

	run(f);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
	assert_int_equal(used_idx(f), (uint16_t)(before + 1));
	assert_int_equal(used_id(f, before), head);
	return used_len_at(f, before);
}

/* req() and run_one(): the status byte, *used the used length. */
static uint8_t do_req(struct fx *f, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
		      uint32_t *used)
{
	uint16_t h = req(f, type, sector, data, len);
	uint32_t u = run_one(f, h);

	if (used)
		*used = u;
	return get8(f, status_gpa(h));
}

static uint8_t do_seg(struct fx *f, uint32_t type, uint64_t sector, uint32_t num, uint32_t flags)
{
	uint16_t h = req_seg(f, type, sector, num, flags);

	assert_int_equal(run_one(f, h), 1);
	return get8(f, status_gpa(h));
}

/* ---- fixture ------------------------------------------------------------ */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->engine = *(const enum drive_engine *)*state;
	f->img = -1;
	f->b = calloc(1, sizeof(*f->b));
	f->ram = calloc(1, RAM_SIZE);
	if (!f->b || !f->ram || ev_init(&f->loop))
		return -1;
	gm_init_fake(&f->gm, f->ram, RAM_SIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->created) {
		if (f->real_engine) {
			f->hold = false;
			f->b->engine->kick(f->b);
		}
		for (int i = 0; f->b->nr_busy && i < 1000; i++)
			ev_run_once(&f->loop, 10);
		if (f->real_engine)
			f->b->engine = f->real_engine;
		blk_destroy(f->b);
	}
	ev_close(&f->loop);
	if (f->img >= 0)
		close(f->img);
	if (f->path[0] && strncmp(f->path, "/proc/", 6))
		unlink(f->path);
	unit_drop_all();
	free(f->ram);
	free(f->b);
	free(f);
	return 0;
}

/* Create the device over a fresh patterned image. */
static void dev_create(struct fx *f, const struct opts *o)
{
	struct drive_cfg cfg = {
		.id = (char *)(o->id ? o->id : "disk0"),
		.path = f->path,
		.read_only = o->read_only,
		.cache = o->unsafe ? DRIVE_CACHE_UNSAFE : DRIVE_CACHE_WRITEBACK,
		.engine = f->engine,
	};

	make_image(f, o->memfd);
	f->created = true;
	assert_ret(blk_create(f->b, &cfg, &f->gm, &f->loop), 0);
	assert_int_equal(f->b->sectors, SECTORS);
}

/* The common start: a writeback drive, everything but EVENT_IDX negotiated. */
static void start(struct fx *f)
{
	dev_create(f, &(struct opts){ 0 });
	driver_init(f, std_features(f), QSIZE);
}

/* ---- request types ------------------------------------------------------ */

static void test_features_and_config(void **state)
{
	struct fx *f = *state;
	uint64_t cap = 0;
	uint32_t v;

	dev_create(f, &(struct opts){ 0 });
	assert_int_equal(device_features(f),
			 BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_SEG_MAX) |
			 BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_RING_F_EVENT_IDX) |
			 BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_DISCARD) |
			 BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	virtio_mmio_ops.read(&f->b->t, REG_CONFIG, (uint8_t *)&cap, 8);
	assert_int_equal(cap, SECTORS);
	v = 0;
	virtio_mmio_ops.read(&f->b->t, REG_CONFIG + 12, (uint8_t *)&v, 4);  /* seg_max */
	assert_int_equal(v, BLK_SEG_MAX);
	virtio_mmio_ops.read(&f->b->t, REG_CONFIG + 40, (uint8_t *)&v, 4);  /* max_discard_seg */
	assert_int_equal(v, 1);
	virtio_mmio_ops.read(&f->b->t, REG_CONFIG + 52, (uint8_t *)&v, 4);  /* max_write_zeroes_seg */
	assert_int_equal(v, 1);
	/* The config space is read-only. */
	cap = 1;
	virtio_mmio_ops.write(&f->b->t, REG_CONFIG, (const uint8_t *)&cap, 8);
	virtio_mmio_ops.read(&f->b->t, REG_CONFIG, (uint8_t *)&cap, 8);
	assert_int_equal(cap, SECTORS);
}

static void test_read(void **state)
{
	struct fx *f = *state;
	uint32_t used;

	start(f);
	fill_byte(f, DATA_GPA, 2048, 0x55);
	assert_int_equal(do_req(f, T_IN, 3, DATA_GPA, 1024, &used), S_OK);
	assert_int_equal(used, 1024 + 1);
	assert_ram_is_img(f, DATA_GPA, 3 * 512, 1024);
	assert_ram_byte(f, DATA_GPA + 1024, 1024, 0x55);   /* nothing past the buffer */
	assert_int_equal(f->b->stats.reads, 1);
	assert_int_equal(f->b->stats.read_bytes, 1024);
}

/* With dirty pages tracked (Diff snapshots), a READ marks the pages the
 * host wrote the data into (io_uring writes straight into guest RAM, which
 * KVM's log never sees), and every request the used ring and its status
 * byte; a WRITE's data, only read, stays clean. */
static bool page_dirty(const uint64_t *bits, uint64_t gpa)
{
	return bits[gpa / GM_PAGE_SIZE / 64] >> (gpa / GM_PAGE_SIZE % 64) & 1;
}

static void test_read_marks_dirty(void **state)
{
	struct fx *f = *state;
	uint64_t bits[RAM_SIZE / GM_PAGE_SIZE / 64];
	uint32_t used;

	assert_ret(gm_dirty_init(&f->gm), 0);
	start(f);
	memset(bits, 0, sizeof(bits));
	gm_dirty_take(&f->gm, bits);
	memset(bits, 0, sizeof(bits));
	assert_int_equal(do_req(f, T_OUT, 0, DATA_GPA, 512, &used), S_OK);
	gm_dirty_take(&f->gm, bits);
	assert_false(page_dirty(bits, DATA_GPA));
	assert_true(page_dirty(bits, STATUS_GPA) && page_dirty(bits, USED_GPA));
	memset(bits, 0, sizeof(bits));
	assert_int_equal(do_req(f, T_IN, 3, DATA2_GPA + 0xe00, 1024, &used), S_OK);
	gm_dirty_take(&f->gm, bits);
	assert_ram_is_img(f, DATA2_GPA + 0xe00, 3 * 512, 1024);
	assert_true(page_dirty(bits, DATA2_GPA) && page_dirty(bits, DATA2_GPA + 0x1000));
	assert_false(page_dirty(bits, DATA2_GPA + 0x2000) || page_dirty(bits, DATA_GPA));
	free(f->gm.dirty);
	f->gm.dirty = NULL;
}

static void test_write(void **state)
{
	struct fx *f = *state;
	uint32_t used;

	start(f);
	fill(f, DATA_GPA, 1536, 1);
	assert_int_equal(do_req(f, T_OUT, 5, DATA_GPA, 1536, &used), S_OK);
	assert_int_equal(used, 1);
	assert_ram_is_img(f, DATA_GPA, 5 * 512, 1536);
	assert_img_pattern(f, 0, 5 * 512);
	assert_img_pattern(f, 8 * 512, IMG_SIZE - 8 * 512);
	assert_int_equal(img_size(f), IMG_SIZE);
	/* and back */
	fill_byte(f, DATA2_GPA, 1536, 0);
	assert_int_equal(do_req(f, T_IN, 5, DATA2_GPA, 1536, &used), S_OK);
	assert_int_equal(used, 1537);
	assert_memory_equal(gm_ptr(&f->gm, DATA2_GPA, 1536), gm_ptr(&f->gm, DATA_GPA, 1536), 1536);
}

static void test_flush_writeback(void **state)
{
	struct fx *f = *state;
	uint32_t used;

	start(f);
	assert_true(f->b->t.driver_features & BIT(VIRTIO_BLK_F_FLUSH));
	assert_int_equal(do_req(f, T_FLUSH, 0, 0, 0, &used), S_OK);
	assert_int_equal(used, 1);
	/* The sector field of a FLUSH is ignored. */
	assert_int_equal(do_req(f, T_FLUSH, UINT64_MAX, 0, 0, &used), S_OK);
	assert_int_equal(f->b->stats.flushes, 2);
}

static void test_flush_not_negotiated(void **state)
{
	struct fx *f = *state;
	uint32_t used;

	dev_create(f, &(struct opts){ 0 });
	driver_init(f, std_features(f) & ~BIT(VIRTIO_BLK_F_FLUSH), QSIZE);
	assert_int_equal(do_req(f, T_FLUSH, 0, 0, 0, &used), S_UNSUPP);
	assert_int_equal(used, 1);
	assert_int_equal(f->b->stats.flushes, 0);
}

static void test_flush_unsafe(void **state)
{
	struct fx *f = *state;
	uint64_t feat;

	dev_create(f, &(struct opts){ .unsafe = true });
	feat = device_features(f);
	assert_false(feat & BIT(VIRTIO_BLK_F_FLUSH));
	/* A driver that accepts FLUSH anyway does not get FEATURES_OK. */
	wr(f, REG_STATUS, ACK);
	wr(f, REG_STATUS, ACK | DRIVER);
	wr(f, REG_DRIVER_FEATURES_SEL, 0);
	wr(f, REG_DRIVER_FEATURES, (uint32_t)(feat | BIT(VIRTIO_BLK_F_FLUSH)));
	wr(f, REG_DRIVER_FEATURES_SEL, 1);
	wr(f, REG_DRIVER_FEATURES, (uint32_t)(feat >> 32));
	wr(f, REG_STATUS, ACK | DRIVER | FEAT_OK);
	assert_int_equal(rd(f, REG_STATUS), ACK | DRIVER);
	driver_init(f, feat & ~BIT(VIRTIO_RING_F_EVENT_IDX), QSIZE);
	assert_int_equal(do_req(f, T_FLUSH, 0, 0, 0, NULL), S_UNSUPP);
}

static void test_get_id(void **state)
{
	struct fx *f = *state;
	uint32_t used;

	dev_create(f, &(struct opts){ .id = "root-disk" });
	driver_init(f, std_features(f), QSIZE);
	fill_byte(f, DATA_GPA, 64, 0xaa);
	assert_int_equal(do_req(f, T_GET_ID, 0, DATA_GPA, 20, &used), S_OK);
	assert_int_equal(used, 20 + 1);
	assert_memory_equal(gm_ptr(&f->gm, DATA_GPA, 20), "root-disk\0\0\0\0\0\0\0\0\0\0\0", 20);
	assert_ram_byte(f, DATA_GPA + 20, 44, 0xaa);
	/* A bigger buffer still gets 20 bytes; a smaller one a truncated id. */
	fill_byte(f, DATA_GPA, 64, 0xaa);
	assert_int_equal(do_req(f, T_GET_ID, 0, DATA_GPA, 64, &used), S_OK);
	assert_int_equal(used, 21);
	assert_memory_equal(gm_ptr(&f->gm, DATA_GPA, 20), "root-disk\0\0\0\0\0\0\0\0\0\0\0", 20);
	assert_ram_byte(f, DATA_GPA + 20, 44, 0xaa);
	fill_byte(f, DATA_GPA, 64, 0xaa);
	assert_int_equal(do_req(f, T_GET_ID, 0, DATA_GPA, 4, &used), S_OK);
	assert_int_equal(used, 4 + 1);
	assert_memory_equal(gm_ptr(&f->gm, DATA_GPA, 4), "root", 4);
	assert_ram_byte(f, DATA_GPA + 4, 60, 0xaa);
	/* No room at all but the status: an empty id. */
	assert_int_equal(do_req(f, T_GET_ID, 0, 0, 0, &used), S_OK);
	assert_int_equal(used, 1);
}

static void test_get_id_20_chars(void **state)
{
	struct fx *f = *state;
	uint32_t used;

	/* 20 characters: no NUL; longer ids are cut at 20. */
	dev_create(f, &(struct opts){ .id = "abcdefghijklmnopqrstuvwxyz" });
	driver_init(f, std_features(f), QSIZE);
	fill_byte(f, DATA_GPA, 32, 0xaa);
	assert_int_equal(do_req(f, T_GET_ID, 0, DATA_GPA, 32, &used), S_OK);
	assert_int_equal(used, 21);
	assert_memory_equal(gm_ptr(&f->gm, DATA_GPA, 20), "abcdefghijklmnopqrst", 20);
	assert_ram_byte(f, DATA_GPA + 20, 12, 0xaa);
}

static void check_discard(struct fx *f)
{
	uint8_t *snap;

	/* A 4 KiB-aligned range and an unaligned one. */
	assert_int_equal(do_seg(f, T_DISCARD, 8, 8, 0), S_OK);
	assert_img_zero(f, 8 * 512, 8 * 512);
	assert_img_pattern(f, 0, 8 * 512);
	assert_int_equal(do_seg(f, T_DISCARD, 21, 3, 0), S_OK);
	assert_img_zero(f, 21 * 512, 3 * 512);
	assert_img_pattern(f, 16 * 512, 5 * 512);
	assert_img_pattern(f, 24 * 512, IMG_SIZE - 24 * 512);
	/* Up to the last sector; nothing at all for 0 sectors. */
	assert_int_equal(do_seg(f, T_DISCARD, SECTORS - 2, 2, 0), S_OK);
	assert_img_zero(f, IMG_SIZE - 1024, 1024);
	snap = img_snapshot(f);
	assert_int_equal(do_seg(f, T_DISCARD, 100, 0, 0), S_OK);
	assert_img_is(f, snap);
	assert_int_equal(img_size(f), IMG_SIZE);
	assert_int_equal(f->b->stats.discards, 3);
}

static void test_discard(void **state)
{
	struct fx *f = *state;

	start(f);
	check_discard(f);
}

static void test_discard_memfd(void **state)
{
	struct fx *f = *state;

	dev_create(f, &(struct opts){ .memfd = true });
	driver_init(f, std_features(f), QSIZE);
	check_discard(f);
}

static void check_write_zeroes(struct fx *f)
{
	assert_int_equal(do_seg(f, T_ZEROES, 40, 8, 0), S_OK);
	assert_img_zero(f, 40 * 512, 8 * 512);
	assert_int_equal(do_seg(f, T_ZEROES, 61, 5, UNMAP), S_OK);
	assert_img_zero(f, 61 * 512, 5 * 512);
	assert_int_equal(do_seg(f, T_ZEROES, 99, 1, 0), S_OK);
	assert_img_zero(f, 99 * 512, 512);
	assert_img_pattern(f, 0, 40 * 512);
	assert_img_pattern(f, 48 * 512, 13 * 512);
	assert_img_pattern(f, 66 * 512, 33 * 512);
	assert_img_pattern(f, 100 * 512, IMG_SIZE - 100 * 512);
	assert_int_equal(img_size(f), IMG_SIZE);
}

static void test_write_zeroes(void **state)
{
	struct fx *f = *state;

	start(f);
	check_write_zeroes(f);
}

/* No FALLOC_FL_ZERO_RANGE on shmem: the device falls back to a hole. */
static void test_write_zeroes_memfd(void **state)
{
	struct fx *f = *state;

	dev_create(f, &(struct opts){ .memfd = true });
	driver_init(f, std_features(f), QSIZE);
	check_write_zeroes(f);
}

static void test_discard_invalid(void **state)
{
	struct fx *f = *state;
	uint8_t *snap;
	uint16_t h;

	start(f);
	snap = img_snapshot(f);
	/* Two segments (max_discard_seg is 1). */
	for (int zero = 0; zero < 2; zero++) {
		put_seg(f, MISC_GPA, 8, 8, 0);
		put_seg(f, MISC_GPA + 16, 32, 8, 0);
		assert_int_equal(do_req(f, zero ? T_ZEROES : T_DISCARD, 0, MISC_GPA, 32, NULL),
				 S_UNSUPP);
	}
	/* Unknown flags: UNMAP means nothing for DISCARD. */
	assert_int_equal(do_seg(f, T_DISCARD, 8, 8, UNMAP), S_UNSUPP);
	assert_int_equal(do_seg(f, T_DISCARD, 8, 8, 2), S_UNSUPP);
	assert_int_equal(do_seg(f, T_ZEROES, 8, 8, 2), S_UNSUPP);
	assert_int_equal(do_seg(f, T_ZEROES, 8, 8, 0x80000000u | UNMAP), S_UNSUPP);
	/* The segment list is not 16 * n bytes (or empty). */
	put_seg(f, MISC_GPA, 8, 8, 0);
	assert_int_equal(do_req(f, T_DISCARD, 0, MISC_GPA, 15, NULL), S_IOERR);
	assert_int_equal(do_req(f, T_DISCARD, 0, MISC_GPA, 17, NULL), S_IOERR);
	assert_int_equal(do_req(f, T_ZEROES, 0, MISC_GPA, 24, NULL), S_IOERR);
	assert_int_equal(do_req(f, T_ZEROES, 0, 0, 0, NULL), S_IOERR);
	/* Past the end, overflowing, too many sectors. */
	assert_int_equal(do_seg(f, T_DISCARD, SECTORS - 1, 2, 0), S_IOERR);
	assert_int_equal(do_seg(f, T_ZEROES, SECTORS, 1, 0), S_IOERR);
	assert_int_equal(do_seg(f, T_DISCARD, UINT64_MAX, 1, 0), S_IOERR);
	assert_int_equal(do_seg(f, T_ZEROES, UINT64_MAX - 7, 8, UNMAP), S_IOERR);
	assert_int_equal(do_seg(f, T_DISCARD, UINT64_MAX / 512 + 1, 1, 0), S_IOERR);
	assert_int_equal(do_seg(f, T_DISCARD, 0, BLK_DISCARD_MAX_SECTORS + 1, 0), S_UNSUPP);
	assert_int_equal(do_seg(f, T_ZEROES, 0, UINT32_MAX, 0), S_UNSUPP);
	/* A segment split over two descriptors is fine. */
	put_seg(f, MISC_GPA + 0x100, 8, 8, 0);
	h = alloc_desc(f, 4);
	put_hdr(f, hdr_gpa(h), T_DISCARD, 0);
	put8(f, status_gpa(h), SENTINEL);
	desc(f, h, hdr_gpa(h), 16, F_NEXT, h + 1);
	desc(f, h + 1, MISC_GPA + 0x100, 5, F_NEXT, h + 2);
	desc(f, h + 2, MISC_GPA + 0x105, 11, F_NEXT, h + 3);
	desc(f, h + 3, status_gpa(h), 1, F_WRITE, 0);
	avail(f, h);
	assert_int_equal(run_one(f, h), 1);
	assert_int_equal(get8(f, status_gpa(h)), S_OK);
	assert_img_zero(f, 8 * 512, 8 * 512);
	memset(snap + 8 * 512, 0, 8 * 512);
	assert_img_is(f, snap);
	assert_int_equal(f->b->stats.discards, 1);
}

static void test_unknown_type(void **state)
{
	static const uint32_t types[] = { VIRTIO_BLK_T_SCSI_CMD, 3, 5, 9, 10, 12,
					  VIRTIO_BLK_T_SECURE_ERASE, 0x100,
					  VIRTIO_BLK_T_BARRIER, VIRTIO_BLK_T_BARRIER | T_OUT,
					  UINT32_MAX };
	struct fx *f = *state;
	uint8_t *snap;
	uint32_t used;

	start(f);
	snap = img_snapshot(f);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		fill_byte(f, DATA_GPA, 512, 0x5a);
		/* with a device-writable buffer... */
		assert_int_equal(do_req(f, types[i], 1, DATA_GPA, 512, &used), S_UNSUPP);
		assert_int_equal(used, 1);
		assert_ram_byte(f, DATA_GPA, 512, 0x5a);
		/* ...and with a readable one */
		{
			uint16_t h = alloc_desc(f, 3);

			put_hdr(f, hdr_gpa(h), types[i], 1);
			put8(f, status_gpa(h), SENTINEL);
			desc(f, h, hdr_gpa(h), 16, F_NEXT, h + 1);
			desc(f, h + 1, DATA_GPA, 512, F_NEXT, h + 2);
			desc(f, h + 2, status_gpa(h), 1, F_WRITE, 0);
			avail(f, h);
			assert_int_equal(run_one(f, h), 1);
			assert_int_equal(get8(f, status_gpa(h)), S_UNSUPP);
		}
	}
	assert_img_is(f, snap);
	assert_int_equal(f->b->stats.invalid_reqs, 2 * ARRAY_SIZE(types));
}

/* ---- bounds ------------------------------------------------------------- */

static void test_bounds(void **state)
{
	static const uint64_t wild[] = { SECTORS, SECTORS + 1, UINT64_MAX, UINT64_MAX - 1,
					 UINT64_MAX / 512, UINT64_MAX / 512 + 1,
					 (UINT64_MAX / 512) - SECTORS, 1ull << 55, 1ull << 63 };
	struct fx *f = *state;
	uint8_t *snap;
	uint32_t used;

	start(f);
	/* The last sector, and a write ending exactly there. */
	fill_byte(f, DATA_GPA, 1024, 0x11);
	assert_int_equal(do_req(f, T_IN, SECTORS - 1, DATA_GPA, 512, &used), S_OK);
	assert_int_equal(used, 513);
	assert_ram_is_img(f, DATA_GPA, IMG_SIZE - 512, 512);
	fill(f, DATA_GPA, 1024, 9);
	assert_int_equal(do_req(f, T_OUT, SECTORS - 2, DATA_GPA, 1024, &used), S_OK);
	assert_ram_is_img(f, DATA_GPA, IMG_SIZE - 1024, 1024);
	assert_int_equal(img_size(f), IMG_SIZE);

	snap = img_snapshot(f);
	/* One sector too far. */
	fill(f, DATA_GPA, 1024, 3);
	assert_int_equal(do_req(f, T_OUT, SECTORS - 1, DATA_GPA, 1024, &used), S_IOERR);
	assert_int_equal(used, 1);
	fill_byte(f, DATA2_GPA, 1024, 0x77);
	assert_int_equal(do_req(f, T_IN, SECTORS - 1, DATA2_GPA, 1024, &used), S_IOERR);
	assert_int_equal(used, 1);
	assert_ram_byte(f, DATA2_GPA, 1024, 0x77);
	/* Past the end and sector arithmetic that would overflow. */
	for (size_t i = 0; i < ARRAY_SIZE(wild); i++) {
		assert_int_equal(do_req(f, T_OUT, wild[i], DATA_GPA, 512, &used), S_IOERR);
		assert_int_equal(used, 1);
		assert_int_equal(do_req(f, T_IN, wild[i], DATA2_GPA, 512, &used), S_IOERR);
		assert_int_equal(used, 1);
		assert_ram_byte(f, DATA2_GPA, 512, 0x77);
	}
	assert_img_is(f, snap);
	assert_int_equal(f->b->stats.writes, 1);
	assert_int_equal(f->b->stats.reads, 1);
}

static void test_bad_length(void **state)
{
	static const uint32_t lens[] = { 1, 100, 511, 513, 1000, 4095 };
	struct fx *f = *state;
	uint8_t *snap;
	uint32_t used;

	start(f);
	snap = img_snapshot(f);
	fill(f, DATA_GPA, 4096, 5);
	fill_byte(f, DATA2_GPA, 4096, 0x77);
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		assert_int_equal(do_req(f, T_OUT, 4, DATA_GPA, lens[i], &used), S_IOERR);
		assert_int_equal(used, 1);
		assert_int_equal(do_req(f, T_IN, 4, DATA2_GPA, lens[i], &used), S_IOERR);
		assert_int_equal(used, 1);
	}
	assert_ram_byte(f, DATA2_GPA, 4096, 0x77);
	assert_img_is(f, snap);
	/* No data at all is a valid (empty) transfer. */
	assert_int_equal(do_req(f, T_IN, 4, 0, 0, &used), S_OK);
	assert_int_equal(used, 1);
	assert_int_equal(do_req(f, T_OUT, 4, 0, 0, &used), S_OK);
	assert_int_equal(used, 1);
	assert_img_is(f, snap);
}

/* ---- read-only drives --------------------------------------------------- */

static void test_read_only(void **state)
{
	struct fx *f = *state;
	uint64_t feat;
	uint8_t *snap;
	uint32_t used;

	dev_create(f, &(struct opts){ .read_only = true });
	feat = device_features(f);
	assert_true(feat & BIT(VIRTIO_BLK_F_RO));
	/* Nothing can be discarded on a read-only drive: not offered. */
	assert_false(feat & BIT(VIRTIO_BLK_F_DISCARD));
	assert_false(feat & BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	driver_init(f, feat & ~BIT(VIRTIO_RING_F_EVENT_IDX), QSIZE);
	snap = img_snapshot(f);
	fill(f, DATA_GPA, 1024, 7);
	assert_int_equal(do_req(f, T_OUT, 2, DATA_GPA, 1024, &used), S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(do_req(f, T_OUT, 2, 0, 0, &used), S_IOERR);
	/* DISCARD / WRITE_ZEROES were not offered: the driver is told so. */
	assert_int_equal(do_seg(f, T_DISCARD, 2, 2, 0), S_UNSUPP);
	assert_int_equal(do_seg(f, T_ZEROES, 2, 2, 0), S_UNSUPP);
	assert_int_equal(do_seg(f, T_ZEROES, 2, 2, UNMAP), S_UNSUPP);
	assert_img_is(f, snap);
	/* Reads and flushes work. */
	assert_int_equal(do_req(f, T_IN, 2, DATA_GPA, 1024, &used), S_OK);
	assert_int_equal(used, 1025);
	assert_ram_is_img(f, DATA_GPA, 1024, 1024);
	assert_int_equal(do_req(f, T_FLUSH, 0, 0, 0, NULL), S_OK);
	assert_int_equal(f->b->stats.writes, 0);
	assert_int_equal(f->b->stats.discards, 0);
	assert_img_is(f, snap);
}

/* ---- layouts ------------------------------------------------------------ */

static void test_layout_split_header(void **state)
{
	static const uint32_t cuts[] = { 1, 4, 8, 12, 15 };
	struct fx *f = *state;

	start(f);
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		uint32_t c = cuts[i];
		uint64_t sector = 10 + 2 * i;
		uint16_t h;

		/* OUT: two header pieces (the second after a zero-length one),
		 * data, status */
		put_hdr(f, MISC_GPA, T_OUT, sector);
		fill(f, DATA_GPA, 1024, (uint8_t)i);
		put8(f, MISC_GPA + 0x80, SENTINEL);
		h = chain(f, (struct buf[]){ { MISC_GPA, c, false }, { 0, 0, false },
					     { MISC_GPA + c, 16 - c, false },
					     { DATA_GPA, 1024, false }, { MISC_GPA + 0x80, 1, true } }, 5);
		assert_int_equal(run_one(f, h), 1);
		assert_int_equal(get8(f, MISC_GPA + 0x80), S_OK);
		assert_ram_is_img(f, DATA_GPA, sector * 512, 1024);
		/* IN through the same kind of header */
		put_hdr(f, MISC_GPA, T_IN, sector);
		fill_byte(f, DATA2_GPA, 1024, 0);
		put8(f, MISC_GPA + 0x80, SENTINEL);
		h = chain(f, (struct buf[]){ { MISC_GPA, c, false }, { MISC_GPA + c, 16 - c, false },
					     { DATA2_GPA, 1024, true }, { MISC_GPA + 0x80, 1, true } }, 4);
		assert_int_equal(run_one(f, h), 1025);
		assert_int_equal(get8(f, MISC_GPA + 0x80), S_OK);
		assert_ram_is_img(f, DATA2_GPA, sector * 512, 1024);
	}
	assert_img_pattern(f, 0, 10 * 512);
	assert_img_pattern(f, 20 * 512, IMG_SIZE - 20 * 512);
}

static void test_layout_shared_descriptors(void **state)
{
	struct fx *f = *state;
	uint16_t h;

	start(f);
	/* OUT: header and data in one readable descriptor. */
	put_hdr(f, DATA_GPA, T_OUT, 30);
	fill(f, DATA_GPA + 16, 1024, 4);
	put8(f, MISC_GPA, SENTINEL);
	h = chain(f, (struct buf[]){ { DATA_GPA, 16 + 1024, false }, { MISC_GPA, 1, true } }, 2);
	assert_int_equal(run_one(f, h), 1);
	assert_int_equal(get8(f, MISC_GPA), S_OK);
	assert_ram_is_img(f, DATA_GPA + 16, 30 * 512, 1024);
	/* IN: the status byte is the last byte of the data descriptor. */
	put_hdr(f, MISC_GPA, T_IN, 30);
	fill_byte(f, DATA2_GPA, 1025, SENTINEL);
	h = chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { DATA2_GPA, 1025, true } }, 2);
	assert_int_equal(run_one(f, h), 1025);
	assert_int_equal(get8(f, DATA2_GPA + 1024), S_OK);
	assert_memory_equal(gm_ptr(&f->gm, DATA2_GPA, 1024), gm_ptr(&f->gm, DATA_GPA + 16, 1024),
			    1024);
	/* IN: extra readable bytes after the header and a bigger status
	 * descriptor: the status is its last byte. */
	put_hdr(f, MISC_GPA, T_IN, 31);
	fill_byte(f, DATA2_GPA, 2048, 0x66);
	h = chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { MISC_GPA + 0x100, 100, false },
				     { DATA2_GPA, 511, true }, { DATA2_GPA + 1024, 2, true } }, 4);
	assert_int_equal(run_one(f, h), 513);
	assert_int_equal(get8(f, DATA2_GPA + 1025), S_OK);
	assert_ram_is_img(f, DATA2_GPA, 31 * 512, 511);
	assert_ram_is_img(f, DATA2_GPA + 1024, 31 * 512 + 511, 1);
	assert_int_equal(get8(f, DATA2_GPA + 511), 0x66);
	/* OUT: the writable part may be more than the status byte. */
	put_hdr(f, MISC_GPA, T_OUT, 40);
	fill(f, DATA_GPA, 512, 8);
	fill_byte(f, DATA2_GPA, 64, 0x66);
	h = chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { DATA_GPA, 512, false },
				     { DATA2_GPA, 64, true } }, 3);
	assert_int_equal(run_one(f, h), 1);
	assert_int_equal(get8(f, DATA2_GPA + 63), S_OK);
	assert_ram_byte(f, DATA2_GPA, 63, 0x66);
	assert_ram_is_img(f, DATA_GPA, 40 * 512, 512);
}

static void test_layout_many_descriptors(void **state)
{
	/* 12 pieces (more than the inline iovecs) adding up to 8 sectors */
	static const uint32_t sizes[] = { 100, 412, 512, 1, 511, 256, 256, 7, 505, 1024, 300, 212 };
	struct fx *f = *state;
	struct buf bufs[ARRAY_SIZE(sizes) + 2];
	uint8_t want[4096];
	unsigned int n = ARRAY_SIZE(sizes);
	uint64_t off = 0;
	uint16_t h;

	start(f);
	for (int dir = 0; dir < 2; dir++) {        /* OUT, then IN */
		bool in = dir == 1;

		put_hdr(f, MISC_GPA, in ? T_IN : T_OUT, 50);
		bufs[0] = (struct buf){ MISC_GPA, 16, false };
		for (unsigned int i = 0; i < n; i++) {
			/* scattered, backwards through RAM */
			bufs[1 + i] = (struct buf){ (in ? DATA2_GPA : DATA_GPA) + 0x1000ull * (n - i),
						    sizes[i], in };
			if (in)
				fill_byte(f, bufs[1 + i].gpa, sizes[i], 0);
			else
				fill(f, bufs[1 + i].gpa, sizes[i], (uint8_t)(i * 17));
		}
		bufs[n + 1] = (struct buf){ MISC_GPA + 0x80, 1, true };
		put8(f, MISC_GPA + 0x80, SENTINEL);
		h = chain(f, bufs, n + 2);
		assert_int_equal(run_one(f, h), in ? 4097 : 1);
		assert_int_equal(get8(f, MISC_GPA + 0x80), S_OK);
		off = 0;
		for (unsigned int i = 0; i < n; i++) {
			if (!in)
				memcpy(want + off, gm_ptr(&f->gm, bufs[1 + i].gpa, sizes[i]), sizes[i]);
			else
				assert_memory_equal(gm_ptr(&f->gm, bufs[1 + i].gpa, sizes[i]),
						    want + off, sizes[i]);
			off += sizes[i];
		}
		assert_int_equal(off, 4096);
		if (!in) {
			uint8_t got[4096];

			img_read(f, 50 * 512, got, sizeof(got));
			assert_memory_equal(got, want, sizeof(got));
		}
	}
	assert_img_pattern(f, 0, 50 * 512);
	assert_img_pattern(f, 58 * 512, IMG_SIZE - 58 * 512);
}

static void test_layout_indirect(void **state)
{
	struct fx *f = *state;
	uint16_t h;

	start(f);
	/* OUT: split header, data in three pieces, status. */
	put_hdr(f, MISC_GPA, T_OUT, 70);
	fill(f, DATA_GPA, 1536, 21);
	put8(f, MISC_GPA + 0x80, SENTINEL);
	h = chain_indirect(f, TABLE_GPA, (struct buf[]){
		{ MISC_GPA, 10, false }, { MISC_GPA + 10, 6, false },
		{ DATA_GPA, 700, false }, { DATA_GPA + 700, 324, false },
		{ DATA_GPA + 1024, 512, false }, { MISC_GPA + 0x80, 1, true } }, 6);
	assert_int_equal(run_one(f, h), 1);
	assert_int_equal(get8(f, MISC_GPA + 0x80), S_OK);
	assert_ram_is_img(f, DATA_GPA, 70 * 512, 1536);
	/* IN: the status shares the last data descriptor. */
	put_hdr(f, MISC_GPA, T_IN, 70);
	fill_byte(f, DATA2_GPA, 0x2000, 0);
	h = chain_indirect(f, TABLE_GPA + 0x200, (struct buf[]){
		{ MISC_GPA, 16, false }, { DATA2_GPA, 1000, true },
		{ DATA2_GPA + 0x1000, 537, true } }, 3);
	assert_int_equal(run_one(f, h), 1537);
	assert_int_equal(get8(f, DATA2_GPA + 0x1000 + 536), S_OK);
	assert_memory_equal(gm_ptr(&f->gm, DATA2_GPA, 1000), gm_ptr(&f->gm, DATA_GPA, 1000), 1000);
	assert_memory_equal(gm_ptr(&f->gm, DATA2_GPA + 0x1000, 536),
			    gm_ptr(&f->gm, DATA_GPA + 1000, 536), 536);
	/* A header descriptor chained to an indirect table holding the rest. */
	put_hdr(f, MISC_GPA, T_IN, 71);
	fill_byte(f, DATA2_GPA, 512, 0);
	put8(f, MISC_GPA + 0x80, SENTINEL);
	desc_at(f, TABLE_GPA + 0x400, DATA2_GPA, 512, F_WRITE | F_NEXT, 1);
	desc_at(f, TABLE_GPA + 0x410, MISC_GPA + 0x80, 1, F_WRITE, 0);
	h = alloc_desc(f, 2);
	desc(f, h, MISC_GPA, 16, F_NEXT, h + 1);
	desc(f, h + 1, TABLE_GPA + 0x400, 32, F_IND, 0);
	avail(f, h);
	assert_int_equal(run_one(f, h), 513);
	assert_int_equal(get8(f, MISC_GPA + 0x80), S_OK);
	assert_ram_is_img(f, DATA2_GPA, 71 * 512, 512);
}

/* The longest chain a queue of 256 allows: header, 254 sectors, status. */
static void test_layout_max_segments(void **state)
{
	struct fx *f = *state;
	const unsigned int n = BLK_SEG_MAX;
	struct buf *bufs = unit_keep(calloc(n + 2, sizeof(*bufs)));
	uint16_t h;

	dev_create(f, &(struct opts){ 0 });
	driver_init(f, std_features(f), BLK_QUEUE_SIZE);
	for (int in = 0; in < 2; in++) {
		put_hdr(f, MISC_GPA, in ? T_IN : T_OUT, 1000);
		bufs[0] = (struct buf){ MISC_GPA, 16, false };
		for (unsigned int i = 0; i < n; i++)
			bufs[1 + i] = (struct buf){ (in ? DATA2_GPA : DATA_GPA) + 512ull * (n - 1 - i),
						    512, in };
		bufs[n + 1] = (struct buf){ MISC_GPA + 0x80, 1, true };
		put8(f, MISC_GPA + 0x80, SENTINEL);
		if (in)
			fill_byte(f, DATA2_GPA, 512ull * n, 0);
		else
			fill(f, DATA_GPA, 512ull * n, 13);
		h = chain(f, bufs, n + 2);
		assert_int_equal(run_one(f, h), in ? 512 * n + 1 : 1);
		assert_int_equal(get8(f, MISC_GPA + 0x80), S_OK);
	}
	/* Sector 1000 + i came from (and went back to) the i-th buffer. */
	for (unsigned int i = 0; i < n; i++) {
		assert_ram_is_img(f, DATA_GPA + 512ull * (n - 1 - i), (1000 + i) * 512ull, 512);
		assert_ram_is_img(f, DATA2_GPA + 512ull * (n - 1 - i), (1000 + i) * 512ull, 512);
	}
	assert_img_pattern(f, 0, 1000 * 512);
	assert_img_pattern(f, (1000 + n) * 512ull, IMG_SIZE - (1000 + n) * 512ull);
}

/* A full queue of requests in one notification. */
static void test_batch(void **state)
{
	struct fx *f = *state;
	const unsigned int n = BLK_QUEUE_SIZE / 3;
	uint16_t heads[BLK_QUEUE_SIZE / 3];

	dev_create(f, &(struct opts){ 0 });
	driver_init(f, std_features(f), BLK_QUEUE_SIZE);
	for (int in = 0; in < 2; in++) {
		uint16_t before = used_idx(f);

		for (unsigned int i = 0; i < n; i++) {
			uint64_t gpa = (in ? DATA2_GPA : DATA_GPA) + 512ull * i;

			if (in)
				fill_byte(f, gpa, 512, 0);
			else
				fill(f, gpa, 512, (uint8_t)i);
			heads[i] = req(f, in ? T_IN : T_OUT, 300 + 2 * i, gpa, 512);
		}
		run(f);
		assert_int_equal(rd(f, REG_STATUS), LIVE);
		assert_int_equal(used_idx(f), (uint16_t)(before + n));
		for (unsigned int i = 0; i < n; i++) {
			bool seen = false;

			assert_int_equal(get8(f, status_gpa(heads[i])), S_OK);
			for (uint16_t u = before; u != (uint16_t)(before + n); u++) {
				if (used_id(f, u) == heads[i]) {
					assert_false(seen);
					seen = true;
					assert_int_equal(used_len_at(f, u), in ? 513 : 1);
				}
			}
			assert_true(seen);
		}
	}
	for (unsigned int i = 0; i < n; i++) {
		assert_ram_is_img(f, DATA_GPA + 512ull * i, (300 + 2 * i) * 512ull, 512);
		assert_ram_is_img(f, DATA2_GPA + 512ull * i, (300 + 2 * i) * 512ull, 512);
		assert_img_pattern(f, (301 + 2 * i) * 512ull, 512);
	}
}

/* ---- hostile chains ----------------------------------------------------- */

struct hostile {
	const char *name;
	void (*act)(struct fx *f);
	bool no_indirect;            /* negotiate without INDIRECT_DESC */
};

/* header at MISC_GPA (an OUT of sector 0 unless said otherwise), data at
 * DATA_GPA, status at MISC_GPA + 0x80 */
static void hdr_out(struct fx *f)
{
	put_hdr(f, MISC_GPA, T_OUT, 0);
	fill(f, DATA_GPA, 4096, 0x42);
	put8(f, MISC_GPA + 0x80, SENTINEL);
}

static void act_no_writable(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false } }, 1);
}

static void act_data_no_status(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { DATA_GPA, 512, false } }, 2);
}

static void act_zero_length_status(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { DATA_GPA, 512, false },
				 { MISC_GPA + 0x80, 0, true } }, 3);
}

static void act_get_id_no_status(struct fx *f)
{
	put_hdr(f, MISC_GPA, T_GET_ID, 0);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false } }, 1);
}

static void act_discard_no_status(struct fx *f)
{
	put_hdr(f, MISC_GPA, T_DISCARD, 0);
	put_seg(f, MISC_GPA + 0x100, 0, 8, 0);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { MISC_GPA + 0x100, 16, false } }, 2);
}

static void act_header_15(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { MISC_GPA, 15, false }, { MISC_GPA + 0x80, 1, true } }, 2);
}

static void act_header_split_short(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { MISC_GPA, 8, false }, { MISC_GPA + 8, 7, false },
				 { MISC_GPA + 0x80, 1, true } }, 3);
}

static void act_no_readable(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { MISC_GPA, 16, true }, { DATA_GPA, 513, true } }, 2);
}

static void act_readable_after_writable(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { MISC_GPA + 0x80, 1, true },
				 { DATA_GPA, 512, false } }, 3);
}

static void act_self_loop(struct fx *f)
{
	hdr_out(f);
	desc(f, 0, MISC_GPA, 16, F_NEXT, 0);
	avail(f, 0);
}

static void act_two_cycle(struct fx *f)
{
	hdr_out(f);
	desc(f, 0, MISC_GPA, 16, F_NEXT, 1);
	desc(f, 1, DATA_GPA, 512, F_NEXT, 0);
	avail(f, 0);
}

static void act_writable_loop(struct fx *f)
{
	hdr_out(f);
	desc(f, 0, MISC_GPA, 16, F_NEXT, 1);
	desc(f, 1, DATA_GPA, 512, F_NEXT, 2);
	desc(f, 2, MISC_GPA + 0x80, 1, F_WRITE | F_NEXT, 3);
	desc(f, 3, MISC_GPA + 0x81, 1, F_WRITE | F_NEXT, 2);
	avail(f, 0);
}

static void act_next_beyond_queue(struct fx *f)
{
	hdr_out(f);
	desc(f, 0, MISC_GPA, 16, F_NEXT, QSIZE);
	avail(f, 0);
}

static void act_header_outside_ram(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { RAM_SIZE, 16, false }, { MISC_GPA + 0x80, 1, true } }, 2);
}

static void act_status_outside_ram(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { DATA_GPA, 512, false },
				 { RAM_SIZE + 0x1000, 1, true } }, 3);
}

static void act_buffer_wraps(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { 0xfffffffffffffe00ull, 0x400, false },
				 { MISC_GPA + 0x80, 1, true } }, 3);
}

static void act_data_straddles_end(struct fx *f)
{
	put_hdr(f, MISC_GPA, T_IN, 0);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { RAM_SIZE - 256, 512, true },
				 { MISC_GPA + 0x80, 1, true } }, 3);
}

static void act_len_4g(struct fx *f)
{
	put_hdr(f, MISC_GPA, T_IN, 0);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { DATA_GPA, 0xffffffffu, true } }, 2);
}

static void act_avail_jump(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { DATA_GPA, 512, false },
				 { MISC_GPA + 0x80, 1, true } }, 3);
	set_avail_idx(f, QSIZE + 1);
}

static void act_avail_backwards(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { MISC_GPA + 0x80, 1, true } }, 2);
	set_avail_idx(f, 0xffff);
}

static void act_head_beyond_queue(struct fx *f)
{
	hdr_out(f);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { MISC_GPA + 0x80, 1, true } }, 2);
	put16(f, AVAIL_GPA + 4, QSIZE + 3);
}

static void act_chain_longer_than_queue(struct fx *f)
{
	hdr_out(f);
	for (uint16_t i = 0; i < QSIZE; i++)
		desc_at(f, TABLE_GPA + 16ull * i, MISC_GPA + 0x80, 1, F_WRITE | F_NEXT, i + 1);
	desc_at(f, TABLE_GPA + 16ull * (QSIZE - 1), MISC_GPA + 0x80, 1, F_WRITE, 0);
	desc(f, 0, MISC_GPA, 16, F_NEXT, 1);
	desc(f, 1, TABLE_GPA, 16 * QSIZE, F_IND, 0);     /* 1 + 64 > 64 */
	avail(f, 0);
}

static void ind_table(struct fx *f)
{
	hdr_out(f);
	desc_at(f, TABLE_GPA, MISC_GPA, 16, F_NEXT, 1);
	desc_at(f, TABLE_GPA + 16, DATA_GPA, 512, F_NEXT, 2);
	desc_at(f, TABLE_GPA + 32, MISC_GPA + 0x80, 1, F_WRITE, 0);
}

static void act_indirect_not_negotiated(struct fx *f)
{
	ind_table(f);
	desc(f, 0, TABLE_GPA, 48, F_IND, 0);
	avail(f, 0);
}

static void act_indirect_with_next(struct fx *f)
{
	ind_table(f);
	desc(f, 0, TABLE_GPA, 48, F_IND | F_NEXT, 1);
	desc(f, 1, MISC_GPA + 0x81, 1, F_WRITE, 0);
	avail(f, 0);
}

static void act_indirect_len_24(struct fx *f)
{
	ind_table(f);
	desc(f, 0, TABLE_GPA, 24, F_IND, 0);
	avail(f, 0);
}

static void act_indirect_empty(struct fx *f)
{
	ind_table(f);
	desc(f, 0, TABLE_GPA, 0, F_IND, 0);
	avail(f, 0);
}

static void act_indirect_nested(struct fx *f)
{
	ind_table(f);
	desc_at(f, TABLE_GPA + 0x100, TABLE_GPA, 48, F_IND, 0);
	desc(f, 0, TABLE_GPA + 0x100, 16, F_IND, 0);
	avail(f, 0);
}

static void act_indirect_loop(struct fx *f)
{
	ind_table(f);
	desc_at(f, TABLE_GPA + 32, MISC_GPA + 0x80, 1, F_WRITE | F_NEXT, 2);
	desc(f, 0, TABLE_GPA, 48, F_IND, 0);
	avail(f, 0);
}

static void act_indirect_next_out_of_table(struct fx *f)
{
	ind_table(f);
	desc_at(f, TABLE_GPA + 16, DATA_GPA, 512, F_NEXT, 3);
	desc(f, 0, TABLE_GPA, 48, F_IND, 0);
	avail(f, 0);
}

static void act_indirect_outside_ram(struct fx *f)
{
	ind_table(f);
	desc(f, 0, RAM_SIZE - 32, 48, F_IND, 0);
	avail(f, 0);
}

static void act_indirect_too_big(struct fx *f)
{
	ind_table(f);
	desc(f, 0, TABLE_GPA, 16 * (QSIZE + 1), F_IND, 0);
	avail(f, 0);
}

static void act_indirect_readable_after_writable(struct fx *f)
{
	ind_table(f);
	desc_at(f, TABLE_GPA + 16, MISC_GPA + 0x80, 1, F_WRITE | F_NEXT, 2);
	desc_at(f, TABLE_GPA + 32, DATA_GPA, 512, 0, 0);
	desc(f, 0, TABLE_GPA, 48, F_IND, 0);
	avail(f, 0);
}

static void act_indirect_no_status(struct fx *f)
{
	ind_table(f);
	desc_at(f, TABLE_GPA + 16, DATA_GPA, 512, 0, 0);
	desc(f, 0, TABLE_GPA, 32, F_IND, 0);
	avail(f, 0);
}

static const struct hostile hostile[] = {
	{ "no writable descriptor",            act_no_writable, false },
	{ "header and data, no status",        act_data_no_status, false },
	{ "zero-length status descriptor",     act_zero_length_status, false },
	{ "GET_ID with no status",             act_get_id_no_status, false },
	{ "DISCARD with no status",            act_discard_no_status, false },
	{ "15-byte header",                    act_header_15, false },
	{ "header split 8+7",                  act_header_split_short, false },
	{ "no readable descriptor",            act_no_readable, false },
	{ "readable after writable",           act_readable_after_writable, false },
	{ "self loop",                         act_self_loop, false },
	{ "two-descriptor cycle",              act_two_cycle, false },
	{ "loop among writable descriptors",   act_writable_loop, false },
	{ "next beyond the queue size",        act_next_beyond_queue, false },
	{ "header outside RAM",                act_header_outside_ram, false },
	{ "status outside RAM",                act_status_outside_ram, false },
	{ "buffer wraps 2^64",                 act_buffer_wraps, false },
	{ "data straddles the end of RAM",     act_data_straddles_end, false },
	{ "4 GiB writable buffer",             act_len_4g, false },
	{ "avail idx jumps past the size",     act_avail_jump, false },
	{ "avail idx goes backwards",          act_avail_backwards, false },
	{ "head beyond the queue size",        act_head_beyond_queue, false },
	{ "chain longer than the queue",       act_chain_longer_than_queue, false },
	{ "indirect not negotiated",           act_indirect_not_negotiated, true },
	{ "indirect with NEXT",                act_indirect_with_next, false },
	{ "indirect table of 24 bytes",        act_indirect_len_24, false },
	{ "indirect table of 0 bytes",         act_indirect_empty, false },
	{ "nested indirect",                   act_indirect_nested, false },
	{ "indirect loop",                     act_indirect_loop, false },
	{ "indirect next out of the table",    act_indirect_next_out_of_table, false },
	{ "indirect table outside RAM",        act_indirect_outside_ram, false },
	{ "indirect table bigger than queue",  act_indirect_too_big, false },
	{ "indirect readable after writable",  act_indirect_readable_after_writable, false },
	{ "indirect chain with no status",     act_indirect_no_status, false },
};

static void check_hostile(struct fx *f, const struct hostile *c, const uint8_t *snap)
{
	uint64_t features = std_features(f);
	uint64_t resets = f->b->t.needs_reset;

	if (c->no_indirect)
		features &= ~BIT(VIRTIO_RING_F_INDIRECT_DESC);
	driver_init(f, features, QSIZE);
	c->act(f);
	run(f);
	if (!(rd(f, REG_STATUS) & NEEDS_RESET))
		fail_msg("case '%s': the device did not ask for a reset (status %#x)", c->name,
			 rd(f, REG_STATUS));
	assert_int_equal(rd(f, REG_STATUS), LIVE | NEEDS_RESET);
	assert_int_equal(f->b->t.needs_reset, resets + 1);
	assert_true(rd(f, REG_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	assert_true(irqs(f) >= 1);
	if (used_idx(f) != 0)
		fail_msg("case '%s': used idx %u", c->name, used_idx(f));
	if (get8(f, MISC_GPA + 0x80) != SENTINEL && get8(f, MISC_GPA + 0x80) != 0)
		fail_msg("case '%s': status byte written", c->name);
	assert_img_is(f, snap);
	/* Further notifications change nothing. */
	run(f);
	assert_int_equal(used_idx(f), 0);
	assert_int_equal(f->b->t.needs_reset, resets + 1);
}

static void test_hostile_corpus(void **state)
{
	struct fx *f = *state;
	uint8_t *snap;
	uint32_t used;

	assert_true(ARRAY_SIZE(hostile) >= 30);
	start(f);
	snap = img_snapshot(f);
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		check_hostile(f, &hostile[i], snap);
		/* A reset and a new initialisation bring the device back. */
		driver_init(f, std_features(f), QSIZE);
		fill_byte(f, DATA2_GPA, 512, 0);
		if (do_req(f, T_IN, 1, DATA2_GPA, 512, &used) != S_OK || used != 513)
			fail_msg("case '%s': no recovery after the reset", hostile[i].name);
		assert_ram_is_img(f, DATA2_GPA, 512, 512);
		assert_int_equal(irqs(f) >= 1, 1);
		assert_int_equal(rd(f, REG_INTERRUPT_STATUS), VIRTIO_INT_USED);
	}
	assert_img_is(f, snap);
	assert_int_equal(f->b->t.needs_reset, ARRAY_SIZE(hostile));
	assert_int_equal(f->b->nr_busy, 0);
}

/* Requests before a violation in the same batch are answered. */
static void test_hostile_after_valid(void **state)
{
	struct fx *f = *state;
	uint16_t h;

	start(f);
	fill(f, DATA_GPA, 512, 77);
	h = req(f, T_OUT, 9, DATA_GPA, 512);
	put_hdr(f, MISC_GPA, T_OUT, 20);
	chain(f, (struct buf[]){ { MISC_GPA, 16, false }, { DATA_GPA, 512, false } }, 2);
	run(f);
	assert_int_equal(rd(f, REG_STATUS), LIVE | NEEDS_RESET);
	assert_int_equal(used_idx(f), 1);
	assert_int_equal(used_id(f, 0), h);
	assert_int_equal(get8(f, status_gpa(h)), S_OK);
	assert_ram_is_img(f, DATA_GPA, 9 * 512, 512);
	assert_img_pattern(f, 20 * 512, 512);
}

/* DRIVER_OK with a ring outside RAM: the device asks for a reset. */
static void test_bad_ring_address(void **state)
{
	struct fx *f = *state;

	start(f);
	wr(f, REG_STATUS, 0);
	wr(f, REG_STATUS, ACK);
	wr(f, REG_STATUS, ACK | DRIVER);
	wr(f, REG_DRIVER_FEATURES, 0);
	wr(f, REG_DRIVER_FEATURES_SEL, 1);
	wr(f, REG_DRIVER_FEATURES, 1);           /* VERSION_1 */
	wr(f, REG_STATUS, ACK | DRIVER | FEAT_OK);
	wr(f, REG_QUEUE_NUM, QSIZE);
	wr(f, REG_QUEUE_DESC_LOW, (uint32_t)(RAM_SIZE - 16));
	wr(f, REG_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_GPA);
	wr(f, REG_QUEUE_DEVICE_LOW, (uint32_t)USED_GPA);
	wr(f, REG_QUEUE_READY, 1);
	wr(f, REG_STATUS, LIVE);
	assert_int_equal(rd(f, REG_STATUS), LIVE | NEEDS_RESET);
	run(f);
	assert_int_equal(used_idx(f), 0);
	driver_init(f, std_features(f), QSIZE);
	assert_int_equal(do_req(f, T_IN, 0, DATA_GPA, 512, NULL), S_OK);
}

/* ---- resets, flushes, interrupts ------------------------------------ */

/* Async: a reset while requests are in the engine; the reset cancels and
 * reaps them all before it completes, and their completions belong to the
 * old generation and are dropped.  First with the engine's submissions
 * held back (so all six are surely still in flight at the reset), then
 * with the real engine, whatever it finished inline. */
static void reset_in_flight_round(struct fx *f, bool held)
{
	uint16_t old[6], fresh[2];
	unsigned int busy;

	driver_init(f, std_features(f), QSIZE);
	hold_engine(f, held);
	for (int i = 0; i < 4; i++) {
		fill(f, DATA_GPA + 0x1000ull * i, 2048, (uint8_t)(i + 1));
		old[i] = req(f, T_OUT, 400 + 8 * i, DATA_GPA + 0x1000ull * i, 2048);
	}
	old[4] = req(f, T_IN, 0, DATA2_GPA, 2048);
	old[5] = req(f, T_FLUSH, 0, 0, 0);
	notify(f);
	if (held) {
		assert_int_equal(f->b->nr_busy, 6);
		assert_int_equal(f->b->nr_held_flushes, 1);
		assert_int_equal(used_idx(f), 0);
	}
	busy = f->b->nr_busy;

	assert_true(busy <= 6);
	driver_init(f, std_features(f), QSIZE);   /* resets first */
	assert_int_equal(f->b->nr_held_flushes, 0);
	assert_int_equal(f->b->nr_busy, 0);       /* nothing left in flight */
	for (int i = 0; i < 6; i++)
		put8(f, status_gpa(old[i]), SENTINEL);
	f->next_desc = 32;                        /* new heads, new status bytes */
	fill(f, DATA_GPA + 0x8000, 512, 99);
	fresh[0] = req(f, T_OUT, 600, DATA_GPA + 0x8000, 512);
	fresh[1] = req(f, T_IN, 1, DATA2_GPA + 0x8000, 512);
	hold_engine(f, false);
	run(f);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
	assert_false(f->b->t.queues[0].broken);
	assert_int_equal(used_idx(f), 2);
	assert_true((used_id(f, 0) == fresh[0] && used_id(f, 1) == fresh[1]) ||
		    (used_id(f, 0) == fresh[1] && used_id(f, 1) == fresh[0]));
	assert_int_equal(get8(f, status_gpa(fresh[0])), S_OK);
	assert_int_equal(get8(f, status_gpa(fresh[1])), S_OK);
	for (int i = 0; i < 6; i++)
		assert_int_equal(get8(f, status_gpa(old[i])), SENTINEL);
	assert_ram_is_img(f, DATA_GPA + 0x8000, 600 * 512, 512);
	assert_ram_is_img(f, DATA2_GPA + 0x8000, 512, 512);
	/* and it keeps working */
	assert_int_equal(do_req(f, T_FLUSH, 0, 0, 0, NULL), S_OK);
	assert_int_equal(used_idx(f), 3);
}

static void test_reset_in_flight(void **state)
{
	struct fx *f = *state;

	dev_create(f, &(struct opts){ 0 });
	reset_in_flight_round(f, true);
	reset_in_flight_round(f, false);
	assert_int_equal(f->b->nr_busy, 0);
}

/* A reset of a device whose requests all finished changes nothing else. */
static void test_reset_and_reinit(void **state)
{
	struct fx *f = *state;

	start(f);
	assert_int_equal(do_req(f, T_IN, 0, DATA_GPA, 512, NULL), S_OK);
	driver_init(f, std_features(f), 8);
	for (int i = 0; i < 20; i++)          /* past the small ring's wrap */
		assert_int_equal(do_req(f, T_IN, (uint64_t)i, DATA_GPA, 512, NULL), S_OK);
	assert_int_equal(used_idx(f), 20);
}

static void test_flush_ordering(void **state)
{
	struct fx *f = *state;
	uint16_t w0, w1, fl, h;

	start(f);
	fill(f, DATA_GPA, 4096, 31);
	fill(f, DATA_GPA + 4096, 4096, 32);
	w0 = req(f, T_OUT, 200, DATA_GPA, 4096);
	w1 = req(f, T_OUT, 300, DATA_GPA + 4096, 4096);
	fl = req(f, T_FLUSH, 0, 0, 0);
	hold_engine(f, true);
	notify(f);
	if (f->engine == DRIVE_ENGINE_ASYNC) {
		/* The flush waits for the writes accepted before it. */
		assert_int_equal(f->b->nr_held_flushes, 1);
		assert_int_equal(f->b->nr_busy, 3);
		assert_int_equal(used_idx(f), 0);
	} else {
		assert_int_equal(f->b->nr_busy, 0);
	}
	hold_engine(f, false);
	settle(f);
	assert_int_equal(f->b->nr_held_flushes, 0);
	assert_int_equal(used_idx(f), 3);
	assert_int_equal(used_id(f, 2), fl);     /* last, after both writes */
	assert_true((used_id(f, 0) == w0 && used_id(f, 1) == w1) ||
		    (used_id(f, 0) == w1 && used_id(f, 1) == w0));
	if (f->engine == DRIVE_ENGINE_SYNC) {
		assert_int_equal(used_id(f, 0), w0);
		assert_int_equal(used_id(f, 1), w1);
	}
	assert_int_equal(get8(f, status_gpa(w0)), S_OK);
	assert_int_equal(get8(f, status_gpa(w1)), S_OK);
	assert_int_equal(get8(f, status_gpa(fl)), S_OK);
	assert_int_equal(used_len_at(f, 2), 1);
	assert_ram_is_img(f, DATA_GPA, 200 * 512, 4096);
	assert_ram_is_img(f, DATA_GPA + 4096, 300 * 512, 4096);
	/* A flush with nothing before it is not held; nor one after a read. */
	h = req(f, T_IN, 0, DATA2_GPA, 512);
	fl = req(f, T_FLUSH, 0, 0, 0);
	notify(f);
	assert_int_equal(f->b->nr_held_flushes, 0);
	settle(f);
	assert_int_equal(used_idx(f), 5);
	assert_int_equal(get8(f, status_gpa(h)), S_OK);
	assert_int_equal(get8(f, status_gpa(fl)), S_OK);
	assert_int_equal(f->b->stats.flushes, 2);
}

static void test_interrupts(void **state)
{
	struct fx *f = *state;
	uint16_t h;

	start(f);
	assert_int_equal(irqs(f), 0);
	run(f);                                   /* nothing available: no interrupt */
	assert_int_equal(irqs(f), 0);
	assert_int_equal(rd(f, REG_INTERRUPT_STATUS), 0);
	assert_int_equal(do_req(f, T_IN, 0, DATA_GPA, 512, NULL), S_OK);
	assert_true(irqs(f) >= 1);
	assert_int_equal(rd(f, REG_INTERRUPT_STATUS), VIRTIO_INT_USED);
	wr(f, REG_INTERRUPT_ACK, VIRTIO_INT_USED);
	assert_int_equal(rd(f, REG_INTERRUPT_STATUS), 0);
	/* Without EVENT_IDX the device clears NO_NOTIFY before sleeping. */
	assert_int_equal(get16(f, USED_GPA), 0);
	/* VIRTQ_AVAIL_F_NO_INTERRUPT: completions without an interrupt. */
	put16(f, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	h = req(f, T_IN, 0, DATA_GPA, 512);
	assert_int_equal(run_one(f, h), 513);
	assert_int_equal(get8(f, status_gpa(h)), S_OK);
	assert_int_equal(irqs(f), 0);
	assert_int_equal(rd(f, REG_INTERRUPT_STATUS), 0);
	put16(f, AVAIL_GPA, 0);
	assert_int_equal(do_req(f, T_FLUSH, 0, 0, 0, NULL), S_OK);
	assert_true(irqs(f) >= 1);
	assert_int_equal(rd(f, REG_INTERRUPT_STATUS), VIRTIO_INT_USED);
}

static void test_event_idx(void **state)
{
	struct fx *f = *state;

	dev_create(f, &(struct opts){ 0 });
	driver_init(f, device_features(f), QSIZE);
	assert_true(f->b->t.queues[0].event_idx);
	/* used_event 0: the first completion interrupts. */
	assert_int_equal(do_req(f, T_IN, 0, DATA_GPA, 512, NULL), S_OK);
	assert_true(irqs(f) >= 1);
	assert_true(rd(f, REG_INTERRUPT_STATUS) & VIRTIO_INT_USED);
	wr(f, REG_INTERRUPT_ACK, VIRTIO_INT_USED);
	/* The device asks to be notified at the next entry. */
	assert_int_equal(get16(f, avail_event_gpa(f)), 1);
	/* "Interrupt me once entry 2 is used": not after entry 1 (idx 2)... */
	put16(f, used_event_gpa(f), 2);
	assert_int_equal(do_req(f, T_IN, 1, DATA_GPA, 512, NULL), S_OK);
	assert_int_equal(irqs(f), 0);
	assert_int_equal(rd(f, REG_INTERRUPT_STATUS), 0);
	assert_int_equal(get16(f, avail_event_gpa(f)), 2);
	/* ...but after entry 2 (idx 3). */
	assert_int_equal(do_req(f, T_IN, 2, DATA_GPA, 512, NULL), S_OK);
	assert_true(irqs(f) >= 1);
	assert_int_equal(rd(f, REG_INTERRUPT_STATUS), VIRTIO_INT_USED);
	wr(f, REG_INTERRUPT_ACK, VIRTIO_INT_USED);
	/* A batch crossing used_event interrupts once it is done. */
	put16(f, used_event_gpa(f), 4);
	req(f, T_IN, 3, DATA_GPA, 512);
	req(f, T_IN, 4, DATA_GPA + 512, 512);
	req(f, T_FLUSH, 0, 0, 0);
	run(f);
	assert_int_equal(used_idx(f), 6);
	assert_true(irqs(f) >= 1);
	assert_int_equal(get16(f, avail_event_gpa(f)), 6);
}

/* Sync: host errors become IOERR, and a failed fsync fails every later
 * flush.  The image fd is swapped for a pipe under the device. */
static void test_host_errors(void **state)
{
	struct fx *f = *state;
	int saved, p[2];
	uint32_t used;

	start(f);
	saved = dup(f->b->fd);
	assert_true(saved >= 0);
	assert_int_equal(pipe(p), 0);
	assert_true(dup2(p[0], f->b->fd) >= 0);
	fill_byte(f, DATA_GPA, 512, 0x3c);
	assert_int_equal(do_req(f, T_IN, 0, DATA_GPA, 512, &used), S_IOERR);
	assert_int_equal(used, 1);
	assert_ram_byte(f, DATA_GPA, 512, 0x3c);
	assert_int_equal(do_req(f, T_OUT, 0, DATA_GPA, 512, &used), S_IOERR);
	assert_int_equal(do_req(f, T_FLUSH, 0, 0, 0, &used), S_IOERR);
	assert_int_equal(f->b->stats.io_errors, 3);
	assert_true(dup2(saved, f->b->fd) >= 0);
	close(saved);
	close(p[0]);
	close(p[1]);
	assert_img_pattern(f, 0, 512);
	assert_int_equal(do_req(f, T_IN, 0, DATA_GPA, 512, &used), S_OK);
	assert_int_equal(used, 513);
	assert_int_equal(do_req(f, T_FLUSH, 0, 0, 0, &used), S_IOERR);   /* sticky */
	assert_int_equal(f->b->stats.io_errors, 3);
}

/* The image shrank under the device: a short read is resumed, then the
 * end of the file is an I/O error. */
static void test_short_read(void **state)
{
	struct fx *f = *state;
	uint32_t used;

	start(f);
	assert_int_equal(ftruncate(f->img, (SECTORS - 2) * 512 + 256), 0);
	fill_byte(f, DATA_GPA, 1536, 0x3c);
	assert_int_equal(do_req(f, T_IN, SECTORS - 3, DATA_GPA, 1536, &used), S_IOERR);
	assert_int_equal(used, 1 + 768);
	assert_int_equal(f->b->stats.short_resumed, 1);
	assert_int_equal(f->b->stats.io_errors, 1);
	assert_ram_is_img(f, DATA_GPA, (SECTORS - 3) * 512, 768);
	assert_int_equal(do_req(f, T_IN, SECTORS - 1, DATA_GPA, 512, &used), S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(f->b->stats.io_errors, 2);
}

/* ---- the image replaced (PATCH /drives) with requests not yet run -------- */

#define SMALL_SIZE 4096ull              /* the replacement image: 8 sectors */

/* A second image of SMALL_SIZE bytes of `byte`, already unlinked; its fd. */
static int small_image(char *path, size_t size, uint8_t byte)
{
	const char *dir = getenv("TMPDIR");
	uint8_t buf[SMALL_SIZE];
	int fd;

	snprintf(path, size, "%s/ember-test-blk-small-XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	memset(buf, byte, sizeof(buf));
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	return fd;
}

static uint64_t fd_size(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (uint64_t)st.st_size;
}

/* One operation per hour: the first request goes, the next is parked. */
static const struct rate_limiter_cfg one_op_per_hour = {
	.ops = { .set = true, .size = 1, .refill_time_ms = 3600 * 1000 },
};

/* Issue 12 item 7: a write parked by the rate limiter was checked against
 * the 1 MiB image; the image is replaced by a 4 KiB one, then the limiter
 * lets it go.  It must be checked again (past the new end: IOERR), not
 * run: before, it wrote at byte ~1 MiB of the new file, which grew to
 * 1 MiB. */
static void test_swap_smaller_throttled_write(void **state)
{
	struct fx *f = *state;
	char path[256];
	uint16_t first, parked;
	int small;

	start(f);
	blk_set_rate_limiter(f->b, &one_op_per_hour);
	fill(f, DATA_GPA, 4096, 5);
	first = req(f, T_IN, 0, DATA2_GPA, 512);
	parked = req(f, T_OUT, SECTORS - 8, DATA_GPA, 4096);
	notify(f);
	settle_until(f, 1);
	assert_ptr_not_equal(f->b->deferred, NULL);
	assert_int_equal(used_idx(f), 1);
	assert_int_equal(used_id(f, 0), first);
	assert_int_equal(get8(f, status_gpa(parked)), SENTINEL);

	small = small_image(path, sizeof(path), 0x5a);
	assert_ret(blk_set_backing(f->b, path), 0);
	unlink(path);
	assert_int_equal(f->b->sectors, SMALL_SIZE / 512);
	blk_set_rate_limiter(f->b, &(struct rate_limiter_cfg){ 0 });   /* release */
	settle(f);
	assert_null(f->b->deferred);
	assert_int_equal(fd_size(small), SMALL_SIZE);
	assert_int_equal(used_idx(f), 2);
	assert_int_equal(used_id(f, 1), parked);
	assert_int_equal(used_len_at(f, 1), 1);
	assert_int_equal(get8(f, status_gpa(parked)), S_IOERR);
	assert_img_pattern(f, (SECTORS - 8) * 512, 4096);             /* the old one either */
	/* a parked request that still fits runs on the new image */
	blk_set_rate_limiter(f->b, &one_op_per_hour);
	first = req(f, T_IN, 0, DATA2_GPA, 512);
	parked = req(f, T_IN, 7, DATA2_GPA + 512, 512);
	fill_byte(f, DATA2_GPA + 512, 512, 0);
	notify(f);
	settle_until(f, 1);
	assert_ptr_not_equal(f->b->deferred, NULL);
	blk_set_rate_limiter(f->b, &(struct rate_limiter_cfg){ 0 });
	settle(f);
	assert_int_equal(used_idx(f), 4);
	assert_int_equal(get8(f, status_gpa(parked)), S_OK);
	assert_ram_byte(f, DATA2_GPA + 512, 512, 0x5a);
	close(small);
}

/* Async, the same with the write prepared for the ring but not yet
 * submitted when the image is replaced (the engine's kick held back): it
 * was accepted for the old image and runs there; before, the kernel
 * resolved the fixed file at submission and the new file grew. */
static void test_swap_smaller_queued_write(void **state)
{
	struct fx *f = *state;
	char path[256];
	uint8_t buf[4096], want[4096];
	uint16_t h;
	int small;

	start(f);
	hold_engine(f, true);
	fill(f, DATA_GPA, 4096, 9);
	get(f, DATA_GPA, want, sizeof(want));
	h = req(f, T_OUT, SECTORS - 8, DATA_GPA, 4096);
	notify(f);
	assert_int_equal(f->b->nr_busy, 1);
	small = small_image(path, sizeof(path), 0x5a);
	assert_ret(blk_set_backing(f->b, path), 0);
	unlink(path);
	hold_engine(f, false);
	settle(f);
	assert_int_equal(fd_size(small), SMALL_SIZE);
	assert_int_equal(used_idx(f), 1);
	assert_int_equal(get8(f, status_gpa(h)), S_OK);
	img_read(f, (SECTORS - 8) * 512, buf, sizeof(buf));
	assert_memory_equal(buf, want, sizeof(want));
	close(small);
}

/* ---- requests in flight at a reset and at the teardown ------------------- */

/* Async: fixed file 0 becomes the read end of a pipe, so a READ stays in
 * flight until the test writes into the pipe.  p[0]: a duplicate of the
 * read end (the device owns the other), p[1]: the write end. */
static void backing_pipe(struct fx *f, int p[2])
{
	int dev[2];

	assert_int_equal(pipe2(dev, O_CLOEXEC), 0);
	pthread_mutex_lock(&f->b->t.lock);
	close(f->b->fd);
	f->b->fd = dev[0];
	assert_int_equal(f->b->engine->set_file(f->b), 0);
	pthread_mutex_unlock(&f->b->t.lock);
	p[0] = dup(dev[0]);
	p[1] = dev[1];
	assert_true(p[0] >= 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
}

/* A 512-byte READ into DATA_GPA (filled with SENTINEL) that the pipe keeps
 * in flight; its head. */
static uint16_t read_in_flight(struct fx *f)
{
	uint16_t h;

	fill_byte(f, DATA_GPA, 512, SENTINEL);
	h = req(f, T_IN, 0, DATA_GPA, 512);
	notify(f);
	for (int i = 0; i < 3; i++)
		assert_true(ev_run_once(&f->loop, 0) >= 0);
	assert_int_equal(f->b->nr_busy, 1);
	assert_int_equal(used_idx(f), 0);
	return h;
}

/* Data written into the pipe now stays there: no read is left to take it,
 * and nothing reached guest RAM. */
static void assert_read_gone(struct fx *f, const int p[2], uint16_t h)
{
	uint8_t buf[512];

	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(write(p[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	for (int i = 0; f->created && i < 3; i++)
		assert_true(ev_run_once(&f->loop, 0) >= 0);
	assert_int_equal(read(p[0], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_ram_byte(f, DATA_GPA, 512, SENTINEL);
	assert_int_equal(get8(f, status_gpa(h)), SENTINEL);
	assert_int_equal(used_idx(f), 0);
}

/* A READ kept in flight by the pipe, then `stop`: nothing is busy right
 * after it, data then written into the pipe stays there, guest RAM, the
 * status byte and the used ring are untouched. */
static void stop_in_flight(struct fx *f, void (*stop)(struct fx *f))
{
	int p[2];
	uint16_t h;

	start(f);
	backing_pipe(f, p);
	h = read_in_flight(f);
	stop(f);
	assert_int_equal(f->b->nr_busy, 0);         /* cancelled and reaped */
	assert_read_gone(f, p, h);
	close(p[0]);
	close(p[1]);
}

static void stop_by_reset(struct fx *f)
{
	wr(f, REG_STATUS, 0);
}

static void stop_by_destroy(struct fx *f)
{
	f->created = false;
	blk_destroy(f->b);
}

/* Before, the reset left the READ in the kernel: it completed later, into
 * a buffer the driver owned again. */
static void test_reset_cancels_in_flight(void **state)
{
	struct fx *f = *state;

	stop_in_flight(f, stop_by_reset);
	/* and the device goes on, on a real image again */
	assert_ret(blk_set_backing(f->b, f->path), 0);
	driver_init(f, std_features(f), QSIZE);
	assert_int_equal(do_req(f, T_IN, 3, DATA_GPA, 512, NULL), S_OK);
	assert_ram_is_img(f, DATA_GPA, 3 * 512, 512);
}

/* Before, blk_destroy closed the ring with the READ still in the kernel,
 * and guest RAM is unmapped right after. */
static void test_destroy_cancels_in_flight(void **state)
{
	stop_in_flight(*state, stop_by_destroy);
}

/* ---- the work one notify may do ------------------------------------------ */

/* A vCPU stand-in: makes every used head available again as soon as the
 * device returns it, for `ms`.  Like a real driver it owes the device a
 * notify for an entry the device asked to hear about (EVENT_IDX
 * avail_event, else VIRTQ_USED_F_NO_NOTIFY clear); the test (the vmm
 * thread) delivers it after the feeder stopped. */
struct feeder {
	struct fx *f;
	int ms;
	bool event_idx;
	uint16_t seen;              /* used entries re-posted so far */
	volatile bool stop;
	bool owed;                  /* a notify is owed (atomic accesses) */
};

/* After making entry `idx` available: must the driver notify?  virtio 1.2
 * §2.7.10.2, one entry at a time. */
static bool feeder_must_notify(struct feeder *fd, uint16_t idx)
{
	struct fx *f = fd->f;
	volatile uint16_t *flags = (volatile uint16_t *)(f->ram + USED_GPA);
	volatile uint16_t *avail_event = (volatile uint16_t *)(f->ram + avail_event_gpa(f));

	/* the avail->idx store before the device's request is read */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (fd->event_idx)
		return *avail_event == idx;
	return !(*flags & VIRTQ_USED_F_NO_NOTIFY);
}

static void *feed(void *arg)
{
	struct feeder *fd = arg;
	struct fx *f = fd->f;
	volatile uint16_t *uidx = (volatile uint16_t *)(f->ram + USED_GPA + 2);
	volatile uint16_t *used = (volatile uint16_t *)(f->ram + USED_GPA + 4);
	volatile uint16_t *ring = (volatile uint16_t *)(f->ram + AVAIL_GPA + 4);
	volatile uint16_t *aidx = (volatile uint16_t *)(f->ram + AVAIL_GPA + 2);
	uint64_t end = time_mono_us() + (uint64_t)fd->ms * 1000;
	uint16_t a = f->avail_idx, seen = fd->seen;

	while (time_mono_us() < end) {
		uint16_t u = *uidx;

		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		for (; seen != u; seen++) {
			ring[a % f->qsize] = used[4 * (seen % f->qsize)];   /* id of used[seen] */
			__atomic_thread_fence(__ATOMIC_RELEASE);
			*aidx = (uint16_t)(a + 1);
			if (feeder_must_notify(fd, a))
				__atomic_store_n(&fd->owed, true, __ATOMIC_SEQ_CST);
			a++;
		}
	}
	f->avail_idx = a;
	__atomic_store_n(&fd->stop, true, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Requests that complete inline (reads past the end, answered IOERR
 * without the engine) re-posted as fast as they are used: one notify
 * serves at most a queue's worth, the event loop alone serves the rest,
 * and the device stays live. */
static void notify_work_is_bounded(struct fx *f, uint64_t features)
{
	struct feeder fd = { .f = f, .ms = 300 };
	uint64_t most = 0;
	pthread_t th;

	driver_init(f, features, QSIZE);
	fd.event_idx = f->b->t.queues[0].event_idx;
	fd.seen = used_idx(f);
	for (unsigned int i = 0; i < QSIZE / 2; i++)
		req(f, T_IN, SECTORS + 1, 0, 0);
	assert_int_equal(pthread_create(&th, NULL, feed, &fd), 0);
	while (!__atomic_load_n(&fd.stop, __ATOMIC_SEQ_CST)) {
		uint64_t before = f->b->stats.invalid_reqs;

		/* this notify covers every entry available so far */
		__atomic_store_n(&fd.owed, false, __ATOMIC_SEQ_CST);
		notify(f);
		if (f->b->stats.invalid_reqs - before > most)
			most = f->b->stats.invalid_reqs - before;
	}
	pthread_join(th, NULL);
	if (__atomic_load_n(&fd.owed, __ATOMIC_SEQ_CST))
		notify(f);               /* the notify the feeder owed after our last one */
	assert_true(f->b->stats.invalid_reqs > 2 * QSIZE);   /* the feeder did feed */
	if (most > QSIZE)
		fail_msg("one notify served %llu requests of a %u-entry queue",
			 (unsigned long long)most, QSIZE);
	/* the rest, without a notify: only the event loop runs */
	unit_run_until(&f->loop, used_idx(f) == f->avail_idx);
	assert_int_equal(used_idx(f), f->avail_idx);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
	assert_int_equal(f->b->nr_busy, 0);
}

/* One notify used to run for as long as the driver re-posted used heads. */
static void test_notify_work_is_bounded(void **state)
{
	struct fx *f = *state;

	dev_create(f, &(struct opts){ 0 });
	notify_work_is_bounded(f, std_features(f));
}

static void test_notify_work_is_bounded_event_idx(void **state)
{
	struct fx *f = *state;

	dev_create(f, &(struct opts){ 0 });
	notify_work_is_bounded(f, device_features(f));
}

/* Snapshot drain: a request parked by the rate limiter and a write in the
 * engine both complete into the used ring before blk_quiesce returns
 * (nothing left in flight for virtio_mmio_save); nothing new is taken.
 * Without the drain the transport cannot be saved (-EBUSY). */
static void test_quiesce_drains_parked_and_in_flight(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio_state st;
	uint8_t img[4096];
	char err[160] = "";
	uint16_t first, parked, later;

	start(f);
	blk_set_rate_limiter(f->b, &one_op_per_hour);
	fill(f, DATA_GPA, 4096, 7);
	fill_byte(f, DATA2_GPA, 4096, 0);
	first = req(f, T_OUT, 8, DATA_GPA, 4096);
	parked = req(f, T_IN, 0, DATA2_GPA, 4096);
	notify(f);                                   /* the write goes, the read is parked */
	assert_ptr_not_equal(f->b->deferred, NULL);
	assert_int_equal(virtio_mmio_save(&f->b->t, &st), -EBUSY);
	later = req(f, T_IN, 0, DATA2_GPA + 4096, 512);  /* available, not notified */
	assert_int_equal(blk_quiesce(f->b, time_mono_us() * 1000 + 10000000000ULL, err,
				     sizeof(err)), 0);     /* 10 s at most */
	assert_null(f->b->deferred);
	assert_int_equal(f->b->nr_busy, 0);
	assert_int_equal(used_idx(f), 2);            /* in either order (Async) */
	assert_true((used_id(f, 0) == first && used_id(f, 1) == parked) ||
		    (used_id(f, 0) == parked && used_id(f, 1) == first));
	assert_int_equal(get8(f, status_gpa(first)), S_OK);
	assert_int_equal(get8(f, status_gpa(parked)), S_OK);
	for (unsigned int i = 0; i < 4096; i++)
		assert_int_equal(get8(f, DATA2_GPA + i), pat(i));
	img_read(f, 8 * 512, img, sizeof(img));
	for (unsigned int i = 0; i < 4096; i++)
		assert_int_equal(img[i], get8(f, DATA_GPA + i));
	assert_int_equal(virtio_mmio_save(&f->b->t, &st), 0);
	assert_int_equal(st.queues[0].last_avail, 2);  /* `later` is still available */
	assert_int_equal(get8(f, status_gpa(later)), SENTINEL);
}

#define BOTH(t)                                                                              \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, (void *)&engine_sync),  \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, (void *)&engine_async)
#define SYNC(t) cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, (void *)&engine_sync)
#define ASYNC(t) cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, (void *)&engine_async)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SYNC(test_features_and_config),
		BOTH(test_quiesce_drains_parked_and_in_flight),
		BOTH(test_read),
		BOTH(test_write),
		BOTH(test_read_marks_dirty),
		BOTH(test_flush_writeback),
		BOTH(test_flush_not_negotiated),
		BOTH(test_flush_unsafe),
		BOTH(test_get_id),
		SYNC(test_get_id_20_chars),
		BOTH(test_discard),
		BOTH(test_discard_memfd),
		BOTH(test_write_zeroes),
		BOTH(test_write_zeroes_memfd),
		BOTH(test_discard_invalid),
		BOTH(test_unknown_type),
		BOTH(test_bounds),
		BOTH(test_bad_length),
		BOTH(test_read_only),
		BOTH(test_layout_split_header),
		BOTH(test_layout_shared_descriptors),
		BOTH(test_layout_many_descriptors),
		BOTH(test_layout_indirect),
		BOTH(test_layout_max_segments),
		BOTH(test_batch),
		BOTH(test_hostile_corpus),
		BOTH(test_hostile_after_valid),
		BOTH(test_bad_ring_address),
		ASYNC(test_reset_in_flight),
		BOTH(test_reset_and_reinit),
		BOTH(test_flush_ordering),
		BOTH(test_interrupts),
		BOTH(test_event_idx),
		SYNC(test_host_errors),
		BOTH(test_short_read),
		BOTH(test_swap_smaller_throttled_write),
		ASYNC(test_swap_smaller_queued_write),
		ASYNC(test_reset_cancels_in_flight),
		ASYNC(test_destroy_cancels_in_flight),
		BOTH(test_notify_work_is_bounded),
		BOTH(test_notify_work_is_bounded_event_idx),
	};

	unit_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
