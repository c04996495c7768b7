// SPDX-License-Identifier: Apache-2.0
/*
 * vsock_conn.c - virtio-vsock connections: the table (slots, hash by port
 * pair, the rx ready list), the state machine from handshake to close, and
 * credit flow control.  See vsock.h.
 *
 * A connection's life: HANDSHAKE (host) or CONNECTING (guest) → [REQUEST
 * (host)] → ESTABLISHED → CLOSING → FREE.  Closing removes the socket at
 * once; the ports stay hashed until the RST owed to the guest, if any, has
 * been delivered (so no new connection takes the pair before the guest
 * heard the old one die), and the slot is released when the host I/O still
 * in flight has completed (cancelled) as well.
 *
 * Graceful close: the guest's SHUTDOWN(SEND) is passed on as SHUT_WR once
 * its data is written; the unix side's EOF as SHUTDOWN(SEND) once its data
 * reached the guest.  When both directions are done (or the guest shut down
 * both), ember sends RST and closes, as §5.10.6.6 asks of the peer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/core/log.h"
#include "vsock_priv.h"

/* ---- the table ---------------------------------------------------------- */

static unsigned int hash_of(uint32_t host_port, uint32_t guest_port)
{
	uint32_t h = host_port * 0x9e3779b1u ^ guest_port * 0x85ebca77u;

	return (h ^ h >> 16) % VSOCK_HASH_SIZE;
}

struct vsock_conn *vsock_conn_find(struct vsock_dev *v, uint32_t host_port, uint32_t guest_port)
{
	struct vsock_conn *c = v->hash[hash_of(host_port, guest_port)];

	while (c && (c->host_port != host_port || c->guest_port != guest_port))
		c = c->hnext;
	return c;
}

void vsock_conn_hash(struct vsock_dev *v, struct vsock_conn *c)
{
	struct vsock_conn **head = &v->hash[hash_of(c->host_port, c->guest_port)];

	c->hnext = *head;
	*head = c;
	c->hashed = true;
}

static void conn_unhash(struct vsock_dev *v, struct vsock_conn *c)
{
	struct vsock_conn **p = &v->hash[hash_of(c->host_port, c->guest_port)];

	if (!c->hashed)
		return;
	while (*p && *p != c)
		p = &(*p)->hnext;
	if (*p)
		*p = c->hnext;
	c->hashed = false;
}

/* Count (or stop counting) `c` against its side's pending budget, with a
 * deadline. */
static void conn_set_pending(struct vsock_dev *v, struct vsock_conn *c, bool on,
			     unsigned int timeout_ms)
{
	unsigned int *nr = c->from_host ? &v->nr_host_pending : &v->nr_guest_pending;
	/* The host budget guards against silent clients: a connection whose
	 * line was read and that waits for the guest's answer costs only the
	 * guest's time, and its deadline still holds. */
	bool line = on && c->from_host && c->state == VSOCK_HANDSHAKE;

	if (line != c->line_wait) {
		v->nr_host_lines = line ? v->nr_host_lines + 1 : v->nr_host_lines - 1;
		c->line_wait = line;
	}
	if (on) {
		c->deadline_us = time_mono_us() + timeout_ms * 1000ull;
		vsock_uds_arm_timer(v, c->deadline_us);
	}
	if (on != c->pending) {
		*nr = on ? *nr + 1 : *nr - 1;
		c->pending = on;
	}
}

struct vsock_conn *vsock_conn_alloc(struct vsock_dev *v, enum vsock_state state)
{
	struct vsock_conn *c = NULL;
	uint32_t gen;
	uint16_t slot;

	if (v->nr_conns >= v->max_conns)
		return NULL;
	for (unsigned int i = 0; i < v->max_conns && !c; i++)
		if (v->conns[i].state == VSOCK_FREE)
			c = &v->conns[i];
	if (!c)
		return NULL;
	slot = c->slot;
	gen = c->gen;
	memset(c, 0, sizeof(*c));
	c->slot = slot;
	c->gen = gen;
	c->state = state;
	c->grant = VSOCK_BUF_ALLOC;
	c->from_host = state == VSOCK_HANDSHAKE;
	v->nr_conns++;
	conn_set_pending(v, c, true, state == VSOCK_HANDSHAKE ? v->handshake_ms : v->connect_ms);
	return c;
}

