// SPDX-License-Identifier: Apache-2.0
/*
 * test_net.c - virtio-net (virtio/net.c, virtio/net_io.c) end to end: a real
 * struct net_dev on its io_uring engine, fake guest RAM, the vmm's event
 * loop, and for the tap one end of a socketpair(AF_UNIX, SOCK_SEQPACKET)
 * (one frame, vnet header first, per message), the test holding the other.
 * The test is the driver: it negotiates through the virtio-mmio registers,
 * lays frames and buffers out in the two split rings and notifies the queues
 * as the vmm thread would (lock held), then runs the event loop until the
 * engine's completions are in.  One test creates a real tap when run as root
 * and is skipped otherwise.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/core/event.h"
#include "vmm/core/log.h"
#include "vmm/core/memory.h"
#include "virtio/net/net_priv.h"

#define RX NET_RXQ
#define TX NET_TXQ

/* Guest RAM layout. */
#define RAM_SIZE    (4ull << 20)
#define RING_GPA(q) (0x1000ull + 0x3000ull * (q))   /* desc; avail +0x1000; used +0x2000 */
#define TABLE_GPA   0x8000ull
#define TX_HDR_GPA  0x10000ull      /* headers: + 16 * slot */
#define RX_GPA      0x100000ull     /* rx buffers: 4 KiB apart */
#define TX_GPA      0x200000ull     /* tx frames: TX_SLOT apart */
#define TX_SLOT     0x10800ull
#define RINGS_END   0x20000ull
#define QSIZE       64
#define MAX_MSG     (NET_HDR_LEN + NET_MAX_FRAME + 64)

#define CSUM        VIRTIO_NET_HDR_F_NEEDS_CSUM
#define GSO_TCPV4   VIRTIO_NET_HDR_GSO_TCPV4
#define GSO_TCPV6   VIRTIO_NET_HDR_GSO_TCPV6
#define GSO_UDP     VIRTIO_NET_HDR_GSO_UDP
#define GSO_ECN     VIRTIO_NET_HDR_GSO_ECN

struct fx {
	struct net_dev *n;
	bool created;
	struct guest_mem gm;
	uint8_t *ram;
	struct ev_loop loop;
	int peer;                   /* the other end of the "tap" */
	uint16_t qsize;
	uint16_t avail_idx[2];      /* the driver's shadow of avail->idx */
	uint16_t next_desc[2];
	uint16_t rx_slot;           /* next rx buffer */
	uint16_t tx_slot;
	uint8_t *msg;               /* MAX_MSG bytes */
};

/* put/get, desc_at, wr/rd and friends, on this fixture (unit_virtio.h) */
#define UNIT_FX      struct fx
#define UNIT_GM(f)   (&(f)->gm)
#define UNIT_MMIO(f) (&(f)->n->t)
#include "unit_virtio.h"

typedef struct virtio_net_hdr_v1 hdr_t;

/* ---- guest RAM ---------------------------------------------------------- */

static uint8_t pat(uint32_t i, uint8_t seed)
{
	return (uint8_t)(i * 7 + seed);
}

static void fill(struct fx *f, uint64_t gpa, uint32_t len, uint8_t seed)
{
	uint8_t *p = gm_ptr(&f->gm, gpa, len);

	assert_non_null(p);
	for (uint32_t i = 0; i < len; i++)
		p[i] = pat(i, seed);
}

static void assert_pattern(const uint8_t *p, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i] != pat(i, seed))
			fail_msg("byte %u is %#x, expected %#x", i, p[i], pat(i, seed));
}

/* ---- the transport, as the driver sees it ------------------------------ */

static void setup_queue(struct fx *f, unsigned int q)
{
	wr(f, REG_QUEUE_SEL, q);
	assert_int_equal(rd(f, REG_QUEUE_NUM_MAX), NET_QUEUE_SIZE);
	wr(f, REG_QUEUE_NUM, f->qsize);
	wr(f, REG_QUEUE_DESC_LOW, (uint32_t)RING_GPA(q));
	wr(f, REG_QUEUE_DESC_HIGH, 0);
	wr(f, REG_QUEUE_DRIVER_LOW, (uint32_t)(RING_GPA(q) + 0x1000));
	wr(f, REG_QUEUE_DRIVER_HIGH, 0);
	wr(f, REG_QUEUE_DEVICE_LOW, (uint32_t)(RING_GPA(q) + 0x2000));
	wr(f, REG_QUEUE_DEVICE_HIGH, 0);
	wr(f, REG_QUEUE_READY, 1);
}

/* The vmm thread, woken by queue q's ioeventfd. */
static void notify(struct fx *f, unsigned int q)
{
	pthread_mutex_lock(&f->n->t.lock);
	f->n->t.ops->notify(&f->n->t, q);
	pthread_mutex_unlock(&f->n->t.lock);
}

/* Device initialisation (virtio 1.2 §3.1.1), starting with a reset. */
static void driver_init(struct fx *f, uint64_t features, uint16_t qsize)
{
	wr(f, REG_STATUS, 0);
	assert_int_equal(rd(f, REG_STATUS), 0);
	assert_int_equal(gm_fill(&f->gm, 0, 0, RINGS_END), 0);
	memset(f->avail_idx, 0, sizeof(f->avail_idx));
	memset(f->next_desc, 0, sizeof(f->next_desc));
	f->rx_slot = f->tx_slot = 0;
	f->qsize = qsize;
	assert_int_equal(rd(f, REG_DEVICE_ID), 1);
	driver_negotiate(f, features);
	assert_int_equal(rd(f, REG_STATUS), ACK | DRIVER | FEAT_OK);
	setup_queue(f, RX);
	setup_queue(f, TX);
	wr(f, REG_STATUS, LIVE);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
	notify(f, RX);     /* what the DRIVER_OK kick does: offloads set */
	irqs(f);
	wr(f, REG_INTERRUPT_ACK, VIRTIO_INT_USED | VIRTIO_INT_CONFIG);
}

/* ---- rings ------------------------------------------------------------- */

static void desc(struct fx *f, unsigned int q, uint16_t idx, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	desc_at(f, RING_GPA(q) + 16ull * idx, addr, len, flags, next);
}

static uint16_t alloc_desc(struct fx *f, unsigned int q, unsigned int n)
{
	uint16_t h;

	assert_true(n <= f->qsize);
	if (f->next_desc[q] + n > f->qsize)
		f->next_desc[q] = 0;
	h = f->next_desc[q];
	f->next_desc[q] = (uint16_t)(h + n);
	return h;
}

static void avail(struct fx *f, unsigned int q, uint16_t head)
{
	uint64_t a = RING_GPA(q) + 0x1000;

	put16(f, a + 4 + 2ull * (f->avail_idx[q] % f->qsize), head);
	f->avail_idx[q]++;
	put16(f, a + 2, f->avail_idx[q]);
}

struct buf {
	uint64_t gpa;
	uint32_t len;
	bool w;
};

static uint16_t chain(struct fx *f, unsigned int q, const struct buf *b, unsigned int n)
{
	uint16_t h = alloc_desc(f, q, n);

	for (unsigned int i = 0; i < n; i++)
		desc(f, q, (uint16_t)(h + i), b[i].gpa, b[i].len,
		     (uint16_t)((b[i].w ? F_WRITE : 0) | (i + 1 < n ? F_NEXT : 0)),
		     (uint16_t)(h + i + 1));
	avail(f, q, h);
	return h;
}

static uint16_t used_idx(struct fx *f, unsigned int q)
{
	return get16(f, RING_GPA(q) + 0x2000 + 2);
}

static uint32_t used_id(struct fx *f, unsigned int q, uint16_t i)
{
	return get32(f, RING_GPA(q) + 0x2000 + 4 + 8ull * (i % f->qsize));
}

static uint32_t used_len(struct fx *f, unsigned int q, uint16_t i)
{
	return get32(f, RING_GPA(q) + 0x2000 + 8 + 8ull * (i % f->qsize));
}

/* ---- the event loop ---------------------------------------------------------- */

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the loop until queue q's used idx reaches `want` (or `ms` pass). */
static bool wait_used(struct fx *f, unsigned int q, uint16_t want, int ms)
{
	uint64_t end = ms_now() + (uint64_t)ms;

	while (used_idx(f, q) != want && ms_now() < end)
		assert_true(ev_run_once(&f->loop, 5) >= 0);
	return used_idx(f, q) == want;
}

/* CLOCK_MONOTONIC, the clock of the device's timerfds. */
static uint64_t us_now(void)
{
	return time_mono_us();
}

/* Run the loop until queue q's used idx reaches `want` (asserted, within
 * UNIT_WAIT_US); returns when the event-loop pass that got it there began.
 * Whatever the device did in that pass (publish the entries, then arm a
 * timer, say) happened after the returned time. */
static uint64_t until_used(struct fx *f, unsigned int q, uint16_t want)
{
	uint64_t pass = us_now(), end = pass + UNIT_WAIT_US;

	while (used_idx(f, q) != want && (pass = us_now()) < end)
		assert_true(ev_run_once(&f->loop, 5) >= 0);
	assert_int_equal(used_idx(f, q), want);
	return pass;
}

/* Run the loop for `ms`. */
static void spin(struct fx *f, int ms)
{
	uint64_t end = ms_now() + (uint64_t)ms;

	while (ms_now() < end)
		assert_true(ev_run_once(&f->loop, 2) >= 0);
}

/* ---- the peer (the host side of the tap) ------------------------------------- */

static ssize_t peer_recv(struct fx *f)
{
	ssize_t n = recv(f->peer, f->msg, MAX_MSG, MSG_DONTWAIT);

	return n < 0 ? -errno : n;
}

/* A frame from the host: header, then `len` patterned bytes. */
static void peer_send(struct fx *f, const hdr_t *h, uint32_t len, uint8_t seed)
{
	memcpy(f->msg, h, NET_HDR_LEN);
	for (uint32_t i = 0; i < len; i++)
		f->msg[NET_HDR_LEN + i] = pat(i, seed);
	assert_int_equal(send(f->peer, f->msg, NET_HDR_LEN + len, 0), (ssize_t)(NET_HDR_LEN + len));
}

/* Bytes of the frame waiting in the device's end, 0 if none. */
static int tap_pending(struct fx *f)
{
	struct pollfd p = { .fd = f->n->fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* ---- building frames ----------------------------------------------------------- */

static hdr_t hdr(uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t gso_size,
		 uint16_t csum_start, uint16_t csum_offset)
{
	return (hdr_t){ .flags = flags, .gso_type = gso, .hdr_len = hdr_len,
			.gso_size = gso_size, .csum_start = csum_start,
			.csum_offset = csum_offset, .num_buffers = 0x5a5a };
}

static const hdr_t plain = { .num_buffers = 0x5a5a };
/* A TSO frame: GSO_NONE frames longer than the MTU are dropped (F_MTU). */
static const hdr_t tso = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = GSO_TCPV4,
			   .hdr_len = 54, .gso_size = 1448, .csum_start = 34, .csum_offset = 16,
			   .num_buffers = 0x5a5a };

/* A tx frame: header descriptor, then `len` patterned bytes in one. */
static uint16_t tx_post(struct fx *f, const hdr_t *h, uint32_t len, uint8_t seed)
{
	uint64_t hg = TX_HDR_GPA + 16ull * (f->tx_slot % 64);
	uint64_t dg = TX_GPA + TX_SLOT * (f->tx_slot % 8);

	f->tx_slot++;
	put(f, hg, h, NET_HDR_LEN);
	fill(f, dg, len, seed);
	if (!len)
		return chain(f, TX, (struct buf[]){ { hg, NET_HDR_LEN, false } }, 1);
	return chain(f, TX, (struct buf[]){ { hg, NET_HDR_LEN, false }, { dg, len, false } }, 2);
}

/* `n` rx chains of one `len`-byte buffer each (4 KiB apart... or more). */
static void rx_post(struct fx *f, unsigned int n, uint32_t len)
{
	uint64_t stride = len <= 4096 ? 4096 : (len + 4095) & ~4095ull;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t g = RX_GPA + stride * (f->rx_slot++ % (0x100000 / stride));

		assert_int_equal(gm_fill(&f->gm, g, 0xcc, len), 0);
		chain(f, RX, (struct buf[]){ { g, len, true } }, 1);
	}
}

