// SPDX-License-Identifier: Apache-2.0
/*
 * net_rx.c - virtio-net's receive path: rx chains taken from the guest
 * (with MRG_RXBUF enough for the largest frame), one tap READV into them,
 * the header checked against what was negotiated, num_buffers set, and only
 * the chains the frame filled returned.  vmm thread, transport lock held.
 * See net.h for the contract.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/timerfd.h>

#include "vmm/core/log.h"
#include "net_priv.h"

#define TUN_F_GSO (TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO)

/* Copy between `buf` and the first `len` bytes an iovec array covers. */
static int iov_copy(const struct iovec *iov, unsigned int nr, void *buf, size_t len, bool to_iov)
{
	uint8_t *p = buf;

	for (unsigned int i = 0; i < nr && len; i++) {
		size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;

		if (to_iov)
			memcpy(iov[i].iov_base, p, k);
		else
			memcpy(p, iov[i].iov_base, k);
		p += k;
		len -= k;
	}
	return len ? -EFAULT : 0;
}

static bool rx_mrg(const struct net_dev *n)
{
	return net_has(n, VIRTIO_NET_F_MRG_RXBUF);
}

/* The largest read: header plus the largest frame the tap may hand us
 * (without GSO: one of the configured mtu, as the tap has it too). */
static uint64_t rx_max_read(const struct net_dev *n)
{
	uint64_t plain = (uint64_t)n->mtu + NET_ETH_HLEN + NET_VLAN_HLEN;

	if (n->offload & TUN_F_GSO)
		return NET_HDR_LEN + NET_MAX_FRAME;
	return NET_HDR_LEN + (plain > NET_RX_SMALL ? plain : NET_RX_SMALL);
}

static struct net_rx_chain *rx_chain(struct net_dev *n, unsigned int i)
{
	return &n->rx.chains[(n->rx.first + i) % NET_QUEUE_SIZE];
}

/* Should more chains be taken (while the ring has them) before the next
 * read?  (MRG_RXBUF: until they hold the largest frame, within the READV's
 * iovec limit; else one chain.) */
static bool rx_need_more(const struct net_dev *n)
{
	if (!rx_mrg(n))
		return !n->rx.nr;
	return n->rx.bytes < rx_max_read(n) && n->rx.iovs < NET_RX_MAX_IOV &&
	       n->rx.nr < n->t.queues[NET_RXQ].size;
}

/* Keep a popped rx chain at the end of the FIFO. */
static int rx_take(struct net_dev *n, const struct virtq_chain *c)
{
	struct net_rx_chain *s = rx_chain(n, n->rx.nr);
	int nr;

	if (c->nr_readable || c->writable_len < NET_HDR_LEN)
		return -EPROTO;  /* device-readable buffers, or no room for the header */
	if (net_iov_reserve(&s->iov, &s->iov_cap, s->iov_inline, c->nr_bufs))
		return -ENOMEM;
	nr = virtq_chain_iov(n->t.gm, c, true, 0, c->writable_len, s->iov, s->iov_cap);
	if (nr < 0)
		return -EPROTO;
	s->nr_iov = (unsigned int)nr;
	s->head = c->head;
	s->len = c->writable_len;
	s->slots = c->nr_slots;
	n->rx.nr++;
	n->rx.bytes += s->len;
	n->rx.iovs += s->nr_iov;
	n->rx.slots += s->slots;
	return 0;
}

static void rx_drop_first(struct net_dev *n)
{
	struct net_rx_chain *s = rx_chain(n, 0);

	n->rx.first = (n->rx.first + 1) % NET_QUEUE_SIZE;
	n->rx.nr--;
	n->rx.bytes -= s->len;
	n->rx.iovs -= s->nr_iov;
	n->rx.slots -= s->slots;
}

/* Start (on) or stop the bound on waiting for more rx buffers. */
void net_rx_wait_timer(struct net_dev *n, bool on)
{
	struct itimerspec its = { 0 };

	if (on == n->rx.wait_armed || !n->rx.wait_timer.cb)
		return;
	if (on)
		its.it_value.tv_nsec = NET_RX_WAIT_MS * 1000000L;
	if (timerfd_settime(n->rx.wait_timer.fd, 0, &its, NULL)) {
		log_ratelimited(LOG_WARN, "%s: rx wait timer: %s", n->name, strerror(errno));
		if (on)
			n->rx.wait_over = true;  /* no bound: do not wait at all */
		return;
	}
	n->rx.wait_armed = on;
}