static void rwait_remove(struct vsock_dev *v, struct vsock_conn *c)
{
	if (c->rwaiting)
		TAILQ_REMOVE(&v->rwait, c, wlink);
	c->rwaiting = false;
}

/* Give an empty staging buffer back to the device's budget. */
static void rbuf_put(struct vsock_dev *v, struct vsock_conn *c)
{
	if (!c->rbuf || c->r_len || (c->io & VSOCK_IO_RECV))
		return;
	free(c->rbuf);
	c->rbuf = NULL;
	c->r_off = 0;
	v->rbuf_used -= VSOCK_RBUF_SIZE;
}

static void conn_free(struct vsock_dev *v, struct vsock_conn *c)
{
	if (c->listed)
		TAILQ_REMOVE(&v->ready, c, rlink);
	rwait_remove(v, c);
	c->r_len = 0;
	rbuf_put(v, c);
	vsock_conn_ring_free(c);
	v->grant_extra -= c->grant - VSOCK_BUF_ALLOC;
	c->grant = VSOCK_BUF_ALLOC;
	c->listed = false;
	c->state = VSOCK_FREE;
	c->gen++;
	v->nr_conns--;
	v->stats.conns_removed++;
}

void vsock_conn_update(struct vsock_dev *v, struct vsock_conn *c)
{
	bool want;

	if (c->state == VSOCK_CLOSING && !(c->pend & VSOCK_PEND_RST))
		conn_unhash(v, c);  /* the guest heard: the pair is free again */
	if (c->state == VSOCK_CLOSING && !c->pend && !c->io) {
		conn_free(v, c);
		return;
	}
	want = c->state != VSOCK_FREE && vsock_conn_has_rx(c);
	if (want && !c->listed)
		TAILQ_INSERT_TAIL(&v->ready, c, rlink);
	else if (!want && c->listed)
		TAILQ_REMOVE(&v->ready, c, rlink);
	c->listed = want;
}

/* Has the guest heard of this connection (so that it needs a RST)? */
static bool guest_knows(const struct vsock_conn *c)
{
	return c->state == VSOCK_CONNECTING || c->state == VSOCK_ESTABLISHED ||
	       (c->state == VSOCK_REQUEST && !(c->pend & VSOCK_PEND_REQUEST));
}

void vsock_conn_close(struct vsock_dev *v, struct vsock_conn *c, bool rst)
{
	bool tell;

	if (c->state == VSOCK_FREE || c->state == VSOCK_CLOSING)
		return;
	tell = rst && guest_knows(c);
	if (!tell)
		conn_unhash(v, c);
	conn_set_pending(v, c, false, 0);
	rwait_remove(v, c);
	vsock_uds_release(v, c);
	c->state = VSOCK_CLOSING;
	c->pend = tell ? VSOCK_PEND_RST : 0;
	c->s_len = c->r_len = 0;
	vsock_conn_update(v, c);
}

void vsock_conn_drop_all(struct vsock_dev *v)
{
	for (unsigned int i = 0; i < v->max_conns; i++) {
		struct vsock_conn *c = &v->conns[i];

		vsock_conn_close(v, c, false);
		if (c->state == VSOCK_CLOSING) {
			c->pend = 0;
			vsock_conn_update(v, c);
		}
	}
	v->nr_orphan = 0;
}

void vsock_orphan_rst(struct vsock_dev *v, uint32_t host_port, uint32_t guest_port)
{
	if (v->nr_orphan == VSOCK_ORPHAN_RST) {
		v->stats.rst_dropped++;
		return;
	}
	v->orphan[v->nr_orphan].host_port = host_port;
	v->orphan[v->nr_orphan].guest_port = guest_port;
	v->nr_orphan++;
}

uint64_t vsock_conn_expire(struct vsock_dev *v, uint64_t now_us)
{
	uint64_t next = 0;

	for (unsigned int i = 0; i < v->max_conns && v->nr_host_pending + v->nr_guest_pending;
	     i++) {
		struct vsock_conn *c = &v->conns[i];

		if (!c->pending)
			continue;
		if (c->deadline_us > now_us) {
			next = !next || c->deadline_us < next ? c->deadline_us : next;
			continue;
		}
		if (c->state == VSOCK_HANDSHAKE)
			v->stats.handshake_fails++;
		else
			v->stats.connect_fails++;
		log_ratelimited(LOG_WARN, "%s: %s timed out", v->name,
				c->state == VSOCK_HANDSHAKE ? "CONNECT line" : "connection set-up");
		vsock_conn_close(v, c, true);
	}
	return next;
}

