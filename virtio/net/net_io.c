// SPDX-License-Identifier: Apache-2.0
/*
 * net_io.c - virtio-net's io_uring engine (see net.h).
 *
 * One ring per device.  It is created disabled, the tap is registered as
 * fixed file 0 and the completion eventfd is registered; then the ring is
 * restricted to READV, WRITEV and ASYNC_CANCEL, every SQE on a fixed file,
 * and enabled: from then on it can touch nothing but the tap (a cancel only
 * names a request of this ring).  The tap is O_NONBLOCK (net.c: without it
 * io_uring punts every tap request to an io-wq worker), so a WRITEV, and a
 * READV with a frame waiting, complete inline at submit; a READV with no
 * frame waiting is parked by the kernel (polled) and completes when one
 * arrives.  Completions wake the vmm thread through the eventfd; each is
 * handed to net_io_done under the transport's lock, then net_run.
 *
 * A failed submit (and, from net_rx.c, a failed tap read) is retried from
 * a timerfd with backoff; net_io_destroy cancels every request in flight
 * (IORING_ASYNC_CANCEL_ANY) and reaps them before the ring goes.
 *
 * Every access to the ring's SQ and CQ happens with the transport's lock
 * held: the vmm thread's completion handler, net_run's kicks (notify, the
 * rate limiter timers) and net_io_cancel, called by the reset op on a vCPU
 * thread.  That lock is what makes the ring single-user; liburing's ring
 * helpers are not thread-safe on their own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/core/log.h"
#include "virtio/uring.h"
#include "net_priv.h"

#define NET_RING_ENTRIES (2 * NET_QUEUE_SIZE)
#define NET_RETRY_MIN_MS 10
#define NET_RETRY_MAX_MS 1000

struct net_uring {
	struct io_uring ring;
	int efd;
	bool ring_up;
	bool can_wait;              /* IORING_FEAT_EXT_ARG: waits with a timeout */
	unsigned int queued;        /* SQEs prepared since the last submit */
	unsigned int pending;       /* READV/WRITEVs prepared, not yet completed */
	bool reaped;                /* completions reaped since the eventfd was read */
	bool woken;                 /* net_io_wake: the eventfd must stay signalled */
	struct ev_source retry;     /* timerfd: try again after a failure */
	bool retry_armed;
	unsigned int retry_ms;      /* the last backoff, 0: none yet */
};

/* Hand every completion there to net_io_done; a cancel's own completion
 * (tagged with the engine) is only looked at. */
static void uring_reap(struct net_dev *n)
{
	struct net_uring *u = n->io;
	struct io_uring_cqe *cqe;

	while (!io_uring_peek_cqe(&u->ring, &cqe)) {
		void *tag = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		u->reaped = true;
		if (tag != u) {
			u->pending--;
			net_io_done(n, tag, res);
		} else if (res < 0 && res != -ENOENT && res != -EALREADY)  /* ANY: a count */
			log_ratelimited(LOG_WARN, "%s: io_uring cancel: %s", n->name, strerror(-res));
	}
}

bool net_io_queued(const struct net_dev *n)
{
	return n->io && n->io->queued;
}

int net_io_kick(struct net_dev *n, bool reap)
{
	struct net_uring *u = n->io;
	int ret = 0;

	if (u->queued) {
		ret = io_uring_submit(&u->ring);
		if (ret < 0) {
			log_ratelimited(LOG_WARN, "%s: io_uring submit: %s", n->name, strerror(-ret));
			net_io_retry_later(n);  /* the SQEs stay queued for it */
		} else {
			u->queued = 0;
			ret = 0;
		}
	}
	if (reap)
		uring_reap(n);
	return ret;
}

/* Every CQE posted also signals the eventfd, those of requests that
 * completed inline at submit (and were reaped then) too: read it now, or
 * the event loop would wake up once more for nothing.  Draining first and
 * then reaping loses nothing (a CQE is in the ring before its signal).
 * Not while a net_io_wake is outstanding. */
