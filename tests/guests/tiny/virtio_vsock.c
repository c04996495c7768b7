/*
 * A tiny virtio-vsock driver speaking the packet protocol by hand, partly
 * hostile, against ember's Firecracker-style host side driven by
 * tests/integration/vsock_peer.py:
 *  1. the host connects to the unix socket with "CONNECT 5000": the guest
 *     sees OP_REQUEST for port 5000, answers OP_RESPONSE, receives the
 *     host's "PING-FROM-HOST" and answers "PONG-FROM-GUEST";
 *  2. the guest connects to host port 6000 (a unix listener at
 *     <uds_path>_6000): OP_RESPONSE, then it sends "HELLO-HOST";
 *  3. the guest connects to host port 6001, where nobody listens: OP_RST;
 *  4. a packet of an unknown type (SEQPACKET, not offered): OP_RST;
 *  5. a transmit chain with a device-writable descriptor: DEVICE_NEEDS_RESET.
 * Each step prints one "vsock: ..." line.
 */
#include "guest.h"

#define VIRTIO_BASE 0xc0001000ull
#define QSIZE       8
#define Q_BASE      0x400000ull      /* queue q at Q_BASE + q * 0x10000 */
#define STATE       0x430000ull
#define TXBUF       0x440000ull
#define RXBUF       0x450000ull      /* QSIZE buffers of BUFLEN */
#define EVBUF       0x460000ull
#define BUFLEN      4096
#define HDR_LEN     44
#define HOST_CID    2

enum { OP_REQUEST = 1, OP_RESPONSE = 2, OP_RST = 3, OP_SHUTDOWN = 4, OP_RW = 5 };

enum {
	REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008,
	REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM = 0x038, REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050, REG_INTERRUPT_STATUS = 0x060,
	REG_STATUS = 0x070, REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DEVICE_LOW = 0x0a0, REG_CONFIG = 0x100,
};

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

struct pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

/* No .data: the image stays R+X, so mutable state lives at STATE. */
struct state { uint16_t next_avail[3]; uint16_t last_used[3]; uint64_t cid; };
#define st ((volatile struct state *)STATE)

static uint32_t rd(uint64_t off) { return *(volatile uint32_t *)(VIRTIO_BASE + off); }
static void wr(uint64_t off, uint32_t v) { *(volatile uint32_t *)(VIRTIO_BASE + off) = v; }
static uint64_t qbase(int q) { return Q_BASE + (uint64_t)q * 0x10000; }
static volatile struct desc *qdesc(int q) { return (volatile struct desc *)qbase(q); }
static volatile uint16_t *qavail(int q) { return (volatile uint16_t *)(qbase(q) + 0x1000); }
static volatile uint16_t *qused(int q) { return (volatile uint16_t *)(qbase(q) + 0x2000); }

static void say(const char *what, uint64_t v)
{
	puts_("vsock: ");
	puts_(what);
	putc_(' ');
	puthex(v);
	putc_('\n');
}

static void zero(uint64_t addr, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		((volatile uint8_t *)addr)[i] = 0;
}

static void queue_setup(int q)
{
	zero(qbase(q), 0x3000);
	wr(REG_QUEUE_SEL, (uint32_t)q);
	wr(REG_QUEUE_NUM, QSIZE);
	wr(REG_QUEUE_DESC_LOW, (uint32_t)qbase(q));
	wr(REG_QUEUE_DRIVER_LOW, (uint32_t)qbase(q) + 0x1000);
	wr(REG_QUEUE_DEVICE_LOW, (uint32_t)qbase(q) + 0x2000);
	wr(REG_QUEUE_READY, 1);
}

static int dev_init(void)
{
	wr(REG_STATUS, 0);
	zero(STATE, sizeof(struct state));
	wr(REG_STATUS, 1);
	wr(REG_STATUS, 3);
	wr(REG_DEVICE_FEATURES_SEL, 1);
	if (!(rd(REG_DEVICE_FEATURES) & 1))
		return -1;
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, 0);
	wr(REG_DRIVER_FEATURES_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1);
	wr(REG_STATUS, 11);
	if (!(rd(REG_STATUS) & 8))
		return -2;
	for (int q = 0; q < 3; q++)
		queue_setup(q);
	wr(REG_STATUS, 15);
	return rd(REG_STATUS) == 15 ? 0 : -3;
}

static void publish(int q, uint16_t head)
{
	qavail(q)[2 + st->next_avail[q] % QSIZE] = head;
	__asm__ volatile("" ::: "memory");
	st->next_avail[q] = (uint16_t)(st->next_avail[q] + 1);
	qavail(q)[1] = st->next_avail[q];
	wr(REG_QUEUE_NOTIFY, (uint32_t)q);
}