/* Which rx buffer did chain `head` get?  (rx_post's chains have one.) */
static uint8_t *rx_buf_of(struct fx *f, uint32_t head)
{
	uint8_t d[16];
	uint64_t addr;

	assert_int_equal(gm_read(&f->gm, RING_GPA(RX) + 16ull * head, d, 16), 0);
	memcpy(&addr, d, 8);
	return gm_ptr(&f->gm, addr, 1);
}

/* ---- fixture ------------------------------------------------------------------ */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->peer = -1;
	f->n = calloc(1, sizeof(*f->n));
	f->ram = calloc(1, RAM_SIZE);
	f->msg = malloc(MAX_MSG);
	if (!f->n || !f->ram || !f->msg || ev_init(&f->loop))
		return -1;
	gm_init_fake(&f->gm, f->ram, RAM_SIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->created)
		net_destroy(f->n);
	if (f->peer >= 0)
		close(f->peer);
	ev_close(&f->loop);
	unit_drop_all();
	free(f->msg);
	free(f->ram);
	free(f->n);
	free(f);
	return 0;
}

struct opts {
	bool no_mac;
	uint16_t mtu;
	struct rate_limiter_cfg rx, tx;
};

static void dev_create(struct fx *f, const struct opts *o)
{
	struct net_cfg cfg = {
		.id = "eth0",
		.host_dev = "tap0",
		.has_mac = !o->no_mac,
		.mac = { 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 },
		.mtu = o->mtu,
		.rx = o->rx,
		.tx = o->tx,
	};
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	f->peer = sv[1];
	f->created = true;
	assert_ret(net_create_fd(f->n, &cfg, sv[0], &f->gm, &f->loop), 0);
}

/* Everything offered but EVENT_IDX (and MRG_RXBUF unless asked). */
static uint64_t std_features(struct fx *f, bool mrg)
{
	uint64_t feat = device_features(f) & ~BIT(VIRTIO_RING_F_EVENT_IDX);

	return mrg ? feat : feat & ~BIT(VIRTIO_NET_F_MRG_RXBUF);
}

static void start(struct fx *f, bool mrg)
{
	dev_create(f, &(struct opts){ 0 });
	driver_init(f, std_features(f, mrg), QSIZE);
}

/* ---- features and config --------------------------------------------------------- */

static void test_features_and_config(void **state)
{
	struct fx *f = *state;
	uint64_t offloads = BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
			    BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |
			    BIT(VIRTIO_NET_F_GUEST_UFO) | BIT(VIRTIO_NET_F_HOST_TSO4) |
			    BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_UFO);
	uint64_t common = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
			  BIT(VIRTIO_NET_F_STATUS) |
			  BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC);
	uint8_t cfg[12], mac[6] = { 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 };
	uint16_t v;

	dev_create(f, &(struct opts){ 0 });
	assert_string_equal(f->n->name, "net eth0");
	assert_string_equal(f->n->id, "eth0");
	assert_false(f->n->is_tap);
	assert_int_equal(device_features(f), common | offloads | BIT(VIRTIO_NET_F_MAC));
	assert_int_equal(rd(f, REG_DEVICE_ID), 1);
	for (unsigned int i = 0; i < 12; i++)
		virtio_mmio_ops.read(&f->n->t, REG_CONFIG + i, &cfg[i], 1);
	assert_memory_equal(cfg, mac, 6);
	memcpy(&v, cfg + 6, 2);
	assert_int_equal(v, VIRTIO_NET_S_LINK_UP);
	memcpy(&v, cfg + 10, 2);
	assert_int_equal(v, 0);             /* no mtu configured: F_MTU not offered */
	/* Past the config space: nothing. */
	v = 0x1234;
	virtio_mmio_ops.read(&f->n->t, REG_CONFIG + 12, (uint8_t *)&v, 2);
	assert_int_equal(v, 0);
	/* Read-only. */
	virtio_mmio_ops.write(&f->n->t, REG_CONFIG, (const uint8_t *)"\1\2\3\4", 4);
	virtio_mmio_ops.read(&f->n->t, REG_CONFIG, cfg, 6);
	assert_memory_equal(cfg, mac, 6);
	assert_int_equal(f->n->t.ignored_writes, 1);
	/* Two queues of 256; no third. */
	wr(f, REG_QUEUE_SEL, 2);
	assert_int_equal(rd(f, REG_QUEUE_NUM_MAX), 0);
	/* A driver asking for a control queue does not get FEATURES_OK. */
	wr(f, REG_STATUS, ACK);
	wr(f, REG_STATUS, ACK | DRIVER);
	wr(f, REG_DRIVER_FEATURES_SEL, 0);
	wr(f, REG_DRIVER_FEATURES, (uint32_t)BIT(VIRTIO_NET_F_CTRL_VQ));
	wr(f, REG_DRIVER_FEATURES_SEL, 1);
	wr(f, REG_DRIVER_FEATURES, 1);
	wr(f, REG_STATUS, ACK | DRIVER | FEAT_OK);
	assert_int_equal(rd(f, REG_STATUS), ACK | DRIVER);
}

static void test_no_mac(void **state)
{
	struct fx *f = *state;
	uint8_t cfg[6];

	dev_create(f, &(struct opts){ .no_mac = true });
	assert_false(device_features(f) & BIT(VIRTIO_NET_F_MAC));
	virtio_mmio_ops.read(&f->n->t, REG_CONFIG, cfg, 6);
	assert_memory_equal(cfg, "\0\0\0\0\0\0", 6);
}

/* The offloads set at DRIVER_OK follow what the guest negotiated. */
static void test_offload_negotiation(void **state)
{
	struct fx *f = *state;
	uint64_t all;

	dev_create(f, &(struct opts){ 0 });
	all = std_features(f, true);
	driver_init(f, all, QSIZE);
	assert_int_equal(f->n->offload, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO);
	driver_init(f, all & ~BIT(VIRTIO_NET_F_GUEST_TSO6) & ~BIT(VIRTIO_NET_F_GUEST_UFO), QSIZE);
	assert_int_equal(f->n->offload, TUN_F_CSUM | TUN_F_TSO4);
	/* TSO is only with CSUM. */
	driver_init(f, all & ~BIT(VIRTIO_NET_F_GUEST_CSUM), QSIZE);
	assert_int_equal(f->n->offload, 0);
	driver_init(f, BIT(VIRTIO_F_VERSION_1), QSIZE);
	assert_int_equal(f->n->offload, 0);
}

/* ---- transmit ---------------------------------------------------------------------- */

/* Run the tx frames posted: `n` used entries of length 0 and no reset. */
static void tx_run(struct fx *f, uint16_t n)
{
	uint16_t before = used_idx(f, TX);

	notify(f, TX);
	assert_true(wait_used(f, TX, (uint16_t)(before + n), 1000));
	for (uint16_t i = 0; i < n; i++)
		assert_int_equal(used_len(f, TX, (uint16_t)(before + i)), 0);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
}

static void assert_peer_frame(struct fx *f, const hdr_t *want, uint32_t len, uint8_t seed)
{
	hdr_t got;

	assert_int_equal(peer_recv(f), NET_HDR_LEN + len);
	memcpy(&got, f->msg, NET_HDR_LEN);
	assert_int_equal(got.flags, want->flags);
	assert_int_equal(got.gso_type, want->gso_type);
	assert_int_equal(got.hdr_len, want->hdr_len);
	assert_int_equal(got.gso_size, want->gso_size);
	assert_int_equal(got.csum_start, want->csum_start);
	assert_int_equal(got.csum_offset, want->csum_offset);
	assert_int_equal(got.num_buffers, 0);     /* the device's copy, not the guest's */
	assert_pattern(f->msg + NET_HDR_LEN, len, seed);
}

static void test_tx(void **state)
{
	struct fx *f = *state;
	hdr_t h = hdr(CSUM, 0, 0, 0, 34, 16);
	uint16_t head;

	start(f, false);
	head = tx_post(f, &h, 60, 1);
	tx_run(f, 1);
	assert_int_equal(used_id(f, TX, 0), head);
	assert_peer_frame(f, &h, 60, 1);
	assert_int_equal(peer_recv(f), -EAGAIN);
	assert_true(irqs(f) >= 1);
	assert_int_equal(rd(f, REG_INTERRUPT_STATUS), VIRTIO_INT_USED);
	/* A batch: in order, one interrupt for all. */
	wr(f, REG_INTERRUPT_ACK, VIRTIO_INT_USED);
	for (int i = 0; i < 5; i++)
		tx_post(f, &plain, 100 + (uint32_t)i, (uint8_t)(10 + i));
	tx_run(f, 5);
	for (int i = 0; i < 5; i++)
		assert_peer_frame(f, &plain, 100 + (uint32_t)i, (uint8_t)(10 + i));
	assert_int_equal(irqs(f), 1);
	assert_int_equal(f->n->stats.tx_frames, 6);
	assert_int_equal(f->n->stats.tx_bytes, 60 + 500 + 10);
	/* The largest frame, and a GSO one. */
	tx_post(f, &plain, NET_MAX_FRAME, 3);
	tx_run(f, 1);
	assert_peer_frame(f, &plain, NET_MAX_FRAME, 3);
	h = hdr(CSUM, GSO_TCPV4, 54, 1448, 34, 16);
	tx_post(f, &h, 20000, 4);
	tx_run(f, 1);
	assert_peer_frame(f, &h, 20000, 4);
	h = hdr(CSUM, GSO_TCPV6, 74, 1428, 54, 16);
	tx_post(f, &h, 9000, 5);
	h.gso_type = GSO_UDP;
	h.csum_offset = 6;
	tx_post(f, &h, 9000, 6);
	tx_run(f, 2);
	h.gso_type = GSO_TCPV6;
	h.csum_offset = 16;
	assert_peer_frame(f, &h, 9000, 5);
	h.gso_type = GSO_UDP;
	h.csum_offset = 6;
	assert_peer_frame(f, &h, 9000, 6);
	assert_int_equal(f->n->stats.io_errors, 0);
}

/* The header split over descriptors, the frame over several, indirect. */
/* Regression: writes that completed inline at submit (reaped by the
 * notify's own net_run) still left the completion eventfd signalled, and
 * the event loop woke up once more for nothing after every batch.  Also
 * the counters that show where the time goes. */
static void test_tx_inline_no_idle_wakeup(void **state)
{
	struct fx *f = *state;

	start(f, false);
	for (int i = 0; i < 5; i++)
		tx_post(f, &plain, 100 + (uint32_t)i, (uint8_t)i);
	notify(f, TX);
	assert_int_equal(used_idx(f, TX), 5);            /* done at submit */
	spin(f, 30);
	assert_int_equal(f->n->stats.io_wakeups, 0);
	assert_int_equal(f->n->stats.io_wakeups_idle, 0);
	assert_int_equal(f->n->stats.tx_queue_events, 1);
	assert_int_equal(f->n->stats.interrupts, 1);
	for (int i = 0; i < 5; i++)
		assert_peer_frame(f, &plain, 100 + (uint32_t)i, (uint8_t)i);
	/* A frame for the guest: its parked read completes through the
	 * eventfd (one wake-up, not idle). */
	rx_post(f, 1, 2048);
	notify(f, RX);
	assert_int_equal(f->n->stats.rx_queue_events, 2);  /* driver_init's kick, this one */
	spin(f, 10);
	peer_send(f, &plain, 80, 7);
	assert_true(wait_used(f, RX, 1, 1000));
	spin(f, 10);
	assert_true(f->n->stats.io_wakeups >= 1);
	assert_int_equal(f->n->stats.io_wakeups_idle, 0);
	assert_int_equal(f->n->stats.tap_reads, 1);
	assert_int_equal(f->n->stats.interrupts, 2);
}

