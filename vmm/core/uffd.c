// SPDX-License-Identifier: Apache-2.0
/* uffd.c - see uffd.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "uffd.h"

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

static int uffd_new(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK), dev;

	if (fd >= 0 || (errno != EPERM && errno != ENOSYS))
		return fd >= 0 ? fd : -errno;
	/* The device hands out userfaultfds that also see the kernel's own
	 * faults on the range (KVM's) to whoever may open it (file modes). */
	dev = open("/dev/userfaultfd", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (dev < 0)
		return errno == ENOENT ? -EPERM : -errno;
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		fd = -errno;
	close(dev);
	return fd;
}

int uffd_create(char *err, size_t errlen)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	int fd = uffd_new();

	if (fd < 0) {
		snprintf(err, errlen, "cannot create a userfaultfd: %s (ember needs "
			 "CAP_SYS_PTRACE, vm.unprivileged_userfaultfd = 1, or read-write access "
			 "to /dev/userfaultfd)", strerror(-fd));
		return fd;
	}
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		int e = errno;

		snprintf(err, errlen, "userfaultfd: UFFDIO_API: %s", strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

int uffd_register(int uffd, void *addr, uint64_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
		return -errno;
	return reg.ioctls & (1ULL << _UFFDIO_COPY) ? 0 : -EOPNOTSUPP;
}

int uffd_unregister(int uffd, void *addr, uint64_t len)
{
	struct uffdio_range range = { .start = (uintptr_t)addr, .len = len };

	return ioctl(uffd, UFFDIO_UNREGISTER, &range) < 0 ? -errno : 0;
}

static int uffd_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

int uffd_send(const char *path, int uffd, const char *msg, char *err, size_t errlen)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl = { 0 };
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int fd = uffd_connect(path), ret = 0;
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to the page-fault handler's socket %s: %s",
			 path, fd == -EAGAIN ? "its backlog is full" : strerror(-fd));
		return fd;
	}
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &uffd, sizeof(int));
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != iov.iov_len) {
		ret = n < 0 ? -errno : -EMSGSIZE;
		snprintf(err, errlen, "cannot send the userfaultfd to the page-fault handler at "
			 "%s: %s", path, n < 0 ? strerror(errno) : "short write");
	}
	close(fd);
	return ret;
}
