// SPDX-License-Identifier: Apache-2.0
/*
 * vsock_uds.c - virtio-vsock's host side: the listener on uds_path, the
 * "CONNECT <port>\n" handshake, per-connection unix sockets and the io_uring
 * that does all their I/O.  See vsock.h.
 *
 * The ring is created disabled; its sparse file table holds connection i in
 * slot i and the listener in slot VSOCK_MAX_CONNS; the completion eventfd is
 * registered; the ring is restricted to RECV, SEND, ACCEPT, CONNECT,
 * SHUTDOWN and ASYNC_CANCEL with IOSQE_FIXED_FILE required, and to
 * FILES_UPDATE as its only register op; then it is enabled.  An accepted or
 * connecting socket is installed in its slot and its descriptor closed at
 * once: the table holds the only reference, so removing the slot closes it
 * (in-flight requests keep the file until they are cancelled).
 *
 * user_data: generation << 32 | slot << 8 | VSOCK_IO_* kind; completions
 * of an older generation of a slot are ignored.
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
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "vsock.h"

#define LISTEN_SLOT   VSOCK_MAX_CONNS
#define RING_SQ       256
#define RING_CQ       4096
#define LISTEN_BACKLOG 128
#define ACCEPT_RETRY_US 100000

struct vsock_uring {
	struct io_uring ring;
	int efd;
	bool ring_up;
	bool accepting;              /* an ACCEPT is in flight */
	bool draining;               /* vsock_destroy: accept nothing more */
	unsigned int queued;         /* SQEs prepared since the last submit */
	struct ev_source done_src;
};

static uint64_t udata(const struct vsock_conn *c, unsigned int kind)
{
	return (uint64_t)c->gen << 32 | (uint64_t)c->slot << 8 | kind;
}

static struct io_uring_sqe *uring_sqe(struct vsock_dev *v)
{
	struct vsock_uring *u = v->uring;
	struct io_uring_sqe *sqe;

	if (!u)
		return NULL;
	sqe = io_uring_get_sqe(&u->ring);
	if (!sqe && io_uring_submit(&u->ring) >= 0) {  /* full: hand it to the kernel */
		u->queued = 0;
		sqe = io_uring_get_sqe(&u->ring);
	}
	if (!sqe) {
		v->stats.ring_errors++;
		log_ratelimited(LOG_WARN, "%s: io_uring submission queue full", v->name);
		return NULL;
	}
	u->queued++;
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

/* Put `fd` in the connection's slot and drop our descriptor. */
static int conn_install(struct vsock_dev *v, struct vsock_conn *c, int fd)
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
	if (fd < 0 || conn_install(v, c, fd))
		return -EMFILE;
	sqe = conn_sqe(v, c, VSOCK_IO_CONNECT);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_connect(sqe, c->slot, (struct sockaddr *)&c->addr, sizeof(c->addr));
	sqe_finish(sqe, udata(c, VSOCK_IO_CONNECT));
	return 0;
}

void vsock_uds_release(struct vsock_dev *v, struct vsock_conn *c)
{
	static const unsigned int kinds[] = { VSOCK_IO_RECV, VSOCK_IO_SEND, VSOCK_IO_CONNECT,
					      VSOCK_IO_SHUT };
	int none = -1;

	for (unsigned int i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct io_uring_sqe *sqe;

		if (!(c->io & kinds[i]) || !(sqe = uring_sqe(v)))
			continue;
		io_uring_prep_cancel64(sqe, udata(c, kinds[i]), 0);
		sqe_finish(sqe, udata(c, VSOCK_IO_CANCEL));
	}
	if (c->has_file && io_uring_register_files_update(&v->uring->ring, c->slot, &none, 1) < 0)
		v->stats.ring_errors++;
	c->has_file = false;
}

/* ---- the listener and the handshake -------------------------------------- */

static void accept_arm(struct vsock_dev *v)
{
	struct io_uring_sqe *sqe;

	if (v->uring->accepting || !(sqe = uring_sqe(v)))
		return;
	io_uring_prep_accept(sqe, LISTEN_SLOT, NULL, NULL, SOCK_CLOEXEC);
	sqe_finish(sqe, (uint64_t)LISTEN_SLOT << 8 | VSOCK_IO_ACCEPT);
	v->uring->accepting = true;
}

static void hs_start(struct vsock_dev *v, int fd)
{
	struct vsock_conn *c = NULL;

	if (v->nr_pending < VSOCK_MAX_PENDING)
		c = vsock_conn_alloc(v, VSOCK_HANDSHAKE);
	if (!c) {
		v->stats.conns_refused++;
		log_ratelimited(LOG_WARN, "%s: host connection refused: too many connections",
				v->name);
		close(fd);
		return;
	}
	if (conn_install(v, c, fd) ||
	    vsock_uds_recv(v, c, c->line, VSOCK_LINE_MAX))
		vsock_conn_close(v, c, false);
}

static void accept_done(struct vsock_dev *v, int res)
{
	v->uring->accepting = false;
	if (res >= 0 && v->uring->draining) {
		close(res);
		return;
	}
	if (res >= 0) {
		hs_start(v, res);
	} else if (res != -ECANCELED) {
		log_ratelimited(LOG_WARN, "%s: accept: %s", v->name, strerror(-res));
		v->accept_retry = true;  /* e.g. out of descriptors: not in a tight loop */
		vsock_uds_arm_timer(v, time_mono_us() + ACCEPT_RETRY_US);
		return;
	}
	if (res != -ECANCELED)
		accept_arm(v);
}