static void test_tx_layouts(void **state)
{
	struct fx *f = *state;
	hdr_t h = hdr(CSUM, 0, 0, 0, 14, 6);
	uint8_t raw[NET_HDR_LEN];
	uint16_t head;

	start(f, false);
	memcpy(raw, &h, NET_HDR_LEN);
	put(f, TX_HDR_GPA, raw, NET_HDR_LEN);
	fill(f, TX_GPA, 300, 9);
	head = chain(f, TX, (struct buf[]){ { TX_HDR_GPA, 5, false }, { TX_HDR_GPA + 5, 7, false },
					     { TX_GPA, 100, false }, { TX_GPA + 100, 200, false } }, 4);
	tx_run(f, 1);
	assert_int_equal(used_id(f, TX, 0), head);
	assert_peer_frame(f, &h, 300, 9);
	/* Header and frame in one descriptor. */
	put(f, TX_GPA, raw, NET_HDR_LEN);
	fill(f, TX_GPA + NET_HDR_LEN, 64, 2);
	chain(f, TX, (struct buf[]){ { TX_GPA, NET_HDR_LEN + 64, false } }, 1);
	tx_run(f, 1);
	assert_peer_frame(f, &h, 64, 2);
	/* The header's last bytes with the frame. */
	put(f, TX_HDR_GPA, raw, 8);
	put(f, TX_GPA + 0x1000, raw + 8, 4);
	fill(f, TX_GPA + 0x1004, 80, 4);
	chain(f, TX, (struct buf[]){ { TX_HDR_GPA, 8, false }, { TX_GPA + 0x1000, 84, false } }, 2);
	tx_run(f, 1);
	assert_peer_frame(f, &h, 80, 4);
	/* Through an indirect table, with zero-length descriptors in it. */
	put(f, TX_HDR_GPA, raw, NET_HDR_LEN);
	fill(f, TX_GPA, 200, 5);
	desc_at(f, TABLE_GPA, TX_HDR_GPA, NET_HDR_LEN, F_NEXT, 1);
	desc_at(f, TABLE_GPA + 16, TX_GPA, 0, F_NEXT, 2);
	desc_at(f, TABLE_GPA + 32, TX_GPA, 200, 0, 0);
	head = alloc_desc(f, TX, 1);
	desc(f, TX, head, TABLE_GPA, 48, F_IND, 0);
	avail(f, TX, head);
	tx_run(f, 1);
	assert_peer_frame(f, &h, 200, 5);
	assert_int_equal(f->n->stats.tx_frames, 4);
}

enum { C_HDR, C_OVERSIZE, C_RUNT };     /* which counter */
enum { N_ALL, N_NO_HOST_GSO, N_NO_CSUM };  /* what is negotiated */

struct bad_tx {
	const char *name;
	hdr_t h;
	uint32_t len;
	int counter;
	int neg;
};

#define GSO4(sz) .flags = CSUM, .gso_type = GSO_TCPV4, .gso_size = (sz)

static const struct bad_tx bad_tx[] = {
	{ "gso type 2",                 { .flags = CSUM, .gso_type = 2, .gso_size = 100 }, 500,
	  C_HDR, N_ALL },
	{ "gso type 5 (UDP_L4)",        { .flags = CSUM, .gso_type = 5, .gso_size = 100 }, 500,
	  C_HDR, N_ALL },
	{ "gso type 0x7f",              { .flags = CSUM, .gso_type = 0x7f, .gso_size = 100 }, 500,
	  C_HDR, N_ALL },
	{ "TCPV4 not negotiated",       { GSO4(100) }, 500, C_HDR, N_NO_HOST_GSO },
	{ "TCPV6 not negotiated",       { .flags = CSUM, .gso_type = GSO_TCPV6, .gso_size = 100 },
	  500, C_HDR, N_NO_HOST_GSO },
	{ "UDP not negotiated",         { .flags = CSUM, .gso_type = GSO_UDP, .gso_size = 100 },
	  500, C_HDR, N_NO_HOST_GSO },
	{ "ECN not negotiated",         { .flags = CSUM, .gso_type = GSO_TCPV4 | GSO_ECN,
					  .gso_size = 100 }, 500, C_HDR, N_ALL },
	{ "ECN without GSO",            { .gso_type = GSO_ECN }, 500, C_HDR, N_ALL },
	{ "GSO without NEEDS_CSUM",     { .gso_type = GSO_TCPV4, .gso_size = 100 }, 500,
	  C_HDR, N_ALL },
	{ "GSO with gso_size 0",        { GSO4(0) }, 500, C_HDR, N_ALL },
	{ "gso_size past the frame",    { GSO4(501) }, 500, C_HDR, N_ALL },
	{ "csum_start past the frame",  { .flags = CSUM, .csum_start = 499 }, 500, C_HDR, N_ALL },
	{ "csum_offset past the frame", { .flags = CSUM, .csum_offset = 499 }, 500, C_HDR, N_ALL },
	{ "csum fields overflowing",    { .flags = CSUM, .csum_start = 0xffff,
					  .csum_offset = 0xffff }, 500, C_HDR, N_ALL },
	{ "NEEDS_CSUM not negotiated",  { .flags = CSUM, .csum_start = 14, .csum_offset = 6 }, 500,
	  C_HDR, N_NO_CSUM },
	{ "DATA_VALID from the driver", { .flags = VIRTIO_NET_HDR_F_DATA_VALID }, 500,
	  C_HDR, N_ALL },
	{ "unknown flag",               { .flags = 0x80 }, 500, C_HDR, N_ALL },
	{ "hdr_len past the frame",     { .hdr_len = 501 }, 500, C_HDR, N_ALL },
	{ "zero-length frame",          { .flags = 0 }, 0, C_RUNT, N_ALL },
	{ "13-byte frame",              { .flags = 0 }, 13, C_RUNT, N_ALL },
	{ "frame of 65551 bytes",       { .flags = 0 }, NET_MAX_FRAME + 1, C_OVERSIZE, N_ALL },
	{ "frame of 65551 bytes, GSO",  { GSO4(1448), .csum_start = 34, .csum_offset = 16 },
	  NET_MAX_FRAME + 1, C_OVERSIZE, N_ALL },
};

static uint64_t *bad_counter(struct fx *f, int which)
{
	return which == C_HDR ? &f->n->stats.tx_dropped_bad_hdr :
	       which == C_OVERSIZE ? &f->n->stats.tx_dropped_oversize : &f->n->stats.tx_dropped_runt;
}

/* Each bad header or length: dropped and counted, the chain back with
 * length 0, nothing on the tap, no reset; the next frame goes through. */
static void test_tx_bad_headers(void **state)
{
	struct fx *f = *state;
	uint64_t host_gso = BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
			    BIT(VIRTIO_NET_F_HOST_UFO);

	dev_create(f, &(struct opts){ 0 });
	for (size_t i = 0; i < ARRAY_SIZE(bad_tx); i++) {
		const struct bad_tx *c = &bad_tx[i];
		uint64_t feat = std_features(f, false), before;
		uint16_t head;

		if (c->neg == N_NO_HOST_GSO)
			feat &= ~host_gso;
		if (c->neg == N_NO_CSUM)
			feat &= ~(BIT(VIRTIO_NET_F_CSUM) | host_gso);
		driver_init(f, feat, QSIZE);
		before = *bad_counter(f, c->counter);
		head = tx_post(f, &c->h, c->len, 1);
		notify(f, TX);
		if (used_idx(f, TX) != 1 || used_id(f, TX, 0) != head || used_len(f, TX, 0))
			fail_msg("case '%s': chain not returned with length 0", c->name);
		if (*bad_counter(f, c->counter) != before + 1)
			fail_msg("case '%s': not counted", c->name);
		if (peer_recv(f) != -EAGAIN)
			fail_msg("case '%s': the frame reached the tap", c->name);
		if (rd(f, REG_STATUS) != LIVE)
			fail_msg("case '%s': status %#x", c->name, rd(f, REG_STATUS));
		tx_post(f, &plain, 60, 2);
		tx_run(f, 1);
		assert_peer_frame(f, &plain, 60, 2);
	}
	assert_int_equal(f->n->stats.tx_dropped_bad_hdr + f->n->stats.tx_dropped_oversize +
			 f->n->stats.tx_dropped_runt, ARRAY_SIZE(bad_tx));
	assert_int_equal(f->n->stats.tx_frames, ARRAY_SIZE(bad_tx));
	assert_int_equal(f->n->t.needs_reset, 0);
}

/* ---- receive ------------------------------------------------------------------------- */

/* After a frame: the chain used (and its length), the header written. */
static void assert_rx(struct fx *f, uint16_t i, uint32_t len, uint16_t nbufs)
{
	hdr_t got;
	uint8_t *p = rx_buf_of(f, used_id(f, RX, i));

	assert_int_equal(used_len(f, RX, i), len);
	memcpy(&got, p, NET_HDR_LEN);
	assert_int_equal(got.num_buffers, nbufs);
}

static void test_rx(void **state)
{
	struct fx *f = *state;
	hdr_t h = plain;
	uint8_t *p;

	start(f, false);
	rx_post(f, 4, 2048);
	notify(f, RX);
	assert_true(f->n->rx.read.busy);
	assert_int_equal(used_idx(f, RX), 0);
	peer_send(f, &h, 100, 7);
	assert_true(wait_used(f, RX, 1, 1000));
	assert_int_equal(used_id(f, RX, 0), 0);
	assert_rx(f, 0, NET_HDR_LEN + 100, 1);
	p = rx_buf_of(f, 0);
	assert_pattern(p + NET_HDR_LEN, 100, 7);
	assert_int_equal(p[NET_HDR_LEN + 100], 0xcc);   /* nothing past the frame */
	assert_true(irqs(f) >= 1);
	assert_int_equal(rd(f, REG_INTERRUPT_STATUS), VIRTIO_INT_USED);
	/* Header fields the guest negotiated come through. */
	h = hdr(CSUM, GSO_TCPV4, 54, 1448, 34, 16);
	peer_send(f, &h, 1400, 8);
	assert_true(wait_used(f, RX, 2, 1000));
	assert_rx(f, 1, NET_HDR_LEN + 1400, 1);
	p = rx_buf_of(f, used_id(f, RX, 1));
	assert_int_equal(((hdr_t *)p)->gso_type, GSO_TCPV4);
	assert_int_equal(((hdr_t *)p)->gso_size, 1448);
	assert_pattern(p + NET_HDR_LEN, 1400, 8);
	assert_int_equal(f->n->stats.rx_frames, 2);
	assert_int_equal(f->n->stats.rx_bytes, 1500);
	assert_true(f->n->rx.read.busy);                 /* the next read is waiting */
}

/* With dirty pages tracked (Diff snapshots), the buffer the tap read went
 * into (io_uring wrote it, KVM's log never sees that) and the used ring are
 * marked; buffers no read used are not. */
static bool page_dirty(const uint64_t *bits, uint64_t gpa)
{
	return bits[gpa / GM_PAGE_SIZE / 64] >> (gpa / GM_PAGE_SIZE % 64) & 1;
}

