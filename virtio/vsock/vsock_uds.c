// SPDX-License-Identifier: Apache-2.0
/*
 * vsock_uds.c - virtio-vsock's host side: per-connection unix sockets, the
 * listener's ACCEPT and the io_uring that does all their I/O (the listener
 * itself and the handshake are in vsock_host.c).  See vsock.h.
 *
 * The ring is created disabled; its sparse file table holds connection i in
 * slot i and the listener in slot max_conns; the completion eventfd is
 * registered; the ring is restricted to RECV, SEND, ACCEPT, CONNECT,
 * SHUTDOWN and ASYNC_CANCEL with IOSQE_FIXED_FILE required, and to
 * FILES_UPDATE as its only register op; then it is enabled.  An accepted or
 * connecting socket is installed in its slot and its descriptor closed at
 * once: the table holds the only reference, so removing the slot closes it
 * (in-flight requests keep the file until they are cancelled).
 *
 * user_data: generation << 32 | slot << 8 | VSOCK_IO_* kind; completions
 * of an older generation of a slot are ignored.
 *
 * A full ring: uring_sqe submits to make room and, if the kernel does not
 * take the queue, moves completions aside (stash, handled by the next kick)
 * and tries again.  If there is still no SQE, a cancel or the ACCEPT is
 * owed and retried on every kick (and by the timer) until it is queued.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vmm/core/log.h"
#include "vmm/core/usock.h"
#include "virtio/uring.h"
#include "vsock_priv.h"

#define LISTEN_SLOT(v) ((v)->max_conns)
#define RING_SQ       256
#define RING_CQ       4096
#define RING_STASH    256
#define ACCEPT_RETRY_US 100000
#define OWED_RETRY_US 10000

struct vsock_uring {
	struct io_uring ring;
	int efd;
	bool ring_up;
	bool accepting;              /* an ACCEPT is in flight */
	bool accept_owed;            /* accept_arm found no SQE */
	bool cancels_owed;           /* some connection's cancel found no SQE */
	bool draining;               /* vsock_destroy: accept nothing more */
	unsigned int nr_stash;
	struct { uint64_t data; int res; } stash[RING_STASH];   /* completions set aside */
	struct ev_source done_src;
};

static uint64_t udata(const struct vsock_conn *c, unsigned int kind)
{
	return (uint64_t)c->gen << 32 | (uint64_t)c->slot << 8 | kind;
}

/* Set completions aside so that the kernel has room to post more. */
static void uring_stash(struct vsock_uring *u)
{
	struct io_uring_cqe *cqe;

	while (u->nr_stash < RING_STASH && !io_uring_peek_cqe(&u->ring, &cqe)) {
		u->stash[u->nr_stash].data = io_uring_cqe_get_data64(cqe);
		u->stash[u->nr_stash++].res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
	}
}

static struct io_uring_sqe *uring_sqe(struct vsock_dev *v)
{
	struct vsock_uring *u = v->uring;
	struct io_uring_sqe *sqe = NULL;
	bool fail = v->fail_sqes;

	if (!u)
		return NULL;
	if (fail)
		v->fail_sqes--;
	else
		sqe = io_uring_get_sqe(&u->ring);
	for (int i = 0; !sqe && !fail && i < 2; i++) {  /* full: hand it to the kernel */
		if (i)
			uring_stash(u);
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	if (!sqe) {
		v->stats.ring_errors++;
		log_ratelimited(LOG_WARN, "%s: io_uring submission queue full", v->name);
	}
	return sqe;
}

/* Queue `kind` for `c`, prepared by the caller on the returned SQE. */
static struct io_uring_sqe *conn_sqe(struct vsock_dev *v, struct vsock_conn *c,
				     unsigned int kind)
{
	struct io_uring_sqe *sqe;

	if (!c->has_file || !(sqe = uring_sqe(v)))
		return NULL;
	c->io |= (uint8_t)kind;
	return sqe;
}

static void sqe_finish(struct io_uring_sqe *sqe, uint64_t data)
{
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, data);
}

