// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_vsock.c - libFuzzer target over virtio-vsock (virtio/vsock*.c): the
 * tx packet path, the connection state machine and rx delivery, on the
 * virtio-mmio transport and the split virtqueue over fake guest RAM, with
 * the real io_uring engine and real unix sockets in a temporary directory
 * (a listener on <uds>_1 that the target accepts from, clients of <uds>).
 *
 * Input: 4 control bytes, a script, then the guest RAM image (zero-padded):
 *   [0] queue size 2^(n % 7) for the three queues
 *   [1] bit 0: INDIRECT_DESC, bit 1: EVENT_IDX
 *   [2] rx avail->idx at start (rx buffers the image already offers)
 *   [3] script length
 * Fixed ring layout: rx at 0x0000 (desc) / 0x400 (avail) / 0x800 (used),
 * tx at 0x1000 / 0x1400 / 0x1800, event at 0x2000 / 0x2400 / 0x2800;
 * buffers from 0x3000.  The script notifies queues, pokes RAM, bumps tx
 * avail->idx, runs the event loop, re-initialises, and plays the host:
 * connects and writes CONNECT lines or bytes, accepts and writes, closes.
 * Every input ends with a device reset and the host sockets closed; the
 * checks: after the reset no connection from before it is left alive or
 * owed a packet (only a host client that connected meanwhile may be
 * there, unknown to the guest), every slot is released once the engine is
 * drained (waited for, not timed), and the sanitizers.
 *
 * FUZZ_VSOCK_WRITE_SEEDS=dir ./fuzz_vsock  writes the seed corpus.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/virtio_vsock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/core/event.h"
#include "vmm/core/log.h"
#include "vmm/core/memory.h"
#include "virtio/vsock/vsock_priv.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define RAM_SIZE   (64 * 1024)
#define HDR        4
#define MAX_SCRIPT 48
#define CID        3
#define MAX_CLIENTS 4
#define DRAIN_US   (10ull * 1000 * 1000)   /* as UNIT_WAIT_US */

enum {
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM = 0x038, REG_QUEUE_READY = 0x044,
	REG_STATUS = 0x070, REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DEVICE_LOW = 0x0a0, REG_CONFIG = 0x100,
};

enum op { OP_NOTIFY_TX, OP_NOTIFY_RX, OP_POKE, OP_TX_BUMP, OP_RUN, OP_REINIT,
	  OP_HOST_CONNECT, OP_HOST_WRITE, OP_HOST_CLOSE, OP_HOST_ACCEPT, OP_COUNT };

static _Alignas(4096) uint8_t ram[RAM_SIZE];
static struct guest_mem gm;
static struct ev_loop loop;
static struct vsock_dev *dev;
static char dir[64], uds[80];
static int lfd = -1;                     /* the host listener on <uds>_1 */
static int clients[MAX_CLIENTS];
static unsigned int nr_clients;

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_ops.write(&dev->t, off, (const uint8_t *)&v, 4);
}

static bool live(void)
{
	return (dev->t.status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(dev->t.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void notify(unsigned int q)
{
	pthread_mutex_lock(&dev->t.lock);
	if (live())
		dev->t.ops->notify(&dev->t, q);
	pthread_mutex_unlock(&dev->t.lock);
}

static void driver_init(uint16_t qsize, uint64_t features)
{
	uint32_t ok = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;

	wr(REG_STATUS, 0);
	wr(REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, (uint32_t)features);
	wr(REG_DRIVER_FEATURES_SEL, 1);
	wr(REG_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(REG_STATUS, ok);
	for (uint32_t i = 0; i < 3; i++) {
		wr(REG_QUEUE_SEL, i);
		wr(REG_QUEUE_NUM, qsize);
		wr(REG_QUEUE_DESC_LOW, 0x1000 * i);
		wr(REG_QUEUE_DRIVER_LOW, 0x1000 * i + 0x400);
		wr(REG_QUEUE_DEVICE_LOW, 0x1000 * i + 0x800);
		wr(REG_QUEUE_READY, 1);
	}
	wr(REG_STATUS, ok | VIRTIO_STATUS_DRIVER_OK);
	dev->next_port = VSOCK_LOCAL_PORT0;  /* deterministic local ports per input */
	notify(VSOCK_TXQ);
	notify(VSOCK_RXQ);
}

static void run_loop(int rounds)
{
	for (int i = 0; i < rounds; i++)
		if (ev_run_once(&loop, 0) <= 0)
			break;
}

static void host_connect(const uint8_t *s)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char line[40];
	int fd, n;

	if (nr_clients == MAX_CLIENTS)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK(fd >= 0);
	memcpy(a.sun_path, uds, strlen(uds) + 1);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return;
	}
	clients[nr_clients++] = fd;
	if (s[1] & 0x80)            /* a malformed line */
		n = snprintf(line, sizeof(line), "CONNECT %ux\n", s[1]);
	else if (s[1] & 0x40)       /* Firecracker's lenient forms */
		n = snprintf(line, sizeof(line), "connect\t %u \r\n", s[1] & 0x3f);
	else
		n = snprintf(line, sizeof(line), "CONNECT %u\n", s[1]);
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL) < 0)
		return;
}