bool net_io_settle(struct net_dev *n)
{
	struct net_uring *u = n->io;
	uint64_t v;

	if (!u || !u->reaped || u->woken)
		return false;
	if (read(u->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return false;
	u->reaped = false;
	uring_reap(n);
	return u->reaped;
}

void net_io_wake(struct net_dev *n)
{
	uint64_t one = 1;

	if (!n->io)
		return;
	n->io->woken = true;
	if (write(n->io->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_WARN, "%s: eventfd: %s", n->name, strerror(errno));
}

void net_io_retry_later(struct net_dev *n)
{
	struct net_uring *u = n->io;
	struct itimerspec its = { 0 };

	if (!u || !u->retry.cb || u->retry_armed)
		return;
	u->retry_ms = u->retry_ms ? 2 * u->retry_ms : NET_RETRY_MIN_MS;
	if (u->retry_ms > NET_RETRY_MAX_MS)
		u->retry_ms = NET_RETRY_MAX_MS;
	its.it_value.tv_sec = u->retry_ms / 1000;
	its.it_value.tv_nsec = (long)(u->retry_ms % 1000) * 1000000L;
	if (timerfd_settime(u->retry.fd, 0, &its, NULL))
		log_ratelimited(LOG_WARN, "%s: retry timer: %s", n->name, strerror(errno));
	else
		u->retry_armed = true;
}

void net_io_retry_reset(struct net_dev *n)
{
	if (n->io)
		n->io->retry_ms = 0;
}

/* vmm thread: the backoff after a failure is over. */
static void on_retry(struct ev_source *src, uint32_t events)
{
	struct net_dev *n = src->opaque;
	uint64_t v;

	(void)events;
	if (read(src->fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&n->t.lock);
	n->io->retry_armed = false;
	n->rx.stalled = false;
	net_run(n);  /* submits what is queued, reads the tap again */
	pthread_mutex_unlock(&n->t.lock);
}

static struct io_uring_sqe *get_sqe(struct net_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {  /* the submission queue is full: push it to the kernel first */
		if (io_uring_submit(&u->ring) >= 0)
			u->queued = 0;
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static int queue_rw(struct net_dev *n, bool write, const struct iovec *iov, unsigned int nr,
		    void *tag)
{
	struct net_uring *u = n->io;
	struct io_uring_sqe *sqe = get_sqe(u);

	if (!sqe)
		return -EBUSY;
	if (write)
		io_uring_prep_writev(sqe, 0, iov, nr, 0);
	else
		io_uring_prep_readv(sqe, 0, iov, nr, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, tag);
	u->queued++;
	u->pending++;
	return 0;
}

int net_io_readv(struct net_dev *n, const struct iovec *iov, unsigned int nr, void *tag)
{
	return queue_rw(n, false, iov, nr, tag);
}

int net_io_writev(struct net_dev *n, const struct iovec *iov, unsigned int nr, void *tag)
{
	return queue_rw(n, true, iov, nr, tag);
}

/* Queue an ASYNC_CANCEL of the requests tagged `tag` (NULL: of every
 * request, IORING_ASYNC_CANCEL_ANY); its own completion is tagged with the
 * engine. */
static int queue_cancel(struct net_uring *u, void *tag)
{
	int ret = uring_prep_cancel(&u->ring, tag, u);

	u->queued = io_uring_sq_ready(&u->ring);
	return ret;
}

struct wait_idle {
	struct net_dev *n;
	const bool *busy;           /* NULL: wait until no request is pending */
};

/* uring_wait_idle's reap: still waiting? */
static bool reap_busy(void *opaque)
{
	struct wait_idle *w = opaque;
	struct net_uring *u = w->n->io;

	u->queued = io_uring_sq_ready(&u->ring);  /* uring_wait_idle submitted them */
	uring_reap(w->n);
	return w->busy ? *w->busy : u->pending;
}

/* Cancel the requests tagged `tag` (ASYNC_CANCEL by user_data: the kernel
 * either stops one that has not run, -ECANCELED, or finds it finished or
 * finishing) and reap every completion until *busy is false.  Only
 * io_uring_enter: submit, then waits bounded by `ms` (EXT_ARG timeouts). */
int net_io_cancel(struct net_dev *n, void *tag, const bool *busy, unsigned int ms)
{
	uint64_t end = uring_now_ns() + (uint64_t)ms * 1000000ULL;
	int ret;

	if (!n->io || !*busy)
		return 0;
	ret = queue_cancel(n->io, tag);
	return ret ? ret : uring_wait_idle(&n->io->ring, reap_busy,
					   &(struct wait_idle){ n, busy }, end);
}

int net_io_wait_idle(struct net_dev *n, uint64_t end_ns)
{
	if (!n->io || (!n->io->pending && !n->io->queued))
		return 0;
	return uring_wait_idle(&n->io->ring, reap_busy, &(struct wait_idle){ n, NULL }, end_ns);
}

/* vmm thread: the ring signalled completions. */
static void uring_on_done(struct ev_source *src, uint32_t events)
{
	struct net_dev *n = src->opaque;
	uint64_t v;

	(void)events;
	if (read(n->io->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&n->t.lock);
	n->io->woken = false;  /* this is the wake-up it asked for */
	n->io->reaped = false;
	n->stats.io_wakeups++;
	net_io_kick(n, true);
	if (!n->io->reaped)
		n->stats.io_wakeups_idle++;
	net_run(n);
	pthread_mutex_unlock(&n->t.lock);
}

/* Only the tap: READV and WRITEV as fixed file 0, and ASYNC_CANCEL (of
 * this ring's own requests, for the reset); every SQE flagged fixed-file. */
static const uint8_t net_ring_ops[] = { IORING_OP_READV, IORING_OP_WRITEV,
					IORING_OP_ASYNC_CANCEL };

static int retry_init(struct net_dev *n)
{
	struct net_uring *u = n->io;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), ret;

	if (fd < 0)
		return -errno;
	u->retry = (struct ev_source){ .fd = fd, .cb = on_retry, .opaque = n };
	ret = ev_add(n->loop, &u->retry, EPOLLIN);
	if (ret) {
		close(fd);
		u->retry.cb = NULL;
	}
	return ret;
}

int net_io_init(struct net_dev *n)
{
	struct net_uring *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return -ENOMEM;
	n->io = u;
	u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->efd < 0)
		return -errno;
	ret = uring_open(&u->ring, &(struct uring_spec){
		.entries = NET_RING_ENTRIES, .files = &n->fd, .nr_files = 1, .efd = u->efd,
		.ops = net_ring_ops, .nr_ops = sizeof(net_ring_ops) });
	if (ret)
		return ret;
	u->ring_up = true;
	u->can_wait = u->ring.features & IORING_FEAT_EXT_ARG;
	if (!u->can_wait)
		log_warn("%s: the kernel lacks IORING_FEAT_EXT_ARG: a reset cannot wait for the "
			 "tap read it cancels", n->name);
	n->done_src = (struct ev_source){ .fd = u->efd, .cb = uring_on_done, .opaque = n };
	ret = ev_add(n->loop, &n->done_src, EPOLLIN);
	if (ret) {
		n->done_src.cb = NULL;
		return ret;
	}
	return retry_init(n);
}

/* Before the ring goes: no request may outlive the device (a READV into
 * guest RAM above all, which vm_destroy unmaps next); io_uring_queue_exit
 * alone would only start their cancellation. */
static void uring_drain(struct net_dev *n)
{
	struct net_uring *u = n->io;
	int ret;

	if (!u->pending && !u->queued)
		return;
	ret = queue_cancel(u, NULL);
	if (!ret)
		ret = uring_wait_idle(&u->ring, reap_busy, &(struct wait_idle){ n, NULL },
				      uring_now_ns() + NET_RESET_WAIT_MS * 1000000ULL);
	if (ret)
		log_error("%s: %u tap requests still in flight at teardown (%s)", n->name,
			  u->pending, ret == -ETIME ? "timed out" : strerror(-ret));
}

void net_io_destroy(struct net_dev *n)
{
	struct net_uring *u = n->io;

	if (!u)
		return;
	if (n->done_src.cb)
		ev_del(n->loop, &n->done_src);
	n->done_src.cb = NULL;
	if (u->retry.cb) {
		ev_del(n->loop, &u->retry);
		close(u->retry.fd);
		u->retry.cb = NULL;
	}
	if (u->ring_up) {
		uring_drain(n);
		io_uring_queue_exit(&u->ring);
	}
	if (u->efd >= 0)
		close(u->efd);
	free(u);
	n->io = NULL;
}