int vsock_uds_recv(struct vsock_dev *v, struct vsock_conn *c, void *buf, uint32_t len)
{
	struct io_uring_sqe *sqe = conn_sqe(v, c, VSOCK_IO_RECV);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_recv(sqe, c->slot, buf, len, 0);
	sqe_finish(sqe, udata(c, VSOCK_IO_RECV));
	return 0;
}

int vsock_uds_peek(struct vsock_dev *v, struct vsock_conn *c)
{
	struct io_uring_sqe *sqe = conn_sqe(v, c, VSOCK_IO_PEEK);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_recv(sqe, c->slot, &c->peek, 1, MSG_PEEK);
	sqe_finish(sqe, udata(c, VSOCK_IO_PEEK));
	return 0;
}

int vsock_uds_send(struct vsock_dev *v, struct vsock_conn *c, const void *buf, uint32_t len)
{
	struct io_uring_sqe *sqe = conn_sqe(v, c, VSOCK_IO_SEND);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_send(sqe, c->slot, buf, len, MSG_NOSIGNAL);
	sqe_finish(sqe, udata(c, VSOCK_IO_SEND));
	return 0;
}

int vsock_uds_shut_wr(struct vsock_dev *v, struct vsock_conn *c)
{
	struct io_uring_sqe *sqe = conn_sqe(v, c, VSOCK_IO_SHUT);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_shutdown(sqe, c->slot, SHUT_WR);
	sqe_finish(sqe, udata(c, VSOCK_IO_SHUT));
	return 0;
}

int vsock_uds_install(struct vsock_dev *v, struct vsock_conn *c, int fd)
{
	int ret = io_uring_register_files_update(&v->uring->ring, c->slot, &fd, 1);

	close(fd);
	if (ret < 0) {
		v->stats.ring_errors++;
		log_ratelimited(LOG_WARN, "%s: cannot install a socket: %s", v->name,
				strerror(-ret));
		return ret;
	}
	c->has_file = true;
	return 0;
}

int vsock_uds_connect(struct vsock_dev *v, struct vsock_conn *c)
{
	struct io_uring_sqe *sqe;
	char suffix[12];
	size_t n = strlen(v->uds_path);
	int fd;

	c->addr.sun_family = AF_UNIX;
	snprintf(suffix, sizeof(suffix), "_%u", c->host_port);
	if (n + strlen(suffix) >= sizeof(c->addr.sun_path))
		return -ENAMETOOLONG;  /* vsock_create checked uds_path leaves room */
	memcpy(c->addr.sun_path, v->uds_path, n);
	memcpy(c->addr.sun_path + n, suffix, strlen(suffix) + 1);
	if (!v->uring)
		return -ENODEV;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || vsock_uds_install(v, c, fd))
		return -EMFILE;
	sqe = conn_sqe(v, c, VSOCK_IO_CONNECT);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_connect(sqe, c->slot, (struct sockaddr *)&c->addr, sizeof(c->addr));
	sqe_finish(sqe, udata(c, VSOCK_IO_CONNECT));
	return 0;
}

/* Queue the cancels `c` owes; what finds no SQE stays owed. */
static void conn_cancel(struct vsock_dev *v, struct vsock_conn *c)
{
	c->cancel_owed &= c->io;
	for (unsigned int kind = 1; kind < VSOCK_IO_ACCEPT << 2 && c->cancel_owed; kind <<= 1) {
		struct io_uring_sqe *sqe;

		if (!(c->cancel_owed & kind) || kind == VSOCK_IO_CANCEL || kind == VSOCK_IO_ACCEPT)
			continue;
		sqe = uring_sqe(v);
		if (!sqe) {
			v->uring->cancels_owed = true;  /* retried by vsock_uds_kick */
			vsock_uds_arm_timer(v, time_mono_us() + OWED_RETRY_US);
			return;
		}
		io_uring_prep_cancel64(sqe, udata(c, kind), 0);
		sqe_finish(sqe, udata(c, VSOCK_IO_CANCEL));
		c->cancel_owed &= (uint8_t)~kind;
	}
}

