/*
 * Frames back and forth for ever, for the snapshot tests: step N sends a
 * broadcast frame of ethertype 0x88b5 saying "PING N" (N as 16 hex digits)
 * and waits for "PONG N" from the host's echo peer
 * (tests/integration/net_echo.py), then prints "netloop 0xN ok".  A frame
 * lost on the way (the host side of a snapshot is not saved) is sent again
 * after a while; a PONG of an earlier step is ignored.  Every rx buffer is
 * posted again once read.  VERSION_1 and MAC only; completions are polled.
 */
#include "virtio_guest.h"

#define RXQ_BASE    0x400000ull      /* desc, avail, used: one page each */
#define TXQ_BASE    0x410000ull
#define STATE       0x420000ull
#define TXBUF       0x430000ull
#define RXBUF       0x440000ull      /* QSIZE buffers of RXLEN */
#define RXLEN       2048
#define HDR_LEN     12
#define FRAME_LEN   (HDR_LEN + 14 + 46)

/* No .data: the image stays R+X, so mutable state lives at STATE. */
struct state { uint16_t next_avail[2]; uint16_t last_used[2]; uint64_t step; };
#define st ((volatile struct state *)STATE)

static uint64_t qbase(int q) { return q ? TXQ_BASE : RXQ_BASE; }
static volatile struct desc *qdesc(int q) { return (volatile struct desc *)qbase(q); }

static void publish(int q, uint16_t head)
{
	vq_publish((uint32_t)q, qbase(q), &st->next_avail[q], head);
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
	while (vq_next_used(TXQ_BASE, &st->last_used[1]) < 0)
		;  /* the tx chain back before the buffer is reused */
}

/* Has the PONG for step n arrived?  Every rx buffer read is posted again. */
static int got_pong(uint64_t n)
{
	int found = 0, used;

	while ((used = vq_next_used(RXQ_BASE, &st->last_used[0])) >= 0) {
		uint16_t head = (uint16_t)used;

		if (head < QSIZE && is_word((volatile char *)(RXBUF + (uint64_t)RXLEN * head + HDR_LEN + 14),
					    "PONG ", n))
			found = 1;
		post_rx(head < QSIZE ? head : 0);
	}
	return found;
}

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	(void)zp;
	zero(STATE, sizeof(struct state));
	if (rd(REG_DEVICE_ID) != 1 || virtio_negotiate(1u << 5) ||  /* MAC */
	    (vq_setup(0, RXQ_BASE), vq_setup(1, TXQ_BASE), virtio_go())) {
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
