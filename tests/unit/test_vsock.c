// SPDX-License-Identifier: Apache-2.0
/*
 * test_vsock.c - virtio-vsock (virtio/vsock*.c) end to end: a real struct
 * vsock_dev listening on a unix socket in a mkdtemp directory, fake guest
 * RAM and the vmm's event loop (which carries the device's io_uring
 * completions and its timeout timer).  The test is both the guest driver
 * (registers, split rings for rx/tx/event, packets built by hand) and the
 * host processes (real unix sockets: clients of uds_path, listeners on
 * uds_path_<port>).  Every check is exact: headers, ports, credit fields,
 * bytes on the sockets and the device's counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_vsock.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/core/event.h"
#include "vmm/core/log.h"
#include "vmm/core/memory.h"
#include "virtio/vsock/vsock_priv.h"

#define CID        3
#define RAM_SIZE   (8u << 20)
#define QSIZE      64
#define RXBUF_GPA  0x100000ull          /* rx buffer i at + i * RXBUF_STRIDE */
#define RXBUF_STRIDE 0x2000ull
#define RXBUF_LEN  (4096 + VSOCK_HDR_LEN)
#define TXBUF_GPA  0x200000ull          /* tx header + payload, per descriptor slot */
#define TXBUF_STRIDE 0x2000ull
#define BIG_GPA    0x400000ull          /* large payloads */
#define MISC_GPA   0x7f0000ull

#define OP_REQUEST  VIRTIO_VSOCK_OP_REQUEST
#define OP_RESPONSE VIRTIO_VSOCK_OP_RESPONSE
#define OP_RST      VIRTIO_VSOCK_OP_RST
#define OP_SHUTDOWN VIRTIO_VSOCK_OP_SHUTDOWN
#define OP_RW       VIRTIO_VSOCK_OP_RW
#define OP_CREDIT_UPDATE  VIRTIO_VSOCK_OP_CREDIT_UPDATE
#define OP_CREDIT_REQUEST VIRTIO_VSOCK_OP_CREDIT_REQUEST
#define SHUT_BOTH (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)

struct vq {
	uint64_t desc, avail, used;
	uint16_t avail_idx, last_used, next_desc;
};

struct pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

struct fx {
	struct vsock_dev *v;
	bool created;
	struct guest_mem gm;
	uint8_t *ram;
	struct ev_loop loop;
	char dir[64];
	char uds[80];
	struct vq q[3];
	bool event_idx;             /* the driver negotiated VIRTIO_RING_F_EVENT_IDX */
	uint32_t guest_buf_alloc;   /* what the test's guest advertises */
	uint32_t guest_fwd;
	uint32_t rx_len;            /* rx buffers are posted again with this length */
	bool hold_rx;               /* ... or not posted again at all */
	int fds[8];                 /* test sockets closed at teardown */
	unsigned int nr_fds;
};

/* put/get, desc_at, wr/rd and friends, on this fixture (unit_virtio.h) */
#define UNIT_FX      struct fx
#define UNIT_GM(f)   (&(f)->gm)
#define UNIT_MMIO(f) (&(f)->v->t)
#include "unit_virtio.h"

/* ---- rings and queue notifies ------------------------------------------- */

static void desc(struct fx *f, struct vq *q, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	desc_at(f, q->desc + 16ull * i, addr, len, flags, next);
}

static void avail(struct fx *f, struct vq *q, uint16_t head)
{
	put16(f, q->avail + 4 + 2ull * (q->avail_idx % QSIZE), head);
	q->avail_idx++;
	put16(f, q->avail + 2, q->avail_idx);
}

/* The vmm thread on a QueueNotify (as on_queue_notify does). */
static void kick(struct fx *f, unsigned int queue)
{
	pthread_mutex_lock(&f->v->t.lock);
	if ((f->v->t.status & VIRTIO_STATUS_DRIVER_OK) &&
	    !(f->v->t.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		f->v->t.ops->notify(&f->v->t, queue);
	pthread_mutex_unlock(&f->v->t.lock);
}

static void run(struct fx *f, int ms)
{
	uint64_t end = time_mono_us() + (uint64_t)ms * 1000;

	while (time_mono_us() < end)
		assert_true(ev_run_once(&f->loop, 2) >= 0);
}

/* The device's host I/O completes asynchronously (io_uring, io-wq
 * workers): "done" is awaited (unit.h), not expected after a fixed few
 * milliseconds of run(). */
#define WAIT_US UNIT_WAIT_US
#define run_until(f, cond) unit_run_until(&(f)->loop, cond)

/* Connections in `state`. */
static unsigned int conns_in(const struct fx *f, enum vsock_state state)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < f->v->max_conns; i++)
		n += f->v->conns[i].state == state;
	return n;
}

/* Every connection slot released (host I/O in flight completed). */
static void wait_no_conns(struct fx *f)
{
	run_until(f, f->v->nr_conns == 0);
	assert_int_equal(f->v->nr_conns, 0);
}

/* Make rx buffer i available (one writable descriptor). */
static void rx_post(struct fx *f, uint16_t i, uint32_t len)
{
	desc(f, &f->q[0], i, RXBUF_GPA + RXBUF_STRIDE * i, len, VIRTQ_DESC_F_WRITE, 0);
	avail(f, &f->q[0], i);
}

static void driver_init(struct fx *f, unsigned int nr_rx)
{
	uint64_t feat = device_features(f);

	wr(f, REG_STATUS, 0);
	assert_int_equal(gm_fill(&f->gm, 0, 0, 0x10000), 0);
	driver_negotiate(f, feat);
	f->event_idx = feat & BIT(VIRTIO_RING_F_EVENT_IDX);
	for (unsigned int i = 0; i < 3; i++) {
		f->q[i] = (struct vq){ .desc = 0x1000 + 0x3000ull * i, .avail = 0x2000 + 0x3000ull * i,
				       .used = 0x3000 + 0x3000ull * i };
		wr(f, REG_QUEUE_SEL, i);
		assert_int_equal(rd(f, REG_QUEUE_NUM_MAX), VSOCK_QUEUE_SIZE);
		wr(f, REG_QUEUE_NUM, QSIZE);
		wr(f, REG_QUEUE_DESC_LOW, (uint32_t)f->q[i].desc);
		wr(f, REG_QUEUE_DRIVER_LOW, (uint32_t)f->q[i].avail);
		wr(f, REG_QUEUE_DEVICE_LOW, (uint32_t)f->q[i].used);
		wr(f, REG_QUEUE_READY, 1);
	}
	wr(f, REG_STATUS, LIVE);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
	for (uint16_t i = 0; i < nr_rx; i++)
		rx_post(f, i, RXBUF_LEN);
	kick(f, VSOCK_RXQ);
}

/* ---- packets -------------------------------------------------------------- */

static struct pkt gpkt(struct fx *f, uint16_t op, uint32_t guest_port, uint32_t host_port)
{
	return (struct pkt){ .src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = guest_port,
			     .dst_port = host_port, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op,
			     .buf_alloc = f->guest_buf_alloc, .fwd_cnt = f->guest_fwd };
}

static void hdr_put(struct fx *f, uint64_t gpa, const struct pkt *p)
{
	struct virtio_vsock_hdr h = {
		.src_cid = p->src_cid, .dst_cid = p->dst_cid, .src_port = p->src_port,
		.dst_port = p->dst_port, .len = p->len, .type = p->type, .op = p->op,
		.flags = p->flags, .buf_alloc = p->buf_alloc, .fwd_cnt = p->fwd_cnt,
	};

	put(f, gpa, &h, sizeof(h));
}

static void hdr_get(struct fx *f, uint64_t gpa, struct pkt *p)
{
	struct virtio_vsock_hdr h;

	get(f, gpa, &h, sizeof(h));
	*p = (struct pkt){ .src_cid = h.src_cid, .dst_cid = h.dst_cid, .src_port = h.src_port,
			   .dst_port = h.dst_port, .len = h.len, .type = h.type, .op = h.op,
			   .flags = h.flags, .buf_alloc = h.buf_alloc, .fwd_cnt = h.fwd_cnt };
}

/* A tx chain: header descriptor, then `dlen` payload bytes (at `data_gpa`
 * when given, else next to the header) in a second one.  Not notified. */
static void tx_queue_at(struct fx *f, const struct pkt *p, const void *data, uint32_t dlen,
			uint64_t data_gpa)
{
	struct vq *q = &f->q[1];
	uint16_t h = q->next_desc;
	uint64_t gpa = TXBUF_GPA + TXBUF_STRIDE * (h / 2);

	q->next_desc = (uint16_t)((q->next_desc + 2) % QSIZE);
	hdr_put(f, gpa, p);
	if (!data_gpa)
		data_gpa = gpa + VSOCK_HDR_LEN;
	if (dlen && data)
		put(f, data_gpa, data, dlen);
	desc(f, q, h, gpa, VSOCK_HDR_LEN, dlen ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(h + 1));
	if (dlen)
		desc(f, q, (uint16_t)(h + 1), data_gpa, dlen, 0, 0);
	avail(f, q, h);
}

static void tx(struct fx *f, const struct pkt *p, const void *data, uint32_t dlen)
{
	tx_queue_at(f, p, data, dlen, 0);
	kick(f, VSOCK_TXQ);
}

static void tx_op(struct fx *f, uint16_t op, uint32_t guest_port, uint32_t host_port,
		  uint32_t flags)
{
	struct pkt p = gpkt(f, op, guest_port, host_port);

	p.flags = flags;
	tx(f, &p, NULL, 0);
}

static void tx_data(struct fx *f, uint32_t guest_port, uint32_t host_port, const void *data,
		    uint32_t len)
{
	struct pkt p = gpkt(f, OP_RW, guest_port, host_port);

	p.len = len;
	tx(f, &p, data, len);
}

/* The next rx packet, if the device delivered one; the buffer is posted again. */
static bool rx_poll(struct fx *f, struct pkt *p, uint8_t *data, uint32_t max)
{
	struct vq *q = &f->q[0];
	uint32_t id, len;

	if (get16(f, q->used + 2) == q->last_used)
		return false;
	get(f, q->used + 4 + 8ull * (q->last_used % QSIZE), &id, 4);
	get(f, q->used + 8 + 8ull * (q->last_used % QSIZE), &len, 4);
	q->last_used++;
	assert_true(id < QSIZE && len >= VSOCK_HDR_LEN);
	hdr_get(f, RXBUF_GPA + RXBUF_STRIDE * id, p);
	assert_int_equal(len, VSOCK_HDR_LEN + p->len);
	assert_true(p->len <= max);
	if (p->len)
		get(f, RXBUF_GPA + RXBUF_STRIDE * id + VSOCK_HDR_LEN, data, p->len);
	if (!f->hold_rx) {
		rx_post(f, (uint16_t)id, f->rx_len);
		kick(f, VSOCK_RXQ);
	}
	return true;
}