/* ---- handshakes ------------------------------------------------------------- */

void vsock_conn_host_request(struct vsock_dev *v, struct vsock_conn *c, uint32_t port)
{
	for (unsigned int i = 0; i <= v->max_conns; i++) {
		uint32_t p = v->next_port++;

		if (!v->next_port)
			v->next_port = VSOCK_LOCAL_PORT0;
		if (!vsock_conn_find(v, p, port)) {
			c->host_port = p;
			c->guest_port = port;
			vsock_conn_hash(v, c);
			c->state = VSOCK_REQUEST;
			c->pend |= VSOCK_PEND_REQUEST;
			conn_set_pending(v, c, true, v->connect_ms);
			vsock_conn_update(v, c);
			return;
		}
	}
	vsock_conn_close(v, c, false);
}

void vsock_conn_guest_request(struct vsock_dev *v, uint32_t host_port, uint32_t guest_port,
			      uint32_t buf_alloc, uint32_t fwd_cnt)
{
	struct vsock_conn *c = NULL;

	if (v->nr_guest_pending < VSOCK_MAX_GUEST_PENDING)
		c = vsock_conn_alloc(v, VSOCK_CONNECTING);
	if (!c) {
		v->stats.conns_refused++;
		log_ratelimited(LOG_WARN, "%s: connection to port %u refused: too many %s", v->name,
				host_port, v->nr_conns < v->max_conns ? "connects in progress"
								       : "connections");
		vsock_orphan_rst(v, host_port, guest_port);
		return;
	}
	c->host_port = host_port;
	c->guest_port = guest_port;
	c->peer_buf_alloc = buf_alloc;
	c->peer_fwd_cnt = fwd_cnt;
	vsock_conn_hash(v, c);
	if (vsock_uds_connect(v, c)) {
		v->stats.connect_fails++;
		vsock_conn_close(v, c, true);
	}
}

void vsock_conn_accepted(struct vsock_dev *v, struct vsock_conn *c)
{
	int n;

	if (vsock_conn_ring(c)) {
		vsock_conn_close(v, c, true);
		return;
	}
	n = snprintf((char *)c->sbuf, VSOCK_LINE_MAX, "OK %u\n", c->host_port);
	c->s_head = 0;
	c->s_len = c->s_extra = (uint32_t)n;
	c->state = VSOCK_ESTABLISHED;
	conn_set_pending(v, c, false, 0);
	v->stats.conns_added++;
	vsock_conn_pump(v, c);
	vsock_conn_update(v, c);
}

static void connect_done(struct vsock_dev *v, struct vsock_conn *c, int res)
{
	if (c->state != VSOCK_CONNECTING)
		return;
	if (res < 0) {
		v->stats.connect_fails++;
		log_ratelimited(LOG_INFO, "%s: guest connection to %s: %s", v->name,
				c->addr.sun_path, strerror(-res));
		vsock_conn_close(v, c, true);
		return;
	}
	c->state = VSOCK_ESTABLISHED;
	c->pend |= VSOCK_PEND_RESPONSE;
	conn_set_pending(v, c, false, 0);
	v->stats.conns_added++;
	vsock_conn_pump(v, c);
}

/* ---- data and credit ---------------------------------------------------------- */

uint32_t vsock_conn_ring_size(const struct vsock_conn *c)
{
	return c->grant + VSOCK_LINE_MAX;
}

/* The ring is mapped for the largest grant at once and only its first
 * grant + VSOCK_LINE_MAX bytes are ever written: pages beyond stay
 * untouched (no memory), and a grant grows without moving the bytes
 * waiting in the ring, or a send in flight, elsewhere. */
#define RING_MAP (VSOCK_GRANT_MAX + VSOCK_LINE_MAX)

int vsock_conn_ring(struct vsock_conn *c)
{
	void *ring;

	if (c->sbuf)
		return 0;
	ring = mmap(NULL, RING_MAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ring == MAP_FAILED)
		return -ENOMEM;
	c->sbuf = ring;
	return 0;
}

void vsock_conn_ring_free(struct vsock_conn *c)
{
	if (c->sbuf)
		munmap(c->sbuf, RING_MAP);
	c->sbuf = NULL;
}