int vsock_parse_connect(const char *line, uint32_t len, uint32_t *port)
{
	static const char verb[] = "CONNECT ";
	uint64_t val = 0;
	uint32_t i = sizeof(verb) - 1;

	if (len <= i || memcmp(line, verb, i) || len - i > 10)
		return -EINVAL;
	for (; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -EINVAL;
		val = val * 10 + (uint64_t)(line[i] - '0');
	}
	if (val > UINT32_MAX)
		return -EINVAL;
	*port = (uint32_t)val;
	return 0;
}

static void hs_fail(struct vsock_dev *v, struct vsock_conn *c, const char *why)
{
	v->stats.handshake_fails++;
	log_ratelimited(LOG_WARN, "%s: host connection closed: %s", v->name, why);
	vsock_conn_close(v, c, false);
}

/* Bytes of the CONNECT line arrived (res: count or -errno). */
static void hs_recv_done(struct vsock_dev *v, struct vsock_conn *c, int res)
{
	char *nl;
	uint32_t port, extra;

	if (res <= 0) {
		hs_fail(v, c, res ? strerror(-res) : "end of file before the CONNECT line");
		return;
	}
	c->line_len += (uint32_t)res;
	nl = memchr(c->line, '\n', c->line_len);
	if (!nl) {
		if (c->line_len == VSOCK_LINE_MAX)
			hs_fail(v, c, "no newline in the first 32 bytes");
		else if (vsock_uds_recv(v, c, c->line + c->line_len, VSOCK_LINE_MAX - c->line_len))
			vsock_conn_close(v, c, false);
		return;
	}
	if (vsock_parse_connect(c->line, (uint32_t)(nl - c->line), &port)) {
		hs_fail(v, c, "not \"CONNECT <port>\"");
		return;
	}
	extra = c->line_len - (uint32_t)(nl + 1 - c->line);
	if (extra) {  /* the client did not wait for OK: those bytes are for the guest */
		if (!(c->rbuf = malloc(VSOCK_RBUF_SIZE))) {
			vsock_conn_close(v, c, false);
			return;
		}
		memcpy(c->rbuf, nl + 1, extra);
		c->r_len = extra;
	}
	vsock_conn_host_request(v, c, port);
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
	if (kind == VSOCK_IO_CANCEL || slot >= VSOCK_MAX_CONNS)
		return;
	c = &v->conns[slot];
	if (c->gen != (uint32_t)(data >> 32) || !(c->io & kind))
		return;
	c->io &= (uint8_t)~kind;
	if (kind == VSOCK_IO_RECV && c->state == VSOCK_HANDSHAKE) {
		hs_recv_done(v, c, res);
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
	if (u->queued) {
		int ret = io_uring_submit(&u->ring);

		if (ret < 0) {
			v->stats.ring_errors++;
			log_ratelimited(LOG_WARN, "%s: io_uring submit: %s", v->name, strerror(-ret));
		} else {
			u->queued = 0;
		}
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
	vsock_flush(v);
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

static int listen_on(struct vsock_dev *v, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;

	snprintf(v->uds_path, sizeof(v->uds_path), "%s", path);
	memcpy(addr.sun_path, v->uds_path, sizeof(v->uds_path));
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode) && unlink(path))
		log_warn("%s: cannot remove the stale socket %s: %s", v->name, path,
			 strerror(errno));
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0 || bind(v->listen_fd, (struct sockaddr *)&addr, sizeof(addr))) {
		int ret = -errno;

		log_error("%s: cannot bind %s: %s", v->name, path, strerror(errno));
		return ret;
	}
	v->listening = true;
	if (listen(v->listen_fd, LISTEN_BACKLOG)) {
		log_error("%s: cannot listen on %s: %s", v->name, path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Only the operations and files the device needs. */
static int uring_restrict(struct io_uring *ring)
{
	static const uint8_t ops[] = { IORING_OP_RECV, IORING_OP_SEND, IORING_OP_ACCEPT,
				       IORING_OP_CONNECT, IORING_OP_SHUTDOWN,
				       IORING_OP_ASYNC_CANCEL };
	struct io_uring_restriction res[sizeof(ops) + 3];
	unsigned int n = 0;

	memset(res, 0, sizeof(res));
	for (unsigned int i = 0; i < sizeof(ops); i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = ops[i];
	}
	res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
	res[n++].register_op = IORING_REGISTER_FILES_UPDATE;
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	return io_uring_register_restrictions(ring, res, n);
}

static int uring_setup(struct vsock_dev *v, struct vsock_uring *u)
{
	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE,
				     .cq_entries = RING_CQ };
	int ret = io_uring_queue_init_params(RING_SQ, &u->ring, &p);

	if (ret)
		return ret;
	u->ring_up = true;
	ret = io_uring_register_files_sparse(&u->ring, VSOCK_MAX_CONNS + 1);
	if (!ret)
		ret = io_uring_register_files_update(&u->ring, LISTEN_SLOT, &v->listen_fd, 1);
	if (ret >= 0)
		ret = io_uring_register_eventfd(&u->ring, u->efd);
	if (!ret)
		ret = uring_restrict(&u->ring);
	if (!ret)
		ret = io_uring_enable_rings(&u->ring);
	return ret;
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
	int ret = listen_on(v, path);

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
		io_uring_prep_cancel64(sqe, (uint64_t)LISTEN_SLOT << 8 | VSOCK_IO_ACCEPT, 0);
		sqe_finish(sqe, VSOCK_IO_CANCEL);
	}
	for (int i = 0; i < 100 && busy; i++) {
		struct __kernel_timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
		struct io_uring_cqe *cqe;

		vsock_uds_kick(v);
		busy = u->accepting;
		for (unsigned int s = 0; s < VSOCK_MAX_CONNS && !busy; s++)
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
	if (v->listening)
		unlink(v->uds_path);
	v->listening = false;
}
