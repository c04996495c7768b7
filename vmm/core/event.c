// SPDX-License-Identifier: Apache-2.0
/* event.c - see event.h. */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "event.h"

#define EV_BATCH 16

int ev_init(struct ev_loop *loop)
{
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epfd < 0 ? -errno : 0;
}

void ev_close(struct ev_loop *loop)
{
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->epfd = -1;
}

int ev_add(struct ev_loop *loop, struct ev_source *src, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = src };

	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, src->fd, &e) ? -errno : 0;
}

int ev_del(struct ev_loop *loop, struct ev_source *src)
{
	return epoll_ctl(loop->epfd, EPOLL_CTL_DEL, src->fd, NULL) ? -errno : 0;
}

int ev_run_once(struct ev_loop *loop, int timeout_ms)
{
	struct epoll_event ev[EV_BATCH];
	int n = epoll_wait(loop->epfd, ev, EV_BATCH, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct ev_source *src = ev[i].data.ptr;

		src->cb(src, ev[i].events);
	}
	return n;
}
