// SPDX-License-Identifier: Apache-2.0
/*
 * net_tx.c - virtio-net's transmit path: each chain's header copied out of
 * guest RAM once and the copy validated, then the validated header and the
 * frame (straight from guest RAM) written to the tap in one WRITEV.  vmm
 * thread, transport lock held.  See net.h for the contract.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "vmm/core/log.h"
#include "net_priv.h"

static struct net_tx_req *tx_alloc(struct net_dev *n)
{
	struct net_tx_req *r;

	if (!n->nr_tx_free)
		return NULL;
	r = &n->tx_reqs[n->tx_free[--n->nr_tx_free]];
	r->busy = true;
	r->epoch = n->epoch;
	return r;
}

void net_tx_free(struct net_dev *n, struct net_tx_req *r)
{
	r->busy = false;
	n->tx_free[n->nr_tx_free++] = (uint16_t)(r - n->tx_reqs);
}

/* Why the guest's header (a copy) cannot go to the tap, or NULL. */
static const char *tx_hdr_error(const struct net_dev *n, const struct virtio_net_hdr_v1 *h,
				uint32_t len)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	unsigned int need;

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return "flags other than NEEDS_CSUM";
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!net_has(n, VIRTIO_NET_F_CSUM))
			return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
		if ((uint32_t)le16toh(h->csum_start) + le16toh(h->csum_offset) + 2 > len)
			return "csum_start + csum_offset past the frame";
	}
	if (le16toh(h->hdr_len) > len)
		return "hdr_len past the frame";
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	    (gso == VIRTIO_NET_HDR_GSO_NONE || !net_has(n, VIRTIO_NET_F_HOST_ECN)))
		return "GSO ECN not negotiated";
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE: return NULL;
	case VIRTIO_NET_HDR_GSO_TCPV4: need = VIRTIO_NET_F_HOST_TSO4; break;
	case VIRTIO_NET_HDR_GSO_TCPV6: need = VIRTIO_NET_F_HOST_TSO6; break;
	case VIRTIO_NET_HDR_GSO_UDP: need = VIRTIO_NET_F_HOST_UFO; break;
	default: return "unknown gso_type";
	}
	if (!net_has(n, need))
		return "gso_type not negotiated";
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return "GSO without NEEDS_CSUM";
	if (!le16toh(h->gso_size) || le16toh(h->gso_size) > len)
		return "gso_size 0 or past the frame";
	return NULL;
}

static int tx_drop(struct net_dev *n, struct net_tx_req *r, uint64_t *counter, const char *why,
		   uint64_t len)
{
	r->drop = true;
	(*counter)++;
	log_ratelimited(LOG_WARN, "%s: tx frame of %llu bytes dropped: %s", n->name,
			(unsigned long long)len, why);
	return 1;
}

/* A popped tx chain: 0 with `r` ready to write, 1 when the frame is to be
 * dropped (counted), -EPROTO when the chain cannot be a frame at all. */
static int tx_parse(struct net_dev *n, const struct virtq_chain *c, struct net_tx_req *r)
{
	uint64_t len;
	const char *why;
	int nr;

	r->head = c->head;
	r->nr_iov = 0;
	r->drop = false;
	if (c->nr_readable != c->nr_bufs || c->readable_len < NET_HDR_LEN ||
	    virtq_chain_copy(n->t.gm, c, false, 0, &r->hdr, NET_HDR_LEN))
		return -EPROTO;  /* device-writable buffers, or no header */
	len = c->readable_len - NET_HDR_LEN;
	if (len > NET_MAX_FRAME)
		return tx_drop(n, r, &n->stats.tx_dropped_oversize, "longer than 65550 bytes", len);
	if (len < NET_MIN_FRAME)
		return tx_drop(n, r, &n->stats.tx_dropped_runt, "shorter than an Ethernet header",
			       len);
	why = tx_hdr_error(n, &r->hdr, (uint32_t)len);
	if (why)
		return tx_drop(n, r, &n->stats.tx_dropped_bad_hdr, why, len);
	r->hdr.num_buffers = 0;
	r->len = (uint32_t)len;
	if (net_iov_reserve(&r->iov, &r->iov_cap, r->iov_inline, 1u + c->nr_bufs))
		return -ENOMEM;
	r->iov[r->nr_iov++] = (struct iovec){ .iov_base = &r->hdr, .iov_len = NET_HDR_LEN };
	nr = virtq_chain_iov(n->t.gm, c, false, NET_HDR_LEN, len, r->iov + 1, r->iov_cap - 1);
	if (nr < 0)
		return -EPROTO;
	r->nr_iov += (unsigned int)nr;
	return 0;
}