/* Double the connection's grant if the device's budget allows.  Only while
 * the bytes in the ring do not wrap: they then sit at the same offsets in
 * the larger ring. */
static void conn_grow(struct vsock_dev *v, struct vsock_conn *c)
{
	uint32_t grant = c->grant * 2;

	if (grant > VSOCK_GRANT_MAX || v->grant_extra + c->grant > v->grant_budget ||
	    c->s_head + c->s_len > vsock_conn_ring_size(c))
		return;
	c->starved = false;
	v->grant_extra += grant - c->grant;
	c->grant = grant;
	c->pend |= VSOCK_PEND_CREDIT;  /* tell the guest now */
	v->stats.credit_grants++;
}

uint32_t vsock_conn_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* Could the connection take unix-socket data now? */
static bool conn_wants_recv(const struct vsock_conn *c)
{
	return !(c->io & (VSOCK_IO_RECV | VSOCK_IO_PEEK)) && !c->host_eof && !c->guest_shut_rcv &&
	       !c->r_inline && c->r_len < VSOCK_RBUF_SIZE &&
	       vsock_conn_peer_credit(c) > c->r_len;
}

/* A staging buffer within the device's budget, else wait on v->rwait. */
static bool rbuf_get(struct vsock_dev *v, struct vsock_conn *c)
{
	if (c->rbuf)
		return true;
	if (v->rbuf_used + VSOCK_RBUF_SIZE > VSOCK_RBUF_BUDGET) {
		if (!c->rwaiting)
			TAILQ_INSERT_TAIL(&v->rwait, c, wlink);
		c->rwaiting = true;
		return false;
	}
	c->rbuf = malloc(VSOCK_RBUF_SIZE);
	if (!c->rbuf) {
		vsock_conn_close(v, c, true);
		return false;
	}
	v->rbuf_used += VSOCK_RBUF_SIZE;
	return true;
}

/* Wait for data with a peek (no buffer held), then receive it into a
 * staging buffer taken from the budget. */
static void conn_recv(struct vsock_dev *v, struct vsock_conn *c)
{
	uint32_t credit = vsock_conn_peer_credit(c), n;

	if (c->r_inline && !c->r_len)
		c->r_inline = false;  /* the bytes after the CONNECT line are out */
	if (!c->readable || !conn_wants_recv(c)) {
		rbuf_put(v, c);
		if (conn_wants_recv(c) && vsock_uds_peek(v, c))
			vsock_conn_close(v, c, true);
		return;
	}
	if (!rbuf_get(v, c))
		return;
	if (c->r_off) {
		memmove(c->rbuf, c->rbuf + c->r_off, c->r_len);
		c->r_off = 0;
	}
	n = VSOCK_RBUF_SIZE - c->r_len;
	n = credit - c->r_len < n ? credit - c->r_len : n;
	c->r_asked = n;
	if (vsock_uds_recv(v, c, c->rbuf + c->r_len, n))
		vsock_conn_close(v, c, true);
}

bool vsock_conn_can_resume(const struct vsock_dev *v)
{
	return !TAILQ_EMPTY(&v->rwait) && v->rbuf_used + VSOCK_RBUF_SIZE <= VSOCK_RBUF_BUDGET;
}

void vsock_conn_resume_recv(struct vsock_dev *v)
{
	struct vsock_conn *c;

	while (vsock_conn_can_resume(v)) {
		c = TAILQ_FIRST(&v->rwait);
		rwait_remove(v, c);
		vsock_conn_pump(v, c);
		vsock_conn_update(v, c);
	}
}

static void conn_send(struct vsock_dev *v, struct vsock_conn *c)
{
	uint32_t n = vsock_conn_ring_size(c) - c->s_head;

	if ((c->io & VSOCK_IO_SEND) || !c->s_len)
		return;
	if (vsock_uds_send(v, c, c->sbuf + c->s_head, c->s_len < n ? c->s_len : n))
		vsock_conn_close(v, c, true);
}

/* Is the guest down to its last quarter of the credit ember last told it?
 * (ember's adverts are ahead of what the guest has read: it may be even
 * shorter than this says.) */
static bool guest_short_of_credit(const struct vsock_conn *c)
{
	return c->grant - (c->rx_cnt - c->fwd_adv) < c->grant / 4;
}