/* Let the unix peer see the end at once: a fixed file removed from the
 * table is put only once every request submitted before the removal has
 * completed — on any connection, so a receive parked elsewhere would keep
 * this socket open indefinitely.  A shutdown does not wait for that.
 * The kernel runs a shutdown from its worker threads and looks the slot up
 * only then, so the slot keeps the socket until the shutdown completes
 * (vsock_uds_release), and one shutdown in flight is enough: a second one
 * could outlive the connection and hit the next socket in the slot. */
static void conn_shutdown_now(struct vsock_dev *v, struct vsock_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->io & VSOCK_IO_SHUT)
		return;  /* the guest's SHUT_WR is on its way: EOF to the peer */
	sqe = conn_sqe(v, c, VSOCK_IO_SHUT);
	if (!sqe)
		return;  /* then the end waits for the deferred put */
	io_uring_prep_shutdown(sqe, c->slot, SHUT_RDWR);
	sqe_finish(sqe, udata(c, VSOCK_IO_SHUT));
	if (io_uring_submit(&v->uring->ring) < 0)
		v->stats.ring_errors++;
}

/* Empty the connection's slot in the file table. */
static void slot_put(struct vsock_dev *v, struct vsock_conn *c)
{
	int none = -1;

	if (c->has_file && io_uring_register_files_update(&v->uring->ring, c->slot, &none, 1) < 0)
		v->stats.ring_errors++;
	c->has_file = false;
	c->put_owed = false;
}

void vsock_uds_release(struct vsock_dev *v, struct vsock_conn *c)
{
	if (!v->uring)
		return;
	if (c->has_file && c->state != VSOCK_CONNECTING)
		conn_shutdown_now(v, c);
	c->cancel_owed = c->io & (uint8_t)~VSOCK_IO_SHUT;
	conn_cancel(v, c);
	if (c->has_file && (c->io & VSOCK_IO_SHUT))
		c->put_owed = true;  /* emptied by its completion (complete()) */
	else
		slot_put(v, c);
}

/* ---- the listener and the handshake -------------------------------------- */

static void accept_arm(struct vsock_dev *v)
{
	struct vsock_uring *u = v->uring;
	struct io_uring_sqe *sqe;

	if (u->accepting || u->draining)
		return;
	sqe = uring_sqe(v);
	u->accept_owed = !sqe;  /* retried by vsock_uds_kick */
	if (!sqe) {
		vsock_uds_arm_timer(v, time_mono_us() + OWED_RETRY_US);
		return;
	}
	io_uring_prep_accept(sqe, LISTEN_SLOT(v), NULL, NULL, SOCK_CLOEXEC);
	sqe_finish(sqe, (uint64_t)LISTEN_SLOT(v) << 8 | VSOCK_IO_ACCEPT);
	u->accepting = true;
}

/* Retry what a full ring made us owe. */
static void owed_retry(struct vsock_dev *v)
{
	struct vsock_uring *u = v->uring;

	if (u->accept_owed)
		accept_arm(v);
	if (!u->cancels_owed)
		return;
	u->cancels_owed = false;
	for (unsigned int i = 0; i < v->max_conns && !u->cancels_owed; i++)
		if (v->conns[i].cancel_owed)
			conn_cancel(v, &v->conns[i]);
}

static void accept_done(struct vsock_dev *v, int res)
{
	v->uring->accepting = false;
	if (res >= 0 && v->uring->draining) {
		close(res);
		return;
	}
	if (res >= 0) {
		vsock_host_accepted(v, res);
	} else if (res != -ECANCELED) {
		log_ratelimited(LOG_WARN, "%s: accept: %s", v->name, strerror(-res));
		v->accept_retry = true;  /* e.g. out of descriptors: not in a tight loop */
		vsock_uds_arm_timer(v, time_mono_us() + ACCEPT_RETRY_US);
		return;
	}
	if (res != -ECANCELED)
		accept_arm(v);
}

