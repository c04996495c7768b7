/*
 * Frames back and forth for ever, for the snapshot tests: step N sends a
 * broadcast frame of ethertype 0x88b5 saying "PING N" (N as 16 hex digits)
 * and waits for "PONG N" from the host's echo peer
 * (tests/integration/net_echo.py), then prints "netloop 0xN ok".  A frame
 * lost on the way (the host side of a snapshot is not saved) is sent again
 * after a while; a PONG of an earlier step is ignored.  Every rx buffer is
 * posted again once read.  VERSION_1 and MAC only; completions are polled.
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
#define HDR_LEN     12
#define FRAME_LEN   (HDR_LEN + 14 + 46)

enum {
	REG_DEVICE_ID = 0x008, REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM = 0x038, REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050, REG_STATUS = 0x070, REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DRIVER_LOW = 0x090, REG_QUEUE_DEVICE_LOW = 0x0a0,
};

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

/* No .data: the image stays R+X, so mutable state lives at STATE. */
struct state { uint16_t next_avail[2]; uint16_t last_used[2]; uint64_t step; };
#define st ((volatile struct state *)STATE)

static uint32_t rd(uint64_t off) { return *(volatile uint32_t *)(VIRTIO_BASE + off); }
static void wr(uint64_t off, uint32_t v) { *(volatile uint32_t *)(VIRTIO_BASE + off) = v; }
static uint64_t qbase(int q) { return q ? TXQ_BASE : RXQ_BASE; }
static volatile struct desc *qdesc(int q) { return (volatile struct desc *)qbase(q); }
static volatile uint16_t *qavail(int q) { return (volatile uint16_t *)(qbase(q) + 0x1000); }
static volatile uint16_t *qused(int q) { return (volatile uint16_t *)(qbase(q) + 0x2000); }

static void queue_setup(int q)
{
	wr(REG_QUEUE_SEL, (uint32_t)q);
	wr(REG_QUEUE_NUM, QSIZE);
	wr(REG_QUEUE_DESC_LOW, (uint32_t)qbase(q));
	wr(REG_QUEUE_DRIVER_LOW, (uint32_t)qbase(q) + 0x1000);
	wr(REG_QUEUE_DEVICE_LOW, (uint32_t)qbase(q) + 0x2000);
	wr(REG_QUEUE_READY, 1);
}

static int dev_init(void)
{
	for (uint64_t i = 0; i < 0x3000; i++) {
		((volatile uint8_t *)RXQ_BASE)[i] = 0;
		((volatile uint8_t *)TXQ_BASE)[i] = 0;
	}
	for (uint64_t i = 0; i < sizeof(struct state); i++)
		((volatile uint8_t *)STATE)[i] = 0;
	wr(REG_STATUS, 0);
	wr(REG_STATUS, 1);
	wr(REG_STATUS, 3);
	wr(REG_DEVICE_FEATURES_SEL, 0);
	if (!(rd(REG_DEVICE_FEATURES) & (1u << 5)))
		return -1;
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, 1u << 5);  /* MAC */
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

static void post_rx(uint16_t head)
{
	qdesc(0)[head] = (struct desc){ RXBUF + (uint64_t)RXLEN * head, RXLEN, 2, 0 };
	publish(0, head);
}

/* "PING " or "PONG " and N in 16 hex digits at p. */
static void put_word(volatile char *p, const char *word, uint64_t n)
{
	for (int i = 0; i < 5; i++)
		p[i] = word[i];
	for (int i = 0; i < 16; i++)
		p[5 + i] = "0123456789abcdef"[(n >> (60 - 4 * i)) & 15];
}

static int is_word(volatile const char *p, const char *word, uint64_t n)
{
	char want[21];

	put_word(want, word, n);
	for (int i = 0; i < 21; i++)
		if (p[i] != want[i])
			return 0;
	return 1;
}

static void send_ping(uint64_t n)
{
	volatile uint8_t *f = (volatile uint8_t *)TXBUF;

	for (int i = 0; i < FRAME_LEN; i++)
		f[i] = 0;
	for (int i = 0; i < 6; i++)
		f[HDR_LEN + i] = 0xff;
	f[HDR_LEN + 12] = 0x88;
	f[HDR_LEN + 13] = 0xb5;
	put_word((volatile char *)f + HDR_LEN + 14, "PING ", n);
	qdesc(1)[0] = (struct desc){ TXBUF, FRAME_LEN, 0, 0 };
	publish(1, 0);
	while (qused(1)[1] != (uint16_t)(st->last_used[1] + 1))
		;  /* the tx chain back before the buffer is reused */
	st->last_used[1]++;
}

/* Has the PONG for step n arrived?  Every rx buffer read is posted again. */
static int got_pong(uint64_t n)
{
	int found = 0;

	while (qused(0)[1] != st->last_used[0]) {
		uint16_t slot = st->last_used[0];
		uint16_t head = (uint16_t)*(volatile uint32_t *)(RXQ_BASE + 0x2000 + 4 + 8 * (slot % QSIZE));

		if (head < QSIZE && is_word((volatile char *)(RXBUF + (uint64_t)RXLEN * head + HDR_LEN + 14),
					    "PONG ", n))
			found = 1;
		st->last_used[0] = (uint16_t)(slot + 1);
		post_rx(head < QSIZE ? head : 0);
	}
	return found;
}

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	(void)zp;
	if (rd(REG_DEVICE_ID) != 1 || dev_init()) {
		puts_("netloop: no device\n");
		reset();
	}
	for (uint16_t i = 0; i < QSIZE; i++)
		post_rx(i);
	puts_("netloop: start\n");
	for (st->step = 1;; st->step++) {
		uint64_t n = st->step;

		for (;;) {
			send_ping(n);
			for (unsigned long spin = 0; spin < 200000; spin++)
				if (got_pong(n))
					goto next;
		}
next:
		puts_("netloop ");
		puthex(n);
		puts_(" ok\n");
	}
}