void vsock_conn_credit_used(struct vsock_conn *c)
{
	if (guest_short_of_credit(c))
		c->starved = true;  /* cleared when the grant grows */
}

/* Tell the guest about freed buffer space once it is worth a packet, or
 * when the guest may be about to stall on it.  A guest that ran out of
 * credit while the unix side drained the ring is held back by the window,
 * not by its peer: its grant grows (conn_grow). */
static void conn_credit(struct vsock_dev *v, struct vsock_conn *c)
{
	uint32_t freed = c->fwd_cnt - c->fwd_adv;

	if (c->starved && c->s_len - c->s_extra <= c->grant / 4)
		conn_grow(v, c);  /* a grant that grew is told at once (PEND_CREDIT) */
	if (freed && (freed >= c->grant / 4 || guest_short_of_credit(c)))
		c->pend |= VSOCK_PEND_CREDIT;
}

/* Pass the guest's SHUTDOWN on once its data is out; close when both
 * directions are done. */
static void conn_finish(struct vsock_dev *v, struct vsock_conn *c)
{
	if (!c->guest_shut_send || c->s_len || (c->io & VSOCK_IO_SEND))
		return;
	if (c->guest_shut_rcv || c->shut_sent) {
		vsock_conn_close(v, c, true);
		return;
	}
	if (!c->wr_shut) {
		c->wr_shut = true;
		if (vsock_uds_shut_wr(v, c))
			vsock_conn_close(v, c, true);
	}
}

void vsock_conn_pump(struct vsock_dev *v, struct vsock_conn *c)
{
	if (c->state != VSOCK_ESTABLISHED)
		return;
	conn_recv(v, c);
	if (c->state == VSOCK_ESTABLISHED)
		conn_send(v, c);
	if (c->state == VSOCK_ESTABLISHED) {
		conn_credit(v, c);
		conn_finish(v, c);
	}
}

static void recv_done(struct vsock_dev *v, struct vsock_conn *c, int res)
{
	/* A receive that filled its room leaves more behind, as a stream goes:
	 * receive again at once.  Otherwise peek first, so that a quiet socket
	 * holds no staging buffer. */
	c->readable = res > 0 && (uint32_t)res == c->r_asked;
	if (res < 0) {
		v->stats.rx_read_fails++;
		log_ratelimited(LOG_INFO, "%s: port %u: unix socket: %s", v->name, c->host_port,
				strerror(-res));
		vsock_conn_close(v, c, true);
		return;
	}
	if (res == 0) {
		c->host_eof = true;
		c->pend |= VSOCK_PEND_SHUTDOWN;
	}
	if (!c->guest_shut_rcv)  /* else: it reads no more, drop it */
		c->r_len += (uint32_t)res;
	vsock_conn_pump(v, c);
}

static void send_done(struct vsock_dev *v, struct vsock_conn *c, int res)
{
	uint32_t n = (uint32_t)res, ours;

	if (res <= 0) {
		v->stats.tx_write_fails++;
		log_ratelimited(LOG_INFO, "%s: port %u: unix socket: %s", v->name, c->host_port,
				res ? strerror(-res) : "no progress");
		vsock_conn_close(v, c, true);
		return;
	}
	ours = n < c->s_extra ? n : c->s_extra;
	c->s_extra -= ours;
	c->fwd_cnt += n - ours;
	c->s_head = (c->s_head + n) % vsock_conn_ring_size(c);
	c->s_len -= n;
	vsock_conn_pump(v, c);
}

void vsock_conn_io_done(struct vsock_dev *v, struct vsock_conn *c, unsigned int kind, int res)
{
	if (c->state != VSOCK_CLOSING) {
		if (kind == VSOCK_IO_RECV || (kind == VSOCK_IO_PEEK && res <= 0))
			recv_done(v, c, res);  /* a peek's EOF or error is the socket's */
		else if (kind == VSOCK_IO_PEEK)
			c->readable = true;
		else if (kind == VSOCK_IO_SEND)
			send_done(v, c, res);
		else if (kind == VSOCK_IO_CONNECT)
			connect_done(v, c, res);
		else if (kind == VSOCK_IO_SHUT && res < 0)
			vsock_conn_close(v, c, true);
		vsock_conn_pump(v, c);
	}
	vsock_conn_update(v, c);
}