/* ---- completions, the timer --------------------------------------------------- */

static void complete(struct vsock_dev *v, uint64_t data, int res)
{
	unsigned int kind = data & 0xff, slot = (data >> 8) & 0xffff;
	struct vsock_conn *c;

	if (kind == VSOCK_IO_ACCEPT) {
		accept_done(v, res);
		return;
	}
	if (kind == VSOCK_IO_CANCEL || slot >= v->max_conns)
		return;
	c = &v->conns[slot];
	if (c->gen != (uint32_t)(data >> 32) || !(c->io & kind))
		return;
	c->io &= (uint8_t)~kind;
	c->cancel_owed &= (uint8_t)~kind;
	if (kind == VSOCK_IO_SHUT && c->put_owed)
		slot_put(v, c);
	if (kind == VSOCK_IO_RECV && c->state == VSOCK_HANDSHAKE) {
		vsock_host_line(v, c, res);
		vsock_conn_update(v, c);
	} else {
		vsock_conn_io_done(v, c, kind, res);
	}
}

unsigned int vsock_uds_kick(struct vsock_dev *v)
{
	struct vsock_uring *u = v->uring;
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	if (!u)
		return 0;
	owed_retry(v);
	if (io_uring_sq_ready(&u->ring)) {
		int ret = io_uring_submit(&u->ring);

		if (ret < 0) {
			v->stats.ring_errors++;
			log_ratelimited(LOG_WARN, "%s: io_uring submit: %s", v->name, strerror(-ret));
		}
	}
	for (; u->nr_stash; n++) {
		u->nr_stash--;
		complete(v, u->stash[u->nr_stash].data, u->stash[u->nr_stash].res);
	}
	while (!io_uring_peek_cqe(&u->ring, &cqe)) {
		uint64_t data = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		complete(v, data, res);
		n++;
	}
	return n;
}

void vsock_uds_wake(struct vsock_dev *v)
{
	uint64_t one = 1;

	if (v->uring && write(v->uring->efd, &one, sizeof(one)) < 0)
		log_ratelimited(LOG_WARN, "%s: wake-up eventfd: %s", v->name, strerror(errno));
}

static void on_done(struct ev_source *src, uint32_t events)
{
	struct vsock_dev *v = src->opaque;
	uint64_t n;

	(void)events;
	if (read(v->uring->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&v->t.lock);
	vsock_resume(v);
	pthread_mutex_unlock(&v->t.lock);
}

void vsock_uds_arm_timer(struct vsock_dev *v, uint64_t deadline_us)
{
	uint64_t now = time_mono_us(), in = deadline_us > now ? deadline_us - now : 1;
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(in / 1000000),
						.tv_nsec = (long)(in % 1000000) * 1000 } };

	if (v->timer_src.fd < 0 || (v->timer_at_us && v->timer_at_us <= deadline_us))
		return;
	if (timerfd_settime(v->timer_src.fd, 0, &its, NULL) == 0)
		v->timer_at_us = deadline_us;
}

