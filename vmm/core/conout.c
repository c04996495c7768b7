// SPDX-License-Identifier: Apache-2.0
/* conout.c - see conout.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conout.h"

/* The last-resort flags to put back at exit (one console per process). */
static int exit_restore_fd = -1, exit_restore_flags;

static void conout_restore_at_exit(void)
{
	if (exit_restore_fd >= 0)
		fcntl(exit_restore_fd, F_SETFL, exit_restore_flags);
	exit_restore_fd = -1;
}

/* A private non-blocking description of the pipe/terminal behind `fd`. */
static int conout_reopen(int fd)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

/* No /proc: make `fd`'s shared description non-blocking, undone later. */
static int conout_share_nonblocking(struct conout *o, int fd)
{
	static bool registered;
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	if (!(flags & O_NONBLOCK)) {
		o->restore_fd = exit_restore_fd = fd;
		o->restore_flags = exit_restore_flags = flags;
		if (!registered && !atexit(conout_restore_at_exit))
			registered = true;
	}
	return 0;
}

static int conout_open_at(struct conout *o, int fd, bool may_share)
{
	struct stat st;
	int ret;

	*o = (struct conout){ .mode = CONOUT_NONE, .fd = -1, .restore_fd = -1 };
	if (fstat(fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		*o = (struct conout){ .mode = CONOUT_WRITE, .fd = fd, .restore_fd = -1 };
		return 0;
	}
	if (S_ISSOCK(st.st_mode)) {
		*o = (struct conout){ .mode = CONOUT_SEND, .fd = fd, .restore_fd = -1 };
		return 0;
	}
	o->fd = conout_reopen(fd);
	if (o->fd >= 0) {
		o->mode = CONOUT_WRITE;
		o->own_fd = true;
		return 0;
	}
	ret = -errno;
	if (!may_share || conout_share_nonblocking(o, fd))
		return ret;  /* nothing non-blocking to write to: discard */
	o->mode = CONOUT_WRITE;
	o->fd = fd;
	return ret;
}

int conout_open(struct conout *o, int fd)
{
	return conout_open_at(o, fd, true);
}

int conout_open_private(struct conout *o, int fd)
{
	return conout_open_at(o, fd, false);
}

ssize_t conout_write(void *opaque, const void *buf, size_t len)
{
	const struct conout *o = opaque;
	ssize_t n;

	switch (o->mode) {
	case CONOUT_WRITE:
		n = write(o->fd, buf, len);
		break;
	case CONOUT_SEND:
		n = send(o->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	default:
		return -EBADF;
	}
	return n < 0 ? -errno : n;
}

void conout_close(struct conout *o)
{
	if (o->own_fd)
		close(o->fd);
	if (o->restore_fd >= 0) {
		fcntl(o->restore_fd, F_SETFL, o->restore_flags);
		exit_restore_fd = -1;
	}
	*o = (struct conout){ .mode = CONOUT_NONE, .fd = -1, .restore_fd = -1 };
}
