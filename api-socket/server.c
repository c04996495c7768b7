// SPDX-License-Identifier: Apache-2.0
/*
 * server.c - see api.h.  The api thread: a unix listening socket and every
 * connection in one epoll set, each connection a struct http_conn (http.c)
 * plus its socket, input buffer and timers.
 *
 * Threads: api_server_start/stop run on the vmm thread (api_open,
 * api_close), and so do api_server_take and api_server_reply; everything
 * static below runs on the api thread, except server_free (vmm thread,
 * after the join).  The
 * hand-off state (handoff, pending, stopping) is shared under srv->lock;
 * everything else belongs to the api thread.
 *
 * One request is in flight at a time: when a connection yields a whole
 * request, the api thread publishes it, signals request_fd and sleeps on
 * srv->cond until the vmm thread replies (or the server stops), then
 * queues the response and goes on parsing.  A connection whose client does
 * not read stops being parsed once HIGH_WATER bytes wait to be sent, and is
 * dropped when its output makes no progress for timeout_ms.  A connection
 * that is done (error, "Connection: close", EOF) flushes its output, shuts
 * down its write side and discards input until the peer closes or
 * LINGER_MS pass, so the client reads the answer instead of a reset.  At
 * max_conns a new connection evicts the longest-idle one (conn_evict), so
 * idle connections cannot lock other clients out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "http.h"
#include "vmm/core/log.h"
#include "vmm/core/thread.h"
#include "vmm/core/usock.h"

#define CONN_IN_SIZE     4096
#define HIGH_WATER       (64 * 1024)  /* unsent bytes that stop parsing */
#define IDLE_TIMEOUT_MS  60000        /* keep-alive connection with nothing pending */
#define LINGER_MS        1000
#define LINGER_MAX_BYTES (1024 * 1024)
#define ACCEPT_BATCH     16
#define ACCEPT_RETRY_MS  100

enum conn_state {
	CONN_OPEN,     /* parsing requests */
	CONN_CLOSING,  /* no more requests: flushing the last answer */
	CONN_LINGER,   /* write side shut: waiting for the peer to close */
};

enum handoff { HANDOFF_IDLE, HANDOFF_PUBLISHED, HANDOFF_TAKEN, HANDOFF_REPLIED };

struct conn {
	int fd;
	unsigned int slot;
	enum conn_state state;
	uint32_t events;          /* the epoll interest set now */
	struct http_conn http;
	char in[CONN_IN_SIZE];    /* received, not yet parsed: in[in_off..in_len) */
	size_t in_off, in_len;
	uint64_t req_start;       /* ms: first byte of a partial request, or 0 */
	uint64_t idle_since;      /* ms: accepted or last request answered */
	uint64_t write_since;     /* ms: last output progress, 0 when none pending */
	uint64_t linger_until;
	size_t linger_bytes;
	bool served;              /* answered at least one request */
};

struct api_server {
	struct api_server_opts opts;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct usock_id sock_id;  /* the socket file we bound, to unlink at the end */
	int listen_fd, epoll_fd, request_fd, stop_fd;
	bool listen_armed;
	bool accept_due;          /* the listener was ready in this epoll batch */
	uint64_t accept_retry;
	struct conn **conns;      /* max_conns slots */
	unsigned int nconns;
	struct epoll_event *events;
	bool quit;                /* api thread only */
	pthread_t thread;
	pthread_mutex_t lock;     /* guards the three below */
	pthread_cond_t cond;
	enum handoff handoff;
	struct api_request *pending;
	bool stopping;
};

static uint64_t now_ms(void)
{
	return time_mono_us() / 1000;
}

/* ---- the listening socket (vmm thread) ------------------------------------ */

static int sock_listen(struct api_server *srv)
{
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = usock_bind(fd, srv->sock_path, "API", &srv->sock_id);
	if (!ret && listen(fd, SOMAXCONN)) {
		ret = -errno;
		usock_unlink(srv->sock_path, &srv->sock_id);
	}
	if (ret) {
		close(fd);
		return ret;
	}
	srv->listen_fd = fd;
	return 0;
}

static int watch(struct api_server *srv, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(srv->epoll_fd, op, fd, &ev) ? -errno : 0;
}

/* ---- output, input, timers of one connection (api thread) ------------------ */

static size_t out_pending(const struct conn *c)
{
	size_t len;

	http_conn_output(&c->http, &len);
	return len;
}