/* One step of a data loop: true with an OP_RW packet in *p (and data);
 * false after skipping a control packet or, with none delivered, running
 * the event loop once. */
static bool rx_poll_rw(struct fx *f, struct pkt *p, uint8_t *data, uint32_t max)
{
	if (!rx_poll(f, p, data, max)) {
		assert_true(ev_run_once(&f->loop, 2) >= 0);
		return false;
	}
	return p->op == OP_RW;
}

static void rx_wait(struct fx *f, struct pkt *p, uint8_t *data, uint32_t max)
{
	for (uint64_t end = time_mono_us() + WAIT_US; time_mono_us() < end;) {
		if (rx_poll(f, p, data, max))
			return;
		assert_true(ev_run_once(&f->loop, 2) >= 0);
	}
	fail_msg("no rx packet");
}

/* The next rx packet is `op` for (guest_port, host_port), from the host. */
static void rx_expect(struct fx *f, uint16_t op, uint32_t guest_port, uint32_t host_port,
		      struct pkt *out)
{
	static uint8_t data[VSOCK_MAX_PKT];
	struct pkt p;

	rx_wait(f, &p, data, sizeof(data));
	if (p.op != op)
		fail_msg("rx op %u (len %u), expected %u", p.op, p.len, op);
	assert_int_equal(p.src_cid, VSOCK_HOST_CID);
	assert_int_equal(p.dst_cid, CID);
	assert_int_equal(p.type, VIRTIO_VSOCK_TYPE_STREAM);
	assert_int_equal(p.buf_alloc, VSOCK_BUF_ALLOC);
	assert_int_equal(p.dst_port, guest_port);
	if (host_port)
		assert_int_equal(p.src_port, host_port);
	if (out)
		*out = p;
}

static void rx_none(struct fx *f, int ms)
{
	struct pkt p;
	uint8_t data[RXBUF_LEN];

	run(f, ms);
	if (rx_poll(f, &p, data, sizeof(data)))
		fail_msg("unexpected rx packet op %u len %u", p.op, p.len);
}

/* Guest payload of `len` bytes for the connection, over as many packets. */
static void rx_data(struct fx *f, uint32_t guest_port, uint32_t host_port, uint8_t *buf,
		    uint32_t len)
{
	for (uint32_t got = 0; got < len;) {
		struct pkt p;

		rx_wait(f, &p, buf + got, len - got);
		if (p.op == OP_CREDIT_UPDATE)
			continue;
		assert_int_equal(p.op, OP_RW);
		assert_int_equal(p.dst_port, guest_port);
		assert_int_equal(p.src_port, host_port);
		got += p.len;
	}
}

/* ---- host sockets ----------------------------------------------------------- */

static int keep_fd(struct fx *f, int fd)
{
	assert_true(fd >= 0);
	assert_true(f->nr_fds < ARRAY_SIZE(f->fds));
	f->fds[f->nr_fds++] = fd;
	return fd;
}

static void drop_fd(struct fx *f, int fd)
{
	for (unsigned int i = 0; i < f->nr_fds; i++)
		if (f->fds[i] == fd)
			f->fds[i] = f->fds[--f->nr_fds];
	close(fd);
}

static int cli_connect(struct fx *f)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = keep_fd(f, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->uds);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void cli_write(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Read up to n bytes (fewer at EOF) while the device runs; *eof if seen. */
static size_t cli_read(struct fx *f, int fd, void *buf, size_t n, bool *eof)
{
	size_t got = 0;

	*eof = false;
	for (uint64_t end = time_mono_us() + WAIT_US; time_mono_us() < end && got < n;) {
		ssize_t r = recv(fd, (uint8_t *)buf + got, n - got, MSG_DONTWAIT);

		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			*eof = true;
			break;
		}
		assert_true(ev_run_once(&f->loop, 2) >= 0);
	}
	return got;
}

/* Bytes waiting to be read on the test's socket (not consumed). */
static int cli_pending(int fd)
{
	char buf[64];
	ssize_t r = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);

	return r < 0 ? 0 : (int)r;
}

static void cli_expect(struct fx *f, int fd, const char *want)
{
	char buf[256] = { 0 };
	bool eof;

	assert_int_equal(cli_read(f, fd, buf, strlen(want), &eof), strlen(want));
	assert_string_equal(buf, want);
}

static void cli_expect_eof(struct fx *f, int fd)
{
	char c;
	bool eof;

	assert_int_equal(cli_read(f, fd, &c, 1, &eof), 0);
	assert_true(eof);
}

/* Read and discard until EOF. */
static void cli_drain_eof(struct fx *f, int fd)
{
	static uint8_t sink[VSOCK_MAX_PKT];
	bool eof = false;

	for (int i = 0; i < 100 && !eof; i++)
		cli_read(f, fd, sink, sizeof(sink), &eof);
	assert_true(eof);
}

/* A listener at <uds>_<port>. */
static int host_listen(struct fx *f, uint32_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = keep_fd(f, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));

	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", f->uds, port);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 2048), 0);
	return fd;
}

static int host_accept(struct fx *f, int lfd)
{
	for (uint64_t end = time_mono_us() + WAIT_US; time_mono_us() < end;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0)
			return keep_fd(f, fd);
		ev_run_once(&f->loop, 2);
	}
	fail_msg("nothing to accept");
	return -1;
}

/* Host-initiated connection to guest port `gport`: the client socket, and
 * *lport the local port ember chose. */
static int host_conn(struct fx *f, uint32_t gport, uint32_t *lport)
{
	int fd = cli_connect(f);
	char line[40];
	struct pkt p;

	snprintf(line, sizeof(line), "CONNECT %u\n", gport);
	cli_write(fd, line, strlen(line));
	rx_expect(f, OP_REQUEST, gport, 0, &p);
	assert_true(p.src_port >= VSOCK_LOCAL_PORT0);
	assert_int_equal(p.len, 0);
	*lport = p.src_port;
	tx_op(f, OP_RESPONSE, gport, p.src_port, 0);
	snprintf(line, sizeof(line), "OK %u\n", p.src_port);
	cli_expect(f, fd, line);
	return fd;
}

/* Guest-initiated connection from guest port `gport` to host port `hport`
 * (listening on `lfd`): the accepted socket. */
static int guest_conn(struct fx *f, int lfd, uint32_t gport, uint32_t hport)
{
	tx_op(f, OP_REQUEST, gport, hport, 0);
	rx_expect(f, OP_RESPONSE, gport, hport, NULL);
	return host_accept(f, lfd);
}