static void test_rx_marks_dirty(void **state)
{
	struct fx *f = *state;
	uint64_t bits[RAM_SIZE / GM_PAGE_SIZE / 64] = { 0 };
	hdr_t h = plain;

	assert_ret(gm_dirty_init(&f->gm), 0);
	start(f, false);
	rx_post(f, 4, 2048);
	notify(f, RX);
	gm_dirty_take(&f->gm, bits);
	memset(bits, 0, sizeof(bits));
	peer_send(f, &h, 100, 7);
	assert_true(wait_used(f, RX, 1, 1000));
	gm_dirty_take(&f->gm, bits);
	assert_int_equal(used_id(f, RX, 0), 0);
	assert_true(page_dirty(bits, RX_GPA) && page_dirty(bits, RING_GPA(RX) + 0x2000));
	assert_false(page_dirty(bits, RX_GPA + 0x1000) || page_dirty(bits, RX_GPA + 0x3000));
	free(f->gm.dirty);
	f->gm.dirty = NULL;
}

/* MRG_RXBUF: a frame over several chains; the untouched ones wait. */
static void test_rx_mrg(void **state)
{
	struct fx *f = *state;

	start(f, true);
	assert_int_equal(f->n->offload & TUN_F_TSO4, TUN_F_TSO4);
	rx_post(f, 40, 2048);                   /* 80 KiB: room for 65562 bytes */
	notify(f, RX);
	assert_true(f->n->rx.read.busy);
	assert_int_equal(f->n->rx.read.nr_chains, 33);   /* 33 * 2048 >= 65562 */
	peer_send(f, &tso, 5000, 1);
	assert_true(wait_used(f, RX, 3, 1000));
	assert_int_equal(used_len(f, RX, 0), 2048);
	assert_int_equal(used_len(f, RX, 1), 2048);
	assert_int_equal(used_len(f, RX, 2), NET_HDR_LEN + 5000 - 4096);
	for (int i = 0; i < 3; i++)
		assert_int_equal(used_id(f, RX, (uint16_t)i), i);
	assert_rx(f, 0, 2048, 3);
	assert_pattern(rx_buf_of(f, 0) + NET_HDR_LEN, 2048 - NET_HDR_LEN, 1);
	assert_pattern(rx_buf_of(f, 1), 2048, (uint8_t)(1 + 7 * (2048 - NET_HDR_LEN)));
	/* The next frame starts at the first untouched chain. */
	peer_send(f, &plain, 100, 2);
	assert_true(wait_used(f, RX, 4, 1000));
	assert_int_equal(used_id(f, RX, 3), 3);
	assert_rx(f, 3, NET_HDR_LEN + 100, 1);
	/* The largest frame. */
	peer_send(f, &tso, NET_MAX_FRAME, 3);
	assert_true(wait_used(f, RX, 4 + 33, 1000));
	assert_int_equal(used_len(f, RX, 4 + 32), NET_HDR_LEN + NET_MAX_FRAME - 32 * 2048);
	assert_rx(f, 4, 2048, 33);
	assert_int_equal(f->n->stats.rx_frames, 3);
	/* 3 chains left and none more in the ring, but the guest can still
	 * post: rx waits for more rather than read into too little. */
	assert_false(f->n->rx.read.busy);
	assert_true(f->n->rx.waiting);
	rx_post(f, 30, 2048);
	notify(f, RX);
	assert_true(f->n->rx.read.busy);
	assert_int_equal(f->n->rx.nr, 33);
	assert_int_equal(f->n->rx.read.nr_chains, 33);
	peer_send(f, &plain, 60, 4);
	assert_true(wait_used(f, RX, 38, 1000));
	assert_int_equal(used_id(f, RX, 37), 37);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
}

/* MRG_RXBUF without GUEST_TSO: room for 1518 + 12 bytes is enough. */
static void test_rx_mrg_small(void **state)
{
	struct fx *f = *state;
	uint64_t feat;

	dev_create(f, &(struct opts){ 0 });
	feat = std_features(f, true) & ~(BIT(VIRTIO_NET_F_GUEST_TSO4) |
					 BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_UFO));
	driver_init(f, feat, QSIZE);
	assert_int_equal(f->n->offload, TUN_F_CSUM);
	rx_post(f, 8, 512);
	notify(f, RX);
	assert_int_equal(f->n->rx.read.nr_chains, 3);    /* 1536 >= 1530 */
	peer_send(f, &plain, 1000, 5);
	assert_true(wait_used(f, RX, 2, 1000));
	assert_int_equal(used_len(f, RX, 0), 512);
	assert_int_equal(used_len(f, RX, 1), NET_HDR_LEN + 1000 - 512);
	assert_rx(f, 0, 512, 2);
	/* A GSO frame the guest did not negotiate: dropped, chains kept. */
	peer_send(f, &(hdr_t){ .flags = CSUM, .gso_type = GSO_TCPV4, .gso_size = 1000 }, 1200, 6);
	spin(f, 50);
	assert_int_equal(used_idx(f, RX), 2);
	assert_int_equal(f->n->stats.rx_dropped_bad_hdr, 1);
	peer_send(f, &plain, 70, 7);
	assert_true(wait_used(f, RX, 3, 1000));
	assert_int_equal(used_id(f, RX, 2), 2);
	assert_pattern(rx_buf_of(f, 2) + NET_HDR_LEN, 70, 7);
}

/* Frames from the tap the guest did not ask for are dropped. */
static void test_rx_bad_frames(void **state)
{
	struct fx *f = *state;
	uint64_t feat;
	hdr_t h;

	dev_create(f, &(struct opts){ 0 });
	feat = std_features(f, false) & ~(BIT(VIRTIO_NET_F_GUEST_CSUM) |
					  BIT(VIRTIO_NET_F_GUEST_TSO4) |
					  BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_UFO));
	driver_init(f, feat, QSIZE);
	rx_post(f, 2, 2048);
	notify(f, RX);
	peer_send(f, &(hdr_t){ .flags = CSUM, .csum_start = 14, .csum_offset = 6 }, 100, 1);
	peer_send(f, &(hdr_t){ .flags = CSUM, .gso_type = GSO_TCPV4, .gso_size = 100 }, 300, 1);
	peer_send(f, &(hdr_t){ .gso_type = 9 }, 100, 1);
	peer_send(f, &(hdr_t){ .flags = 0x10 }, 100, 1);
	peer_send(f, &plain, 5, 1);                            /* runt */
	spin(f, 100);
	assert_int_equal(used_idx(f, RX), 0);
	assert_int_equal(f->n->stats.rx_dropped_bad_hdr, 4);
	assert_int_equal(f->n->stats.rx_dropped_bad_len, 1);
	/* DATA_VALID without GUEST_CSUM reaches the guest as flags 0. */
	h = plain;
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	peer_send(f, &h, 64, 2);
	assert_true(wait_used(f, RX, 1, 1000));
	assert_int_equal(used_id(f, RX, 0), 0);
	memcpy(&h, rx_buf_of(f, 0), NET_HDR_LEN);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.num_buffers, 1);
	assert_pattern(rx_buf_of(f, 0) + NET_HDR_LEN, 64, 2);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
}

/* No rx buffers: the tap is not read; the frame waits and comes later. */
static void test_rx_no_buffers(void **state)
{
	struct fx *f = *state;

	start(f, false);
	notify(f, RX);
	assert_false(f->n->rx.read.busy);
	assert_int_equal(f->n->stats.rx_waits_no_buffers, 1);
	peer_send(f, &plain, 200, 3);
	spin(f, 50);
	assert_true(tap_pending(f));                     /* still in the tap's queue */
	notify(f, RX);
	assert_int_equal(f->n->stats.rx_waits_no_buffers, 1);   /* one wait, counted once */
	rx_post(f, 1, 2048);
	notify(f, RX);
	assert_true(wait_used(f, RX, 1, 1000));
	assert_rx(f, 0, NET_HDR_LEN + 200, 1);
	assert_pattern(rx_buf_of(f, 0) + NET_HDR_LEN, 200, 3);
	assert_false(tap_pending(f));
	/* Out of buffers again: the next frame waits too. */
	spin(f, 20);
	assert_false(f->n->rx.read.busy);
	assert_int_equal(f->n->stats.rx_waits_no_buffers, 2);
	peer_send(f, &plain, 300, 4);
	spin(f, 20);
	assert_int_equal(used_idx(f, RX), 1);
	rx_post(f, 1, 2048);
	notify(f, RX);
	assert_true(wait_used(f, RX, 2, 1000));
	assert_pattern(rx_buf_of(f, 1) + NET_HDR_LEN, 300, 4);
	assert_int_equal(f->n->stats.rx_frames, 2);
}

/* With EVENT_IDX the device asks for a notification only when it waits. */
static void test_rx_event_idx(void **state)
{
	struct fx *f = *state;
	uint64_t avail_event = RING_GPA(RX) + 0x2000 + 4 + 8ull * QSIZE;

	dev_create(f, &(struct opts){ 0 });
	driver_init(f, device_features(f) & ~BIT(VIRTIO_NET_F_MRG_RXBUF), QSIZE);
	assert_true(f->n->t.queues[RX].event_idx);
	assert_int_equal(get16(f, avail_event), 0);
	rx_post(f, 2, 2048);
	notify(f, RX);
	peer_send(f, &plain, 100, 1);
	assert_true(wait_used(f, RX, 1, 1000));
	peer_send(f, &plain, 100, 2);
	assert_true(wait_used(f, RX, 2, 1000));
	spin(f, 10);
	assert_int_equal(get16(f, avail_event), 2);  /* out of buffers: notify at entry 2 */
}

/* ---- hostile rings --------------------------------------------------------------- */

struct hostile {
	const char *name;
	void (*act)(struct fx *f);
};

static void act_tx_writable(struct fx *f)
{
	put(f, TX_HDR_GPA, &plain, NET_HDR_LEN);
	chain(f, TX, (struct buf[]){ { TX_HDR_GPA, NET_HDR_LEN, false }, { TX_GPA, 100, true } }, 2);
}

static void act_tx_all_writable(struct fx *f)
{
	chain(f, TX, (struct buf[]){ { TX_GPA, 200, true } }, 1);
}

static void act_tx_short_hdr(struct fx *f)
{
	chain(f, TX, (struct buf[]){ { TX_HDR_GPA, 11, false } }, 1);
}

static void act_tx_empty(struct fx *f)
{
	uint16_t h = alloc_desc(f, TX, 1);

	desc(f, TX, h, TX_GPA, 0, 0, 0);
	avail(f, TX, h);
}

static void act_tx_loop(struct fx *f)
{
	desc(f, TX, 0, TX_HDR_GPA, NET_HDR_LEN, F_NEXT, 1);
	desc(f, TX, 1, TX_GPA, 100, F_NEXT, 0);
	avail(f, TX, 0);
}

static void act_tx_outside_ram(struct fx *f)
{
	chain(f, TX, (struct buf[]){ { TX_HDR_GPA, NET_HDR_LEN, false },
				     { RAM_SIZE - 50, 100, false } }, 2);
}

static void act_tx_avail_jump(struct fx *f)
{
	put16(f, RING_GPA(TX) + 0x1000 + 2, QSIZE + 1);
}

static void act_tx_indirect_next(struct fx *f)
{
	desc_at(f, TABLE_GPA, TX_HDR_GPA, NET_HDR_LEN, F_NEXT, 1);
	desc_at(f, TABLE_GPA + 16, TX_GPA, 100, 0, 0);
	desc(f, TX, 2, TABLE_GPA, 32, F_IND | F_NEXT, 3);
	desc(f, TX, 3, TX_GPA, 100, 0, 0);
	avail(f, TX, 2);
}

static void act_rx_readable(struct fx *f)
{
	chain(f, RX, (struct buf[]){ { RX_GPA, 2048, false } }, 1);
}

static void act_rx_short(struct fx *f)
{
	chain(f, RX, (struct buf[]){ { RX_GPA, 11, true } }, 1);
}

static void act_rx_split_short(struct fx *f)
{
	chain(f, RX, (struct buf[]){ { RX_GPA, 6, true }, { RX_GPA + 100, 5, true } }, 2);
}

static void act_rx_loop(struct fx *f)
{
	desc(f, RX, 3, RX_GPA, 2048, F_WRITE | F_NEXT, 3);
	avail(f, RX, 3);
}