/* One non-blocking send of what is queued. */
static int conn_flush(struct conn *c)
{
	size_t len;
	const char *out = http_conn_output(&c->http, &len);
	ssize_t n;

	if (!len)
		return 0;
	if (!c->write_since)
		c->write_since = now_ms();
	n = send(c->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	http_conn_consume(&c->http, (size_t)n);
	c->write_since = (size_t)n == len ? 0 : now_ms();
	return 0;
}

/* Read once, only when everything read before is parsed. */
static int conn_read(struct conn *c)
{
	ssize_t n;

	if (c->state != CONN_OPEN || c->in_off < c->in_len)
		return 0;
	n = recv(c->fd, c->in, sizeof(c->in), 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	c->in_off = 0;
	c->in_len = (size_t)n;
	if (!n)
		http_conn_eof(&c->http);
	return 0;
}

/* After the last answer: discard what the client still sends. */
static int conn_linger(struct conn *c)
{
	ssize_t n = recv(c->fd, c->in, sizeof(c->in), 0);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (!n)
		return -ECONNRESET;  /* the peer closed: done */
	c->linger_bytes += (size_t)n;
	return c->linger_bytes > LINGER_MAX_BYTES ? -E2BIG : 0;
}

/* Move to the next state if due, flush, and set the epoll interest. */
static int conn_update(struct api_server *srv, struct conn *c)
{
	uint32_t events;
	int ret = conn_flush(c);

	if (ret)
		return ret;
	if (c->state == CONN_OPEN && http_conn_closing(&c->http))
		c->state = CONN_CLOSING;
	if (c->state == CONN_CLOSING && !out_pending(c)) {
		if (shutdown(c->fd, SHUT_WR))
			return -errno;
		c->state = CONN_LINGER;
		c->linger_until = now_ms() + LINGER_MS;
	}
	if (c->state == CONN_LINGER)
		events = EPOLLIN;
	else
		events = (out_pending(c) ? EPOLLOUT : 0) |
			 (c->state == CONN_OPEN && c->in_off == c->in_len &&
			  out_pending(c) < HIGH_WATER ? EPOLLIN : 0);
	if (events == c->events)
		return 0;
	c->events = events;
	return watch(srv, EPOLL_CTL_MOD, c->fd, events, c);
}

/* ---- hand-off to the vmm thread ------------------------------------------ */

/* api thread: publish req and sleep until the vmm thread replies.
 * -ECANCELED when the server stops first. */
static int handoff(struct api_server *srv, struct api_request *req)
{
	int ret = 0;

	pthread_mutex_lock(&srv->lock);
	if (srv->stopping) {
		ret = -ECANCELED;
	} else {
		srv->pending = req;
		srv->handoff = HANDOFF_PUBLISHED;
	}
	pthread_mutex_unlock(&srv->lock);
	if (!ret && eventfd_write(srv->request_fd, 1))
		log_error("API request eventfd: %s", strerror(errno));
	pthread_mutex_lock(&srv->lock);
	/* A request the vmm thread took is always waited for. */
	while (srv->handoff == HANDOFF_TAKEN ||
	       (srv->handoff == HANDOFF_PUBLISHED && !srv->stopping))
		pthread_cond_wait(&srv->cond, &srv->lock);
	if (!ret && srv->handoff != HANDOFF_REPLIED)
		ret = -ECANCELED;
	srv->handoff = HANDOFF_IDLE;
	srv->pending = NULL;
	pthread_mutex_unlock(&srv->lock);
	if (ret)
		srv->quit = true;
	return ret;
}

/* A whole request: have the vmm thread answer it, queue the answer. */
static int conn_handle(struct api_server *srv, struct conn *c)
{
	int ret = handoff(srv, &c->http.req);

	if (ret)
		return ret;
	ret = http_conn_respond(&c->http);
	c->served = true;
	c->req_start = 0;
	c->idle_since = now_ms();
	if (ret) {
		log_ratelimited(LOG_WARN, "API connection dropped: response: %s",
				strerror(-ret));
		return ret;
	}
	return conn_flush(c);
}

/* Parse the buffered input, serving each whole request in order. */
static int conn_serve(struct api_server *srv, struct conn *c)
{
	enum http_feed f;
	size_t used;
	int ret = 0;

	while (!ret && c->state == CONN_OPEN && c->in_off < c->in_len &&
	       out_pending(c) < HIGH_WATER) {
		f = http_conn_feed(&c->http, c->in + c->in_off, c->in_len - c->in_off, &used);
		c->in_off += used;
		if (f == HTTP_FEED_REQUEST)
			ret = conn_handle(srv, c);
		else if (f == HTTP_FEED_CLOSE)
			break;
	}
	if (c->in_off == c->in_len || http_conn_closing(&c->http))
		c->in_off = c->in_len = 0;
	if (!http_conn_mid_request(&c->http))
		c->req_start = 0;
	else if (!c->req_start)
		c->req_start = now_ms();
	return ret;
}

/* ---- connections ------------------------------------------------------------ */

static void conn_close(struct api_server *srv, struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	http_conn_destroy(&c->http);
	srv->conns[c->slot] = NULL;
	srv->nconns--;
	free(c);
}

static void conn_event(struct api_server *srv, struct conn *c, uint32_t events)
{
	int ret;

	if (c->state == CONN_LINGER) {
		ret = conn_linger(c);
	} else {
		ret = conn_flush(c);
		if (!ret && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			ret = conn_read(c);
		if (!ret)
			ret = conn_serve(srv, c);
	}
	if (!ret)
		ret = conn_update(srv, c);
	if (ret)
		conn_close(srv, c);
}

static int conn_add(struct api_server *srv, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	unsigned int slot = 0;
	int ret;

	if (!c)
		return -ENOMEM;
	while (srv->conns[slot])
		slot++;
	c->fd = fd;
	c->slot = slot;
	c->events = EPOLLIN;
	c->idle_since = now_ms();
	http_conn_init(&c->http, srv->opts.max_payload);
	ret = watch(srv, EPOLL_CTL_ADD, fd, c->events, c);
	if (ret) {
		http_conn_destroy(&c->http);
		free(c);
		return ret;
	}
	srv->conns[slot] = c;
	srv->nconns++;
	return 0;
}

/* Answer `fd` 503 at once and close it (a request it sent is not served). */
static void refuse(int fd, const char *why, unsigned int limit)
{
	struct http_conn h;
	char drain[512];
	const char *out;
	size_t len;

	http_conn_init(&h, 0);
	http_conn_fail(&h, 503, "%s (limit %u)", why, limit);
	out = http_conn_output(&h, &len);
	if (send(fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_ratelimited(LOG_WARN, "API connection refused: %s", strerror(errno));
	http_conn_destroy(&h);
	/* Read what the client already sent, so closing does not reset the
	 * connection before it has read the answer. */
	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 16 && recv(fd, drain, sizeof(drain), MSG_DONTWAIT) > 0; i++)
		;
	close(fd);
}

/* May c go to make room?  Lingering ones (done) and idle ones: nothing
 * half-received, nothing unsent, nothing waiting in the socket unread (a
 * request sent just before, not read yet). */
static bool conn_evictable(const struct conn *c)
{
	int unread = 0;

	if (c->state == CONN_LINGER)
		return true;
	if (c->state != CONN_OPEN || c->req_start || c->in_off < c->in_len || out_pending(c) ||
	    http_conn_mid_request(&c->http))
		return false;
	return !ioctl(c->fd, FIONREAD, &unread) && !unread;
}

/* At the limit: close the longest-idle connection (lingering ones first) so
 * a new client always gets in, however many idle connections others hold
 * (issue 12 item 9).  One that never sent a request is told why (503); a
 * used keep-alive one is closed as the idle timeout would.  -EBUSY when
 * every connection is mid-request. */
static int conn_evict(struct api_server *srv)
{
	struct conn *victim = NULL;
	uint64_t oldest = UINT64_MAX;

	for (unsigned int i = 0; i < srv->opts.max_conns; i++) {
		struct conn *c = srv->conns[i];
		uint64_t since;

		if (!c || !conn_evictable(c))
			continue;
		since = c->state == CONN_LINGER ? 0 : c->idle_since;
		if (since < oldest) {
			oldest = since;
			victim = c;
		}
	}
	if (!victim)
		return -EBUSY;
	log_ratelimited(LOG_INFO, "API: %u connections: closed the longest-idle one for a "
			"new client", srv->nconns);
	if (victim->state == CONN_OPEN && !victim->served) {
		refuse(victim->fd, "idle connection closed to admit a new client", srv->opts.max_conns);
		victim->fd = -1;
	}
	conn_close(srv, victim);
	return 0;
}

static void listen_arm(struct api_server *srv, bool on)
{
	if (!watch(srv, EPOLL_CTL_MOD, srv->listen_fd, on ? EPOLLIN : 0, &srv->listen_fd))
		srv->listen_armed = on;
}

static void accept_all(struct api_server *srv)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (fd < 0) {  /* EMFILE and the like: pause the listener */
			log_ratelimited(LOG_WARN, "API socket: accept: %s", strerror(errno));
			listen_arm(srv, false);
			srv->accept_retry = now_ms() + ACCEPT_RETRY_MS;
			return;
		}
		if (srv->nconns >= srv->opts.max_conns && conn_evict(srv))
			refuse(fd, "too many connections", srv->opts.max_conns);
		else if (conn_add(srv, fd))
			close(fd);
	}
}

/* ---- timers ------------------------------------------------------------------- */

static uint64_t conn_deadline(const struct api_server *srv, const struct conn *c)
{
	uint64_t t = srv->opts.timeout_ms, d = UINT64_MAX;

	if (c->state == CONN_LINGER)
		return c->linger_until;
	if (out_pending(c))
		d = c->write_since + t;
	if (c->state != CONN_OPEN)
		return d;
	if (c->req_start)
		return d < c->req_start + t ? d : c->req_start + t;
	return d == UINT64_MAX ? c->idle_since + IDLE_TIMEOUT_MS : d;  /* idle: nothing pending */
}

/* A deadline passed: a stalled writer or an idle or lingering connection
 * is closed, a request that did not arrive in time is answered 408. */
static void conn_expire(struct api_server *srv, struct conn *c, uint64_t now)
{
	int ret = -ETIMEDOUT;

	if (out_pending(c) && c->write_since + srv->opts.timeout_ms <= now) {
		log_ratelimited(LOG_WARN, "API connection dropped: the client does not read");
	} else if (c->state == CONN_OPEN && c->req_start) {
		http_conn_fail(&c->http, 408, "request not received in full within %u ms",
			       srv->opts.timeout_ms);
		ret = conn_update(srv, c);
	}
	if (ret)
		conn_close(srv, c);
}

static void expire(struct api_server *srv)
{
	uint64_t now = now_ms();

	for (unsigned int i = 0; i < srv->opts.max_conns; i++) {
		struct conn *c = srv->conns[i];

		if (c && conn_deadline(srv, c) <= now)
			conn_expire(srv, c, now);
	}
	if (!srv->listen_armed && srv->accept_retry <= now)
		listen_arm(srv, true);
}

/* epoll_wait's timeout: until the nearest deadline, -1 for none. */
static int next_timeout(const struct api_server *srv)
{
	uint64_t now = now_ms(), d = srv->listen_armed ? UINT64_MAX : srv->accept_retry;

	for (unsigned int i = 0; i < srv->opts.max_conns; i++) {
		uint64_t cd = srv->conns[i] ? conn_deadline(srv, srv->conns[i]) : UINT64_MAX;

		d = cd < d ? cd : d;
	}
	if (d == UINT64_MAX)
		return -1;
	return d <= now ? 0 : d - now > INT32_MAX ? INT32_MAX : (int)(d - now);
}

/* ---- the api thread ----------------------------------------------------------- */

static void dispatch(struct api_server *srv, const struct epoll_event *ev)
{
	if (ev->data.ptr == &srv->stop_fd)
		srv->quit = true;
	else if (ev->data.ptr == &srv->listen_fd)
		srv->accept_due = true;  /* after the batch: accepting may close a connection */
	else
		conn_event(srv, ev->data.ptr, ev->events);
}

static void *api_thread(void *arg)
{
	struct api_server *srv = arg;
	int n;

	pthread_setname_np(pthread_self(), "api");
	if (srv->opts.confine && srv->opts.confine()) {
		log_error("API server: the api thread cannot be confined: the API is off");
		return NULL;
	}
	while (!srv->quit) {
		n = epoll_wait(srv->epoll_fd, srv->events, (int)srv->opts.max_conns + 2,
			       next_timeout(srv));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("API server: epoll_wait: %s", strerror(errno));
			break;
		}
		/* Each fd appears once per batch, and only its own event may
		 * close a connection: later entries stay valid. */
		for (int i = 0; i < n && !srv->quit; i++)
			dispatch(srv, &srv->events[i]);
		if (srv->accept_due && !srv->quit) {
			srv->accept_due = false;
			accept_all(srv);
		}
		if (!srv->quit)
			expire(srv);
	}
	return NULL;
}

/* ---- start and stop (vmm thread) ------------------------------------------------- */

static void server_opts(struct api_server *srv, const struct api_server_opts *opts)
{
	srv->opts = *opts;
	if (!srv->opts.max_payload)
		srv->opts.max_payload = API_DEFAULT_MAX_PAYLOAD;
	if (!srv->opts.max_conns)
		srv->opts.max_conns = API_DEFAULT_MAX_CONNS;
	if (!srv->opts.timeout_ms)
		srv->opts.timeout_ms = API_DEFAULT_TIMEOUT_MS;
	strcpy(srv->sock_path, opts->sock_path);
	srv->opts.sock_path = srv->sock_path;
}

static int server_fds(struct api_server *srv)
{
	srv->conns = calloc(srv->opts.max_conns, sizeof(*srv->conns));
	srv->events = calloc(srv->opts.max_conns + 2, sizeof(*srv->events));
	if (!srv->conns || !srv->events)
		return -ENOMEM;
	srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epoll_fd < 0)
		return -errno;
	srv->request_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->request_fd < 0)
		return -errno;
	srv->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->stop_fd < 0)
		return -errno;
	return watch(srv, EPOLL_CTL_ADD, srv->stop_fd, EPOLLIN, &srv->stop_fd);
}

