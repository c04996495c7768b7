/*
 * A vsock guest for the snapshot tests: it brings up the device (rx
 * buffers and one event buffer posted), then for ever counts ("vsockloop: turn
 * 0xN" every 2^12 turns) and serves the queues by polling: an event prints
 * "vsockloop: event 0xID" (0 is VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) and
 * posts the buffer again; an OP_REQUEST from the host (a "CONNECT <port>"
 * on the unix socket) is answered OP_RESPONSE and printed; an OP_RW's
 * payload is printed and answered "PONG" plus the same payload; other
 * packets are ignored.  Connections are not tracked: after a transport
 * reset there is nothing to drop.
 */
#include "virtio_guest.h"

#define Q_BASE      0x400000ull      /* queue q at Q_BASE + q * 0x10000 */
#define STATE       0x430000ull
#define TXBUF       0x440000ull
#define RXBUF       0x450000ull      /* QSIZE buffers of BUFLEN */
#define EVBUF       0x460000ull
#define BUFLEN      4096
#define HDR_LEN     44
#define HOST_CID    2

enum { OP_REQUEST = 1, OP_RESPONSE = 2, OP_RW = 5 };

struct pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

/* No .data: the image stays R+X, so mutable state lives at STATE. */
struct state { uint16_t next_avail[3]; uint16_t last_used[3]; uint64_t cid, turns; };
#define st ((volatile struct state *)STATE)

static uint64_t qbase(int q) { return Q_BASE + (uint64_t)q * 0x10000; }
static volatile struct desc *qdesc(int q) { return (volatile struct desc *)qbase(q); }

static void say(const char *what, uint64_t v)
{
	puts_("vsockloop: ");
	puts_(what);
	putc_(' ');
	puthex(v);
	putc_('\n');
}

static void publish(int q, uint16_t head)
{
	vq_publish((uint32_t)q, qbase(q), &st->next_avail[q], head);
}

static int next_used(int q)
{
	return vq_next_used(qbase(q), &st->last_used[q]);
}

/* One packet to the host (`pre` then `len` bytes of `data` as payload),
 * waiting until the device took it. */
static void send(uint16_t op, uint32_t src_port, uint32_t dst_port, const char *pre,
		 volatile const char *data, uint32_t len)
{
	volatile struct pkt *p = (volatile struct pkt *)TXBUF;
	uint32_t n = 0;

	while (pre && pre[n])
		((volatile char *)TXBUF)[HDR_LEN + n] = pre[n], n++;
	for (uint32_t i = 0; i < len; i++)
		((volatile char *)TXBUF)[HDR_LEN + n + i] = data[i];
	*p = (struct pkt){ .src_cid = st->cid, .dst_cid = HOST_CID, .src_port = src_port,
			   .dst_port = dst_port, .len = n + len, .type = 1, .op = op,
			   .buf_alloc = 65536 };
	qdesc(1)[0] = (struct desc){ TXBUF, HDR_LEN + n + len, 0, 0 };
	publish(1, 0);
	while (next_used(1) < 0)
		;
}

static void serve_rx(void)
{
	int head;

	while ((head = next_used(0)) >= 0) {
		volatile struct pkt *p = (volatile struct pkt *)(RXBUF + (uint64_t)(head % QSIZE) * BUFLEN);
		volatile const char *data = (volatile const char *)p + HDR_LEN;
		uint32_t len = p->len <= 64 ? p->len : 64;

		if (p->op == OP_REQUEST) {
			say("request to port", p->dst_port);
			send(OP_RESPONSE, p->dst_port, p->src_port, 0, 0, 0);
		} else if (p->op == OP_RW) {
			puts_("vsockloop: payload ");
			for (uint32_t i = 0; i < len; i++)
				putc_(data[i]);
			putc_('\n');
			send(OP_RW, p->dst_port, p->src_port, "PONG ", data, len);
		}
		publish(0, (uint16_t)(head % QSIZE));
	}
}

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	(void)zp;
	zero(STATE, sizeof(struct state));
	if (rd(REG_DEVICE_ID) != 19 || virtio_negotiate(0) ||
	    (vq_setup(0, qbase(0)), vq_setup(1, qbase(1)), vq_setup(2, qbase(2)), virtio_go())) {
		puts_("vsockloop: no device\n");
		reset();
	}
	st->cid = rd(REG_CONFIG) | (uint64_t)rd(REG_CONFIG + 4) << 32;
	for (uint16_t i = 0; i < QSIZE; i++) {
		qdesc(0)[i] = (struct desc){ RXBUF + (uint64_t)i * BUFLEN, BUFLEN, 2, 0 };
		publish(0, i);
	}
	qdesc(2)[0] = (struct desc){ EVBUF, 8, 2, 0 };
	publish(2, 0);
	puts_("vsockloop: start\n");
	for (;;) {
		if (next_used(2) >= 0) {
			say("event", *(volatile uint32_t *)EVBUF);
			publish(2, 0);
		}
		serve_rx();
		if (!(++st->turns & 0xfff))
			say("turn", st->turns >> 12);
	}
}
