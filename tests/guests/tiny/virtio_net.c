/*
 * A tiny virtio-net driver, partly hostile.  It brings up the device at the
 * first virtio-mmio slot with VERSION_1 and MAC only, prints the MAC, posts
 * receive buffers and sends one broadcast frame of ethertype 0x88b5 saying
 * "EMBERNET-TX".  The host's peer (tests/integration/net_peer.py) answers
 * with a frame saying "EMBERNET-RX", which the guest waits for and prints.
 * Then it sends frames the device must drop without asking for a reset (a
 * header with an unknown gso type, a GSO frame it did not negotiate, a
 * checksum offset past the frame, a frame larger than 64 KiB), one good
 * frame ("EMBERNET-OK") to show the queue still works, and finally a
 * transmit chain with a device-writable descriptor, which must put the
 * device in DEVICE_NEEDS_RESET.  Each step prints one "net: ..." line.
 */
#include "guest.h"

#define VIRTIO_BASE 0xc0001000ull
#define QSIZE       8
#define RXQ_BASE    0x400000ull      /* desc, avail, used: one page each */
#define TXQ_BASE    0x410000ull
#define STATE       0x420000ull
#define TXBUF       0x430000ull
#define RXBUF       0x440000ull      /* QSIZE buffers of RXLEN */
#define RXLEN       2048
#define BIGBUF      0x500000ull      /* 70 000 bytes for the oversize frame */
#define HDR_LEN     12
#define ETHERTYPE   0x88b5

enum {
	REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008,
	REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM = 0x038, REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050, REG_INTERRUPT_STATUS = 0x060, REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070, REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DEVICE_LOW = 0x0a0, REG_CONFIG = 0x100,
};

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

/* No .data: the image stays R+X, so mutable state lives at STATE. */
struct state { uint16_t next_avail[2]; uint16_t last_used[2]; };
#define st ((volatile struct state *)STATE)

static uint32_t rd(uint64_t off) { return *(volatile uint32_t *)(VIRTIO_BASE + off); }
static void wr(uint64_t off, uint32_t v) { *(volatile uint32_t *)(VIRTIO_BASE + off) = v; }
static uint64_t qbase(int q) { return q ? TXQ_BASE : RXQ_BASE; }
static volatile struct desc *qdesc(int q) { return (volatile struct desc *)qbase(q); }
static volatile uint16_t *qavail(int q) { return (volatile uint16_t *)(qbase(q) + 0x1000); }
static volatile uint16_t *qused(int q) { return (volatile uint16_t *)(qbase(q) + 0x2000); }
static uint32_t used_len(int q, uint16_t slot)
{
	return *(volatile uint32_t *)(qbase(q) + 0x2000 + 4 + 8 * (slot % QSIZE) + 4);
}

static void say(const char *what, uint64_t v)
{
	puts_("net: ");
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
	wr(REG_QUEUE_SEL, (uint32_t)q);
	wr(REG_QUEUE_NUM, QSIZE);
	wr(REG_QUEUE_DESC_LOW, (uint32_t)qbase(q));
	wr(REG_QUEUE_DRIVER_LOW, (uint32_t)qbase(q) + 0x1000);
	wr(REG_QUEUE_DEVICE_LOW, (uint32_t)qbase(q) + 0x2000);
	wr(REG_QUEUE_READY, 1);
}

/* VERSION_1, MAC and CSUM only: no GSO, no mergeable buffers. */
static int dev_init(void)
{
	wr(REG_STATUS, 0);
	zero(RXQ_BASE, 0x3000);
	zero(TXQ_BASE, 0x3000);
	zero(STATE, sizeof(struct state));
	wr(REG_STATUS, 1);
	wr(REG_STATUS, 3);
	wr(REG_DEVICE_FEATURES_SEL, 0);
	if (!(rd(REG_DEVICE_FEATURES) & (1u << 5)))
		return -1;
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, (1u << 5) | 1u);  /* MAC, CSUM */
	wr(REG_DRIVER_FEATURES_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1);
	wr(REG_STATUS, 11);
	if (!(rd(REG_STATUS) & 8))
		return -2;
	queue_setup(0);
	queue_setup(1);
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

/* Wait for the next used entry of queue q: its length (and head in *id),
 * or -1 on timeout. */
static int64_t wait_used_id(int q, unsigned long spins, uint32_t *id)
{
	for (unsigned long i = 0; i < spins; i++) {
		if (qused(q)[1] != st->last_used[q]) {
			uint16_t slot = st->last_used[q];

			*id = *(volatile uint32_t *)(qbase(q) + 0x2000 + 4 + 8 * (slot % QSIZE));
			st->last_used[q] = (uint16_t)(slot + 1);
			return used_len(q, slot);
		}
	}
	return -1;
}

