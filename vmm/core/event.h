/* SPDX-License-Identifier: Apache-2.0 */
/*
 * event.h - the vmm thread's epoll loop.  Each source is a file descriptor
 * with a callback; the source struct is owned by the caller and must stay
 * valid while registered.  Single-threaded: only the vmm thread calls these.
 */
#ifndef EMBER_EVENT_H
#define EMBER_EVENT_H

#include <stdint.h>

struct ev_source;
typedef void (*ev_cb)(struct ev_source *src, uint32_t events);

struct ev_source {
	int fd;
	ev_cb cb;
	void *opaque;
};

struct ev_loop {
	int epfd;
};

int ev_init(struct ev_loop *loop);
void ev_close(struct ev_loop *loop);
/* Watch src->fd for `events` (EPOLLIN...); 0 or -errno (-EPERM: not pollable). */
int ev_add(struct ev_loop *loop, struct ev_source *src, uint32_t events);
int ev_del(struct ev_loop *loop, struct ev_source *src);
/* Wait up to timeout_ms (-1: forever) and run the ready callbacks. */
int ev_run_once(struct ev_loop *loop, int timeout_ms);

#endif