static void on_timer(struct ev_source *src, uint32_t events)
{
	struct vsock_dev *v = src->opaque;
	uint64_t n, next;

	(void)events;
	if (read(src->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&v->t.lock);
	vsock_settle_reset(v);
	v->timer_at_us = 0;
	next = vsock_conn_expire(v, time_mono_us());
	if (next)
		vsock_uds_arm_timer(v, next);
	if (v->accept_retry) {
		v->accept_retry = false;
		accept_arm(v);
	}
	vsock_flush(v);
	pthread_mutex_unlock(&v->t.lock);
}

/* ---- set-up -------------------------------------------------------------------- */

/* Only the operations the device needs, and installing sockets in the table. */
static const uint8_t vsock_ring_ops[] = { IORING_OP_RECV, IORING_OP_SEND, IORING_OP_ACCEPT,
					  IORING_OP_CONNECT, IORING_OP_SHUTDOWN,
					  IORING_OP_ASYNC_CANCEL };

static int uring_setup(struct vsock_dev *v, struct vsock_uring *u)
{
	int ret = uring_open(&u->ring, &(struct uring_spec){
		.entries = RING_SQ, .cq_entries = RING_CQ, .nr_files = v->max_conns + 1,
		.efd = u->efd, .ops = vsock_ring_ops, .nr_ops = sizeof(vsock_ring_ops),
		.files_update = true });

	if (ret)
		return ret;
	u->ring_up = true;
	ret = io_uring_register_files_update(&u->ring, LISTEN_SLOT(v), &v->listen_fd, 1);
	return ret < 0 ? ret : 0;
}

static int events_setup(struct vsock_dev *v, struct vsock_uring *u)
{
	int ret;

	u->done_src = (struct ev_source){ .fd = u->efd, .cb = on_done, .opaque = v };
	ret = ev_add(v->loop, &u->done_src, EPOLLIN);
	if (ret) {
		u->done_src.cb = NULL;
		return ret;
	}
	v->timer_src = (struct ev_source){ .cb = on_timer, .opaque = v,
		.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK) };
	if (v->timer_src.fd < 0)
		return -errno;
	ret = ev_add(v->loop, &v->timer_src, EPOLLIN);
	if (ret) {
		close(v->timer_src.fd);
		v->timer_src.fd = -1;
	}
	return ret;
}

int vsock_uds_init(struct vsock_dev *v, const char *path)
{
	struct vsock_uring *u;
	int ret = vsock_host_listen(v, path);

	if (ret)
		return ret;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	v->uring = u;
	u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->efd < 0)
		return -errno;
	ret = uring_setup(v, u);
	if (!ret)
		ret = events_setup(v, u);
	if (ret) {
		log_error("%s: cannot set up the io_uring engine: %s", v->name, strerror(-ret));
		return ret;
	}
	accept_arm(v);
	vsock_uds_kick(v);
	return 0;
}

/* Cancel everything and wait (bounded) until the kernel has let go of our
 * buffers: they are freed right after. */
static void uring_drain(struct vsock_dev *v)
{
	struct vsock_uring *u = v->uring;
	struct io_uring_sqe *sqe = u->accepting ? uring_sqe(v) : NULL;
	bool busy = true;

	u->draining = true;
	if (sqe) {
		io_uring_prep_cancel64(sqe, (uint64_t)LISTEN_SLOT(v) << 8 | VSOCK_IO_ACCEPT, 0);
		sqe_finish(sqe, VSOCK_IO_CANCEL);
	}
	for (int i = 0; i < 100 && busy; i++) {
		struct __kernel_timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
		struct io_uring_cqe *cqe;

		vsock_uds_kick(v);
		busy = u->accepting;
		for (unsigned int s = 0; s < v->max_conns && !busy; s++)
			busy = v->conns && v->conns[s].io;
		if (busy)
			io_uring_wait_cqe_timeout(&u->ring, &cqe, &ts);
	}
}

void vsock_uds_destroy(struct vsock_dev *v)
{
	struct vsock_uring *u = v->uring;

	if (u) {
		if (u->ring_up) {
			uring_drain(v);
			io_uring_queue_exit(&u->ring);
		}
		if (u->done_src.cb)
			ev_del(v->loop, &u->done_src);
		if (u->efd >= 0)
			close(u->efd);
		free(u);
		v->uring = NULL;
	}
	if (v->timer_src.fd >= 0) {
		ev_del(v->loop, &v->timer_src);
		close(v->timer_src.fd);
		v->timer_src.fd = -1;
	}
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	v->listen_fd = -1;
	usock_unlink(v->uds_path, &v->uds_id);  /* only the socket we bound */
}