/* Pop rx chains until the next read has room for the largest frame, or
 * none are available and notifications are re-enabled (then no more come
 * without a notify: net_rx_start decides whether to wait for one).  0 or
 * -EPROTO / -ENOMEM. */
static int rx_fill(struct net_dev *n)
{
	struct virtq *q = &n->t.queues[NET_RXQ];
	int ret;

	for (;;) {
		while (rx_need_more(n)) {
			ret = virtq_pop(q, &n->chain);
			if (ret <= 0) {
				if (ret < 0)
					return ret;
				break;
			}
			ret = rx_take(n, &n->chain);
			if (ret)
				return ret;
		}
		if (!rx_need_more(n) || !virtq_enable_notify(q))
			return 0;
	}
}

/* The READV over the first chains (all the frame may need). */
static void rx_build_read(struct net_dev *n)
{
	struct net_rx_read *rd = &n->rx.read;
	uint64_t max = rx_max_read(n);

	rd->nr_iov = rd->nr_chains = 0;
	rd->cap = 0;
	for (unsigned int i = 0; i < n->rx.nr; i++) {
		struct net_rx_chain *s = rx_chain(n, i);

		if (rd->nr_iov + s->nr_iov > NET_RX_MAX_IOV)
			break;
		memcpy(&rd->iov[rd->nr_iov], s->iov, s->nr_iov * sizeof(*s->iov));
		rd->nr_iov += s->nr_iov;
		rd->cap += s->len;
		rd->nr_chains++;
		if (!rx_mrg(n) || rd->cap >= max)
			break;
	}
}

/* Keep a READV in flight while the guest has buffers for it. */
void net_rx_start(struct net_dev *n)
{
	struct virtq *q = &n->t.queues[NET_RXQ];
	int ret;

	if (!net_live(n) || !q->ready || q->broken || n->rx.held || n->rx.stalled)
		return;
	ret = rx_fill(n);  /* also while a read from before a reset is parked */
	if (ret) {
		virtio_mmio_needs_reset(&n->t, ret == -ENOMEM ? "out of memory" :
					"rx chain with readable buffers or no room for a header");
		return;
	}
	if (n->rx.read.busy)
		return;
	/* None held, or (MRG_RXBUF) short of the largest frame with the ring
	 * empty but descriptor-table entries left for the guest to post into:
	 * wait for its next queue-0 notify, a short wait bounded by the timer
	 * (a driver may never fill its ring).  With every entry held no more
	 * can come: read into what is held and drop a frame larger than that. */
	if (!n->rx.nr || (rx_need_more(n) && n->rx.slots < q->size && !n->rx.wait_over)) {
		if (!n->rx.waiting)
			n->stats.rx_waits_no_buffers++;
		n->rx.waiting = true;
		if (n->rx.nr)
			net_rx_wait_timer(n, true);
		return;
	}
	n->rx.waiting = n->rx.wait_over = false;
	net_rx_wait_timer(n, false);
	rx_build_read(n);
	ret = net_io_readv(n, n->rx.read.iov, n->rx.read.nr_iov, &n->rx.read);
	if (ret) {
		log_ratelimited(LOG_WARN, "%s: cannot queue a tap read: %s", n->name, strerror(-ret));
		net_io_retry_later(n);
		return;
	}
	n->rx.read.busy = true;
	n->rx.read.epoch = n->epoch;
}

/* Why the tap's header for the guest (a copy) is not what it negotiated. */
static const char *rx_hdr_error(const struct net_dev *n, struct virtio_net_hdr_v1 *h)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	unsigned int need;

	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return "unknown flags";
	if (!net_has(n, VIRTIO_NET_F_GUEST_CSUM)) {
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return "NEEDS_CSUM without GUEST_CSUM";
		h->flags = 0;  /* DATA_VALID is only a hint: the guest checks itself */
	}
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	    (gso == VIRTIO_NET_HDR_GSO_NONE || !net_has(n, VIRTIO_NET_F_GUEST_ECN)))
		return "GSO ECN not negotiated";
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE: return NULL;
	case VIRTIO_NET_HDR_GSO_TCPV4: need = VIRTIO_NET_F_GUEST_TSO4; break;
	case VIRTIO_NET_HDR_GSO_TCPV6: need = VIRTIO_NET_F_GUEST_TSO6; break;
	case VIRTIO_NET_HDR_GSO_UDP: need = VIRTIO_NET_F_GUEST_UFO; break;
	default: return "unknown gso_type";
	}
	return net_has(n, need) ? NULL : "gso_type not negotiated";
}