static void act_rx_head_beyond(struct fx *f)
{
	avail(f, RX, QSIZE + 3);
}

static void act_rx_indirect_nested(struct fx *f)
{
	desc_at(f, TABLE_GPA, TABLE_GPA + 0x100, 16, F_IND, 0);
	desc(f, RX, 0, TABLE_GPA, 16, F_IND, 0);
	avail(f, RX, 0);
}

static const struct hostile hostile[] = {
	{ "tx: writable descriptor",          act_tx_writable },
	{ "tx: only a writable descriptor",   act_tx_all_writable },
	{ "tx: 11 bytes, no room for header", act_tx_short_hdr },
	{ "tx: zero-length chain",            act_tx_empty },
	{ "tx: descriptor loop",              act_tx_loop },
	{ "tx: buffer outside RAM",           act_tx_outside_ram },
	{ "tx: avail idx jump",               act_tx_avail_jump },
	{ "tx: indirect with NEXT",           act_tx_indirect_next },
	{ "rx: readable descriptor",          act_rx_readable },
	{ "rx: 11-byte buffer",               act_rx_short },
	{ "rx: 6 + 5 bytes",                  act_rx_split_short },
	{ "rx: descriptor loop",              act_rx_loop },
	{ "rx: head beyond the queue",        act_rx_head_beyond },
	{ "rx: nested indirect",              act_rx_indirect_nested },
};

/* Each: NEEDS_RESET and a config interrupt, the VMM goes on, nothing on
 * the tap; a reset and re-initialisation bring the device back. */
static void test_hostile_rings(void **state)
{
	struct fx *f = *state;

	dev_create(f, &(struct opts){ 0 });
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		const struct hostile *c = &hostile[i];
		uint64_t resets = f->n->t.needs_reset;

		driver_init(f, std_features(f, true), QSIZE);
		c->act(f);
		notify(f, TX);
		notify(f, RX);
		spin(f, 2);
		if (rd(f, REG_STATUS) != (LIVE | NEEDS_RESET))
			fail_msg("case '%s': status %#x", c->name, rd(f, REG_STATUS));
		assert_int_equal(f->n->t.needs_reset, resets + 1);
		assert_true(rd(f, REG_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
		assert_int_equal(used_idx(f, TX), 0);
		assert_int_equal(used_idx(f, RX), 0);
		assert_int_equal(peer_recv(f), -EAGAIN);
		notify(f, TX);
		notify(f, RX);
		assert_int_equal(f->n->t.needs_reset, resets + 1);
		/* recovery */
		driver_init(f, std_features(f, true), QSIZE);
		tx_post(f, &plain, 90, 1);
		tx_run(f, 1);
		assert_peer_frame(f, &plain, 90, 1);
		rx_post(f, 40, 2048);
		notify(f, RX);
		peer_send(f, &plain, 80, 2);
		/* no read from before the reset is left to take it */
		if (!wait_used(f, RX, 1, 1000))
			fail_msg("case '%s': no rx after the reset", c->name);
		assert_pattern(rx_buf_of(f, used_id(f, RX, 0)) + NET_HDR_LEN, 80, 2);
	}
	assert_int_equal(f->n->t.needs_reset, ARRAY_SIZE(hostile));
}

/* The shortest time in which the engine can retry a failed tap read `k`
 * times: the backoff of net_io.c (NET_RETRY_MIN_MS 10 ms, doubling, capped
 * at NET_RETRY_MAX_MS 1 s), each retry from a timer armed after the last
 * failure.  Load only makes retries later, never earlier. */
static uint64_t retry_min_ms(uint64_t k)
{
	uint64_t ms = 0, step = 10;

	for (uint64_t i = 0; i < k; i++, step = step * 2 > 1000 ? 1000 : step * 2)
		ms += step;
	return ms;
}

/* The tap's end closed: reads fail, counted, retried with backoff (10 ms,
 * doubling): the VMM does not spin, nor do the guest's notifications make
 * it try more often. */
static void test_rx_tap_gone(void **state)
{
	struct fx *f = *state;
	uint64_t errors, t0;

	start(f, false);
	rx_post(f, 2, 2048);
	notify(f, RX);
	t0 = us_now();                                   /* before the first failure */
	close(f->peer);
	f->peer = -1;
	/* The parked read fails once its completion is in; the retry timer it
	 * arms fires only from a later pass of the loop, which the checks
	 * below do not run. */
	unit_run_until(&f->loop, f->n->stats.io_errors);
	assert_int_equal(f->n->stats.io_errors, 1);
	assert_true(f->n->rx.stalled);
	assert_false(f->n->rx.read.busy);
	for (int i = 0; i < 20; i++)
		notify(f, RX);
	assert_int_equal(f->n->stats.io_errors, 1);
	assert_int_equal(used_idx(f, RX), 0);
	tx_post(f, &plain, 60, 1);
	notify(f, TX);
	until_used(f, TX, 1);
	assert_true(f->n->stats.io_errors >= 2);         /* the write failed: counted, returned */
	/* The reads are retried: another failure comes (within UNIT_WAIT_US,
	 * as a backoff that went on doubling while a loaded machine held us up
	 * can be longer than the 300 ms below)... */
	errors = f->n->stats.io_errors;
	unit_run_until(&f->loop, f->n->stats.io_errors != errors);
	assert_true(f->n->stats.io_errors > errors);
	/* ... but no more often than the backoff allows (retries near 10, 30,
	 * 70, 150, 310 ms after the first failure): every read failure but the
	 * first is a timer's retry, and the time since t0 (before the first)
	 * bounds how many timers can have fired.  A device that spun, or
	 * retried on the guest's notifications, would exceed it. */
	spin(f, 300);
	errors = f->n->stats.io_errors - 1;              /* the tap reads', not the write's */
	assert_true(retry_min_ms(errors - 1) * 1000 <= us_now() - t0);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
}

/* ---- rate limiters --------------------------------------------------------------------- */

static const struct rate_limiter_cfg one_per_100ms = {
	.ops = { .set = true, .size = 1, .refill_time_ms = 100 },
};

static void test_rate_limit_tx(void **state)
{
	struct fx *f = *state;
	uint64_t t0;

	dev_create(f, &(struct opts){ .tx = one_per_100ms });
	driver_init(f, std_features(f, false), QSIZE);
	t0 = ms_now();
	for (int i = 0; i < 3; i++)
		tx_post(f, &plain, 100, (uint8_t)i);
	notify(f, TX);
	assert_int_equal(used_idx(f, TX), 1);          /* the bucket held one */
	assert_non_null(f->n->tx_deferred);
	assert_int_equal(f->n->stats.tx_throttled, 1);
	assert_peer_frame(f, &plain, 100, 0);
	assert_int_equal(peer_recv(f), -EAGAIN);
	assert_true(wait_used(f, TX, 3, 2000));
	assert_true(ms_now() - t0 >= 190);
	assert_peer_frame(f, &plain, 100, 1);
	assert_peer_frame(f, &plain, 100, 2);
	/* PATCH: a throttled frame goes at once under the new limits. */
	tx_post(f, &plain, 100, 3);
	tx_post(f, &plain, 100, 4);
	notify(f, TX);
	assert_non_null(f->n->tx_deferred);
	t0 = ms_now();
	net_set_rate_limiters(f->n, NULL, &(struct rate_limiter_cfg){ 0 });
	assert_true(wait_used(f, TX, 5, 2000));
	assert_true(ms_now() - t0 < 90);
	assert_null(f->n->tx_deferred);
	/* rx unchanged (NULL) and unlimited */
	assert_false(rate_limiter_active(&f->n->rl[RX]));
}

static void test_rate_limit_rx(void **state)
{
	struct fx *f = *state;
	uint64_t t0;

	dev_create(f, &(struct opts){ .rx = one_per_100ms });
	driver_init(f, std_features(f, false), QSIZE);
	rx_post(f, 8, 2048);
	notify(f, RX);
	t0 = ms_now();
	for (int i = 0; i < 3; i++)
		peer_send(f, &plain, 100, (uint8_t)i);
	assert_true(wait_used(f, RX, 1, 1000));
	spin(f, 20);
	assert_int_equal(used_idx(f, RX), 1);          /* the second waits in its buffer */
	assert_true(f->n->rx.held);
	assert_true(f->n->stats.rx_throttled >= 1);
	assert_true(wait_used(f, RX, 3, 2000));
	assert_true(ms_now() - t0 >= 190);
	for (int i = 0; i < 3; i++)
		assert_pattern(rx_buf_of(f, used_id(f, RX, (uint16_t)i)) + NET_HDR_LEN, 100,
			       (uint8_t)i);
	/* PATCH to unlimited releases a held frame at once. */
	peer_send(f, &plain, 100, 3);
	peer_send(f, &plain, 100, 4);
	assert_true(wait_used(f, RX, 4, 1000) || used_idx(f, RX) == 4);
	spin(f, 10);
	t0 = ms_now();
	net_set_rate_limiters(f->n, &(struct rate_limiter_cfg){ 0 }, NULL);
	assert_true(wait_used(f, RX, 5, 1000) || used_idx(f, RX) == 5);
	assert_true(ms_now() - t0 < 90);
	assert_int_equal(f->n->stats.rx_frames, 5);
}

/* ---- resets ------------------------------------------------------------------------------- */

/* A reset with the tap read parked and writes in flight: their completions
 * belong to the old generation and change nothing in the new rings. */
static void test_reset_in_flight(void **state)
{
	struct fx *f = *state;
	uint16_t before;

	start(f, true);
	rx_post(f, 40, 2048);
	notify(f, RX);
	assert_true(f->n->rx.read.busy);
	/* Writes that block: the socket's send buffer fills up. */
	for (int i = 0; i < 8; i++)
		tx_post(f, &plain, 60000, (uint8_t)i);
	notify(f, TX);
	before = used_idx(f, TX);
	assert_true(before < 8);                         /* some are surely in flight */
	assert_true(f->n->nr_tx_free < NET_MAX_TX);

	driver_init(f, std_features(f, true), QSIZE);    /* resets first */
	assert_false(f->n->rx.read.busy);                /* cancelled by the reset */
	assert_int_equal(f->n->rx.nr, 0);
	/* Let the old writes finish. */
	while (peer_recv(f) > 0)
		spin(f, 5);
	spin(f, 20);
	while (peer_recv(f) > 0)
		spin(f, 5);
	assert_int_equal(used_idx(f, TX), 0);
	rx_post(f, 40, 2048);
	notify(f, RX);
	peer_send(f, &plain, 100, 9);
	assert_true(wait_used(f, RX, 1, 1000));
	assert_int_equal(used_id(f, RX, 0), 0);
	assert_pattern(rx_buf_of(f, 0) + NET_HDR_LEN, 100, 9);
	assert_true(f->n->stats.stale_completions >= 8u - before + 1);  /* and the read */
	assert_int_equal(f->n->stats.reset_read_timeouts, 0);
	/* And tx works in the new generation. */
	tx_post(f, &plain, 64, 5);
	tx_run(f, 1);
	assert_peer_frame(f, &plain, 64, 5);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
	assert_int_equal(f->n->nr_tx_free, NET_MAX_TX);
}

#define RX_AREA      0x100000u      /* every rx buffer rx_post lays out */
#define NEW_RX_SLOT  64             /* new buffers: above rx_post(f, 40, ...) from 0 */

static uint8_t *old_rx(struct fx *f)
{
	uint8_t *p = gm_ptr(&f->gm, RX_GPA, RX_AREA);

	assert_non_null(p);
	return p;
}

/* The 40 rx buffers rx_post laid out from slot 0 still hold its 0xcc. */
static void assert_old_rx_untouched(struct fx *f)
{
	const uint8_t *p = old_rx(f);

	for (uint32_t i = 0; i < 40; i++)
		for (uint32_t k = 0; k < 2048; k++)
			if (p[4096 * i + k] != 0xcc)
				fail_msg("old rx buffer %u, byte %u written after the reset", i, k);
}

/* Regression: a tap READV parked at a reset stayed in the ring and took
 * the next frame into the old rx buffers (memory a Linux guest frees right
 * after the reset), only then dropped as stale.  Now the status=0 write
 * returns with no read in flight; the frame waits in the tap until the
 * driver has re-initialised and posted new buffers. */
static void test_reset_cancels_parked_read(void **state)
{
	struct fx *f = *state;
	uint64_t stale;

	start(f, true);
	rx_post(f, 40, 2048);                          /* 0xcc */
	notify(f, RX);
	spin(f, 5);
	assert_true(f->n->rx.read.busy);               /* parked: no frame yet */
	stale = f->n->stats.stale_completions;
	wr(f, REG_STATUS, 0);
	assert_false(f->n->rx.read.busy);              /* cancelled and reaped */
	assert_int_equal(f->n->stats.stale_completions, stale + 1);
	assert_int_equal(f->n->stats.reset_read_timeouts, 0);
	peer_send(f, &plain, 200, 7);
	spin(f, 30);
	assert_old_rx_untouched(f);
	assert_true(tap_pending(f));                   /* nobody read it */
	/* Re-initialised, no buffers posted yet: still not read. */
	driver_init(f, std_features(f, true), QSIZE);
	spin(f, 20);
	assert_true(tap_pending(f));
	assert_old_rx_untouched(f);
	/* New buffers elsewhere: the frame lands there, and only there. */
	f->rx_slot = NEW_RX_SLOT;
	rx_post(f, 40, 2048);
	notify(f, RX);
	assert_true(wait_used(f, RX, 1, 1000));
	assert_ptr_equal(rx_buf_of(f, used_id(f, RX, 0)),
			 gm_ptr(&f->gm, RX_GPA + 4096ull * NEW_RX_SLOT, 1));
	assert_pattern(rx_buf_of(f, used_id(f, RX, 0)) + NET_HDR_LEN, 200, 7);
	assert_int_equal(used_len(f, RX, 0), NET_HDR_LEN + 200);
	assert_old_rx_untouched(f);
	assert_int_equal(f->n->stats.rx_frames, 1);
	assert_false(tap_pending(f));
}

struct racer {
	struct fx *f;
	unsigned int delay_us;
};

static void *race_send(void *arg)
{
	struct racer *r = arg;

	if (r->delay_us)
		usleep(r->delay_us);
	peer_send(r->f, &plain, 300, 41);
	return NULL;
}

/* The frame races the reset: sent by another thread around the status=0
 * write, or just before it.  The parked read either took it first (into
 * the old buffers while the "guest" was still in its MMIO write: then
 * dropped as stale) or was cancelled first (the frame stays in the tap).
 * Either way nothing is written into any rx buffer posted before the reset
 * once the write returned, and the new generation gets, in order, every
 * frame the old read did not take. */
static void test_reset_races_frame(void **state)
{
	struct fx *f = *state;
	uint8_t *snap = unit_keep(malloc(RX_AREA));
	unsigned int taken_runs = 0;

	assert_non_null(snap);
	dev_create(f, &(struct opts){ 0 });
	for (unsigned int i = 0; i < 24; i++) {
		struct racer r = { .f = f, .delay_us = (i % 6) * 40 };
		pthread_t th;
		uint16_t want, k = 0;
		bool taken;

		driver_init(f, std_features(f, true), QSIZE);
		rx_post(f, 40, 2048);
		notify(f, RX);
		assert_true(f->n->rx.read.busy);
		if (i % 3 == 0)
			peer_send(f, &plain, 300, 41);         /* just before */
		else
			assert_int_equal(pthread_create(&th, NULL, race_send, &r), 0);
		wr(f, REG_STATUS, 0);
		assert_false(f->n->rx.read.busy);
		memcpy(snap, old_rx(f), RX_AREA);       /* this run's and earlier runs' */
		if (i % 3)
			assert_int_equal(pthread_join(th, NULL), 0);
		peer_send(f, &plain, 300, 42);
		spin(f, 10);
		driver_init(f, std_features(f, true), QSIZE);
		spin(f, 5);
		if (memcmp(snap, old_rx(f), RX_AREA))
			fail_msg("run %u: old rx buffers written after the reset returned", i);
		/* Did the old read take frame 41 (before the reset returned)? */
		taken = true;
		for (uint32_t b = 0; b < 300; b++)
			taken = taken && snap[NET_HDR_LEN + b] == pat(b, 41);
		taken_runs += taken;
		f->rx_slot = NEW_RX_SLOT;
		rx_post(f, 40, 2048);
		notify(f, RX);
		want = taken ? 1 : 2;
		assert_true(wait_used(f, RX, want, 1000));
		spin(f, 5);
		assert_int_equal(used_idx(f, RX), want);
		if (!taken)
			assert_pattern(rx_buf_of(f, used_id(f, RX, k++)) + NET_HDR_LEN, 300, 41);
		assert_pattern(rx_buf_of(f, used_id(f, RX, k)) + NET_HDR_LEN, 300, 42);
		if (memcmp(snap, old_rx(f), 4096u * NEW_RX_SLOT))
			fail_msg("run %u: old rx buffers written after re-initialisation", i);
		assert_false(tap_pending(f));
	}
	assert_int_equal(f->n->stats.reset_read_timeouts, 0);
	assert_true(taken_runs >= 8);                  /* the "just before" runs at least */
}

/* ---- regressions of the second security review ------------------------------------ */

/* Every store to rx used->idx, caught by a hardware write watchpoint on
 * this thread (the one running the device): did one stop inside a frame? */
static struct {
	uint16_t *idx;
	uint16_t last;
	unsigned int per;
	uint64_t total, stores, partial;
} watch;

static void on_idx_store(int sig, siginfo_t *si, void *uc)
{
	uint16_t now = *watch.idx;

	(void)sig;
	(void)si;
	(void)uc;
	watch.total += (uint16_t)(now - watch.last);
	watch.last = now;
	watch.stores++;
	watch.partial += watch.total % watch.per != 0;
}

/* A hardware watchpoint on writes to `len` bytes at `addr` by this thread:
 * `handler` runs (SIGTRAP) right after each.  The perf fd, or -1 when the
 * kernel (or the hypervisor) offers none. */
static int hw_watch(void *addr, unsigned int len,
		    void (*handler)(int, siginfo_t *, void *))
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_BREAKPOINT, .size = sizeof(a), .bp_type = HW_BREAKPOINT_W,
		.bp_addr = (uintptr_t)addr, .bp_len = len, .sample_period = 1, .sigtrap = 1,
		.remove_on_exec = 1, .exclude_kernel = 1, .exclude_hv = 1,
	};
	struct sigaction sa = { .sa_sigaction = handler, .sa_flags = SA_SIGINFO };

	assert_int_equal(sigaction(SIGTRAP, &sa, NULL), 0);
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static void hw_unwatch(int fd)
{
	if (fd >= 0)
		close(fd);
	signal(SIGTRAP, SIG_DFL);
}

