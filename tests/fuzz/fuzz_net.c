// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_net.c - libFuzzer target over virtio-net (virtio/net.c, net_io.c) on
 * the virtio-mmio transport and the split virtqueue, io_uring engine, over
 * fake guest RAM, the "tap" being one end of a SOCK_SEQPACKET socketpair
 * whose other end the fuzzer holds.
 *
 * Input: 9 control bytes, a script, then the guest RAM image (descriptors,
 * rings, headers, frames, rx buffers; zero-padded):
 *   [0] bits 0-3: both queue sizes 2^(n % 9)
 *   [1] driver features: 0 INDIRECT_DESC, 1 EVENT_IDX, 2 CSUM, 3 GUEST_CSUM,
 *       4 HOST_TSO4/TSO6/UFO, 5 GUEST_TSO4/TSO6/UFO, 6 MRG_RXBUF; bit 7: also
 *       ask for what the device does not offer (FEATURES_OK is then refused)
 *   [2..4] receive queue: descriptors, available ring, used ring at n * 256
 *   [5..7] transmit queue: the same
 *   [8] script length
 * The driver initialises the device through the registers; the script then
 * notifies either queue, pokes RAM, bumps an avail->idx, sends frames from
 * the host side (any header), drains what reached it, runs the event loop,
 * throttles a direction, resets and re-initialises, reads and writes
 * registers.  Every frame that reaches the host side is checked: a length
 * the tap takes and a header that passed validation (the device's copy:
 * num_buffers 0, known flags, checksum inside the frame).  Every input ends
 * with a reset and a drain, after which nothing may be left in flight.
 * Guest RAM is a global: ASan catches any access outside it.
 *
 * FUZZ_NET_WRITE_SEEDS=dir ./fuzz_net  writes the seed corpus (valid frames
 * both ways), each checked against what it must produce.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/virtio_net.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/core/event.h"
#include "vmm/core/log.h"
#include "vmm/core/memory.h"
#include "virtio/net/net_priv.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define RAM_SIZE    (64 * 1024)
#define HDR         9
#define MAX_SCRIPT  48
#define MAX_MSG     (NET_HDR_LEN + NET_MAX_FRAME + 64)
#define BIT(n)      (1ULL << (n))

enum {
	REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM = 0x038, REG_QUEUE_READY = 0x044,
	REG_INTERRUPT_STATUS = 0x060, REG_INTERRUPT_ACK = 0x064, REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DRIVER_LOW = 0x090, REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_CONFIG = 0x100,
};

enum op { OP_NOTIFY_TX, OP_NOTIFY_RX, OP_POKE, OP_AVAIL_BUMP, OP_PEER_SEND, OP_PEER_DRAIN,
	  OP_RUN, OP_THROTTLE, OP_REINIT, OP_READ_REGS, OP_WRITE_REG, OP_COUNT };

static _Alignas(4096) uint8_t ram[RAM_SIZE];
static struct guest_mem gm;
static struct ev_loop loop;
static struct net_dev *dev;
static int peer = -1;
static uint8_t *msg;
static uint64_t frames_out;                /* frames the host side received */

struct params {
	uint16_t qsize;
	uint64_t features;
	uint64_t ring[2][3];                    /* [queue][desc, avail, used] */
};

/* ---- the driver, through the registers ----------------------------------- */

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_ops.write(&dev->t, off, (const uint8_t *)&v, 4);
}

static uint32_t rd(uint64_t off, unsigned int size)
{
	uint8_t buf[8] = { 0 };
	uint32_t v;

	virtio_mmio_ops.read(&dev->t, off, buf, size);
	memcpy(&v, buf, 4);
	return v;
}

static uint64_t offered(void)
{
	uint64_t lo, hi;

	wr(REG_DEVICE_FEATURES_SEL, 0);
	lo = rd(REG_DEVICE_FEATURES, 4);
	wr(REG_DEVICE_FEATURES_SEL, 1);
	hi = rd(REG_DEVICE_FEATURES, 4);
	return lo | hi << 32;
}