/* Return the chain (length 0); published by net_tx_flush, with the others
 * returned in this net_run (or at once when a queue's worth is waiting:
 * the used ring holds no more). */
static void tx_push(struct net_dev *n, struct net_tx_req *r)
{
	struct virtq *q = &n->t.queues[NET_TXQ];

	if (r->epoch != n->epoch || !q->ready) {
		n->stats.stale_completions++;
	} else if (!q->broken) {
		if (virtq_fill(q, r->head, 0, n->tx_fills))
			virtio_mmio_needs_reset(&n->t, "cannot return a tx chain");
		else if (++n->tx_fills >= q->size)
			net_tx_flush(n);
	}
	net_tx_free(n, r);
}

void net_tx_flush(struct net_dev *n)
{
	struct virtq *q = &n->t.queues[NET_TXQ];
	uint16_t count = n->tx_fills;

	n->tx_fills = 0;
	if (!count)
		return;
	if (virtq_flush(q, count)) {
		if (q->ready && !q->broken)  /* a broken queue already asked for it */
			virtio_mmio_needs_reset(&n->t, "cannot return tx chains");
		return;
	}
	n->need_irq[NET_TXQ] = true;
}

/* Through the tx bucket (a dropped frame: one op) to the engine, or back to
 * the guest; false when throttled (r deferred). */
bool net_tx_go(struct net_dev *n, struct net_tx_req *r)
{
	int ret;

	if (net_throttled(n, NET_TXQ, r->drop ? 0 : r->len)) {
		n->tx_deferred = r;
		return false;
	}
	if (r->drop) {
		tx_push(n, r);
		return true;
	}
	ret = net_io_writev(n, r->iov, r->nr_iov, r);
	if (ret)
		net_io_done(n, r, ret);
	return true;
}

static void tx_start(struct net_dev *n, struct net_tx_req *r)
{
	int ret = tx_parse(n, &n->chain, r);

	if (ret < 0) {
		net_tx_free(n, r);
		virtio_mmio_needs_reset(&n->t, ret == -ENOMEM ? "out of memory" :
					"tx chain without a readable header, or with writable buffers");
	} else {
		net_tx_go(n, r);  /* ret > 0: a dropped frame, charged one op */
	}
}

void net_tx_done(struct net_dev *n, struct net_tx_req *r, int res)
{
	if (res == (int)(NET_HDR_LEN + r->len)) {
		n->stats.tx_frames++;
		n->stats.tx_bytes += r->len;
	} else {
		n->stats.io_errors++;
		log_ratelimited(LOG_WARN, "%s: tap write of %u bytes: %s", n->name,
				NET_HDR_LEN + r->len, res < 0 ? strerror(-res) : "short write");
	}
	tx_push(n, r);
}

/* Take every available tx chain (until throttled, out of requests or a
 * queue's worth taken), then re-enable notifications and look once more
 * for entries that raced.  Past the budget the event loop calls again. */
void net_tx_process(struct net_dev *n)
{
	struct virtq *q = &n->t.queues[NET_TXQ];
	unsigned int budget = q->size;
	struct net_tx_req *r;
	int ret = 1;

	if (!net_live(n) || !q->ready || q->broken || n->tx_deferred)
		return;  /* throttled: on_rl_timer resumes */
	do {
		while (ret > 0) {
			if (n->tx_deferred || !net_live(n))
				return;
			if (!budget--) {
				net_io_wake(n);
				return;
			}
			r = tx_alloc(n);
			if (!r)
				return;  /* every request busy: a completion resumes */
			ret = virtq_pop(q, &n->chain);
			if (ret <= 0) {
				net_tx_free(n, r);
				break;
			}
			tx_start(n, r);
		}
		if (ret < 0) {
			virtio_mmio_needs_reset(&n->t, "transmit queue violation");
			return;
		}
		ret = 1;
	} while (virtq_enable_notify(q));
}