static int watch_start(struct fx *f, unsigned int per)
{
	memset(&watch, 0, sizeof(watch));
	watch.idx = gm_ptr(&f->gm, RING_GPA(RX) + 0x2000 + 2, 2);
	watch.last = *watch.idx;
	watch.per = per;
	return hw_watch(watch.idx, HW_BREAKPOINT_LEN_2, on_idx_store);
}

/* Regression: a frame over k mergeable buffers was published with k
 * used->idx stores, so a driver polling on another CPU saw its first
 * buffer (num_buffers = k) alone, dropped the frame and misparsed the rest.
 * Now used->idx only ever moves by whole frames (here 96 chains each):
 * every store to it is caught by a hardware watchpoint. */
static void test_rx_mrg_frame_published_whole(void **state)
{
	struct fx *f = *state;
	uint64_t feat;
	uint16_t want = 0;
	bool ok = true;
	int wfd;

	dev_create(f, &(struct opts){ 0 });
	feat = std_features(f, true) & ~(BIT(VIRTIO_NET_F_GUEST_TSO4) |
					 BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_UFO));
	driver_init(f, feat, 256);
	wfd = watch_start(f, 96);
	if (wfd < 0) {
		hw_unwatch(wfd);
		print_message("no hardware watchpoint (%s)\n", strerror(errno));
		skip();
		return;
	}
	for (int round = 0; ok && round < 50; round++) {
		rx_post(f, 192, 16);
		notify(f, RX);
		for (int i = 0; i < 2; i++)      /* 12 + 1518 bytes: 96 buffers of 16 */
			peer_send(f, &plain, NET_RX_SMALL, (uint8_t)i);
		want = (uint16_t)(want + 192);
		ok = wait_used(f, RX, want, 2000);
	}
	hw_unwatch(wfd);
	assert_true(ok);
	assert_int_equal(f->n->stats.rx_frames, 100);
	if (watch.partial || watch.stores != 100)
		fail_msg("%llu used->idx stores for 100 frames, %llu inside a frame",
			 (unsigned long long)watch.stores, (unsigned long long)watch.partial);
	assert_rx(f, 49 * 192, 16, 96);                   /* the last round's first frame */
}

/* Regression: with MRG_RXBUF and GUEST_TSO the device waited for chains
 * holding 65562 bytes, or for "chains taken = QueueNum"; a driver posting
 * 2-descriptor chains ({12, 1500} x 32 fill a 64-entry queue) never got
 * there and rx never started.  Now the read goes into what is held once the
 * ring has no more. */
static void test_rx_mrg_two_desc_chains_no_stall(void **state)
{
	struct fx *f = *state;
	uint8_t *p;

	start(f, true);
	assert_true(f->n->offload & TUN_F_TSO4);
	for (int i = 0; i < 32; i++) {
		uint64_t g = RX_GPA + 4096ull * i;

		chain(f, RX, (struct buf[]){ { g, NET_HDR_LEN, true }, { g + 64, 1500, true } }, 2);
	}
	notify(f, RX);
	assert_true(f->n->rx.read.busy);
	assert_int_equal(f->n->rx.read.nr_chains, 32);
	peer_send(f, &plain, 100, 1);
	assert_true(wait_used(f, RX, 1, 1000));
	assert_int_equal(used_id(f, RX, 0), 0);
	assert_int_equal(used_len(f, RX, 0), NET_HDR_LEN + 100);
	p = gm_ptr(&f->gm, RX_GPA, 4096);
	assert_int_equal(((hdr_t *)p)->num_buffers, 1);
	assert_pattern(p + 64, 100, 1);
	/* A frame over several of those chains. */
	peer_send(f, &tso, 4000, 2);
	assert_true(wait_used(f, RX, 4, 1000));
	assert_int_equal(used_len(f, RX, 3), NET_HDR_LEN + 4000 - 2 * 1512);
	assert_false(tap_pending(f));
	assert_int_equal(rd(f, REG_STATUS), LIVE);
}

/* MRG_RXBUF + TSO, a guest briefly short of buffers: the read does not
 * start with the few chains held (a 64 KiB frame would be dropped) while
 * the guest can still post more; it starts once they hold the largest
 * frame, and that frame arrives whole. */