/* Return the chains the held frame filled, num_buffers set, published with
 * one used->idx store (a driver polling the ring sees the whole frame or
 * none of it); through the rx bucket first (throttled: it stays held until
 * the timer fires). */
void net_rx_deliver(struct net_dev *n)
{
	struct virtq *q = &n->t.queues[NET_RXQ];
	uint64_t left = n->rx.held_len;
	unsigned int count = 0;
	int ret = 0;

	if (net_throttled(n, NET_RXQ, n->rx.held_len - NET_HDR_LEN))
		return;
	n->rx.held = false;
	for (uint64_t room = 0; room < left && count < n->rx.read.nr_chains; count++)
		room += rx_chain(n, count)->len;
	n->rx.hdr.num_buffers = htole16((uint16_t)count);
	iov_copy(rx_chain(n, 0)->iov, rx_chain(n, 0)->nr_iov, &n->rx.hdr, NET_HDR_LEN, true);
	for (unsigned int i = 0; i < count; i++) {
		struct net_rx_chain *s = rx_chain(n, 0);
		uint32_t used = (uint32_t)(s->len < left ? s->len : left);

		left -= used;
		rx_drop_first(n);
		if (!ret)
			ret = virtq_fill(q, s->head, used, (uint16_t)i);
	}
	if (ret || virtq_flush(q, (uint16_t)count)) {
		virtio_mmio_needs_reset(&n->t, "cannot return an rx chain");
		return;
	}
	n->stats.rx_frames++;
	n->stats.rx_bytes += n->rx.held_len - NET_HDR_LEN;
	n->need_irq[NET_RXQ] = true;
}

/* Why the frame just read (`len` bytes with the header, the header copied
 * to n->rx.hdr) is not for the guest, or NULL; *bad_hdr: which counter. */
static const char *rx_frame_error(struct net_dev *n, uint64_t len, bool *bad_hdr)
{
	uint8_t gso;
	const char *why;

	*bad_hdr = false;
	if (len < NET_HDR_LEN + NET_MIN_FRAME)
		return "too short";
	if (len > n->rx.read.cap)
		return "larger than the buffers";
	iov_copy(n->rx.read.iov, n->rx.read.nr_iov, &n->rx.hdr, NET_HDR_LEN, false);
	why = rx_hdr_error(n, &n->rx.hdr);
	*bad_hdr = why != NULL;
	if (why)
		return why;
	/* virtio 1.2 §5.1.6.3: no longer than the MTU we offered (a VLAN tag too) */
	gso = n->rx.hdr.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	if (net_has(n, VIRTIO_NET_F_MTU) && gso == VIRTIO_NET_HDR_GSO_NONE &&
	    len > NET_HDR_LEN + (size_t)n->mtu + NET_ETH_HLEN + NET_VLAN_HLEN)
		return "longer than the MTU";
	return NULL;
}

void net_rx_done(struct net_dev *n, int res)
{
	struct net_rx_read *rd = &n->rx.read;
	const char *why;
	bool bad_hdr;

	rd->busy = false;
	if (res > 0)  /* the host wrote guest RAM (even before a reset): dirty pages */
		gm_mark_dirty_iov(n->t.gm, rd->iov, rd->nr_iov);
	if (rd->epoch != n->epoch) {
		n->stats.stale_completions++;  /* read before a reset: the frame is lost */
		return;
	}
	n->stats.tap_reads++;
	if (res == -EAGAIN || res == -EINTR || res == -ECANCELED)
		return;  /* ECANCELED: the snapshot drain stopped it; started again after */
	if (res <= 0) {
		n->stats.io_errors++;
		n->rx.stalled = true;  /* until the retry timer */
		net_io_retry_later(n);
		log_ratelimited(LOG_WARN, "%s: tap read: %s", n->name,
				res ? strerror(-res) : "end of file");
		return;
	}
	net_io_retry_reset(n);
	why = rx_frame_error(n, (uint64_t)res, &bad_hdr);
	if (why) {
		(*(bad_hdr ? &n->stats.rx_dropped_bad_hdr : &n->stats.rx_dropped_bad_len))++;
		log_ratelimited(LOG_WARN, "%s: rx frame of %llu bytes dropped: %s", n->name,
				(unsigned long long)res, why);
		return;
	}
	n->rx.held = true;
	n->rx.held_len = (uint32_t)res;
	net_rx_deliver(n);
}