static void host_accept(const uint8_t *s)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (nr_clients == MAX_CLIENTS) {
		close(fd);
		return;
	}
	clients[nr_clients++] = fd;
	if (send(fd, s, 2, MSG_NOSIGNAL) < 0)
		return;
}

static void host_write(const uint8_t *s)
{
	static const uint8_t junk[4096];

	if (nr_clients && send(clients[s[1] % nr_clients], junk, (size_t)s[2] * 16,
			       MSG_NOSIGNAL) < 0)
		return;
}

static void host_close(const uint8_t *s)
{
	unsigned int i;

	if (!nr_clients)
		return;
	i = s[1] % nr_clients;
	close(clients[i]);
	clients[i] = clients[--nr_clients];
}

/* One script step; returns how many script bytes it consumed. */
static size_t step(const uint8_t *s, size_t left, uint16_t qsize, uint64_t features)
{
	size_t need[OP_COUNT] = { 1, 1, 4, 1, 1, 1, 2, 3, 2, 1 };
	enum op op = (enum op)(s[0] % OP_COUNT);
	uint16_t idx;

	if (left < need[op])
		return left;
	switch (op) {
	case OP_NOTIFY_TX: notify(VSOCK_TXQ); break;
	case OP_NOTIFY_RX: notify(VSOCK_RXQ); break;
	case OP_POKE: ram[(s[1] | (unsigned int)s[2] << 8) % RAM_SIZE] ^= s[3]; break;
	case OP_TX_BUMP:
		memcpy(&idx, ram + 0x1402, 2);
		idx++;
		memcpy(ram + 0x1402, &idx, 2);
		break;
	case OP_RUN: run_loop(4); break;
	case OP_REINIT: driver_init(qsize, features); break;
	case OP_HOST_CONNECT: host_connect(s); run_loop(2); break;
	case OP_HOST_WRITE: host_write(s); run_loop(2); break;
	case OP_HOST_CLOSE: host_close(s); run_loop(2); break;
	case OP_HOST_ACCEPT: host_accept(s); run_loop(2); break;
	default: break;
	}
	return need[op];
}

/* A connection the guest has not heard of: a host client's, still reading
 * its CONNECT line or with its REQUEST not yet delivered. */
static bool unknown_to_guest(const struct vsock_conn *c)
{
	return c->from_host && (c->state == VSOCK_HANDSHAKE ||
				(c->state == VSOCK_REQUEST && (c->pend & VSOCK_PEND_REQUEST)));
}

/* After a reset has settled, the guest finds the device clean: no
 * connection from before the reset is left alive (same slot, same
 * generation), the closing ones owe it nothing, no guest connect is in
 * progress.  A host client may connect at any moment, the reset
 * included: the listener's ACCEPT completes in the kernel and the vmm
 * thread handles it when it gets to the ring, before or after the reset
 * is settled (the order is the scheduler's).  Such a connection is new
 * and must be one the guest has not heard of. */
static void check_reset_clean(const uint32_t *gen_before, const bool *live_before)
{
	const struct vsock_conn *c;

	CHECK(!dev->reset_pending && dev->nr_guest_pending == 0 && dev->nr_orphan == 0);
	for (unsigned int i = 0; i < dev->max_conns; i++) {
		c = &dev->conns[i];
		if (c->state == VSOCK_FREE)
			continue;
		if (c->state == VSOCK_CLOSING) {
			CHECK(!c->pend && !c->hashed && !c->listed);
			continue;
		}
		CHECK(!(live_before[i] && c->gen == gen_before[i]));
		CHECK(unknown_to_guest(c));
	}
	TAILQ_FOREACH(c, &dev->ready, rlink)
		CHECK(unknown_to_guest(c));
}

/* End of an input: reset, close the host side, drain the engine.  The
 * drain waits as long as the unit tests do (tests/unit/unit.h): host I/O
 * completes asynchronously (the reset's SHUTDOWNs in io-wq workers, which
 * a loaded machine may not run for hundreds of milliseconds). */