/* ---- fixture ---------------------------------------------------------------- */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->v = calloc(1, sizeof(*f->v));
	f->ram = calloc(1, RAM_SIZE);
	snprintf(f->dir, sizeof(f->dir), "%s/ember-vsock-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!f->v || !f->ram || ev_init(&f->loop) || !mkdtemp(f->dir))
		return -1;
	snprintf(f->uds, sizeof(f->uds), "%s/v.sock", f->dir);
	gm_init_fake(&f->gm, f->ram, RAM_SIZE);
	f->guest_buf_alloc = 1u << 20;
	f->rx_len = RXBUF_LEN;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	for (unsigned int i = 0; i < f->nr_fds; i++)
		close(f->fds[i]);
	if (f->created)
		vsock_destroy(f->v);
	ev_close(&f->loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", f->dir);
	unit_drop_all();
	free(f->ram);
	free(f->v);
	free(f);
	return 0;
}

static void create(struct fx *f)
{
	struct vsock_cfg cfg = { .set = true, .guest_cid = CID, .uds_path = f->uds };

	f->created = true;
	assert_ret(vsock_create(f->v, &cfg, &f->gm, &f->loop), 0);
}

/* The usual start: device up, 16 rx buffers. */
static void start(struct fx *f)
{
	create(f);
	driver_init(f, 16);
}

/* ---- device and config ---------------------------------------------------- */

static void test_config_space(void **state)
{
	struct fx *f = *state;
	uint64_t cid = 0;
	uint32_t lo = 0, hi = 1;
	struct stat st;

	create(f);
	assert_int_equal(stat(f->uds, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(rd(f, REG_DEVICE_ID), 19);
	assert_int_equal(device_features(f), BIT(VIRTIO_F_VERSION_1) |
			 BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC));
	virtio_mmio_ops.read(&f->v->t, REG_CONFIG, (uint8_t *)&cid, 8);
	assert_int_equal(cid, CID);
	virtio_mmio_ops.read(&f->v->t, REG_CONFIG, (uint8_t *)&lo, 4);
	virtio_mmio_ops.read(&f->v->t, REG_CONFIG + 4, (uint8_t *)&hi, 4);
	assert_int_equal(lo, CID);
	assert_int_equal(hi, 0);
	cid = 99;
	virtio_mmio_ops.write(&f->v->t, REG_CONFIG, (const uint8_t *)&cid, 8);
	virtio_mmio_ops.read(&f->v->t, REG_CONFIG, (uint8_t *)&cid, 8);
	assert_int_equal(cid, CID);
	wr(f, REG_QUEUE_SEL, 2);
	assert_int_equal(rd(f, REG_QUEUE_NUM_MAX), VSOCK_QUEUE_SIZE);
	wr(f, REG_QUEUE_SEL, 3);
	assert_int_equal(rd(f, REG_QUEUE_NUM_MAX), 0);
	driver_init(f, 4);
	rx_none(f, 10);
}

static void test_stale_socket_replaced_and_unlinked(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct stat st;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->uds);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);                                  /* a stale socket file */
	create(f);
	vsock_destroy(f->v);
	f->created = false;
	assert_int_equal(stat(f->uds, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* A listener bound at uds_path by another program. */
static int other_listener(struct fx *f, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = keep_fd(f, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* Issue 12 item 5: a live listener at uds_path was unlinked and replaced. */
static void test_live_socket_at_uds_path_refused(void **state)
{
	struct fx *f = *state;
	struct vsock_cfg cfg = { .set = true, .guest_cid = CID, .uds_path = f->uds };
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat before, after;
	int cfd;

	other_listener(f, f->uds);
	assert_int_equal(stat(f->uds, &before), 0);
	assert_ret(vsock_create(f->v, &cfg, &f->gm, &f->loop), -EADDRINUSE);
	vsock_destroy(f->v);
	/* still the other program's socket, and it still answers */
	assert_int_equal(stat(f->uds, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->uds);
	cfd = keep_fd(f, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	assert_int_equal(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
}

/* At the end only the socket file ember bound is unlinked: one another
 * program re-created at uds_path meanwhile stays. */
static void test_recreated_socket_not_unlinked(void **state)
{
	struct fx *f = *state;
	struct stat st;

	create(f);
	assert_int_equal(unlink(f->uds), 0);
	other_listener(f, f->uds);
	vsock_destroy(f->v);
	f->created = false;
	assert_int_equal(lstat(f->uds, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
}

/* The socket file is 0600 whatever the umask. */
static void test_socket_mode_0600(void **state)
{
	struct fx *f = *state;
	mode_t old = umask(0);
	struct stat st;

	create(f);
	umask(old);
	assert_int_equal(lstat(f->uds, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_uds_path_errors(void **state)
{
	struct fx *f = *state;
	char longp[120];
	struct vsock_cfg cfg = { .set = true, .guest_cid = CID, .uds_path = longp };
	int fd;

	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	assert_ret(vsock_create(f->v, &cfg, &f->gm, &f->loop), -ENAMETOOLONG);
	vsock_destroy(f->v);
	/* a regular file is not a stale socket: left alone, create fails */
	fd = open(f->uds, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	cfg.uds_path = f->uds;
	assert_ret(vsock_create(f->v, &cfg, &f->gm, &f->loop), -EEXIST);
	vsock_destroy(f->v);
	assert_int_equal(access(f->uds, F_OK), 0);
}

/* ---- host-initiated ---------------------------------------------------------- */

static void test_host_handshake_and_data(void **state)
{
	struct fx *f = *state;
	uint8_t buf[64];
	uint32_t lport;
	struct pkt p;
	int fd;

	start(f);
	fd = host_conn(f, 1234, &lport);
	assert_int_equal(f->v->stats.conns_added, 1);
	/* host → guest */
	cli_write(fd, "hello", 5);
	rx_wait(f, &p, buf, sizeof(buf));
	assert_int_equal(p.op, OP_RW);
	assert_int_equal(p.len, 5);
	assert_int_equal(p.src_port, lport);
	assert_int_equal(p.dst_port, 1234);
	assert_int_equal(p.fwd_cnt, 0);
	assert_memory_equal(buf, "hello", 5);
	/* guest → host */
	tx_data(f, 1234, lport, "world!", 6);
	cli_expect(f, fd, "world!");
	/* fwd_cnt counts guest bytes written, not our "OK" line */
	tx_op(f, OP_CREDIT_REQUEST, 1234, lport, 0);
	rx_expect(f, OP_CREDIT_UPDATE, 1234, lport, &p);
	assert_int_equal(p.fwd_cnt, 6);
	assert_int_equal(f->v->stats.tx_bytes_count, 6);
	assert_int_equal(f->v->stats.rx_bytes_count, 5);
	/* a second connection to the same guest port gets another local port */
	{
		uint32_t lport2;

		host_conn(f, 1234, &lport2);
		assert_true(lport2 != lport);
	}
}

static void test_host_bytes_after_connect_line(void **state)
{
	struct fx *f = *state;
	uint8_t buf[64];
	char line[32];
	struct pkt p;
	int fd;

	start(f);
	fd = cli_connect(f);
	cli_write(fd, "CONNECT 77\nearly", 16);
	rx_expect(f, OP_REQUEST, 77, 0, &p);
	tx_op(f, OP_RESPONSE, 77, p.src_port, 0);
	snprintf(line, sizeof(line), "OK %u\n", p.src_port);
	cli_expect(f, fd, line);
	rx_data(f, 77, p.src_port, buf, 5);
	assert_memory_equal(buf, "early", 5);
}

static void test_host_connect_refused_by_guest(void **state)
{
	struct fx *f = *state;
	struct pkt p;
	int fd;

	start(f);
	fd = cli_connect(f);
	cli_write(fd, "CONNECT 9\n", 10);
	rx_expect(f, OP_REQUEST, 9, 0, &p);
	tx_op(f, OP_RST, 9, p.src_port, 0);      /* nobody listens in the guest */
	cli_expect_eof(f, fd);
	wait_no_conns(f);
	rx_none(f, 10);                          /* no RST for a RST */
}

static void test_host_guest_never_answers(void **state)
{
	struct fx *f = *state;
	struct pkt p;
	int fd;

	start(f);
	f->v->connect_ms = 50;
	fd = cli_connect(f);
	cli_write(fd, "CONNECT 9\n", 10);
	rx_expect(f, OP_REQUEST, 9, 0, &p);
	cli_expect_eof(f, fd);
	rx_expect(f, OP_RST, 9, p.src_port, NULL);
	assert_int_equal(f->v->stats.connect_fails, 1);
}

static void test_malformed_handshakes(void **state)
{
	static const char *const bad[] = {
		"CONNECT abc\n", "CONNEC 12\n", "CONNECT 4294967296\n", "CONNECT -1\n",
		"CONNECT \n", "\n", "CONNECT 12 13\n", "CONNECT12\n", "CONNECTX 12\n",
		" CONNECT 12\n", "CONNECT +12\n", "CONNECT 0x12\n", "CONNECT 12\r\r\n",
		"CONNECT 1234567890123456789012345\n",
		"CONNECT 1111111111111111111111111111111111111111",   /* no newline in 32 */
	};
	struct fx *f = *state;
	uint32_t lport;

	start(f);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		int fd = cli_connect(f);

		cli_write(fd, bad[i], strlen(bad[i]));
		cli_expect_eof(f, fd);
		drop_fd(f, fd);
		assert_int_equal(f->v->stats.handshake_fails, i + 1);
	}
	wait_no_conns(f);
	rx_none(f, 5);                 /* the guest heard of none of them */
	host_conn(f, 4294967295u, &lport);   /* the device still serves */
}

static int parse(const char *line, uint32_t *port)
{
	return vsock_parse_connect(line, (uint32_t)strlen(line), port);
}

static void test_parse_connect(void **state)
{
	static const char *const good[] = {
		"CONNECT 52", "connect 52", "Connect\t52", "CONNECT  \t 52", "CONNECT 52 ",
		"CONNECT 52\r", "CONNECT 52 \t\r", "cOnNeCt 000052",
	};
	static const char *const bad[] = {
		"CONNECT", "CONNECT ", "CONNECT 1x", "CONNECT 4294967296", "CONNECT 99999999999",
		"CONNECT -1", "CONNECT +1", "CONNECT 1 2", "CONNECT52", "CONNECTS 52",
		" CONNECT 52", "CONNECT 52\r\r", "CONNECT 52\r ", "CONNECT \r", "CONNEC 52",
	};
	uint32_t port = 0;

	(void)state;
	assert_int_equal(parse("CONNECT 0", &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(parse("CONNECT 4294967295", &port), 0);
	assert_int_equal(port, 4294967295u);
	for (unsigned int i = 0; i < ARRAY_SIZE(good); i++) {
		port = 0;
		assert_ret_case(good[i], parse(good[i], &port), 0);
		assert_ret_case(good[i], port, 52);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		assert_ret_case(bad[i], parse(bad[i], &port), -EINVAL);
	assert_int_equal(vsock_parse_connect("CONNECT 5\0", 10, &port), -EINVAL);
}

/* Firecracker's users write the line as Firecracker reads it: the keyword
 * in any case, blanks between the words, a trailing blank or CR. */
static void test_connect_line_firecracker_forms(void **state)
{
	static const char *const forms[] = {
		"connect 61\n", "Connect\t61\n", "CONNECT   61\n", "CONNECT 61 \n",
		"CONNECT 61\r\n", "CONNECT\t 61\t \r\n",
	};
	struct fx *f = *state;

	start(f);
	for (unsigned int i = 0; i < ARRAY_SIZE(forms); i++) {
		int fd = cli_connect(f);
		char line[32];
		struct pkt p;

		cli_write(fd, forms[i], strlen(forms[i]));
		rx_expect(f, OP_REQUEST, 61, 0, &p);
		tx_op(f, OP_RESPONSE, 61, p.src_port, 0);
		snprintf(line, sizeof(line), "OK %u\n", p.src_port);
		cli_expect(f, fd, line);
		drop_fd(f, fd);
		rx_expect(f, OP_SHUTDOWN, 61, p.src_port, NULL);
	}
	assert_int_equal(f->v->stats.handshake_fails, 0);
	assert_int_equal(f->v->stats.conns_added, ARRAY_SIZE(forms));
}

static void test_handshake_timeout(void **state)
{
	struct fx *f = *state;
	uint32_t lport;
	int silent, partial;

	start(f);
	f->v->handshake_ms = 60;
	silent = cli_connect(f);
	partial = cli_connect(f);
	cli_write(partial, "CONN", 4);
	cli_expect_eof(f, silent);
	cli_expect_eof(f, partial);
	assert_int_equal(f->v->stats.handshake_fails, 2);
	rx_none(f, 5);
	host_conn(f, 5, &lport);
}

static void test_handshake_after_eof(void **state)
{
	struct fx *f = *state;
	uint32_t lport;
	int fd;

	start(f);
	fd = cli_connect(f);
	cli_write(fd, "CONNECT", 7);
	shutdown(fd, SHUT_WR);
	cli_expect_eof(f, fd);
	assert_int_equal(f->v->stats.handshake_fails, 1);
	host_conn(f, 5, &lport);
}

/* ---- guest-initiated --------------------------------------------------------- */

static void test_guest_connect(void **state)
{
	struct fx *f = *state;
	uint8_t buf[16];
	int lfd, sfd;

	start(f);
	lfd = host_listen(f, 5000);
	sfd = guest_conn(f, lfd, 777, 5000);
	tx_data(f, 777, 5000, "ping", 4);
	cli_expect(f, sfd, "ping");
	cli_write(sfd, "pong", 4);
	rx_data(f, 777, 5000, buf, 4);
	assert_memory_equal(buf, "pong", 4);
	assert_int_equal(f->v->stats.conns_added, 1);
}

static void test_guest_connect_nobody_listening(void **state)
{
	struct fx *f = *state;

	start(f);
	tx_op(f, OP_REQUEST, 778, 5001, 0);
	rx_expect(f, OP_RST, 778, 5001, NULL);
	assert_int_equal(f->v->stats.connect_fails, 1);
	wait_no_conns(f);
}

static void test_guest_connect_timeout(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int lfd, filler;
	uint64_t t0;

	start(f);
	f->v->connect_ms = 50;
	lfd = keep_fd(f, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s_5002", f->uds);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	filler = keep_fd(f, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	assert_int_equal(connect(filler, (struct sockaddr *)&a, sizeof(a)), 0);  /* backlog full */
	t0 = time_mono_us();
	tx_op(f, OP_REQUEST, 779, 5002, 0);
	rx_expect(f, OP_RST, 779, 5002, NULL);   /* given up after connect_ms ... */
	/* ... and not before: the first packet the guest got is that RST, at
	 * least connect_ms after the REQUEST (load can only make it later). */
	assert_true(time_mono_us() - t0 >= (uint64_t)f->v->connect_ms * 1000);
	assert_int_equal(f->v->stats.connect_fails, 1);
	wait_no_conns(f);                        /* the cancelled connect completed */
}

static void test_guest_duplicate_request(void **state)
{
	struct fx *f = *state;
	int lfd;

	start(f);
	lfd = host_listen(f, 5000);
	guest_conn(f, lfd, 777, 5000);
	tx_op(f, OP_REQUEST, 777, 5000, 0);      /* the same pair again */
	rx_expect(f, OP_RST, 777, 5000, NULL);
	assert_int_equal(f->v->stats.bad_packets, 1);
}

/* ---- closing ----------------------------------------------------------------- */

static void test_unix_eof_is_shutdown(void **state)
{
	struct fx *f = *state;
	uint8_t buf[16];
	uint32_t lport;
	struct pkt p;
	int fd;

	start(f);
	fd = host_conn(f, 10, &lport);
	cli_write(fd, "bye", 3);
	shutdown(fd, SHUT_WR);
	rx_data(f, 10, lport, buf, 3);
	rx_expect(f, OP_SHUTDOWN, 10, lport, &p);
	assert_int_equal(p.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* half-closed: the guest may still write */
	tx_data(f, 10, lport, "late", 4);
	cli_expect(f, fd, "late");
	/* the guest closes too: ember resets and closes */
	tx_op(f, OP_SHUTDOWN, 10, lport, SHUT_BOTH);
	rx_expect(f, OP_RST, 10, lport, NULL);
	cli_expect_eof(f, fd);
	wait_no_conns(f);
}

static void test_unix_abrupt_close_is_rst(void **state)
{
	struct fx *f = *state;
	uint32_t lport;
	int fd;

	start(f);
	fd = host_conn(f, 11, &lport);
	tx_data(f, 11, lport, "unread", 6);
	run_until(f, cli_pending(fd) == 6);      /* the bytes reached the socket */
	assert_int_equal(cli_pending(fd), 6);
	drop_fd(f, fd);                          /* unread data: the peer sees a reset */
	rx_expect(f, OP_RST, 11, lport, NULL);
	wait_no_conns(f);
	assert_int_equal(f->v->stats.conns_killed, 1);
}

static void test_guest_shutdown_send_then_both(void **state)
{
	struct fx *f = *state;
	uint32_t lport;
	uint8_t buf[8];
	int fd;

	start(f);
	fd = host_conn(f, 12, &lport);
	tx_data(f, 12, lport, "last", 4);
	tx_op(f, OP_SHUTDOWN, 12, lport, VIRTIO_VSOCK_SHUTDOWN_SEND);
	cli_expect(f, fd, "last");
	cli_expect_eof(f, fd);                   /* SHUT_WR after the data */
	cli_write(fd, "back", 4);                /* the other way still works */
	rx_data(f, 12, lport, buf, 4);
	assert_memory_equal(buf, "back", 4);
	tx_data(f, 12, lport, "x", 1);           /* data after SHUTDOWN(SEND) */
	rx_expect(f, OP_RST, 12, lport, NULL);
}

/* The kernel runs a shutdown in its worker threads and looks the fixed
 * file up by slot only then.  A closed connection keeps its socket in the
 * slot until its shutdown has completed (the slot used to be emptied at
 * once: the shutdown found nothing, EBADF, or whatever socket the next
 * connection had put there), and the guest's SHUTDOWN(SEND) followed at
 * once by RST queues one shutdown, not two. */
static void test_closed_slot_kept_until_shutdown_ran(void **state)
{
	struct fx *f = *state;

	start(f);
	for (uint32_t port = 30; port < 34; port++) {
		struct pkt shut = gpkt(f, OP_SHUTDOWN, port, 0), rst = gpkt(f, OP_RST, port, 0);
		struct vsock_conn *c;
		uint32_t lport;
		int fd = host_conn(f, port, &lport);

		c = vsock_conn_find(f->v, lport, port);
		assert_non_null(c);
		shut.dst_port = rst.dst_port = lport;
		shut.flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
		if (port & 1)  /* a SHUT_WR already queued when the RST closes */
			tx_queue_at(f, &shut, NULL, 0, 0);
		tx(f, &rst, NULL, 0);
		if (c->io & VSOCK_IO_SHUT)  /* not yet run: the slot still holds it */
			assert_true(c->has_file);
		cli_expect_eof(f, fd);
		wait_no_conns(f);
		assert_false(c->has_file);
	}
	assert_int_equal(f->v->stats.ring_errors, 0);
}

static void test_guest_shutdown_both(void **state)
{
	struct fx *f = *state;
	uint32_t lport;
	int fd;

	start(f);
	fd = host_conn(f, 13, &lport);
	tx_data(f, 13, lport, "flushed", 7);
	tx_op(f, OP_SHUTDOWN, 13, lport, SHUT_BOTH);
	rx_expect(f, OP_RST, 13, lport, NULL);
	cli_expect(f, fd, "flushed");            /* written before the close */
	cli_expect_eof(f, fd);
	wait_no_conns(f);
}

static void test_guest_rst_closes(void **state)
{
	struct fx *f = *state;
	uint32_t lport;
	int fd, lfd, sfd;

	start(f);
	fd = host_conn(f, 14, &lport);
	lfd = host_listen(f, 6000);
	sfd = guest_conn(f, lfd, 900, 6000);
	tx_op(f, OP_RST, 14, lport, 0);
	tx_op(f, OP_RST, 900, 6000, 0);
	cli_expect_eof(f, fd);
	cli_expect_eof(f, sfd);
	wait_no_conns(f);
	rx_none(f, 10);                          /* no RST for a RST */
	/* packets for the closed connection now get a RST */
	tx_data(f, 14, lport, "zz", 2);
	rx_expect(f, OP_RST, 14, lport, NULL);
}

/* ---- credit ---------------------------------------------------------------------- */

static void test_credit_exhaustion_and_update(void **state)
{
	struct fx *f = *state;
	uint8_t out[300], in[300];
	uint32_t lport;
	int fd;

	for (unsigned int i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 1);
	start(f);
	f->guest_buf_alloc = 100;
	fd = host_conn(f, 20, &lport);
	cli_write(fd, out, sizeof(out));
	rx_data(f, 20, lport, in, 100);          /* exactly the credit */
	rx_none(f, 30);                          /* then nothing */
	assert_int_equal(f->v->conns[0].tx_cnt, 100);
	f->guest_fwd = 100;                      /* the guest consumed it */
	tx_op(f, OP_CREDIT_UPDATE, 20, lport, 0);
	rx_data(f, 20, lport, in + 100, 100);
	rx_none(f, 20);
	f->guest_buf_alloc = 1000;               /* a bigger buffer also gives credit */
	tx_op(f, OP_CREDIT_UPDATE, 20, lport, 0);
	rx_data(f, 20, lport, in + 200, 100);
	assert_memory_equal(in, out, sizeof(out));
}

static void test_credit_update_when_buffer_freed(void **state)
{
	struct fx *f = *state;
	static uint8_t data[VSOCK_MAX_PKT], sink[VSOCK_MAX_PKT];
	uint32_t lport, fwd = 0;
	struct pkt p;
	bool eof;
	int fd;

	start(f);
	fd = host_conn(f, 21, &lport);
	memset(data, 0x5a, sizeof(data));
	for (int i = 0; i < VSOCK_BUF_ALLOC / VSOCK_MAX_PKT; i++) {
		struct pkt q = gpkt(f, OP_RW, 21, lport);

		q.len = VSOCK_MAX_PKT;
		tx_queue_at(f, &q, data, VSOCK_MAX_PKT, BIG_GPA + (uint64_t)i * VSOCK_MAX_PKT);
	}
	kick(f, VSOCK_TXQ);
	for (int i = 0; i < VSOCK_BUF_ALLOC / VSOCK_MAX_PKT; i++)
		assert_int_equal(cli_read(f, fd, sink, sizeof(sink), &eof), sizeof(sink));
	/* the whole buffer written: worth an update */
	for (int i = 0; i < 100 && fwd < VSOCK_BUF_ALLOC; i++) {
		rx_wait(f, &p, sink, sizeof(sink));
		assert_int_equal(p.op, OP_CREDIT_UPDATE);
		fwd = p.fwd_cnt;
	}
	assert_int_equal(fwd, VSOCK_BUF_ALLOC);
}

static void test_guest_beyond_credit_is_rst(void **state)
{
	struct fx *f = *state;
	static uint8_t data[VSOCK_MAX_PKT];
	uint32_t lport;
	int fd;

	start(f);
	fd = host_conn(f, 22, &lport);
	(void)fd;
	/* 64 KiB packets in one go: the last is past VSOCK_BUF_ALLOC */
	for (int i = 0; i < VSOCK_BUF_ALLOC / VSOCK_MAX_PKT + 1; i++) {
		struct pkt q = gpkt(f, OP_RW, 22, lport);

		q.len = VSOCK_MAX_PKT;
		tx_queue_at(f, &q, data, VSOCK_MAX_PKT, BIG_GPA + (uint64_t)i * VSOCK_MAX_PKT);
	}
	kick(f, VSOCK_TXQ);
	rx_expect(f, OP_RST, 22, lport, NULL);
	assert_int_equal(f->v->stats.credit_violations, 1);
	cli_drain_eof(f, fd);
}

/* ---- hostile packets and rings ------------------------------------------------------- */

static void test_bad_headers(void **state)
{
	struct fx *f = *state;
	uint32_t lport;
	uint64_t bad = 0;
	struct pkt p;
	int fd;

	start(f);
	/* foreign CIDs: dropped, nothing answered */
	p = gpkt(f, OP_REQUEST, 1, 2);
	p.src_cid = CID + 1;
	tx(f, &p, NULL, 0);
	p = gpkt(f, OP_REQUEST, 1, 2);
	p.dst_cid = 1;
	tx(f, &p, NULL, 0);
	rx_none(f, 10);
	assert_int_equal(f->v->stats.bad_packets, bad += 2);
	/* for no connection: RST */
	p = gpkt(f, 99, 1, 2);                           /* unknown op */
	tx(f, &p, NULL, 0);
	rx_expect(f, OP_RST, 1, 2, NULL);
	p = gpkt(f, OP_REQUEST, 1, 2);
	p.type = VIRTIO_VSOCK_TYPE_SEQPACKET;            /* not offered */
	tx(f, &p, NULL, 0);
	rx_expect(f, OP_RST, 1, 2, NULL);
	p = gpkt(f, OP_RST, 1, 2);
	p.type = 0;                                      /* a bad RST is not answered */
	tx(f, &p, NULL, 0);
	rx_none(f, 5);
	assert_int_equal(f->v->stats.bad_packets, bad += 3);
	/* on a connection: the connection is reset */
	struct { const char *name; uint16_t type, op; uint32_t len, room; } cases[] = {
		{ "wrong type", 2, OP_RW, 0, 0 },
		{ "unknown op", VIRTIO_VSOCK_TYPE_STREAM, 0, 0, 0 },
		{ "len past the chain", VIRTIO_VSOCK_TYPE_STREAM, OP_RW, 100, 10 },
		{ "len on a control op", VIRTIO_VSOCK_TYPE_STREAM, OP_CREDIT_REQUEST, 4, 4 },
		{ "len past 64 KiB", VIRTIO_VSOCK_TYPE_STREAM, OP_RW, VSOCK_MAX_PKT + 1,
		  VSOCK_MAX_PKT + 1 },
		{ "RESPONSE when established", VIRTIO_VSOCK_TYPE_STREAM, OP_RESPONSE, 0, 0 },
	};
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		fd = host_conn(f, 30 + i, &lport);
		p = gpkt(f, cases[i].op, 30 + i, lport);
		p.type = cases[i].type;
		p.len = cases[i].len;
		tx_queue_at(f, &p, NULL, cases[i].room, BIG_GPA);
		kick(f, VSOCK_TXQ);
		rx_expect(f, OP_RST, 30 + i, lport, NULL);
		cli_expect_eof(f, fd);
		drop_fd(f, fd);
		assert_ret_case(cases[i].name, f->v->stats.bad_packets, bad += 1);
	}
	assert_int_equal(rd(f, REG_STATUS), LIVE);
}

/* The device asked for a reset; a fresh initialisation makes it work again. */
static void assert_needs_reset_then_recovers(struct fx *f, const char *what)
{
	uint32_t lport;

	if (!(rd(f, REG_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		fail_msg("%s: no DEVICE_NEEDS_RESET", what);
	driver_init(f, 16);
	host_conn(f, 40, &lport);
}

static void test_hostile_rings(void **state)
{
	struct fx *f = *state;
	struct vq *q;
	struct pkt p;
	int fd;

	start(f);
	/* tx: a writable descriptor */
	q = &f->q[1];
	p = gpkt(f, OP_CREDIT_REQUEST, 1, 2);
	hdr_put(f, TXBUF_GPA, &p);
	desc(f, q, 0, TXBUF_GPA, VSOCK_HDR_LEN, VIRTQ_DESC_F_WRITE, 0);
	avail(f, q, 0);
	kick(f, VSOCK_TXQ);
	assert_needs_reset_then_recovers(f, "writable tx descriptor");
	/* tx: shorter than a header */
	q = &f->q[1];
	desc(f, q, 0, TXBUF_GPA, VSOCK_HDR_LEN - 1, 0, 0);
	avail(f, q, 0);
	kick(f, VSOCK_TXQ);
	assert_needs_reset_then_recovers(f, "short tx chain");
	/* tx: a header split over two descriptors is fine */
	q = &f->q[1];
	p = gpkt(f, OP_REQUEST, 50, 60);
	hdr_put(f, TXBUF_GPA, &p);
	desc(f, q, 0, TXBUF_GPA, 20, VIRTQ_DESC_F_NEXT, 1);
	desc(f, q, 1, TXBUF_GPA + 20, VSOCK_HDR_LEN - 20, 0, 0);
	avail(f, q, 0);
	q->next_desc = 2;
	kick(f, VSOCK_TXQ);
	rx_expect(f, OP_RST, 50, 60, NULL);              /* nobody listens on 60 */
	/* tx: a loop */
	desc(f, q, 2, TXBUF_GPA, VSOCK_HDR_LEN, VIRTQ_DESC_F_NEXT, 2);
	avail(f, q, 2);
	kick(f, VSOCK_TXQ);
	assert_needs_reset_then_recovers(f, "looping tx chain");
	/* rx: a buffer too small for a header, while a packet waits */
	driver_init(f, 0);
	rx_post(f, 0, VSOCK_HDR_LEN - 1);
	fd = cli_connect(f);
	cli_write(fd, "CONNECT 1\n", 10);
	run_until(f, rd(f, REG_STATUS) & NEEDS_RESET);
	assert_needs_reset_then_recovers(f, "short rx buffer");
	/* rx: a device-readable buffer */
	driver_init(f, 0);
	desc(f, &f->q[0], 0, RXBUF_GPA, RXBUF_LEN, 0, 0);
	avail(f, &f->q[0], 0);
	fd = cli_connect(f);
	cli_write(fd, "CONNECT 2\n", 10);
	run_until(f, rd(f, REG_STATUS) & NEEDS_RESET);
	assert_needs_reset_then_recovers(f, "readable rx buffer");
	/* rx: avail index far ahead of the ring */
	put16(f, f->q[0].avail + 2, (uint16_t)(f->q[0].avail_idx + QSIZE + 1));
	tx_op(f, OP_REQUEST, 1, 1, 0);
	run_until(f, rd(f, REG_STATUS) & NEEDS_RESET);
	assert_needs_reset_then_recovers(f, "rx index jump");
	assert_true(f->v->t.needs_reset >= 6);
}

static void test_header_only_rx_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t buf[8];
	uint32_t lport;
	struct pkt p;
	int fd;

	create(f);
	driver_init(f, 0);
	f->rx_len = VSOCK_HDR_LEN;               /* room for control packets only */
	for (uint16_t i = 0; i < 4; i++)
		rx_post(f, i, f->rx_len);
	fd = host_conn(f, 70, &lport);
	cli_write(fd, "abc", 3);
	rx_wait(f, &p, buf, sizeof(buf));
	assert_int_equal(p.op, OP_CREDIT_UPDATE);  /* no room: credit info instead */
	f->rx_len = RXBUF_LEN;
	rx_post(f, 20, RXBUF_LEN);
	kick(f, VSOCK_RXQ);
	rx_data(f, 70, lport, buf, 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
}

/* ---- limits and reset ------------------------------------------------------------------- */

/* `n` silent unix clients of uds_path: handshakes pending. */
static void silent_clients(struct fx *f, int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->uds);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
		run(f, 1);
	}
	run_until(f, f->v->nr_host_pending == n);   /* all accepted */
}

static void test_pending_handshake_limit(void **state)
{
	struct fx *f = *state;
	int fds[VSOCK_MAX_HOST_PENDING];
	uint32_t lport;
	int extra;

	start(f);
	silent_clients(f, fds, VSOCK_MAX_HOST_PENDING);
	assert_int_equal(f->v->nr_host_pending, VSOCK_MAX_HOST_PENDING);
	extra = cli_connect(f);                  /* one more: refused */
	cli_expect_eof(f, extra);
	assert_int_equal(f->v->stats.conns_refused, 1);
	for (unsigned int i = 0; i < VSOCK_MAX_HOST_PENDING; i++)
		close(fds[i]);
	run_until(f, f->v->nr_host_pending == 0);
	assert_int_equal(f->v->nr_host_pending, 0);
	host_conn(f, 5, &lport);
}

/* Regression: host connections whose CONNECT line was read and that wait
 * for the guest's answer are not silent clients: 200 at once (more than the
 * silent-client budget) are all taken, answered and told OK. */
static void test_many_host_connects_waiting_for_guest(void **state)
{
	enum { N = 200 };
	static int fds[N];
	struct fx *f = *state;
	char line[40];
	struct pkt p;
	bool eof;

	start(f);
	for (unsigned int i = 0; i < N; i++) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->uds);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
		snprintf(line, sizeof(line), "CONNECT %u\n", 1000 + i);
		cli_write(fds[i], line, strlen(line));
		run(f, 1);
	}
	for (unsigned int i = 0; i < N; i++) {   /* the guest answers each REQUEST */
		rx_wait(f, &p, NULL, 0);
		assert_int_equal(p.op, OP_REQUEST);
		assert_true(p.dst_port >= 1000 && p.dst_port < 1000 + N);
		tx_op(f, OP_RESPONSE, p.dst_port, p.src_port, 0);
	}
	assert_int_equal(f->v->stats.conns_refused, 0);
	assert_int_equal(f->v->nr_conns, N);
	assert_int_equal(f->v->nr_host_lines, 0);
	for (unsigned int i = 0; i < N; i++) {
		assert_true(cli_read(f, fds[i], line, 3, &eof) == 3 && !memcmp(line, "OK ", 3));
		close(fds[i]);
	}
}

/* 200 host connections at once, 16 KiB each way (echoed by the test's
 * guest): more connections with data than the staging budget holds buffers
 * for, and every byte still arrives. */
static void test_many_connections_echo(void **state)
{
	enum { N = 200, LEN = 16 * 1024 };
	static int fds[N];
	static uint32_t lports[N], back[N];
	static uint8_t msg[LEN], buf[RXBUF_LEN], sink[LEN];
	struct fx *f = *state;
	uint32_t total = 0, echoed = 0;
	bool eof;

	memset(msg, 'e', sizeof(msg));
	start(f);
	for (unsigned int i = 0; i < N; i++) {
		fds[i] = host_conn(f, 1000 + i, &lports[i]);
		f->nr_fds = 0;                   /* closed here, not by the fixture */
	}
	for (unsigned int i = 0; i < N; i++)
		cli_write(fds[i], msg, LEN);
	for (int tries = 0; tries < 20000 && total < N * LEN; tries++) {
		struct pkt p;

		if (!rx_poll_rw(f, &p, buf, sizeof(buf)))
			continue;
		total += p.len;
		tx_data(f, p.dst_port, p.src_port, buf, p.len);   /* echo */
	}
	assert_int_equal(total, N * LEN);
	for (int round = 0; round < 200 && echoed < N * LEN; round++) {
		for (unsigned int i = 0; i < N; i++) {
			ssize_t r = recv(fds[i], sink, sizeof(sink), MSG_DONTWAIT);

			if (r > 0) {
				back[i] += (uint32_t)r;
				echoed += (uint32_t)r;
			}
		}
		run(f, 2);
	}
	for (unsigned int i = 0; i < N; i++)
		assert_ret_case("echoed bytes per connection", back[i], LEN);
	assert_int_equal(f->v->stats.conns_refused, 0);
	run_until(f, f->v->rbuf_used == 0);
	assert_int_equal(f->v->rbuf_used, 0);   /* idle connections hold no staging */
	for (unsigned int i = 0; i < N; i++)
		close(fds[i]);
	run(f, 20);
	(void)eof;
}

/* Silent unix clients must not lock the guest out of connecting, nor
 * guest connects that hang the host clients out. */
static void test_pending_budgets_are_per_direction(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fds[VSOCK_MAX_HOST_PENDING], lfd, busy, filler;
	uint32_t lport;

	start(f);
	f->v->connect_ms = 5000;
	lfd = host_listen(f, 7200);
	silent_clients(f, fds, VSOCK_MAX_HOST_PENDING);
	tx_op(f, OP_REQUEST, 300, 7200, 0);      /* the guest still connects */
	rx_expect(f, OP_RESPONSE, 300, 7200, NULL);
	for (unsigned int i = 0; i < VSOCK_MAX_HOST_PENDING; i++)
		close(fds[i]);
	run_until(f, f->v->nr_host_pending == 0);
	assert_int_equal(f->v->nr_host_pending, 0);
	/* guest connects hanging on a full backlog fill the guest budget */
	busy = keep_fd(f, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s_7300", f->uds);
	assert_int_equal(bind(busy, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(busy, 0), 0);
	filler = keep_fd(f, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	assert_int_equal(connect(filler, (struct sockaddr *)&a, sizeof(a)), 0);
	for (uint32_t i = 0; i < VSOCK_MAX_GUEST_PENDING; i++)
		tx_op(f, OP_REQUEST, 400 + i, 7300, 0);
	run(f, 20);
	assert_int_equal(f->v->nr_guest_pending, VSOCK_MAX_GUEST_PENDING);
	tx_op(f, OP_REQUEST, 500, 7300, 0);      /* one more: refused */
	rx_expect(f, OP_RST, 500, 7300, NULL);
	host_conn(f, 6, &lport);                 /* the host still connects */
	assert_int_equal(f->v->stats.conns_refused, 1);
	(void)lfd;
}

/* Guest-initiated connections to `port` (listening) until `n` are open. */
static void fill_connections(struct fx *f, uint32_t n, uint32_t port)
{
	for (uint32_t i = 0; i < n; i += 32) {
		uint32_t end = i + 32 < n ? i + 32 : n;

		for (uint32_t j = i; j < end; j++) {
			struct pkt p = gpkt(f, OP_REQUEST, 10000 + j, port);

			tx_queue_at(f, &p, NULL, 0, 0);
		}
		kick(f, VSOCK_TXQ);
		for (uint32_t j = i; j < end; j++) {
			struct pkt p;
			uint8_t buf[8];

			rx_wait(f, &p, buf, sizeof(buf));
			assert_int_equal(p.op, OP_RESPONSE);
		}
	}
}

static void test_connection_limit(void **state)
{
	struct fx *f = *state;
	int lfd;

	start(f);
	lfd = host_listen(f, 7000);
	fill_connections(f, f->v->max_conns, 7000);
	assert_int_equal(f->v->nr_conns, f->v->max_conns);
	assert_int_equal(f->v->stats.conns_added, f->v->max_conns);
	tx_op(f, OP_REQUEST, 9999, 7000, 0);
	rx_expect(f, OP_RST, 9999, 7000, NULL);
	assert_int_equal(f->v->stats.conns_refused, 1);
	(void)lfd;
	/* closing one makes room again (once its I/O in flight completed) */
	tx_op(f, OP_RST, 10000, 7000, 0);
	run_until(f, f->v->nr_conns < f->v->max_conns);
	assert_int_equal(f->v->nr_conns, f->v->max_conns - 1);
	tx_op(f, OP_REQUEST, 9999, 7000, 0);
	rx_expect(f, OP_RESPONSE, 9999, 7000, NULL);
}

/* ---- descriptor limits ------------------------------------------------------------------- */

/* A soft RLIMIT_NOFILE of 1024 (a common default) used to make the fixed
 * file table fail with EMFILE: the device raises it. */
static void test_starts_under_low_nofile_soft_limit(void **state)
{
	struct fx *f = *state;
	struct rlimit old, rl;
	const rlim_t want = VSOCK_MAX_CONNS + 1 + VSOCK_FD_RESERVE;
	uint32_t lport;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = old.rlim_max < 1024 ? old.rlim_max : 1024;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	f->created = true;
	assert_ret(vsock_create(f->v, &(struct vsock_cfg){ .set = true, .guest_cid = CID,
				.uds_path = f->uds }, &f->gm, &f->loop), 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	if (old.rlim_max >= want) {
		assert_int_equal(rl.rlim_cur, want);
		assert_int_equal(f->v->max_conns, VSOCK_MAX_CONNS);
	} else {
		assert_int_equal(f->v->max_conns, old.rlim_max - VSOCK_FD_RESERVE - 1);
	}
	driver_init(f, 16);
	host_conn(f, 5, &lport);
}

/* A hard limit too small for the table: the connection limit shrinks to
 * fit beside the reserve, and is enforced.  In a child: an unprivileged
 * process cannot raise its hard limit again. */
static void test_conn_limit_fits_low_nofile_hard_limit(void **state)
{
	struct fx *f = *state;
	struct rlimit rl = { .rlim_cur = 300, .rlim_max = 300 };
	int status = -1;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint32_t lport;
		int lfd, cli;

		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
		assert_int_equal(ev_init(&f->loop), 0);  /* not the parent's epoll */
		start(f);
		assert_int_equal(f->v->max_conns, 300 - VSOCK_FD_RESERVE - 1);
		host_conn(f, 5, &lport);
		lfd = host_listen(f, 7000);
		fill_connections(f, f->v->max_conns - 1, 7000);
		tx_op(f, OP_REQUEST, 9999, 7000, 0);
		rx_expect(f, OP_RST, 9999, 7000, NULL);
		cli = cli_connect(f);            /* the host is refused as well */
		cli_expect_eof(f, cli);
		assert_int_equal(f->v->stats.conns_refused, 2);
		(void)lfd;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_reset_with_connections_open(void **state)
{
	struct fx *f = *state;
	uint32_t lport;
	int a, b, c, lfd, s;

	start(f);
	a = host_conn(f, 80, &lport);
	tx_data(f, 80, lport, "pending", 7);
	b = cli_connect(f);                      /* mid-handshake */
	c = cli_connect(f);
	cli_write(c, "CONNECT 81\n", 11);       /* REQUEST queued for the guest */
	lfd = host_listen(f, 8000);
	s = guest_conn(f, lfd, 82, 8000);
	/* the guest's bytes reached a, c's line was read and asked the guest */
	run_until(f, cli_pending(a) == 7 && conns_in(f, VSOCK_REQUEST) == 1);
	assert_int_equal(cli_pending(a), 7);
	assert_int_equal(conns_in(f, VSOCK_REQUEST), 1);
	wr(f, REG_STATUS, 0);                    /* the driver resets the device */
	cli_drain_eof(f, a);
	cli_expect_eof(f, b);
	cli_expect_eof(f, c);
	cli_expect_eof(f, s);
	wait_no_conns(f);
	assert_int_equal(f->v->nr_host_pending + f->v->nr_guest_pending, 0);
	assert_true(TAILQ_EMPTY(&f->v->ready));
	driver_init(f, 16);
	rx_none(f, 10);                          /* nothing from before the reset */
	host_conn(f, 83, &lport);
	tx_data(f, 80, lport - 1, "old", 3);     /* the old connection is gone */
	rx_expect(f, OP_RST, 80, lport - 1, NULL);
}

static void test_event_queue_untouched(void **state)
{
	struct fx *f = *state;
	uint32_t lport;

	start(f);
	desc(f, &f->q[2], 0, MISC_GPA, 4, VIRTQ_DESC_F_WRITE, 0);
	avail(f, &f->q[2], 0);
	kick(f, VSOCK_EVQ);
	host_conn(f, 90, &lport);
	assert_int_equal(get16(f, f->q[2].used + 2), 0);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
}

/* ---- work budgets ----------------------------------------------------------------------- */

/* A vCPU stand-in: makes the queue's used heads available again as soon as
 * the device returns them, for `ms`.  Like a real driver it owes the device
 * a notify for an entry the device asked to hear about (EVENT_IDX
 * avail_event, else VIRTQ_USED_F_NO_NOTIFY clear); the vmm thread (the
 * test) delivers it.  Without that, entries made available after the last
 * kick the test happened to make went unnoticed, as no driver would let
 * them. */
struct feeder {
	struct fx *f;
	unsigned int queue;
	int ms;
	volatile bool stop;
	bool owed;                  /* a notify is owed (atomic accesses) */
};

/* After making entry `idx` available (its avail->idx store done): must
 * the driver notify?  virtio 1.2 §2.7.10.2 (one entry at a time: with
 * EVENT_IDX, when avail_event names that entry). */
static bool feeder_must_notify(struct feeder *fd, uint16_t idx)
{
	struct vq *q = &fd->f->q[fd->queue];
	volatile uint16_t *flags = (volatile uint16_t *)(fd->f->ram + q->used);
	volatile uint16_t *avail_event = (volatile uint16_t *)(fd->f->ram + q->used + 4 +
								8ull * QSIZE);

	/* the avail->idx store before the device's request is read (the
	 * device orders its request before its last look at avail->idx) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (fd->f->event_idx)
		return *avail_event == idx;
	return !(*flags & VIRTQ_USED_F_NO_NOTIFY);
}

static void *feed(void *arg)
{
	struct feeder *fd = arg;
	struct vq *q = &fd->f->q[fd->queue];
	volatile uint16_t *used_idx = (volatile uint16_t *)(fd->f->ram + q->used + 2);
	volatile uint16_t *used = (volatile uint16_t *)(fd->f->ram + q->used + 4);
	volatile uint16_t *ring = (volatile uint16_t *)(fd->f->ram + q->avail + 4);
	volatile uint16_t *aidx = (volatile uint16_t *)(fd->f->ram + q->avail + 2);
	uint64_t end = time_mono_us() + (uint64_t)fd->ms * 1000;
	uint16_t a = q->avail_idx, seen = q->last_used;

	while (time_mono_us() < end) {
		uint16_t u = *used_idx;

		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		for (; seen != u; seen++) {
			ring[a % QSIZE] = used[4 * (seen % QSIZE)];   /* the id of used[seen] */
			__atomic_thread_fence(__ATOMIC_RELEASE);
			*aidx = (uint16_t)(a + 1);
			if (feeder_must_notify(fd, a))
				__atomic_store_n(&fd->owed, true, __ATOMIC_SEQ_CST);
			a++;
		}
	}
	q->avail_idx = a;
	q->last_used = seen;
	fd->stop = true;
	return NULL;
}

/* Notify `queue` while the feeder runs; the most packets one notify moved. */
static uint64_t notify_under_feeder(struct fx *f, unsigned int queue, uint64_t *count)
{
	struct feeder fd = { .f = f, .queue = queue, .ms = 300 };
	uint64_t most = 0;
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, feed, &fd), 0);
	while (!fd.stop) {
		uint64_t before = *count;

		/* this kick covers every entry available so far */
		__atomic_store_n(&fd.owed, false, __ATOMIC_SEQ_CST);
		kick(f, queue);
		most = *count - before > most ? *count - before : most;
	}
	pthread_join(th, NULL);
	if (__atomic_load_n(&fd.owed, __ATOMIC_SEQ_CST))
		kick(f, queue);          /* the notify the feeder owed after our last kick */
	return most;
}

/* One tx notify used to run as long as the vCPU refilled the ring. */
static void test_tx_notify_work_is_bounded(void **state)
{
	struct fx *f = *state;
	uint64_t most;

	start(f);
	for (uint16_t i = 0; i < QSIZE; i++) {   /* RSTs for nothing: no answer */
		struct pkt p = gpkt(f, OP_RST, 5000 + i, 6000);

		hdr_put(f, TXBUF_GPA + 0x100ull * i, &p);
		desc(f, &f->q[1], i, TXBUF_GPA + 0x100ull * i, VSOCK_HDR_LEN, 0, 0);
		avail(f, &f->q[1], i);
	}
	most = notify_under_feeder(f, VSOCK_TXQ, &f->v->stats.tx_packets_count);
	assert_true(most <= QSIZE);
	/* the rest, without a notify (run_until only runs the event loop) */
	run_until(f, get16(f, f->q[1].used + 2) == f->q[1].avail_idx);
	assert_int_equal(get16(f, f->q[1].used + 2), f->q[1].avail_idx);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
}

/* Nor may one rx notify, with data waiting and header-only buffers (one
 * CREDIT_UPDATE each) coming back as fast as they are used. */
static void test_rx_notify_work_is_bounded(void **state)
{
	struct fx *f = *state;
	uint32_t lport;
	uint64_t most;
	int fd;

	create(f);
	driver_init(f, 0);
	f->rx_len = VSOCK_HDR_LEN;               /* no room for data, ever */
	for (uint16_t i = 0; i < QSIZE; i++)
		rx_post(f, i, VSOCK_HDR_LEN);
	fd = host_conn(f, 70, &lport);
	f->hold_rx = true;                       /* from now on the feeder posts */
	cli_write(fd, "abc", 3);
	run(f, 10);
	most = notify_under_feeder(f, VSOCK_RXQ, &f->v->stats.rx_packets_count);
	assert_true(most <= QSIZE);
	assert_int_equal(rd(f, REG_STATUS), LIVE);
}

/* ---- memory ------------------------------------------------------------------------------- */

static void test_buf_alloc_is_64k(void **state)
{
	struct fx *f = *state;
	static uint8_t data[VSOCK_MAX_PKT + 1], sink[VSOCK_MAX_PKT];
	uint32_t lport;
	struct pkt p;
	bool eof;
	int fd;

	start(f);
	fd = cli_connect(f);
	cli_write(fd, "CONNECT 23\n", 11);
	rx_expect(f, OP_REQUEST, 23, 0, &p);
	assert_int_equal(p.buf_alloc, 64 * 1024);
	lport = p.src_port;
	tx_op(f, OP_RESPONSE, 23, lport, 0);
	p = gpkt(f, OP_RW, 23, lport);
	p.len = 64 * 1024;                       /* 64 KiB + 1: past the credit */
	tx_queue_at(f, &p, data, p.len, BIG_GPA);
	p.len = 1;
	tx_queue_at(f, &p, data, p.len, 0);
	kick(f, VSOCK_TXQ);
	rx_expect(f, OP_RST, 23, lport, NULL);
	assert_int_equal(f->v->stats.credit_violations, 1);
	(void)cli_read(f, fd, sink, sizeof(sink), &eof);
}

/* The guest streams `bytes` more to host port `lport` as a credit-obeying
 * driver does: all the credit it knows of, then it waits for updates, while
 * the unix client `fd` reads everything at once (checked byte by byte).
 * *buf_alloc: the last grant the guest was told. */
struct stream {
	uint32_t gport, lport, sent, fwd, got, buf_alloc;
	int fd;
};

static uint8_t stream_byte(uint32_t i)
{
	return (uint8_t)(i * 31 + 7);
}

static void stream_more(struct fx *f, struct stream *st, uint32_t bytes)
{
	static uint8_t data[VSOCK_MAX_PKT], sink[VSOCK_MAX_PKT];
	uint32_t end = st->sent + bytes;
	uint64_t deadline = time_mono_us() + WAIT_US;
	struct pkt p;

	while (st->got != end && time_mono_us() < deadline) {
		uint32_t credit;

		if (rx_poll(f, &p, sink, sizeof(sink))) {  /* updates first, as a driver does */
			if (p.src_port == st->lport) {
				st->fwd = p.fwd_cnt;
				st->buf_alloc = p.buf_alloc;
			} else if (p.op == OP_SHUTDOWN) {  /* a stream closed before */
				tx_op(f, OP_RST, p.dst_port, p.src_port, 0);
			}
			continue;
		}
		credit = st->buf_alloc - (st->sent - st->fwd);
		if (credit && st->sent != end) {
			for (unsigned int i = 0; credit && st->sent != end && i < 16; i++) {
				struct pkt q = gpkt(f, OP_RW, st->gport, st->lport);
				uint32_t len = credit < VSOCK_MAX_PKT ? credit : VSOCK_MAX_PKT;

				len = len < end - st->sent ? len : end - st->sent;
				for (uint32_t k = 0; k < len; k++)
					data[k] = stream_byte(st->sent + k);
				q.len = len;
				tx_queue_at(f, &q, data, len, BIG_GPA + (uint64_t)i * VSOCK_MAX_PKT);
				st->sent += len;
				credit -= len;
			}
			kick(f, VSOCK_TXQ);
		} else if (cli_pending(st->fd) > 0) {
			ssize_t n = recv(st->fd, sink, sizeof(sink), MSG_DONTWAIT);

			assert_true(n > 0);
			for (ssize_t k = 0; k < n; k++)
				assert_int_equal(sink[k], stream_byte(st->got + (uint32_t)k));
			st->got += (uint32_t)n;
		} else {
			assert_true(ev_run_once(&f->loop, 2) >= 0);
		}
	}
	assert_int_equal(st->got, end);
}

static void stream_open(struct fx *f, struct stream *st, uint32_t gport)
{
	*st = (struct stream){ .gport = gport, .buf_alloc = VSOCK_BUF_ALLOC };
	st->fd = host_conn(f, gport, &st->lport);
}

/* A stream held back by its window (the guest keeps using up its credit
 * while the unix side keeps up) gets more: the grant doubles up to 1 MiB,
 * the guest never goes past what it was told, and the grant goes back to
 * the device's budget with the connection. */
static void test_grant_grows_with_demand(void **state)
{
	struct fx *f = *state;
	struct stream st;
	struct pkt p;

	start(f);
	stream_open(f, &st, 40);
	stream_more(f, &st, 4 * 1024 * 1024);
	assert_int_equal(st.buf_alloc, VSOCK_GRANT_MAX);
	assert_int_equal(f->v->stats.credit_grants, 4);   /* 64 KiB → 1 MiB */
	assert_int_equal(f->v->grant_extra, VSOCK_GRANT_MAX - VSOCK_BUF_ALLOC);
	assert_int_equal(f->v->stats.credit_violations, 0);
	drop_fd(f, st.fd);
	do
		rx_wait(f, &p, NULL, 0);   /* late credit updates, then the end */
	while (p.op != OP_SHUTDOWN);
	assert_int_equal(p.buf_alloc, VSOCK_GRANT_MAX);
	tx_op(f, OP_RST, 40, st.lport, 0);
	wait_no_conns(f);
	assert_int_equal(f->v->grant_extra, 0);
}

/* Many busy connections share the budget: with room for 448 KiB above
 * the starting grants, the first stream stops at 256 KiB (its next step
 * would not fit), the second gets what is left, and what the first gives
 * back when it closes lets the second grow on. */
static void test_grants_share_the_budget(void **state)
{
	struct fx *f = *state;
	struct stream a, b;

	start(f);
	f->v->grant_budget = 448 * 1024;
	stream_open(f, &a, 41);
	stream_open(f, &b, 42);
	stream_more(f, &a, 2 * 1024 * 1024);
	assert_int_equal(a.buf_alloc, 512 * 1024);        /* 64+64+128+256 = 448 KiB extra */
	stream_more(f, &b, 1024 * 1024);
	assert_int_equal(b.buf_alloc, VSOCK_BUF_ALLOC);   /* nothing left */
	assert_true(f->v->grant_extra <= f->v->grant_budget);
	drop_fd(f, a.fd);
	run_until(f, f->v->nr_conns == 1);
	stream_more(f, &b, 2 * 1024 * 1024);
	assert_int_equal(b.buf_alloc, 512 * 1024);
	assert_int_equal(f->v->stats.credit_violations, 0);
}

/* Connections whose `len` bytes are staged, or that wait for a staging
 * buffer, plus packets delivered to the guest and not yet taken. */
static unsigned int settled(struct fx *f, uint32_t len)
{
	unsigned int n = (uint16_t)(get16(f, f->q[0].used + 2) - f->q[0].last_used);

	for (unsigned int i = 0; i < f->v->max_conns; i++)
		n += f->v->conns[i].state == VSOCK_ESTABLISHED &&
		     (f->v->conns[i].r_len == len || f->v->conns[i].rwaiting);
	return n;
}

/* n host connections to guest ports 1000.., then the guest stops taking
 * packets and each client writes `len` bytes (at most 128): staged by ember
 * (within the budget) or waiting.  The caller closes fds[]. */
static void stage_on_many(struct fx *f, int *fds, unsigned int n, uint32_t len)
{
	uint8_t msg[128];
	uint32_t lport;

	assert_true(len <= sizeof(msg));
	memset(msg, 'm', sizeof(msg));
	create(f);
	driver_init(f, 1);
	for (unsigned int i = 0; i < n; i++) {
		fds[i] = host_conn(f, 1000 + i, &lport);
		f->nr_fds = 0;                   /* closed by the caller, not the fixture */
	}
	f->hold_rx = true;
	for (unsigned int i = 0; i < n; i++)
		cli_write(fds[i], msg, len);
	run_until(f, settled(f, len) == n);
	assert_int_equal(settled(f, len), n);
}

/* Connections with data the guest does not take hold staging buffers only
 * within the device budget; the others wait and are served once those
 * drain. */
static void test_staging_memory_is_budgeted(void **state)
{
	enum { N = VSOCK_RBUF_BUDGET / VSOCK_RBUF_SIZE + 4, LEN = 100 };
	struct fx *f = *state;
	static int fds[N];
	static uint32_t got[N];
	uint32_t total = 0, held = 0;
	uint8_t buf[RXBUF_LEN];

	stage_on_many(f, fds, N, LEN);
	for (unsigned int i = 0; i < f->v->max_conns; i++)
		held += f->v->conns[i].rbuf != NULL;
	assert_int_equal(held, VSOCK_RBUF_BUDGET / VSOCK_RBUF_SIZE);
	assert_int_equal(f->v->rbuf_used, VSOCK_RBUF_BUDGET);
	f->hold_rx = false;
	for (uint16_t i = 1; i <= 16; i++)      /* buffer 0 holds a packet not yet read */
		rx_post(f, i, RXBUF_LEN);
	kick(f, VSOCK_RXQ);
	for (int tries = 0; tries < 5000 && total < N * LEN; tries++) {
		struct pkt p;

		if (!rx_poll_rw(f, &p, buf, sizeof(buf)))
			continue;
		assert_true(p.dst_port >= 1000 && p.dst_port < 1000 + N);
		got[p.dst_port - 1000] += p.len;
		total += p.len;
	}
	for (unsigned int i = 0; i < N; i++)
		assert_ret_case("bytes per connection", got[i], LEN);
	run_until(f, f->v->rbuf_used == 0);
	assert_int_equal(f->v->rbuf_used, 0);
	for (unsigned int i = 0; i < N; i++)
		close(fds[i]);
}

/* One rx notify fills every posted buffer there is a packet for.  Delivery
 * used to stop after each packet, so a flush moved at most a packet per
 * round: with many connections owing the guest data or a RST, the rest
 * waited for unrelated events, and with none coming, forever. */
static void test_one_notify_fills_every_posted_buffer(void **state)
{
	enum { N = 40 };
	struct fx *f = *state;
	static int fds[N];
	struct vq *q = &f->q[0];

	stage_on_many(f, fds, N, 64);            /* all staged; one took buffer 0 */
	assert_int_equal((uint16_t)(get16(f, q->used + 2) - q->last_used), 1);
	for (uint16_t i = 1; i <= N; i++)
		rx_post(f, i, RXBUF_LEN);
	kick(f, VSOCK_RXQ);
	assert_int_equal((uint16_t)(get16(f, q->used + 2) - q->last_used), N);
	for (unsigned int i = 0; i < N; i++)
		close(fds[i]);
}

/* A staging buffer given back by delivery goes to a waiting connection in
 * the same flush: the waiter used to sit on v->rwait until some unrelated
 * event came, which with many busy connections could be never. */
static void test_freed_staging_buffer_resumes_waiter(void **state)
{
	enum { N = VSOCK_RBUF_BUDGET / VSOCK_RBUF_SIZE + 4, LEN = 100 };
	struct fx *f = *state;
	static int fds[N];

	stage_on_many(f, fds, N, LEN);
	assert_false(TAILQ_EMPTY(&f->v->rwait));
	assert_int_equal(f->v->rbuf_used, VSOCK_RBUF_BUDGET);
	/* 16 rx buffers and one notify, no event loop: delivering 16 packets
	 * frees 16 buffers, enough for the 4 waiters. */
	for (uint16_t i = 1; i <= 16; i++)
		rx_post(f, i, RXBUF_LEN);
	kick(f, VSOCK_RXQ);
	assert_true(TAILQ_EMPTY(&f->v->rwait));
	for (unsigned int i = 0; i < N; i++)
		close(fds[i]);
}

/* ---- ring full ------------------------------------------------------------------------------ */

/* A close whose cancel found no SQE used to leave the receive in flight on
 * a removed file: the slot stayed CLOSING, the socket open, forever. */
static void test_close_with_ring_full_cancels_later(void **state)
{
	struct fx *f = *state;
	uint32_t lport;
	int fd;

	start(f);
	fd = host_conn(f, 24, &lport);
	run(f, 5);                               /* waiting for unix data */
	f->v->fail_sqes = 1;
	tx_op(f, OP_RST, 24, lport, 0);
	cli_expect_eof(f, fd);
	wait_no_conns(f);
	assert_int_equal(f->v->fail_sqes, 0);
}

/* An ACCEPT that found no SQE used to leave the listener unarmed. */
static void test_accept_rearmed_after_ring_full(void **state)
{
	struct fx *f = *state;
	uint32_t lport;
	int fd;

	start(f);
	f->v->fail_sqes = 2;                     /* the handshake's receive, the re-arm */
	fd = cli_connect(f);
	cli_expect_eof(f, fd);
	assert_int_equal(f->v->fail_sqes, 0);
	host_conn(f, 25, &lport);
}

/* ---- port pairs ----------------------------------------------------------------------------- */

/* A REQUEST on the port pair of a closing connection that still owes the
 * guest its RST used to open a second connection: the guest could see the
 * new RESPONSE and then the old RST. */
static void test_request_for_pair_owing_rst_refused(void **state)
{
	struct fx *f = *state;
	int lfd;

	create(f);
	driver_init(f, 1);
	lfd = host_listen(f, 6100);
	f->hold_rx = true;
	guest_conn(f, lfd, 901, 6100);           /* takes the only rx buffer */
	tx_op(f, OP_SHUTDOWN, 901, 6100, SHUT_BOTH);   /* RST owed, no buffer */
	tx_op(f, OP_REQUEST, 901, 6100, 0);      /* the same pair again */
	run(f, 10);
	assert_int_equal(f->v->stats.conns_refused, 1);
	f->hold_rx = false;
	for (uint16_t i = 0; i < 4; i++)
		rx_post(f, i, RXBUF_LEN);
	kick(f, VSOCK_RXQ);
	rx_expect(f, OP_RST, 901, 6100, NULL);
	rx_none(f, 20);                          /* no RESPONSE, no second RST */
	tx_op(f, OP_REQUEST, 901, 6100, 0);      /* once told, the pair is free */
	rx_expect(f, OP_RESPONSE, 901, 6100, NULL);
}

/* Restored from a snapshot: TRANSPORT_RESET (id 0) in the first event
 * buffer, once, with an interrupt; none posted yet: as soon as one is. */
static void test_restored_sends_transport_reset(void **state)
{
	struct fx *f = *state;
	uint64_t evbuf = MISC_GPA;
	struct vq *q = &f->q[VSOCK_EVQ];

	create(f);
	driver_init(f, 4);
	vsock_restore(f->v);
	kick(f, VSOCK_EVQ);                       /* the restore's kick: no buffer yet */
	assert_int_equal(get16(f, q->used + 2), 0);
	assert_true(f->v->reset_event_owed);
	assert_int_equal(gm_fill(&f->gm, evbuf, 0xaa, 8), 0);
	desc(f, q, 0, evbuf, 8, VIRTQ_DESC_F_WRITE, 0);
	avail(f, q, 0);
	desc(f, q, 1, evbuf + 8, 8, VIRTQ_DESC_F_WRITE, 0);
	avail(f, q, 1);
	wr(f, REG_INTERRUPT_ACK, rd(f, REG_INTERRUPT_STATUS));
	kick(f, VSOCK_EVQ);
	assert_int_equal(get16(f, q->used + 2), 1);          /* one event */
	assert_int_equal(get32(f, q->used + 4), 0);          /* in buffer 0 */
	assert_int_equal(get32(f, q->used + 8), 4);          /* 4 bytes */
	assert_int_equal(get32(f, evbuf), VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	assert_true(rd(f, REG_INTERRUPT_STATUS) & VIRTIO_INT_USED);
	kick(f, VSOCK_EVQ);
	assert_int_equal(get16(f, q->used + 2), 1);          /* not twice */
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config_space),
		T(test_restored_sends_transport_reset),
		T(test_stale_socket_replaced_and_unlinked),
		T(test_uds_path_errors),
		T(test_live_socket_at_uds_path_refused),
		T(test_recreated_socket_not_unlinked),
		T(test_socket_mode_0600),
		T(test_host_handshake_and_data),
		T(test_host_bytes_after_connect_line),
		T(test_host_connect_refused_by_guest),
		T(test_host_guest_never_answers),
		T(test_malformed_handshakes),
		T(test_parse_connect),
		T(test_connect_line_firecracker_forms),
		T(test_handshake_timeout),
		T(test_handshake_after_eof),
		T(test_guest_connect),
		T(test_guest_connect_nobody_listening),
		T(test_guest_connect_timeout),
		T(test_guest_duplicate_request),
		T(test_unix_eof_is_shutdown),
		T(test_unix_abrupt_close_is_rst),
		T(test_guest_shutdown_send_then_both),
		T(test_closed_slot_kept_until_shutdown_ran),
		T(test_guest_shutdown_both),
		T(test_guest_rst_closes),
		T(test_credit_exhaustion_and_update),
		T(test_credit_update_when_buffer_freed),
		T(test_guest_beyond_credit_is_rst),
		T(test_bad_headers),
		T(test_hostile_rings),
		T(test_header_only_rx_buffers),
		T(test_pending_handshake_limit),
		T(test_many_host_connects_waiting_for_guest),
		T(test_many_connections_echo),
		T(test_connection_limit),
		T(test_pending_budgets_are_per_direction),
		T(test_starts_under_low_nofile_soft_limit),
		T(test_conn_limit_fits_low_nofile_hard_limit),
		T(test_tx_notify_work_is_bounded),
		T(test_rx_notify_work_is_bounded),
		T(test_buf_alloc_is_64k),
		T(test_grant_grows_with_demand),
		T(test_grants_share_the_budget),
		T(test_staging_memory_is_budgeted),
		T(test_freed_staging_buffer_resumes_waiter),
		T(test_one_notify_fills_every_posted_buffer),
		T(test_close_with_ring_full_cancels_later),
		T(test_accept_rearmed_after_ring_full),
		T(test_request_for_pair_owing_rst_refused),
		T(test_reset_with_connections_open),
		T(test_event_queue_untouched),
	};

	unit_init();
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