/* The head of the next used entry of queue q, or -1 on timeout. */
static int wait_used(int q, unsigned long spins)
{
	for (unsigned long i = 0; i < spins; i++) {
		if (qused(q)[1] != st->last_used[q]) {
			uint16_t slot = st->last_used[q];

			st->last_used[q] = (uint16_t)(slot + 1);
			return (int)*(volatile uint32_t *)(qbase(q) + 0x2000 + 4 + 8 * (slot % QSIZE));
		}
	}
	return -1;
}

/* Send a packet with `len` payload bytes of `data` in one descriptor. */
static void send(uint16_t type, uint16_t op, uint32_t src_port, uint32_t dst_port,
		 const char *data, uint32_t len)
{
	volatile struct pkt *p = (volatile struct pkt *)TXBUF;

	p->src_cid = st->cid;
	p->dst_cid = HOST_CID;
	p->src_port = src_port;
	p->dst_port = dst_port;
	p->len = len;
	p->type = type;
	p->op = op;
	p->flags = 0;
	p->buf_alloc = 65536;
	p->fwd_cnt = 0;
	for (uint32_t i = 0; i < len; i++)
		((volatile char *)TXBUF)[HDR_LEN + i] = data[i];
	qdesc(1)[0] = (struct desc){ TXBUF, HDR_LEN + len, 0, 0 };
	publish(1, 0);
	wait_used(1, 2000000);
}

/* Wait for a packet with op `op` (skipping others, e.g. credit updates);
 * copy its header to *out and print its payload; -1 on timeout. */
static int expect(uint16_t op, volatile struct pkt *out, unsigned long spins)
{
	for (int n = 0; n < 16; n++) {
		int head = wait_used(0, spins);
		volatile struct pkt *p;

		if (head < 0)
			return -1;
		p = (volatile struct pkt *)(RXBUF + (uint64_t)(head % QSIZE) * BUFLEN);
		*out = *p;
		if (p->op == OP_RW && p->len <= BUFLEN - HDR_LEN) {
			puts_("vsock: payload ");
			for (uint32_t i = 0; i < p->len; i++)
				putc_(((volatile char *)p)[HDR_LEN + i]);
			putc_('\n');
		}
		publish(0, (uint16_t)(head % QSIZE));  /* give the buffer back */
		if (out->op == op)
			return 0;
		say("skipped op", out->op);
	}
	return -1;
}

static void host_connects(void)
{
	struct pkt got;

	if (expect(OP_REQUEST, &got, 50000000)) {
		say("no request from the host", 0);
		return;
	}
	say("request to port", got.dst_port);
	say("request from cid", got.src_cid);
	send(1, OP_RESPONSE, got.dst_port, got.src_port, 0, 0);
	if (!expect(OP_RW, &got, 20000000))
		send(1, OP_RW, got.dst_port, got.src_port, "PONG-FROM-GUEST", 15);
}

static void guest_connects(void)
{
	struct pkt got;

	send(1, OP_REQUEST, 1024, 6000, 0, 0);
	say("connect to 6000 answered op", expect(OP_RESPONSE, &got, 20000000) ? 0 : got.op);
	send(1, OP_RW, 1024, 6000, "HELLO-HOST", 10);
	send(1, OP_REQUEST, 1025, 6001, 0, 0);
	say("connect to 6001 answered op", expect(OP_RST, &got, 20000000) ? 0 : got.op);
	send(2, OP_REQUEST, 1026, 6000, 0, 0);  /* SEQPACKET: not offered */
	say("seqpacket request answered op", expect(OP_RST, &got, 20000000) ? 0 : got.op);
}

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	(void)zp;
	if (rd(REG_MAGIC) != 0x74726976 || rd(REG_VERSION) != 2 || rd(REG_DEVICE_ID) != 19) {
		say("no virtio-vsock at the first slot, id", rd(REG_DEVICE_ID));
		reset();
	}
	say("init", (uint64_t)(int64_t)dev_init());
	st->cid = rd(REG_CONFIG) | (uint64_t)rd(REG_CONFIG + 4) << 32;
	say("guest cid", st->cid);
	for (uint16_t i = 0; i < QSIZE; i++) {
		qdesc(0)[i] = (struct desc){ RXBUF + (uint64_t)i * BUFLEN, BUFLEN, 2, 0 };
		publish(0, i);
	}
	qdesc(2)[0] = (struct desc){ EVBUF, 8, 2, 0 };
	publish(2, 0);
	host_connects();
	guest_connects();
	/* Hostile: a transmit buffer the device is asked to write. */
	qdesc(1)[0] = (struct desc){ TXBUF, HDR_LEN, 2, 0 };
	publish(1, 0);
	for (int i = 0; i < 100000 && !(rd(REG_STATUS) & 0x40); i++)
		;
	say("device status", rd(REG_STATUS));
	say("interrupt status", rd(REG_INTERRUPT_STATUS) & 2);
	reset();
}
