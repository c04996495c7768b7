// SPDX-License-Identifier: Apache-2.0
/*
 * vsock.c - virtio-vsock: the device, its queues, packet validation and
 * delivery.  Connections are in vsock_conn.c, the unix-socket side and its
 * io_uring in vsock_uds.c.  See vsock.h for the contract.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <linux/virtio_vsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/core/log.h"
#include "vsock_priv.h"

#define VIRTIO_ID_VSOCK 19

_Static_assert(sizeof(struct virtio_vsock_hdr) == VSOCK_HDR_LEN, "virtio_vsock_hdr layout");

/* A header, host byte order. */
struct vsock_pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

static struct vsock_dev *to_vsock(struct virtio_mmio *t)
{
	return (struct vsock_dev *)t;  /* the transport is the first member */
}

bool vsock_live(const struct vsock_dev *v)
{
	return (v->t.status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(v->t.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void pkt_decode(const struct virtio_vsock_hdr *h, struct vsock_pkt *p)
{
	p->src_cid = le64toh(h->src_cid);
	p->dst_cid = le64toh(h->dst_cid);
	p->src_port = le32toh(h->src_port);
	p->dst_port = le32toh(h->dst_port);
	p->len = le32toh(h->len);
	p->type = le16toh(h->type);
	p->op = le16toh(h->op);
	p->flags = le32toh(h->flags);
	p->buf_alloc = le32toh(h->buf_alloc);
	p->fwd_cnt = le32toh(h->fwd_cnt);
}

/* ---- tx: packets from the guest -------------------------------------------- */

/* NULL when the header is acceptable, else why not. */
static const char *pkt_invalid(const struct vsock_pkt *p, uint64_t payload_room)
{
	if (p->type != VIRTIO_VSOCK_TYPE_STREAM)
		return "not a stream packet";
	if (p->op < VIRTIO_VSOCK_OP_REQUEST || p->op > VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		return "unknown op";
	if (p->len > VSOCK_MAX_PKT)
		return "payload larger than 64 KiB";
	if (p->len > payload_room)
		return "payload past the end of the chain";
	if (p->op != VIRTIO_VSOCK_OP_RW && p->len)
		return "payload on a control packet";
	return NULL;
}

/* Guest payload for an established connection: into its send ring. */
static void pkt_rw(struct vsock_dev *v, struct vsock_conn *c, const struct virtq_chain *ch,
		   const struct vsock_pkt *p)
{
	uint32_t cap, tail, first;

	if (c->guest_shut_send || p->len > c->grant - (c->rx_cnt - c->fwd_cnt)) {
		v->stats.credit_violations += !c->guest_shut_send;
		log_ratelimited(LOG_WARN, "%s: port %u: %s: connection reset", v->name,
				c->host_port, c->guest_shut_send ? "data after SHUTDOWN"
								 : "data beyond the credit");
		vsock_conn_close(v, c, true);
		return;
	}
	if (vsock_conn_ring(c)) {
		vsock_conn_close(v, c, true);
		return;
	}
	cap = vsock_conn_ring_size(c);
	tail = (c->s_head + c->s_len) % cap;
	first = cap - tail < p->len ? cap - tail : p->len;
	if (virtq_chain_copy(v->t.gm, ch, false, VSOCK_HDR_LEN, c->sbuf + tail, first) ||
	    virtq_chain_copy(v->t.gm, ch, false, VSOCK_HDR_LEN + first, c->sbuf, p->len - first)) {
		vsock_conn_close(v, c, true);
		return;
	}
	c->s_len += p->len;
	c->rx_cnt += p->len;
	vsock_conn_credit_used(c);
	v->stats.tx_bytes_count += p->len;
	vsock_conn_pump(v, c);
}

static void pkt_shutdown(struct vsock_dev *v, struct vsock_conn *c, uint32_t flags)
{
	if (flags & VIRTIO_VSOCK_SHUTDOWN_RCV) {
		c->guest_shut_rcv = true;
		c->r_len = 0;  /* it reads no more: drop what is staged */
	}
	if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
		c->guest_shut_send = true;
	vsock_conn_pump(v, c);
}

/* A valid packet for the established (or handshaking) connection `c`. */
static void pkt_conn(struct vsock_dev *v, struct vsock_conn *c, const struct virtq_chain *ch,
		     const struct vsock_pkt *p)
{
	c->peer_buf_alloc = p->buf_alloc;
	c->peer_fwd_cnt = p->fwd_cnt;
	if (p->op == VIRTIO_VSOCK_OP_RST) {
		vsock_conn_close(v, c, false);
		return;
	}
	if (c->state == VSOCK_REQUEST && !(c->pend & VSOCK_PEND_REQUEST) &&
	    p->op == VIRTIO_VSOCK_OP_RESPONSE) {
		vsock_conn_accepted(v, c);
		return;
	}
	if (c->state != VSOCK_ESTABLISHED || p->op == VIRTIO_VSOCK_OP_REQUEST ||
	    p->op == VIRTIO_VSOCK_OP_RESPONSE) {
		v->stats.bad_packets++;
		log_ratelimited(LOG_WARN, "%s: port %u: op %u out of sequence: connection reset",
				v->name, c->host_port, p->op);
		vsock_conn_close(v, c, true);
		return;
	}
	if (p->op == VIRTIO_VSOCK_OP_RW)
		pkt_rw(v, c, ch, p);
	else if (p->op == VIRTIO_VSOCK_OP_SHUTDOWN)
		pkt_shutdown(v, c, p->flags);
	else if (p->op == VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		c->pend |= VSOCK_PEND_CREDIT;
	if (c->state == VSOCK_ESTABLISHED) {
		vsock_conn_pump(v, c);  /* more credit may let it receive again */
		vsock_conn_update(v, c);
	}
}

static void pkt_handle(struct vsock_dev *v, const struct virtq_chain *ch,
		       const struct vsock_pkt *p)
{
	const char *why = pkt_invalid(p, ch->readable_len - VSOCK_HDR_LEN);
	struct vsock_conn *c;

	if (p->src_cid != v->guest_cid || p->dst_cid != VSOCK_HOST_CID) {
		v->stats.bad_packets++;
		log_ratelimited(LOG_WARN, "%s: packet from CID %llu to CID %llu dropped", v->name,
				(unsigned long long)p->src_cid, (unsigned long long)p->dst_cid);
		return;
	}
	c = vsock_conn_find(v, p->dst_port, p->src_port);
	if (why) {
		v->stats.bad_packets++;
		log_ratelimited(LOG_WARN, "%s: bad packet (op %u, port %u): %s", v->name, p->op,
				p->dst_port, why);
		if (c)
			vsock_conn_close(v, c, true);
		else if (p->op != VIRTIO_VSOCK_OP_RST)
			vsock_orphan_rst(v, p->dst_port, p->src_port);
		return;
	}
	if (c && c->state == VSOCK_CLOSING) {
		/* The pair still owes the guest a RST: that RST is the answer, a
		 * second connection on the pair would see it after its RESPONSE. */
		v->stats.conns_refused += p->op == VIRTIO_VSOCK_OP_REQUEST;
		log_ratelimited(LOG_INFO, "%s: op %u for port %u while its reset is owed: dropped",
				v->name, p->op, p->dst_port);
		return;
	}
	if (c)
		pkt_conn(v, c, ch, p);
	else if (p->op == VIRTIO_VSOCK_OP_REQUEST)
		vsock_conn_guest_request(v, p->dst_port, p->src_port, p->buf_alloc, p->fwd_cnt);
	else if (p->op != VIRTIO_VSOCK_OP_RST)
		vsock_orphan_rst(v, p->dst_port, p->src_port);
}

/* One tx chain: -EPROTO if it cannot be a packet at all. */
static int tx_one(struct vsock_dev *v, const struct virtq_chain *ch)
{
	struct virtio_vsock_hdr h;
	struct vsock_pkt p;

	if (ch->nr_readable != ch->nr_bufs || ch->readable_len < VSOCK_HDR_LEN ||
	    virtq_chain_copy(v->t.gm, ch, false, 0, &h, sizeof(h)))
		return -EPROTO;
	pkt_decode(&h, &p);
	v->stats.tx_packets_count++;
	pkt_handle(v, ch, &p);
	return 0;
}

/* At most a ring's worth of chains per call: a vCPU refilling the ring
 * must not keep the vmm thread here.  When the budget runs out the
 * notifications stay as they are and the completion eventfd brings the
 * thread back (vsock_resume) once the loop served the others. */
static void tx_process(struct vsock_dev *v)
{
	struct virtq *q = &v->t.queues[VSOCK_TXQ];
	unsigned int budget = q->size;
	int ret = 0;

	v->tx_more = false;
	do {
		while (budget && (ret = virtq_pop(q, &v->chain)) > 0) {
			if (tx_one(v, &v->chain) || virtq_push(q, v->chain.head, 0)) {
				virtio_mmio_needs_reset(&v->t, "tx chain is not a vsock packet");
				return;
			}
			v->need_irq_tx = true;
			budget--;
		}
		if (ret < 0) {
			virtio_mmio_needs_reset(&v->t, "tx virtqueue violation");
			return;
		}
		if (!budget) {
			v->tx_more = true;
			vsock_uds_wake(v);
			return;
		}
	} while (virtq_enable_notify(q));
}

static void irq_flush(struct vsock_dev *v)
{
	bool irq = false;

	if (v->need_irq_rx && virtq_should_interrupt(&v->t.queues[VSOCK_RXQ]))
		irq = true;
	if (v->need_irq_tx && virtq_should_interrupt(&v->t.queues[VSOCK_TXQ]))
		irq = true;
	v->need_irq_rx = v->need_irq_tx = false;
	if (irq)
		virtio_mmio_interrupt(&v->t, VIRTIO_INT_USED);
}

void vsock_flush(struct vsock_dev *v)
{
	unsigned int budget = v->t.queues[VSOCK_RXQ].size;

	vsock_settle_reset(v);
	for (int round = 0; round < 16; round++) {
		vsock_conn_resume_recv(v);
		if (vsock_live(v) && budget)
			vsock_rx_deliver(v, &budget);
		/* Go round again while completions came in, or while delivery gave
		 * staging buffers back that a waiting connection can have now. */
		if (!vsock_uds_kick(v) && !vsock_conn_can_resume(v))
			break;
	}
	if (vsock_live(v))
		irq_flush(v);
}

void vsock_resume(struct vsock_dev *v)
{
	vsock_settle_reset(v);
	if (v->tx_more && vsock_live(v))
		tx_process(v);
	vsock_flush(v);
}

/* ---- the device -------------------------------------------------------------- */

/* A restored device's TRANSPORT_RESET, into the next event buffer (none
 * posted: when the driver posts one). */
static void send_reset_event(struct vsock_dev *v)
{
	struct virtq *q = &v->t.queues[VSOCK_EVQ];
	struct virtio_vsock_event ev = { .id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) };
	int ret;

	if (!v->reset_event_owed || !vsock_live(v))
		return;
	ret = virtq_pop(q, &v->chain);
	if (!ret)
		return;
	v->reset_event_owed = false;
	if (ret < 0 || virtq_chain_copy(v->t.gm, &v->chain, true, 0, &ev, sizeof(ev)) ||
	    virtq_push(q, v->chain.head, sizeof(ev))) {
		virtio_mmio_needs_reset(&v->t, "cannot send the transport reset event");
		return;
	}
	log_info("%s: restored: transport reset event sent to the guest", v->name);
	if (virtq_should_interrupt(q))
		virtio_mmio_interrupt(&v->t, VIRTIO_INT_USED);
}

void vsock_restore(struct vsock_dev *v)
{
	pthread_mutex_lock(&v->t.lock);
	v->reset_event_owed = vsock_live(v);  /* a driver not yet up has no connection */
	pthread_mutex_unlock(&v->t.lock);
}

static void vsock_notify(struct virtio_mmio *t, unsigned int queue)
{
	struct vsock_dev *v = to_vsock(t);

	vsock_settle_reset(v);
	send_reset_event(v);
	if (queue == VSOCK_TXQ) {
		v->stats.tx_queue_event_count++;
		tx_process(v);
	} else if (queue == VSOCK_RXQ) {
		v->stats.rx_queue_event_count++;
	}
	vsock_flush(v);
}

/* vCPU thread (status 0), lock held: forget the guest's side now; closing
 * the sockets is system calls the vCPU threads' seccomp filter does not
 * allow, so the vmm thread does it (vsock_settle_reset) before anything
 * else touches the device. */
static void vsock_reset(struct virtio_mmio *t)
{
	struct vsock_dev *v = to_vsock(t);

	v->reset_pending = true;
	v->reset_event_owed = false;  /* the driver starts afresh anyway */
	v->nr_orphan = 0;
	v->tx_more = false;
	v->need_irq_rx = v->need_irq_tx = false;
	vsock_uds_wake(v);
}

void vsock_settle_reset(struct vsock_dev *v)
{
	if (!v->reset_pending)
		return;
	v->reset_pending = false;
	vsock_conn_drop_all(v);
	vsock_uds_kick(v);
}

static void vsock_config_read(struct virtio_mmio *t, uint32_t off, uint8_t *data,
			      unsigned int size)
{
	uint64_t cid = htole64(to_vsock(t)->guest_cid);

	memcpy(data, (uint8_t *)&cid + off, size);
}

static void vsock_config_write(struct virtio_mmio *t, uint32_t off, const uint8_t *data,
			       unsigned int size)
{
	(void)data;
	(void)size;
	t->ignored_writes++;
	log_ratelimited(LOG_WARN, "%s: ignored write to config offset %u: read-only", t->name, off);
}

static const struct virtio_dev_ops vsock_ops = {
	.device_id = VIRTIO_ID_VSOCK,
	.num_queues = 3,
	.queue_max = VSOCK_QUEUE_SIZE,
	.config_len = sizeof(uint64_t),
	.config_read = vsock_config_read,
	.config_write = vsock_config_write,
	.reset = vsock_reset,
	.notify = vsock_notify,
};

int vsock_create(struct vsock_dev *v, const struct vsock_cfg *cfg, const struct guest_mem *gm,
		 struct ev_loop *loop)
{
	uint64_t features = (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
			    (1ULL << VIRTIO_RING_F_EVENT_IDX);
	int ret;

	memset(v, 0, sizeof(*v));
	v->listen_fd = -1;
	v->timer_src.fd = -1;
	snprintf(v->name, sizeof(v->name), "vsock");
	v->guest_cid = cfg->guest_cid;
	v->loop = loop;
	v->handshake_ms = VSOCK_HANDSHAKE_MS;
	v->connect_ms = VSOCK_CONNECT_MS;
	v->grant_budget = VSOCK_GRANT_BUDGET;
	v->next_port = VSOCK_LOCAL_PORT0;
	TAILQ_INIT(&v->ready);
	TAILQ_INIT(&v->rwait);
	if (!cfg->uds_path || strlen(cfg->uds_path) + 12 > sizeof(v->uds_path)) {
		log_error("%s: uds_path missing or too long for a unix socket (with _<port>)",
			  v->name);
		return -ENAMETOOLONG;
	}
	v->max_conns = vsock_host_conn_limit(v);
	if (!v->max_conns)
		return -EMFILE;
	v->conns = calloc(v->max_conns, sizeof(*v->conns));
	if (!v->conns)
		return -ENOMEM;
	for (unsigned int i = 0; i < v->max_conns; i++)
		v->conns[i].slot = (uint16_t)i;
	ret = virtio_mmio_init(&v->t, v->name, &vsock_ops, v, features, gm);
	if (ret)
		return ret;
	ret = vsock_uds_init(v, cfg->uds_path);
	if (ret)
		return ret;
	log_info("%s: guest CID %llu, host socket %s, up to %u connections", v->name,
		 (unsigned long long)v->guest_cid, v->uds_path, v->max_conns);
	return 0;
}

void vsock_destroy(struct vsock_dev *v)
{
	if (!v->conns)
		return;  /* never created, or failed before holding anything */
	v->reset_pending = false;
	vsock_conn_drop_all(v);
	vsock_uds_destroy(v);
	if (v->t.ops)
		virtio_mmio_destroy(&v->t);
	v->t.ops = NULL;
	for (unsigned int i = 0; i < v->max_conns; i++) {
		vsock_conn_ring_free(&v->conns[i]);
		free(v->conns[i].rbuf);
	}
	free(v->conns);
	v->conns = NULL;
}
