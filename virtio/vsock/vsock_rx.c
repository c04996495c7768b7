// SPDX-License-Identifier: Apache-2.0
/*
 * vsock_rx.c - virtio-vsock: packets to the guest.  Orphan RSTs first, then
 * the connections on the ready list round robin, each giving the packet it
 * owes most (RST, REQUEST, RESPONSE, data within the guest's credit,
 * SHUTDOWN, CREDIT_UPDATE).  See vsock.h.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <linux/virtio_vsock.h>
#include <string.h>

#include "vsock_priv.h"

static void hdr_fill(struct vsock_dev *v, struct virtio_vsock_hdr *h, uint32_t host_port,
		     uint32_t guest_port, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(VSOCK_HOST_CID);
	h->dst_cid = htole64(v->guest_cid);
	h->src_port = htole32(host_port);
	h->dst_port = htole32(guest_port);
	h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h->op = htole16(op);
	h->buf_alloc = htole32(VSOCK_BUF_ALLOC);
}

/* The next packet `c` owes the guest (an op, 0 for none); *len its payload
 * for a chain with `room` payload bytes. */
static uint16_t conn_next(const struct vsock_conn *c, uint64_t room, uint32_t *len)
{
	uint32_t credit = vsock_conn_peer_credit(c), n = c->r_len;

	*len = 0;
	if (c->pend & VSOCK_PEND_RST)
		return VIRTIO_VSOCK_OP_RST;
	if (c->pend & VSOCK_PEND_REQUEST)
		return VIRTIO_VSOCK_OP_REQUEST;
	if (c->pend & VSOCK_PEND_RESPONSE)
		return VIRTIO_VSOCK_OP_RESPONSE;
	if (c->state == VSOCK_ESTABLISHED && n && credit && room) {
		n = n < credit ? n : credit;
		n = n < room ? n : (uint32_t)room;
		*len = n < VSOCK_MAX_PKT ? n : VSOCK_MAX_PKT;
		return VIRTIO_VSOCK_OP_RW;
	}
	if ((c->pend & VSOCK_PEND_SHUTDOWN) && !c->r_len)
		return VIRTIO_VSOCK_OP_SHUTDOWN;
	if ((c->pend & VSOCK_PEND_CREDIT) || (c->state == VSOCK_ESTABLISHED && n && credit))
		return VIRTIO_VSOCK_OP_CREDIT_UPDATE;  /* data, but no room in this chain */
	return 0;
}

bool vsock_conn_has_rx(const struct vsock_conn *c)
{
	uint32_t len;

	return conn_next(c, VSOCK_MAX_PKT, &len) != 0;
}

/* Write the packet `c` owes into the rx chain; its used length. */
static uint32_t rx_conn(struct vsock_dev *v, struct vsock_conn *c, const struct virtq_chain *ch)
{
	struct virtio_vsock_hdr h;
	uint32_t len;
	uint16_t op = conn_next(c, ch->writable_len - VSOCK_HDR_LEN, &len);

	hdr_fill(v, &h, c->host_port, c->guest_port, op);
	h.buf_alloc = htole32(c->grant);
	h.fwd_cnt = htole32(c->fwd_cnt);
	if (op == VIRTIO_VSOCK_OP_SHUTDOWN)
		h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_SEND);
	h.len = htole32(len);
	if (virtq_chain_copy(v->t.gm, ch, true, 0, &h, sizeof(h)) ||
	    (len && virtq_chain_copy(v->t.gm, ch, true, VSOCK_HDR_LEN,
				      (c->r_inline ? (uint8_t *)c->line : c->rbuf) + c->r_off, len)))
		return 0;
	c->fwd_adv = c->fwd_cnt;
	c->pend &= (uint8_t)~VSOCK_PEND_CREDIT;
	if (op == VIRTIO_VSOCK_OP_RST) {
		c->pend = 0;
		v->stats.conns_killed++;
	}
	c->pend &= (uint8_t)~(op == VIRTIO_VSOCK_OP_REQUEST ? VSOCK_PEND_REQUEST :
			      op == VIRTIO_VSOCK_OP_RESPONSE ? VSOCK_PEND_RESPONSE :
			      op == VIRTIO_VSOCK_OP_SHUTDOWN ? VSOCK_PEND_SHUTDOWN : 0);
	c->shut_sent |= op == VIRTIO_VSOCK_OP_SHUTDOWN;
	c->r_off += len;
	c->r_len -= len;
	c->tx_cnt += len;
	v->stats.rx_bytes_count += len;
	return VSOCK_HDR_LEN + len;
}

static uint32_t rx_orphan(struct vsock_dev *v, const struct virtq_chain *ch)
{
	struct virtio_vsock_hdr h;

	v->nr_orphan--;
	hdr_fill(v, &h, v->orphan[v->nr_orphan].host_port, v->orphan[v->nr_orphan].guest_port,
		 VIRTIO_VSOCK_OP_RST);
	return virtq_chain_copy(v->t.gm, ch, true, 0, &h, sizeof(h)) ? 0 : VSOCK_HDR_LEN;
}

/* Fill one popped rx chain; -EPROTO if it cannot hold a packet. */
static int rx_one(struct vsock_dev *v, const struct virtq_chain *ch)
{
	struct vsock_conn *c = TAILQ_FIRST(&v->ready);
	uint32_t used;

	if (ch->nr_readable || ch->writable_len < VSOCK_HDR_LEN)
		return -EPROTO;
	if (v->nr_orphan) {
		used = rx_orphan(v, ch);
	} else {
		used = rx_conn(v, c, ch);
		TAILQ_REMOVE(&v->ready, c, rlink);  /* round robin: to the back */
		c->listed = false;
		vsock_conn_pump(v, c);
		vsock_conn_update(v, c);
	}
	if (!used)
		return -EPROTO;
	v->stats.rx_packets_count++;
	return virtq_push(&v->t.queues[VSOCK_RXQ], ch->head, used);
}

void vsock_rx_deliver(struct vsock_dev *v, unsigned int *budget)
{
	struct virtq *q = &v->t.queues[VSOCK_RXQ];
	int ret;

	while (v->nr_orphan || !TAILQ_EMPTY(&v->ready)) {
		struct vsock_conn *c = TAILQ_FIRST(&v->ready);

		if (!v->nr_orphan && !vsock_conn_has_rx(c)) {
			TAILQ_REMOVE(&v->ready, c, rlink);  /* stale: owes nothing now */
			c->listed = false;
			continue;
		}
		if (!*budget) {
			vsock_uds_wake(v);  /* come back after the loop served the others */
			return;
		}
		ret = virtq_pop(q, &v->chain);
		if (ret == 0) {
			if (virtq_enable_notify(q))
				continue;
			return;  /* no rx buffers: the guest's next notify brings us back */
		}
		if (ret > 0)
			ret = rx_one(v, &v->chain);
		if (ret < 0) {
			virtio_mmio_needs_reset(&v->t, "rx chain cannot take a vsock packet");
			return;
		}
		v->need_irq_rx = true;
		(*budget)--;
	}
}