static void finish(void)
{
	static uint32_t gen_before[VSOCK_MAX_CONNS];
	static bool live_before[VSOCK_MAX_CONNS];
	uint64_t end;
	int fd;

	for (unsigned int i = 0; i < dev->max_conns; i++) {
		gen_before[i] = dev->conns[i].gen;
		live_before[i] = dev->conns[i].state != VSOCK_FREE &&
				 dev->conns[i].state != VSOCK_CLOSING;
	}
	wr(REG_STATUS, 0);
	CHECK(dev->reset_pending && dev->nr_orphan == 0);
	run_loop(1);                        /* the vmm thread drops the connections */
	check_reset_clean(gen_before, live_before);
	for (unsigned int i = 0; i < nr_clients; i++)
		close(clients[i]);
	nr_clients = 0;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	end = time_mono_us() + DRAIN_US;
	while (dev->nr_conns && time_mono_us() < end)
		CHECK(ev_run_once(&loop, 1) >= 0);
	CHECK(dev->nr_conns == 0);
	CHECK(dev->nr_host_pending + dev->nr_guest_pending == 0 && TAILQ_EMPTY(&dev->ready));
	CHECK(dev->rbuf_used == 0 && TAILQ_EMPTY(&dev->rwait));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t qsize, rx_idx;
	uint64_t features = 1ULL << VIRTIO_F_VERSION_1;
	size_t nscript, off = 0;

	if (size < HDR)
		return 0;
	qsize = (uint16_t)(1u << (data[0] % 7));
	features |= data[1] & 1 ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0;
	features |= data[1] & 2 ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0;
	nscript = data[3] % (MAX_SCRIPT + 1);
	if (size < HDR + nscript)
		nscript = size - HDR;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + HDR + nscript,
	       size - HDR - nscript < RAM_SIZE ? size - HDR - nscript : RAM_SIZE);
	rx_idx = data[2];
	memcpy(ram + 0x402, &rx_idx, 2);
	driver_init(qsize, features);
	while (off < nscript)
		off += step(data + HDR + off, nscript - off, qsize, features);
	notify(VSOCK_TXQ);
	run_loop(4);
	finish();
	return 0;
}

/* ---- the seed corpus ------------------------------------------------------- */

#define S_BUF 0x3000                       /* rx buffers: 8 of 0x200 */
#define S_TX  0x4000                       /* tx packets: 0x100 each */

struct seed {
	uint8_t in[HDR + MAX_SCRIPT + 0x6000];
	uint8_t *ram;
	size_t ram_len, nscript;
	uint16_t tx_n;
};

static void seed_start(struct seed *s, const uint8_t *script, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->in[0] = 4;                           /* 16 entries */
	s->in[1] = 3;
	s->in[2] = 8;                           /* 8 rx buffers offered */
	s->in[3] = (uint8_t)n;
	memcpy(s->in + HDR, script, n);
	s->nscript = n;
	s->ram = s->in + HDR + n;
	for (uint16_t i = 0; i < 8; i++) {
		uint64_t addr = S_BUF + 0x200u * i;
		uint32_t len = 0x200;
		uint16_t flags = VIRTQ_DESC_F_WRITE;

		memcpy(s->ram + 16 * i, &addr, 8);
		memcpy(s->ram + 16 * i + 8, &len, 4);
		memcpy(s->ram + 16 * i + 12, &flags, 2);
		memcpy(s->ram + 0x404 + 2 * i, &i, 2);
	}
	s->ram_len = S_TX;
}

/* A tx packet (header + payload in one descriptor) made available. */
static void seed_tx(struct seed *s, uint16_t op, uint32_t src_port, uint32_t dst_port,
		    uint32_t flags, const char *payload)
{
	struct virtio_vsock_hdr h = {
		.src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = src_port,
		.dst_port = dst_port, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op,
		.flags = flags, .buf_alloc = 65536,
		.len = payload ? (uint32_t)strlen(payload) : 0,
	};
	uint64_t addr = S_TX + 0x100u * s->tx_n;
	uint32_t len = (uint32_t)sizeof(h) + h.len;
	uint16_t idx = (uint16_t)(s->tx_n + 1);

	memcpy(s->ram + addr, &h, sizeof(h));
	if (payload)
		memcpy(s->ram + addr + sizeof(h), payload, h.len);
	memcpy(s->ram + 0x1000 + 16 * s->tx_n, &addr, 8);
	memcpy(s->ram + 0x1000 + 16 * s->tx_n + 8, &len, 4);
	memcpy(s->ram + 0x1404 + 2 * s->tx_n, &s->tx_n, 2);
	memcpy(s->ram + 0x1402, &idx, 2);
	s->tx_n++;
	s->ram_len = addr + 0x100;
}