static void test_rx_mrg_waits_for_buffers(void **state)
{
	struct fx *f = *state;

	start(f, true);
	rx_post(f, 3, 2048);
	notify(f, RX);
	assert_false(f->n->rx.read.busy);
	assert_true(f->n->rx.waiting);
	assert_int_equal(f->n->stats.rx_waits_no_buffers, 1);
	peer_send(f, &tso, NET_MAX_FRAME, 9);
	/* The guest posts more before the bound ends.  The loop is not run in
	 * between: only its wait timer could end the wait, and a fixed spin
	 * "shorter than the bound" overran it on a loaded machine.  That the
	 * read does not start before the bound is test_rx_mrg_wait_bounded's
	 * (a lower bound on the time, which load cannot break). */
	assert_false(f->n->rx.read.busy);
	assert_true(tap_pending(f));
	rx_post(f, 30, 2048);
	notify(f, RX);
	until_used(f, RX, 33);
	assert_rx(f, 0, 2048, 33);
	assert_int_equal(used_len(f, RX, 32), NET_HDR_LEN + NET_MAX_FRAME - 32 * 2048);
	assert_pattern(rx_buf_of(f, 0) + NET_HDR_LEN, 2048 - NET_HDR_LEN, 9);
	assert_int_equal(f->n->stats.rx_dropped_bad_len, 0);
	assert_int_equal(f->n->stats.rx_waits_no_buffers, 2);   /* and now none left */
	assert_int_equal(rd(f, REG_STATUS), LIVE);
}

/* A driver that never fills its ring still receives: the wait is bounded
 * (NET_RX_WAIT_MS), then the read goes into what is held; the next short
 * wait is bounded again. */
static void test_rx_mrg_wait_bounded(void **state)
{
	struct fx *f = *state;
	uint64_t t0, t1;

	start(f, true);
	rx_post(f, 3, 2048);
	t0 = us_now();                                    /* the wait starts after this */
	notify(f, RX);
	assert_false(f->n->rx.read.busy);
	peer_send(f, &plain, 100, 1);
	t1 = until_used(f, RX, 1);
	/* A lower bound only: load can make the wait longer, never shorter. */
	assert_true(us_now() - t0 >= NET_RX_WAIT_MS * 1000ull);
	assert_int_equal(f->n->stats.rx_wait_timeouts, 1);
	assert_rx(f, 0, NET_HDR_LEN + 100, 1);
	assert_pattern(rx_buf_of(f, 0) + NET_HDR_LEN, 100, 1);
	/* 2 chains left: a new wait, started in the pass that delivered the
	 * frame (t1 is when that pass began), bounded again. */
	assert_false(f->n->rx.read.busy);
	assert_true(f->n->rx.waiting);
	assert_int_equal(f->n->stats.rx_waits_no_buffers, 2);
	peer_send(f, &plain, 200, 3);
	until_used(f, RX, 2);
	assert_true(us_now() - t1 >= NET_RX_WAIT_MS * 1000ull);
	assert_int_equal(f->n->stats.rx_wait_timeouts, 2);
	assert_rx(f, 1, NET_HDR_LEN + 200, 1);
	assert_pattern(rx_buf_of(f, 1) + NET_HDR_LEN, 200, 3);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
}

/* Every descriptor-table entry held (one-descriptor chains filling the
 * ring, short of the largest frame): the guest cannot post more, so the
 * read starts at once. */
static void test_rx_mrg_full_ring_no_wait(void **state)
{
	struct fx *f = *state;

	start(f, true);
	rx_post(f, QSIZE, 512);                           /* 32 KiB < 65562 */
	notify(f, RX);
	assert_true(f->n->rx.read.busy);
	assert_int_equal(f->n->rx.read.nr_chains, QSIZE);
	assert_int_equal(f->n->rx.slots, QSIZE);
	peer_send(f, &tso, 3000, 4);
	assert_true(wait_used(f, RX, 6, 1000));
	assert_rx(f, 0, 512, 6);
	/* 58 held, 6 entries free again: wait (bounded) for the guest. */
	assert_false(f->n->rx.read.busy);
	rx_post(f, 6, 512);
	notify(f, RX);
	assert_true(f->n->rx.read.busy);
	assert_int_equal(f->n->rx.read.nr_chains, QSIZE);
}

/* The guest as a hardware watchpoint on the tx used ring's first element
 * sees it: each time the device writes that slot (every 256 entries),
 * every head it returned by then (not in flight) is made available again
 * at once, like a driver on another CPU that never falls behind; `limit`
 * in all. */
static struct {
	struct fx *f;
	uint64_t posted, limit;
	uint16_t idx;
} refill;

static void on_tx_slot0(int sig, siginfo_t *si, void *uc)
{
	struct fx *f = refill.f;
	const struct virtq *q = &f->n->t.queues[TX];
	uint16_t *aring = gm_ptr(&f->gm, RING_GPA(TX) + 0x1000 + 4, 2ull * f->qsize);

	(void)sig;
	(void)si;
	(void)uc;
	while ((uint16_t)(refill.idx - q->last_avail) < f->qsize &&
	       !q->head_busy[refill.idx % f->qsize] && refill.posted < refill.limit) {
		aring[refill.idx % f->qsize] = (uint16_t)(refill.idx % f->qsize);
		refill.idx++;
		refill.posted++;
	}
	__atomic_store_n((uint16_t *)gm_ptr(&f->gm, RING_GPA(TX) + 0x1000 + 2, 2), refill.idx,
			 __ATOMIC_RELEASE);
}

/* Regression: net_tx_process took chains for as long as the guest kept
 * making them available (dropped frames free their request at once), so
 * one notify could hold the vmm thread indefinitely.  Now one call takes
 * at most a queue's worth and the event loop runs the rest. */
static void test_tx_budget_per_notify(void **state)
{
	struct fx *f = *state;
	hdr_t bad = { .flags = 0x80 };
	uint64_t taken, end, all;
	int wfd;

	dev_create(f, &(struct opts){ 0 });
	driver_init(f, std_features(f, false), 256);
	for (unsigned int i = 0; i < f->qsize; i++) {
		uint64_t g = 0x300000 + 128ull * i;

		put(f, g, &bad, NET_HDR_LEN);
		desc(f, TX, (uint16_t)i, g, NET_HDR_LEN + 60, 0, 0);
		avail(f, TX, (uint16_t)i);
	}
	refill = (typeof(refill)){ .f = f, .limit = 4 * f->qsize, .idx = f->avail_idx[TX] };
	wfd = hw_watch(gm_ptr(&f->gm, RING_GPA(TX) + 0x2000 + 4, 4), HW_BREAKPOINT_LEN_4,
		       on_tx_slot0);
	if (wfd < 0) {
		hw_unwatch(wfd);
		print_message("no hardware watchpoint (%s)\n", strerror(errno));
		skip();
		return;
	}
	notify(f, TX);
	taken = f->n->stats.tx_dropped_bad_hdr;
	if (taken > f->qsize) {
		hw_unwatch(wfd);
		fail_msg("one notify took %llu chains (queue size %u)", (unsigned long long)taken,
			 f->qsize);
	}
	/* The rest through the event loop, to the last one. */
	all = f->qsize + refill.limit;
	end = ms_now() + 5000;
	while (f->n->stats.tx_dropped_bad_hdr < all && ms_now() < end)
		assert_true(ev_run_once(&f->loop, 5) >= 0);
	hw_unwatch(wfd);
	assert_int_equal(refill.posted, refill.limit);
	assert_int_equal(f->n->stats.tx_dropped_bad_hdr, all);
	assert_int_equal(used_idx(f, TX), (uint16_t)all);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
	assert_int_equal(peer_recv(f), -EAGAIN);
}

/* Found while fixing the above: tx chains are published once per net_run,
 * but a net_run goes several rounds when writes complete inline; a guest
 * making heads available again as soon as they are returned had more than
 * a queue's worth waiting for one flush (the device then asked for a
 * reset).  Now a queue's worth is published at once. */
static void test_tx_batch_fits_used_ring(void **state)
{
	struct fx *f = *state;
	uint64_t end, all;
	int wfd;

	dev_create(f, &(struct opts){ 0 });
	driver_init(f, std_features(f, false), 256);
	put(f, 0x300000, &plain, NET_HDR_LEN);
	fill(f, 0x300000 + NET_HDR_LEN, 60, 1);
	for (unsigned int i = 0; i < f->qsize; i++) {
		desc(f, TX, (uint16_t)i, 0x300000, NET_HDR_LEN + 60, 0, 0);
		avail(f, TX, (uint16_t)i);
	}
	refill = (typeof(refill)){ .f = f, .limit = 4 * f->qsize, .idx = f->avail_idx[TX] };
	wfd = hw_watch(gm_ptr(&f->gm, RING_GPA(TX) + 0x2000 + 4, 4), HW_BREAKPOINT_LEN_4,
		       on_tx_slot0);
	if (wfd < 0) {
		hw_unwatch(wfd);
		skip();
		return;
	}
	all = f->qsize + refill.limit;
	end = ms_now() + 5000;
	notify(f, TX);
	while (f->n->stats.tx_frames < all && rd(f, REG_STATUS) == LIVE && ms_now() < end) {
		while (peer_recv(f) > 0)
			;
		assert_true(ev_run_once(&f->loop, 5) >= 0);
	}
	hw_unwatch(wfd);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
	assert_int_equal(f->n->stats.tx_frames, all);
	assert_int_equal(used_idx(f, TX), (uint16_t)all);
}

/* Regression: with a tx limiter, dropped frames cost nothing.  Now each is
 * one op on the ops bucket (and waits for it like a frame). */
static void test_tx_drop_charged_one_op(void **state)
{
	struct fx *f = *state;
	hdr_t bad = { .flags = 0x80 };
	uint64_t t0;

	dev_create(f, &(struct opts){ .tx = one_per_100ms });
	driver_init(f, std_features(f, false), QSIZE);
	t0 = ms_now();
	for (int i = 0; i < 3; i++)
		tx_post(f, &bad, 100, (uint8_t)i);
	notify(f, TX);
	assert_int_equal(used_idx(f, TX), 1);          /* the bucket held one op */
	assert_non_null(f->n->tx_deferred);
	assert_int_equal(f->n->stats.tx_throttled, 1);
	assert_true(wait_used(f, TX, 3, 2000));
	assert_true(ms_now() - t0 >= 190);
	assert_int_equal(f->n->stats.tx_dropped_bad_hdr, 3);
	assert_int_equal(peer_recv(f), -EAGAIN);
	/* Frames and drops share the bucket. */
	tx_post(f, &bad, 100, 3);
	tx_post(f, &plain, 100, 4);
	notify(f, TX);
	assert_true(wait_used(f, TX, 5, 2000));
	assert_peer_frame(f, &plain, 100, 4);
	assert_int_equal(f->n->nr_tx_free, NET_MAX_TX);
}

/* The page holding guest RAM at `gpa`: its protection. */
static void protect(struct fx *f, uint64_t gpa, int prot)
{
	uintptr_t page = (uintptr_t)gm_ptr(&f->gm, gpa, 1) & ~(uintptr_t)4095;

	assert_int_equal(mprotect((void *)page, 4096, prot), 0);
}

/* Regression: after a tap read error rx resumed only on a queue-0 notify,
 * which a guest waiting for frames never sends.  Now a timer retries. */
static void test_rx_read_error_retried(void **state)
{
	struct fx *f = *state;

	start(f, false);
	rx_post(f, 4, 8192);
	protect(f, RX_GPA, PROT_NONE);                 /* the read faults */
	notify(f, RX);
	peer_send(f, &plain, 100, 1);
	/* Until the failed read's completion is in, and no further: the retry
	 * timer it arms can fire only in a later pass of the loop (a fixed
	 * spin could run into it on a loaded machine). */
	unit_run_until(&f->loop, f->n->stats.io_errors);
	protect(f, RX_GPA, PROT_READ | PROT_WRITE);
	assert_int_equal(f->n->stats.io_errors, 1);
	assert_true(f->n->rx.stalled);
	peer_send(f, &plain, 200, 2);                  /* no notify from the guest */
	until_used(f, RX, 1);
	assert_false(f->n->rx.stalled);
	assert_pattern(rx_buf_of(f, used_id(f, RX, 0)) + NET_HDR_LEN, 200, 2);
	assert_int_equal(f->n->stats.io_errors, 1);
}