/* Close every fd and connection, free srv.  Not running: never started, or joined. */
static void server_free(struct api_server *srv)
{
	for (unsigned int i = 0; srv->conns && i < srv->opts.max_conns; i++)
		if (srv->conns[i])
			conn_close(srv, srv->conns[i]);
	if (srv->listen_fd >= 0) {
		close(srv->listen_fd);
		usock_unlink(srv->sock_path, &srv->sock_id);
	}
	if (srv->stop_fd >= 0)
		close(srv->stop_fd);
	if (srv->request_fd >= 0)
		close(srv->request_fd);
	if (srv->epoll_fd >= 0)
		close(srv->epoll_fd);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv->events);
	free(srv->conns);
	free(srv);
}

/* The api thread takes no signals: they stay with the vmm thread (its signalfd). */
static int thread_start(struct api_server *srv)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = thread_spawn(&srv->thread, api_thread, srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

int api_server_start(struct api_server **out, const struct api_server_opts *opts)
{
	struct api_server *srv;
	int ret;

	if (!opts->sock_path || !opts->sock_path[0])
		return -EINVAL;
	if (strlen(opts->sock_path) >= sizeof(srv->sock_path))
		return -ENAMETOOLONG;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->listen_fd = srv->epoll_fd = srv->request_fd = srv->stop_fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	server_opts(srv, opts);
	ret = server_fds(srv);
	if (ret)
		goto err_free;
	ret = sock_listen(srv);
	if (ret)
		goto err_free;
	ret = watch(srv, EPOLL_CTL_ADD, srv->listen_fd, EPOLLIN, &srv->listen_fd);
	if (ret)
		goto err_free;
	srv->listen_armed = true;
	ret = thread_start(srv);
	if (ret)
		goto err_free;
	*out = srv;
	return 0;
err_free:
	server_free(srv);  /* closes what was opened, unlinks a bound socket */
	return ret;
}

int api_server_request_fd(const struct api_server *srv)
{
	return srv->request_fd;
}

struct api_request *api_server_take(struct api_server *srv)
{
	struct api_request *req = NULL;
	eventfd_t count;

	eventfd_read(srv->request_fd, &count);  /* non-blocking: EAGAIN is fine */
	pthread_mutex_lock(&srv->lock);
	if (srv->handoff == HANDOFF_PUBLISHED) {
		srv->handoff = HANDOFF_TAKEN;
		req = srv->pending;
	}
	pthread_mutex_unlock(&srv->lock);
	return req;
}

void api_server_reply(struct api_server *srv, struct api_request *req)
{
	bool ok;

	pthread_mutex_lock(&srv->lock);
	ok = srv->handoff == HANDOFF_TAKEN && srv->pending == req;
	if (ok) {
		srv->handoff = HANDOFF_REPLIED;
		pthread_cond_broadcast(&srv->cond);
	}
	pthread_mutex_unlock(&srv->lock);
	if (!ok)
		log_error("api_server_reply: that request was not taken");
}

void api_server_stop(struct api_server *srv)
{
	if (!srv)
		return;
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	if (eventfd_write(srv->stop_fd, 1))
		log_error("API server stop: %s", strerror(errno));
	pthread_join(srv->thread, NULL);
	server_free(srv);
}