static int64_t wait_used(int q, unsigned long spins)
{
	uint32_t id;

	return wait_used_id(q, spins, &id);
}

/* A broadcast frame of ETHERTYPE carrying `msg`, after a zeroed header. */
static uint32_t make_frame(const char *msg)
{
	volatile uint8_t *f = (volatile uint8_t *)TXBUF;
	uint32_t n = HDR_LEN + 14;

	zero(TXBUF, 128);
	for (int i = 0; i < 6; i++) {
		f[HDR_LEN + i] = 0xff;
		f[HDR_LEN + 6 + i] = (uint8_t)rd(REG_CONFIG + (uint32_t)i);
	}
	f[HDR_LEN + 12] = ETHERTYPE >> 8;
	f[HDR_LEN + 13] = ETHERTYPE & 0xff;
	while (*msg)
		f[n++] = (uint8_t)*msg++;
	return n < HDR_LEN + 60 ? HDR_LEN + 60 : n;  /* pad to the Ethernet minimum */
}

/* Send one single-descriptor chain; the used length, or -1 on timeout. */
static int64_t send(uint64_t addr, uint32_t len, uint16_t flags)
{
	qdesc(1)[0] = (struct desc){ addr, len, flags, 0 };
	publish(1, 0);
	return wait_used(1, 2000000);
}

static void say_mac(void)
{
	puts_("net: mac");
	for (int i = 0; i < 6; i++) {
		putc_(' ');
		puthex(rd(REG_CONFIG + (uint32_t)i) & 0xff);
	}
	putc_('\n');
}

/* Wait for the host's answer, skipping other traffic (up to QSIZE frames);
 * print what it carries. */
static void receive(void)
{
	for (int n = 0; n < QSIZE; n++) {
		uint32_t id = 0;
		int64_t len = wait_used_id(0, 20000000, &id);
		volatile char *f = (volatile char *)(RXBUF + (id % QSIZE) * RXLEN);

		if (len < 0)
			break;
		if (len < HDR_LEN + 14 + 11 || (uint8_t)f[HDR_LEN + 12] != ETHERTYPE >> 8 ||
		    (uint8_t)f[HDR_LEN + 13] != (ETHERTYPE & 0xff))
			continue;
		say("rx used len", (uint64_t)len);
		puts_("net: rx says ");
		for (int i = 0; i < 11; i++)
			putc_(f[HDR_LEN + 14 + i]);
		putc_('\n');
		return;
	}
	say("rx timeout", 0);
}

/* Frames the device must drop (used, nothing sent) without a reset. */
static void send_bad(void)
{
	volatile uint8_t *h = (volatile uint8_t *)TXBUF;

	make_frame("EMBERNET-BAD");
	h[1] = 7;                               /* gso_type: no such type */
	say("bad gso type used", (uint64_t)send(TXBUF, HDR_LEN + 60, 0));
	make_frame("EMBERNET-BAD");
	h[1] = 1;                               /* TCPv4 GSO: not negotiated */
	h[4] = 100;                             /* gso_size */
	say("gso not negotiated used", (uint64_t)send(TXBUF, HDR_LEN + 60, 0));
	make_frame("EMBERNET-BAD");
	h[0] = 1;                               /* NEEDS_CSUM, csum_start 200 */
	h[6] = 200;
	h[8] = 6;
	say("csum past frame used", (uint64_t)send(TXBUF, HDR_LEN + 60, 0));
	zero(BIGBUF, HDR_LEN);
	say("oversize used", (uint64_t)send(BIGBUF, HDR_LEN + 70000, 0));
}

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	(void)zp;
	if (rd(REG_MAGIC) != 0x74726976 || rd(REG_VERSION) != 2 || rd(REG_DEVICE_ID) != 1) {
		say("no virtio-net at the first slot, id", rd(REG_DEVICE_ID));
		reset();
	}
	say("init", (uint64_t)(int64_t)dev_init());
	say_mac();
	for (uint16_t i = 0; i < QSIZE; i++) {
		zero(RXBUF + i * RXLEN, 64);
		qdesc(0)[i] = (struct desc){ RXBUF + i * RXLEN, RXLEN, 2, 0 };
		publish(0, i);
	}
	say("tx used", (uint64_t)send(TXBUF, make_frame("EMBERNET-TX"), 0));
	receive();
	send_bad();
	say("good tx used", (uint64_t)send(TXBUF, make_frame("EMBERNET-OK"), 0));
	/* Hostile: a transmit buffer the device is asked to write. */
	qdesc(1)[0] = (struct desc){ TXBUF, HDR_LEN + 60, 2, 0 };
	publish(1, 0);
	for (int i = 0; i < 100000 && !(rd(REG_STATUS) & 0x40); i++)
		;
	say("device status", rd(REG_STATUS));
	say("interrupt status", rd(REG_INTERRUPT_STATUS) & 2);
	reset();
}