static void seed_emit(struct seed *s, const char *d, const char *name)
{
	size_t len = HDR + s->nscript + s->ram_len;
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/seed-%s", d, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(s->in, 1, len, fp) != len || fclose(fp)) {
		perror(path);
		exit(1);
	}
	LLVMFuzzerTestOneInput(s->in, len);
	printf("%s: %zu bytes; so far: %llu connections, %llu packets to the guest, %llu bad\n",
	       path, len, (unsigned long long)dev->stats.conns_added,
	       (unsigned long long)dev->stats.rx_packets_count,
	       (unsigned long long)dev->stats.bad_packets);
}

static void write_seeds(const char *d)
{
	static const uint8_t notify_run[] = { OP_NOTIFY_TX, OP_RUN, OP_RUN, OP_NOTIFY_RX, OP_RUN };
	static const uint8_t host[] = { OP_HOST_CONNECT, 52, OP_RUN, OP_NOTIFY_RX, OP_RUN,
					OP_TX_BUMP, OP_NOTIFY_TX, OP_RUN, OP_HOST_WRITE, 0, 4,
					OP_RUN, OP_NOTIFY_RX, OP_HOST_CLOSE, 0, OP_RUN };
	static const uint8_t guest[] = { OP_NOTIFY_TX, OP_RUN, OP_RUN, OP_HOST_ACCEPT, OP_RUN,
					 OP_NOTIFY_RX, OP_TX_BUMP, OP_NOTIFY_TX, OP_RUN,
					 OP_TX_BUMP, OP_NOTIFY_TX, OP_RUN, OP_RUN };
	static const uint8_t bad_line[] = { OP_HOST_CONNECT, 0x85, OP_RUN, OP_RUN };
	struct seed *s = calloc(1, sizeof(*s));

	CHECK(s);
	/* guest-initiated to the listener on 1: request, data, shutdown */
	seed_start(s, guest, sizeof(guest));
	seed_tx(s, VIRTIO_VSOCK_OP_REQUEST, 1000, 1, 0, NULL);
	seed_tx(s, VIRTIO_VSOCK_OP_RW, 1000, 1, 0, "hello host");
	seed_tx(s, VIRTIO_VSOCK_OP_SHUTDOWN, 1000, 1, 3, NULL);
	s->ram[0x1402] = 1;                     /* only the request at first */
	seed_emit(s, d, "guest-connect");
	/* host-initiated to guest port 52: the guest answers, then credit */
	seed_start(s, host, sizeof(host));
	seed_tx(s, VIRTIO_VSOCK_OP_RESPONSE, 52, VSOCK_LOCAL_PORT0, 0, NULL);
	seed_tx(s, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 52, VSOCK_LOCAL_PORT0, 0, NULL);
	s->ram[0x1402] = 0;
	seed_emit(s, d, "host-connect");
	/* nobody listening, credit ops and RSTs for no connection, bad headers */
	seed_start(s, notify_run, sizeof(notify_run));
	seed_tx(s, VIRTIO_VSOCK_OP_REQUEST, 1001, 2, 0, NULL);
	seed_tx(s, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1002, 3, 0, NULL);
	seed_tx(s, VIRTIO_VSOCK_OP_RST, 1003, 4, 0, NULL);
	seed_tx(s, 42, 1004, 5, 0, NULL);
	seed_tx(s, VIRTIO_VSOCK_OP_RW, 1005, 6, 0, "data for nobody");
	seed_emit(s, d, "no-connection");
	seed_start(s, bad_line, sizeof(bad_line));
	seed_emit(s, d, "bad-line");
	free(s);
}

static void cleanup(void)
{
	char path[96];

	snprintf(path, sizeof(path), "%s_1", uds);
	unlink(path);
	vsock_destroy(dev);   /* unlinks uds */
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("FUZZ_VSOCK_WRITE_SEEDS");
	struct vsock_cfg cfg = { .set = true, .guest_cid = CID, .uds_path = uds };
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);   /* refused packets and violations are expected */
	snprintf(dir, sizeof(dir), "/tmp/ember-fuzz-vsock-XXXXXX");
	CHECK(mkdtemp(dir));
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	gm_init_fake(&gm, ram, RAM_SIZE);
	CHECK(ev_init(&loop) == 0);
	dev = calloc(1, sizeof(*dev));
	CHECK(dev && vsock_create(dev, &cfg, &gm, &loop) == 0);
	dev->handshake_ms = dev->connect_ms = 20;
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s_1", uds);
	CHECK(lfd >= 0 && !bind(lfd, (struct sockaddr *)&a, sizeof(a)) && !listen(lfd, 64));
	atexit(cleanup);
	if (seeds) {
		write_seeds(seeds);
		exit(0);
	}
	return 0;
}