/* The device's io_uring fd (the only one in this process). */
static int ring_fd(void)
{
	char path[64], link[64];

	for (int fd = 3; fd < 1024; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0 && (link[n] = 0, !strcmp(link, "anon_inode:[io_uring]")))
			return fd;
	}
	fail_msg("no io_uring fd");
	return -1;
}

/* Regression: a failed io_uring_submit left the queued read (and writes)
 * with nothing to submit them again.  Now the retry timer does. */
static void test_submit_failure_retried(void **state)
{
	struct fx *f = *state;
	int rfd, saved, bogus;

	start(f, false);
	rfd = ring_fd();
	saved = dup(rfd);
	bogus = eventfd(0, EFD_CLOEXEC);
	assert_true(saved >= 0 && bogus >= 0);
	assert_int_equal(dup2(bogus, rfd), rfd);       /* io_uring_enter fails */
	rx_post(f, 2, 2048);
	notify(f, RX);
	assert_true(f->n->rx.read.busy);               /* queued, not submitted */
	assert_int_equal(dup2(saved, rfd), rfd);
	close(saved);
	close(bogus);
	peer_send(f, &plain, 100, 3);                  /* no notify from the guest */
	assert_true(wait_used(f, RX, 1, 1000));
	assert_pattern(rx_buf_of(f, used_id(f, RX, 0)) + NET_HDR_LEN, 100, 3);
}

/* Regression: net_destroy left the engine's requests to the kernel's
 * asynchronous teardown, the tap READV pointing into guest RAM that
 * vm_destroy unmaps next.  Now each is cancelled and reaped first. */
static void test_destroy_reaps_requests(void **state)
{
	struct fx *f = *state;
	uint64_t t0;

	start(f, true);
	rx_post(f, 40, 2048);
	notify(f, RX);
	for (int i = 0; i < 8; i++)                    /* writes that block */
		tx_post(f, &plain, 60000, (uint8_t)i);
	notify(f, TX);
	assert_true(f->n->rx.read.busy);
	assert_true(f->n->nr_tx_free < NET_MAX_TX);
	t0 = ms_now();
	net_destroy(f->n);
	f->created = false;
	assert_true(ms_now() - t0 < NET_RESET_WAIT_MS + 50);
	assert_false(f->n->rx.read.busy);
	assert_int_equal(f->n->nr_tx_free, NET_MAX_TX);
	assert_null(f->n->io);
}

/* network-interfaces mtu (Firecracker 1.16): VIRTIO_NET_F_MTU offered and
 * the config space's mtu field (virtio 1.2 §5.1.4, offset 10) set only when
 * an mtu is configured; without one neither (the guest keeps its default). */
static void test_mtu_offered_when_configured(void **state)
{
	struct fx *f = *state;
	uint16_t v = 0;

	dev_create(f, &(struct opts){ .mtu = 9000 });
	assert_true(device_features(f) & BIT(VIRTIO_NET_F_MTU));
	virtio_mmio_ops.read(&f->n->t, REG_CONFIG + 10, (uint8_t *)&v, 2);
	assert_int_equal(le16toh(v), 9000);
	net_destroy(f->n);
	close(f->peer);
	memset(f->n, 0, sizeof(*f->n));
	dev_create(f, &(struct opts){ 0 });
	assert_false(device_features(f) & BIT(VIRTIO_NET_F_MTU));
	v = 0x1234;
	virtio_mmio_ops.read(&f->n->t, REG_CONFIG + 10, (uint8_t *)&v, 2);
	assert_int_equal(v, 0);
}

/* Regression: with F_MTU, frames of gso_type NONE longer than MTU + 14
 * (+ 4: a VLAN tag) reached the guest (virtio 1.2 §5.1.6.3 forbids it). */
static void test_rx_mtu_enforced(void **state)
{
	struct fx *f = *state;
	uint64_t feat;

	dev_create(f, &(struct opts){ .mtu = NET_MTU });
	driver_init(f, std_features(f, true), QSIZE);  /* reads of 65562 bytes */
	assert_true(net_has(f->n, VIRTIO_NET_F_MTU));
	rx_post(f, 64, 2048);
	notify(f, RX);
	peer_send(f, &plain, NET_RX_SMALL + 1, 1);
	peer_send(f, &plain, NET_RX_SMALL, 2);
	peer_send(f, &tso, 9000, 3);
	assert_true(wait_used(f, RX, 1 + 5, 1000));
	spin(f, 10);
	assert_int_equal(used_idx(f, RX), 6);
	assert_int_equal(f->n->stats.rx_dropped_bad_len, 1);
	assert_int_equal(f->n->stats.rx_frames, 2);
	assert_rx(f, 0, NET_HDR_LEN + NET_RX_SMALL, 1);
	assert_pattern(rx_buf_of(f, used_id(f, RX, 0)) + NET_HDR_LEN, NET_RX_SMALL, 2);
	/* Without F_MTU the guest takes what its buffers hold. */
	feat = std_features(f, true) & ~BIT(VIRTIO_NET_F_MTU);
	driver_init(f, feat, QSIZE);
	rx_post(f, 64, 2048);
	notify(f, RX);
	peer_send(f, &plain, NET_RX_SMALL + 1, 4);
	assert_true(wait_used(f, RX, 1, 1000));
	assert_int_equal(used_len(f, RX, 0), NET_HDR_LEN + NET_RX_SMALL + 1);
	assert_int_equal(f->n->stats.rx_dropped_bad_len, 1);
}

/* Regression: with an mtu above 1500 and no GSO offload negotiated, reads
 * from the tap were still sized for a 1518-byte frame, so the frames the
 * guest was told it may receive (mtu + 14 + 4) did not fit and were lost. */
static void test_rx_large_mtu_without_gso(void **state)
{
	struct fx *f = *state;
	uint64_t feat;

	dev_create(f, &(struct opts){ .mtu = 9000 });
	feat = std_features(f, true) & ~(BIT(VIRTIO_NET_F_GUEST_TSO4) |
		BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_UFO));
	driver_init(f, feat, QSIZE);
	assert_false(f->n->offload & (TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO));
	rx_post(f, 64, 2048);
	notify(f, RX);
	peer_send(f, &plain, 9000 + 18, 1);
	peer_send(f, &plain, 9000 + 19, 2);
	peer_send(f, &plain, 64, 3);
	assert_true(wait_used(f, RX, 5 + 1, 1000));
	spin(f, 10);
	assert_int_equal(f->n->stats.rx_frames, 2);
	assert_int_equal(f->n->stats.rx_dropped_bad_len, 1);
	assert_rx(f, 0, 2048, 5);    /* 12 + 9018 bytes over five 2048-byte buffers */
}

/* ---- a real tap (root only) ----------------------------------------------------------- */

static int ifup(const char *name, int *ifindex)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = -1;
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		if (!ioctl(s, SIOCSIFFLAGS, &ifr) && !ioctl(s, SIOCGIFINDEX, &ifr)) {
			*ifindex = ifr.ifr_ifindex;
			ret = 0;
		}
	}
	if (s >= 0)
		close(s);
	return ret;
}

static void test_real_tap(void **state)
{
	struct fx *f = *state;
	struct net_cfg cfg = { .id = "tap-test" };
	struct ifreq mk = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	char tap[IFNAMSIZ];
	int mkfd;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	uint8_t frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5 };
	struct ifreq ifr = { 0 };
	int ifindex = 0, ps;

	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK)) {
		skip();
		return;
	}
	/* ember opens taps, it never creates them: make a persistent one first. */
	snprintf(mk.ifr_name, sizeof(mk.ifr_name), "embernet%%d");
	mkfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (mkfd < 0 || ioctl(mkfd, TUNSETIFF, &mk) || ioctl(mkfd, TUNSETPERSIST, 1)) {
		if (mkfd >= 0)
			close(mkfd);
		skip();   /* no tun here (a container without CAP_NET_ADMIN) */
		return;
	}
	close(mkfd);
	snprintf(tap, sizeof(tap), "%s", mk.ifr_name);
	cfg.host_dev = tap;
	f->created = true;
	assert_int_equal(net_create(f->n, &cfg, &f->gm, &f->loop), 0);
	assert_true(f->n->is_tap);
	assert_true(f->n->tap_offloads & TUN_F_CSUM);
	assert_true(f->n->tap_offloads & TUN_F_TSO4);
	assert_true(device_features(f) & BIT(VIRTIO_NET_F_HOST_TSO4));
	assert_int_equal(ioctl(f->n->fd, TUNGETIFF, &ifr), 0);
	assert_true(ifr.ifr_flags & IFF_VNET_HDR);
	driver_init(f, std_features(f, true), QSIZE);
	assert_int_equal(f->n->offload & (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6),
			 TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	assert_int_equal(ifup(ifr.ifr_name, &ifindex), 0);
	/* tx: a frame from the guest reaches the host's packet socket. */
	ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x88b5));
	assert_true(ps >= 0);
	sll.sll_protocol = htons(0x88b5);
	sll.sll_ifindex = ifindex;
	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);
	put(f, TX_HDR_GPA, &plain, NET_HDR_LEN);
	put(f, TX_GPA, frame, sizeof(frame));
	chain(f, TX, (struct buf[]){ { TX_HDR_GPA, NET_HDR_LEN, false },
				     { TX_GPA, sizeof(frame), false } }, 2);
	/* Regression: on a blocking tap a 6.1 kernel's io_uring punted every
	 * request to an io-wq worker (newer kernels try inline either way);
	 * non-blocking, the write completes at submit. */
	assert_true(fcntl(f->n->fd, F_GETFL) & O_NONBLOCK);
	notify(f, TX);
	assert_int_equal(used_idx(f, TX), 1);
	assert_int_equal(used_len(f, TX, 0), 0);
	assert_int_equal(f->n->stats.tx_frames, 1);
	assert_int_equal(f->n->stats.io_errors, 0);
	assert_int_equal(poll(&(struct pollfd){ .fd = ps, .events = POLLIN }, 1, 1000), 1);
	assert_int_equal(recv(ps, f->msg, MAX_MSG, 0), (ssize_t)sizeof(frame));
	assert_memory_equal(f->msg, frame, sizeof(frame));
	/* rx: a frame the host sends lands in a guest buffer. */
	rx_post(f, 40, 2048);
	notify(f, RX);
	memcpy(sll.sll_addr, frame, 6);
	frame[59] = 0x42;
	assert_int_equal(sendto(ps, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)),
			 (ssize_t)sizeof(frame));
	for (int i = 0; i < 100 && !used_idx(f, RX); i++)
		spin(f, 10);
	assert_true(used_idx(f, RX) >= 1);   /* ours, or the kernel's own (IPv6 DAD...) */
	assert_true(f->n->stats.rx_frames >= 1);
	close(ps);
	/* Gone with the test: reattach and drop persistence, once the ring's
	 * (asynchronous) teardown has let go of the tap. */
	net_destroy(f->n);
	f->created = false;
	mkfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	assert_true(mkfd >= 0);
	for (int i = 0; i < 200 && ioctl(mkfd, TUNSETIFF, &mk) && errno == EBUSY; i++)
		usleep(10000);
	assert_int_equal(ioctl(mkfd, TUNSETPERSIST, 0), 0);
	close(mkfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_features_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offload_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_layouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_inline_no_idle_wakeup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_bad_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_marks_dirty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mrg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mrg_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_bad_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_no_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_tap_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_tx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_rx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_cancels_parked_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_races_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mrg_frame_published_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mrg_two_desc_chains_no_stall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mrg_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mrg_wait_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mrg_full_ring_no_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_budget_per_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_batch_fits_used_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_drop_charged_one_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_read_error_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_failure_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_reaps_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mtu_enforced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mtu_offered_when_configured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_large_mtu_without_gso, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_tap, setup, teardown),
	};

	unit_init();
	log_set_level(LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);   /* a socketpair stand-in whose peer closed */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