static bool live(void)
{
	return (dev->t.status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(dev->t.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* What the vmm thread does on a QueueNotify (see on_queue_notify). */
static void notify(unsigned int q)
{
	pthread_mutex_lock(&dev->t.lock);
	if (live())
		dev->t.ops->notify(&dev->t, q);
	pthread_mutex_unlock(&dev->t.lock);
	CHECK(dev->rx.nr <= dev->t.queues[NET_RXQ].size || !dev->t.queues[NET_RXQ].ready);
	CHECK(dev->nr_tx_free <= NET_MAX_TX);
}

static void driver_init(const struct params *p)
{
	uint64_t f = p->features;
	const uint32_t ok = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			    VIRTIO_STATUS_FEATURES_OK;

	wr(REG_STATUS, 0);
	CHECK(!dev->rx.read.busy);          /* a reset leaves no read in guest RAM */
	wr(REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, (uint32_t)f);
	wr(REG_DRIVER_FEATURES_SEL, 1);
	wr(REG_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(REG_STATUS, ok);
	for (unsigned int q = 0; q < 2; q++) {
		wr(REG_QUEUE_SEL, q);
		wr(REG_QUEUE_NUM, p->qsize);
		wr(REG_QUEUE_DESC_LOW, (uint32_t)p->ring[q][0]);
		wr(REG_QUEUE_DRIVER_LOW, (uint32_t)p->ring[q][1]);
		wr(REG_QUEUE_DEVICE_LOW, (uint32_t)p->ring[q][2]);
		wr(REG_QUEUE_READY, 1);
	}
	wr(REG_STATUS, ok | VIRTIO_STATUS_DRIVER_OK);
}

/* ---- the host side ----------------------------------------------------------- */

/* Every frame written to the tap must be one the tap takes, with the
 * device's validated header. */
static void check_frame(const uint8_t *m, ssize_t len)
{
	struct virtio_net_hdr_v1 h;
	uint32_t frame;

	CHECK(len >= NET_HDR_LEN + NET_MIN_FRAME && len <= NET_HDR_LEN + NET_MAX_FRAME);
	frame = (uint32_t)len - NET_HDR_LEN;
	memcpy(&h, m, sizeof(h));
	CHECK(h.num_buffers == 0);
	CHECK(!(h.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM));
	if (h.flags)
		CHECK((uint32_t)h.csum_start + h.csum_offset + 2 <= frame);
	CHECK(h.hdr_len <= frame);
	switch (h.gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
	case VIRTIO_NET_HDR_GSO_UDP:
		CHECK(h.flags && h.gso_size && h.gso_size <= frame);
		break;
	default:
		CHECK(0);
	}
	frames_out++;
}

static void peer_drain(void)
{
	ssize_t n;

	while ((n = recv(peer, msg, MAX_MSG, MSG_DONTWAIT)) >= 0)
		check_frame(msg, n);
}

/* A frame from the host: header fields from the script, patterned bytes. */
static void peer_send(uint8_t flags, uint8_t gso, uint32_t len)
{
	struct virtio_net_hdr_v1 h = { .flags = flags, .gso_type = gso, .gso_size = 1400,
				       .csum_start = 34, .csum_offset = 16 };

	memcpy(msg, &h, sizeof(h));
	for (uint32_t i = 0; i < len; i++)
		msg[NET_HDR_LEN + i] = (uint8_t)(i * 7 + 3);
	(void)!send(peer, msg, NET_HDR_LEN + len, MSG_DONTWAIT);
}

static void run_loop(int rounds)
{
	for (int i = 0; i < rounds; i++)
		if (ev_run_once(&loop, 0) <= 0)
			break;
}

static void throttle(uint8_t s)
{
	struct rate_limiter_cfg cfg = {
		.bandwidth = { .set = true, .size = 100u + 64u * (s & 63), .refill_time_ms = 3600000 },
	};

	net_set_rate_limiters(dev, s & 64 ? &cfg : NULL, s & 128 ? &cfg : NULL);
}

/* ---- the script ---------------------------------------------------------------- */

static void avail_bump(uint64_t avail)
{
	uint16_t idx;

	if (avail + 4 > RAM_SIZE)
		return;
	memcpy(&idx, ram + avail + 2, 2);
	idx++;
	memcpy(ram + avail + 2, &idx, 2);
}

/* One script step; returns how many script bytes it consumed. */
static size_t step(const struct params *p, const uint8_t *s, size_t left)
{
	switch (s[0] % OP_COUNT) {
	case OP_NOTIFY_TX:
		notify(NET_TXQ);
		return 1;
	case OP_NOTIFY_RX:
		notify(NET_RXQ);
		return 1;
	case OP_POKE:
		if (left < 4)
			return left;
		ram[(s[1] | (unsigned int)s[2] << 8) % RAM_SIZE] ^= s[3];
		return 4;
	case OP_AVAIL_BUMP:
		avail_bump(p->ring[s[0] & 1][1]);
		return 1;
	case OP_PEER_SEND:
		if (left < 4)
			return left;
		peer_send(s[1] & 3, s[1] >> 2, (s[2] | (uint32_t)s[3] << 8) % (NET_MAX_FRAME + 1));
		return 4;
	case OP_PEER_DRAIN:
		peer_drain();
		return 1;
	case OP_RUN:
		run_loop(4);
		return 1;
	case OP_THROTTLE:
		if (left < 2)
			return left;
		throttle(s[1]);
		return 2;
	case OP_REINIT:
		driver_init(p);
		return 1;
	case OP_READ_REGS:
		if (left < 2)
			return left;
		(void)rd(REG_INTERRUPT_STATUS, 4);
		wr(REG_INTERRUPT_ACK, s[1] & 3);
		(void)rd(REG_STATUS, 4);
		(void)rd(REG_CONFIG + s[1] % 16, 1u << (s[1] >> 6 & 3));
		return 2;
	default:                            /* any register write */
		if (left < 4)
			return left;
		wr((uint64_t)(s[1] & 0x3f) * 4, s[2] | (uint32_t)s[3] << 24);
		CHECK(dev->t.status || !dev->rx.read.busy);
		return 4;
	}
}

static void params(const uint8_t *h, struct params *p)
{
	static const uint64_t bits[7] = {
		BIT(VIRTIO_RING_F_INDIRECT_DESC), BIT(VIRTIO_RING_F_EVENT_IDX),
		BIT(VIRTIO_NET_F_CSUM), BIT(VIRTIO_NET_F_GUEST_CSUM),
		BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_UFO),
		BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |
			BIT(VIRTIO_NET_F_GUEST_UFO),
		BIT(VIRTIO_NET_F_MRG_RXBUF),
	};
	uint64_t want = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_MTU) |
			BIT(VIRTIO_NET_F_STATUS);

	p->qsize = (uint16_t)(1u << ((h[0] & 15) % 9));
	for (unsigned int i = 0; i < 7; i++)
		if (h[1] & (1u << i))
			want |= bits[i];
	p->features = h[1] & 128 ? want | BIT(VIRTIO_NET_F_CTRL_VQ) : want & offered();
	for (unsigned int q = 0; q < 2; q++)
		for (unsigned int r = 0; r < 3; r++)
			p->ring[q][r] = (uint64_t)h[2 + 3 * q + r] * 256;
}

/* Reset: the tap read is cancelled before the status write returns (it
 * writes into guest RAM); then let the writes still in the engine finish:
 * drain the host side (parked writes complete). */
static void settle(void)
{
	wr(REG_STATUS, 0);
	CHECK(dev->t.status == 0 && dev->rx.nr == 0 && !dev->tx_deferred);
	CHECK(!dev->rx.read.busy && !dev->stats.reset_read_timeouts);
	for (int i = 0; i < 200 && dev->nr_tx_free != NET_MAX_TX; i++) {
		peer_drain();
		(void)ev_run_once(&loop, i < 10 ? 0 : 1);
	}
	CHECK(!dev->rx.read.busy && dev->nr_tx_free == NET_MAX_TX);
	peer_drain();
	/* a frame sent for the read, left in the socket: read it back out */
	while (recv(dev->fd, msg, MAX_MSG, MSG_DONTWAIT) >= 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rate_limiter_cfg unlimited;
	struct params p;
	size_t nscript, off = 0;
	uint64_t v;

	if (size < HDR)
		return 0;
	nscript = data[8] % (MAX_SCRIPT + 1);
	if (size < HDR + nscript)
		nscript = size - HDR;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + HDR + nscript,
	       size - HDR - nscript < RAM_SIZE ? size - HDR - nscript : RAM_SIZE);

	params(data, &p);
	driver_init(&p);
	notify(NET_RXQ);                    /* DRIVER_OK kicks both queues */
	notify(NET_TXQ);
	while (off < nscript)
		off += step(&p, data + HDR + off, nscript - off);
	notify(NET_TXQ);
	notify(NET_RXQ);
	run_loop(4);
	peer_drain();

	net_set_rate_limiters(dev, &unlimited, &unlimited);
	settle();
	while (read(dev->t.irq_efd, &v, sizeof(v)) == sizeof(v))
		;
	return 0;
}

/* ---- the seed corpus ----------------------------------------------------------- */

/* Seeds: queues of 16; rx rings at 0x000/0x100/0x200, tx rings at
 * 0x400/0x500/0x600; headers at 0x800 + 16 i, indirect tables at 0xc00,
 * tx frames from 0x1000, rx buffers from 0x4000. */
#define S_RX_DESC 0x000
#define S_TX_DESC 0x400
#define S_HDR     0x800
#define S_TABLE   0xc00
#define S_FRAME   0x1000
#define S_RXBUF   0x4000
#define F_NEXT    VIRTQ_DESC_F_NEXT
#define F_WRITE   VIRTQ_DESC_F_WRITE

struct seed {
	const char *name;
	uint8_t in[HDR + MAX_SCRIPT + RAM_SIZE];
	uint8_t *ram;
	size_t ram_len, nscript;
	uint16_t next_desc[2], nr[2];
	uint64_t want_rx;                   /* rx used entries expected */
	uint64_t want_out;                  /* frames on the host side expected */
};

static void seed_start(struct seed *s, const char *name, uint8_t feat)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->in[0] = 4;                       /* 16 entries */
	s->in[1] = feat;
	s->in[2] = 0x00; s->in[3] = 0x01; s->in[4] = 0x02;
	s->in[5] = 0x04; s->in[6] = 0x05; s->in[7] = 0x06;
	s->ram_len = 0;
}

static void seed_script(struct seed *s, const uint8_t *ops, size_t n)
{
	memcpy(s->in + HDR, ops, n);
	s->nscript = n;
	s->in[8] = (uint8_t)n;
}

static void seed_put(struct seed *s, uint64_t gpa, const void *p, size_t len)
{
	memcpy(s->in + HDR + MAX_SCRIPT + gpa, p, len);  /* moved into place at emit */
	if (gpa + len > s->ram_len)
		s->ram_len = gpa + len;
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

static void seed_avail(struct seed *s, unsigned int q, uint16_t head)
{
	uint64_t avail = (q ? S_TX_DESC : S_RX_DESC) + 0x100;
	uint16_t idx = (uint16_t)(s->nr[q] + 1);

	seed_put(s, avail + 4 + 2u * s->nr[q], &head, 2);
	seed_put(s, avail + 2, &idx, 2);
	s->nr[q]++;
}

/* A tx frame: its header then `len` bytes, in `split` + 1 descriptors. */
static void seed_tx(struct seed *s, const struct virtio_net_hdr_v1 *h, uint32_t len,
		    uint32_t split)
{
	uint16_t d = s->next_desc[1];
	uint64_t hdr = S_HDR + 16u * s->nr[1], frame = S_FRAME + 0x400u * s->nr[1];
	uint8_t bytes[0x400];

	for (uint32_t i = 0; i < len; i++)
		bytes[i] = (uint8_t)(i * 5 + 1);
	seed_put(s, hdr, h, NET_HDR_LEN);
	seed_put(s, frame, bytes, len);
	if (split) {
		seed_desc(s, S_TX_DESC + 16u * d, hdr, split, F_NEXT, (uint16_t)(d + 1));
		seed_desc(s, S_TX_DESC + 16u * (d + 1), hdr + split, NET_HDR_LEN - split, F_NEXT,
			  (uint16_t)(d + 2));
		d++;
	} else {
		seed_desc(s, S_TX_DESC + 16u * d, hdr, NET_HDR_LEN, F_NEXT, (uint16_t)(d + 1));
	}
	seed_desc(s, S_TX_DESC + 16u * (d + 1), frame, len, 0, 0);
	seed_avail(s, 1, s->next_desc[1]);
	s->next_desc[1] = (uint16_t)(d + 2);
}

/* `n` rx chains of one `len`-byte buffer. */
static void seed_rx(struct seed *s, unsigned int n, uint32_t len)
{
	for (unsigned int i = 0; i < n; i++) {
		uint16_t d = s->next_desc[0]++;
		uint64_t buf = S_RXBUF + 0x800u * d;

		seed_desc(s, S_RX_DESC + 16u * d, buf, len, F_WRITE, 0);
		seed_avail(s, 0, d);
		if (buf + len > s->ram_len)
			s->ram_len = buf + len;
	}
}

static void seed_emit(struct seed *s, const char *dir)
{
	size_t len = HDR + s->nscript + s->ram_len;
	uint64_t before = frames_out;
	char path[512];
	FILE *fp;
	uint16_t used;

	memmove(s->in + HDR + s->nscript, s->in + HDR + MAX_SCRIPT, s->ram_len);
	snprintf(path, sizeof(path), "%s/seed-%s", dir, s->name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(s->in, 1, len, fp) != len || fclose(fp)) {
		perror(path);
		exit(1);
	}
	LLVMFuzzerTestOneInput(s->in, len);
	memcpy(&used, ram + 0x200 + 2, 2);
	if (used != s->want_rx || frames_out - before != s->want_out) {
		fprintf(stderr, "%s: %u rx used, %llu frames out; expected %llu and %llu\n",
			s->name, used, (unsigned long long)(frames_out - before),
			(unsigned long long)s->want_rx, (unsigned long long)s->want_out);
		exit(1);
	}
	printf("%s: %zu bytes, as expected\n", path, len);
}

static void write_seeds(const char *dir)
{
	const uint8_t all = 0x7f & ~0x40, mrg = 0x7f;   /* everything; with MRG_RXBUF */
	const struct virtio_net_hdr_v1 plain = { 0 };
	const struct virtio_net_hdr_v1 csum = { .flags = 1, .csum_start = 34, .csum_offset = 16 };
	const struct virtio_net_hdr_v1 tso = { .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					       .hdr_len = 54, .gso_size = 500, .csum_start = 34,
					       .csum_offset = 16 };
	const struct virtio_net_hdr_v1 bad = { .flags = 1, .gso_type = 2, .gso_size = 500 };
	/* send 1000 bytes, GSO_NONE */
	const uint8_t send_rx[] = { OP_NOTIFY_RX, OP_PEER_SEND, 0, 0xe8, 0x03, OP_RUN, OP_RUN };
	const uint8_t send_tso[] = { OP_NOTIFY_RX, OP_PEER_SEND, 1 | VIRTIO_NET_HDR_GSO_TCPV4 << 2,
				     0x00, 0x10, OP_RUN, OP_RUN };
	const uint8_t tx_only[] = { OP_NOTIFY_TX, OP_PEER_DRAIN };
	/* made available only after the bucket is set (OP_AVAIL_BUMP 3: tx) */
	const uint8_t throttled[] = { OP_THROTTLE, 0x80 | 2, OP_AVAIL_BUMP, OP_AVAIL_BUMP,
				      OP_AVAIL_BUMP, OP_NOTIFY_TX, OP_PEER_DRAIN };
	const uint16_t zero = 0;
	struct seed *s = calloc(1, sizeof(*s));

	CHECK(s);
	seed_start(s, "tx", all);
	seed_script(s, tx_only, sizeof(tx_only));
	seed_tx(s, &plain, 60, 0);
	s->want_out = 1;
	seed_emit(s, dir);

	seed_start(s, "tx-batch", all | 2);
	seed_script(s, tx_only, sizeof(tx_only));
	seed_tx(s, &csum, 200, 0);
	seed_tx(s, &tso, 1000, 5);
	seed_tx(s, &bad, 100, 0);
	seed_tx(s, &plain, 14, 11);
	s->want_out = 3;
	seed_emit(s, dir);

	seed_start(s, "tx-throttled", all);
	seed_script(s, throttled, sizeof(throttled));
	seed_tx(s, &plain, 100, 0);
	seed_tx(s, &plain, 100, 0);
	seed_tx(s, &plain, 100, 0);
	seed_put(s, S_TX_DESC + 0x100 + 2, &zero, 2);
	s->want_out = 2;                    /* a 228-byte bucket: two of three */
	seed_emit(s, dir);

	/* The frame through an indirect table. */
	seed_start(s, "tx-indirect", all);
	seed_script(s, tx_only, sizeof(tx_only));
	seed_put(s, S_HDR, &csum, NET_HDR_LEN);
	seed_desc(s, S_TABLE, S_HDR, NET_HDR_LEN, F_NEXT, 1);
	seed_desc(s, S_TABLE + 16, S_FRAME, 300, 0, 0);
	seed_desc(s, S_TX_DESC, S_TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	seed_avail(s, 1, 0);
	s->want_out = 1;
	seed_emit(s, dir);

	seed_start(s, "rx", all);
	seed_script(s, send_rx, sizeof(send_rx));
	seed_rx(s, 2, 2048);
	s->want_rx = 1;
	seed_emit(s, dir);

	seed_start(s, "rx-mrg", mrg & ~0x20);           /* no GUEST_TSO: 1530 bytes */
	seed_script(s, send_rx, sizeof(send_rx));
	seed_rx(s, 4, 512);
	s->want_rx = 2;
	seed_emit(s, dir);

	seed_start(s, "rx-mrg-tso", mrg);               /* the ring full is enough */
	seed_script(s, send_tso, sizeof(send_tso));
	seed_rx(s, 16, 2048);
	s->want_rx = 3;                                 /* 4096 + 12 bytes */
	seed_emit(s, dir);

	seed_start(s, "rx-tx", (mrg & ~0x20) | 2);
	{
		const uint8_t both[] = { OP_NOTIFY_TX, OP_NOTIFY_RX, OP_PEER_SEND, 0, 100, 0,
					 OP_RUN, OP_PEER_DRAIN, OP_RUN };

		seed_script(s, both, sizeof(both));
	}
	seed_rx(s, 8, 1024);
	seed_tx(s, &plain, 500, 3);
	seed_tx(s, &tso, 800, 0);
	s->want_rx = 1;
	s->want_out = 2;
	seed_emit(s, dir);
	free(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("FUZZ_NET_WRITE_SEEDS");
	struct net_cfg cfg = { .id = "fuzz0", .host_dev = "fuzz0", .has_mac = true,
			       .mac = { 6, 0, 0, 0, 0, 1 }, .mtu = 1500 };
	int sv[2];

	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);   /* dropped frames and violations are expected */
	signal(SIGPIPE, SIG_IGN);
	gm_init_fake(&gm, ram, RAM_SIZE);
	msg = malloc(MAX_MSG);
	CHECK(msg && ev_init(&loop) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	peer = sv[1];
	dev = calloc(1, sizeof(*dev));
	CHECK(dev && net_create_fd(dev, &cfg, sv[0], &gm, &loop) == 0);
	if (seeds) {
		write_seeds(seeds);
		exit(0);
	}
	return 0;
}
