// SPDX-License-Identifier: Apache-2.0
/*
 * uffd_handler - a page-fault handler for snapshots loaded with the "Uffd"
 * memory backend (Firecracker's protocol, docs/snapshots.md), ember's test
 * handler and the documented example.
 *
 *   uffd_handler SOCKET_PATH MEM_FILE
 *
 * Maps MEM_FILE (the snapshot's memory file) read-only, listens on
 * SOCKET_PATH, accepts one connection from the VMM and reads its one
 * message: the guest RAM regions (JSON, vmm/core/uffd_msg.h) with the
 * userfaultfd attached.  Both are untrusted and checked.  Then it serves
 * every missing-page fault with UFFDIO_COPY of that page from the file,
 * until the VMM process ends (a pidfd of the peer from SO_PEERCRED; where
 * there is none, until it is killed).  A page the VMM gave back
 * (UFFD_EVENT_REMOVE, e.g. a balloon) or unmapped (UFFD_EVENT_UNMAP) comes
 * back as zeros if it faults again.  On exit it prints how many faults it
 * served on stderr.  Exit status 0 when the VMM ended, 1 on an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/core/uffd_msg.h"

#define RECV_TIMEOUT_S 10   /* for the VMM's message, once connected */
#define MAX_DEFERRED   256  /* faults retried after the events pending before them */

struct region {
	struct uffd_region r;
	uint8_t *removed;        /* one bit per page: given back, comes back as zeros */
};

struct handler {
	const uint8_t *file;     /* MEM_FILE, mapped */
	uint64_t file_size;
	int uffd;
	int pidfd;               /* the VMM process, or -1 */
	struct region reg[UFFD_MSG_MAX_REGIONS];
	unsigned int nr;
	uint8_t *zeros;          /* one page of the largest page size */
	uint64_t deferred[MAX_DEFERRED];
	unsigned int nr_deferred;
	unsigned long faults, copies, zeroed, exists, removes;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("uffd_handler: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void map_file(struct handler *h, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st))
		die("%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || !st.st_size)
		die("%s: not a regular file, or empty", path);
	h->file_size = (uint64_t)st.st_size;
	h->file = mmap(NULL, h->file_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (h->file == MAP_FAILED)
		die("%s: mmap: %s", path, strerror(errno));
	close(fd);
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		die("%s: socket path too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1))
		die("%s: %s", path, strerror(errno));
	return fd;
}

/* The VMM's one message and the userfaultfd with it, read until the VMM
 * closes the connection (it sends nothing else). */
static size_t receive(int conn, char *buf, size_t max, int *uffd)
{
	struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };
	size_t len = 0;

	*uffd = -1;
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < max) {
		union {
			char b[CMSG_SPACE(sizeof(int) * 4)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = buf + len, .iov_len = max - len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
		ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;   /* a VMM that keeps the connection open: what came is all */
		if (n < 0)
			die("receiving the VMM's message: %s", strerror(errno));
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			size_t nfd;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (*uffd < 0)
					*uffd = fd;
				else
					close(fd);  /* one fd expected: extra ones are dropped */
			}
		}
		if (mh.msg_flags & MSG_CTRUNC)
			die("the VMM sent more file descriptors than expected");
		if (!n)
			break;
		len += (size_t)n;
	}
	if (*uffd < 0)
		die("the VMM sent no userfaultfd");
	return len;
}

/* The VMM's pid from the connection, as a pidfd to watch; -1 if unknown. */
static int peer_pidfd(int conn)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd;

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cr, &len) || cr.pid <= 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, cr.pid, 0);
	if (fd < 0)
		fprintf(stderr, "uffd_handler: pidfd_open(%d): %s: serving until killed\n",
			(int)cr.pid, strerror(errno));
	return fd;
}

static void setup_regions(struct handler *h, const char *msg, size_t len)
{
	struct uffd_region r[UFFD_MSG_MAX_REGIONS];
	uint64_t biggest = 0;
	char err[256];

	if (uffd_msg_parse(msg, len, h->file_size, r, UFFD_MSG_MAX_REGIONS, &h->nr, err,
			   sizeof(err)))
		die("the VMM's message is refused: %s", err);
	for (unsigned int i = 0; i < h->nr; i++) {
		uint64_t pages = r[i].size / r[i].page_size;

		h->reg[i].r = r[i];
		h->reg[i].removed = calloc(pages / 8 + 1, 1);
		if (!h->reg[i].removed)
			die("out of memory");
		if (r[i].page_size > biggest)
			biggest = r[i].page_size;
	}
	h->zeros = mmap(NULL, biggest, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h->zeros == MAP_FAILED)
		die("out of memory");
}

static struct region *find(struct handler *h, uint64_t addr)
{
	for (unsigned int i = 0; i < h->nr; i++)
		if (addr >= h->reg[i].r.base && addr - h->reg[i].r.base < h->reg[i].r.size)
			return &h->reg[i];
	return NULL;
}

static bool removed(const struct region *g, uint64_t page)
{
	uint64_t i = (page - g->r.base) / g->r.page_size;

	return g->removed[i / 8] & (1u << (i % 8));
}

/* Exit quietly when the VMM is gone. */
static void finish(struct handler *h, const char *why)
{
	fprintf(stderr, "uffd_handler: %s: served %lu faults (%lu pages copied, %lu zeroed, "
		"%lu already there), %lu remove/unmap events\n", why, h->faults, h->copies,
		h->zeroed, h->exists, h->removes);
	exit(0);
}

/* Fill the page holding `addr`; false when it must be retried later. */
static bool serve(struct handler *h, uint64_t addr)
{
	struct region *g = find(h, addr);
	uint64_t page, ps;
	struct uffdio_copy cp;

	if (!g)
		die("a fault at 0x%llx, outside every region", (unsigned long long)addr);
	ps = g->r.page_size;
	page = addr & ~(ps - 1);
	cp = (struct uffdio_copy){ .dst = page, .len = ps };
	if (removed(g, page)) {
		cp.src = (uintptr_t)h->zeros;
	} else {
		cp.src = (uintptr_t)(h->file + g->r.offset + (page - g->r.base));
	}
	if (!ioctl(h->uffd, UFFDIO_COPY, &cp)) {
		h->copies += !removed(g, page);
		h->zeroed += removed(g, page);
		return true;
	}
	if (errno == EEXIST) {
		/* Already filled (two vCPUs faulted on one page): just wake. */
		struct uffdio_range wr = { .start = page, .len = ps };

		h->exists++;
		ioctl(h->uffd, UFFDIO_WAKE, &wr);
		return true;
	}
	if (errno == EAGAIN)
		return false;   /* the mapping changes: events first */
	if (errno == ESRCH)
		finish(h, "the VMM's memory is gone");
	die("UFFDIO_COPY at 0x%llx: %s", (unsigned long long)page, strerror(errno));
}

/* Pages given back (or unmapped) fault in as zeros from now on. */
static void mark_removed(struct handler *h, uint64_t start, uint64_t end)
{
	h->removes++;
	for (unsigned int i = 0; i < h->nr; i++) {
		struct region *g = &h->reg[i];
		uint64_t ps = g->r.page_size, a, e;

		if (end <= g->r.base || start >= g->r.base + g->r.size)
			continue;
		a = start < g->r.base ? g->r.base : start;
		e = end - g->r.base > g->r.size ? g->r.base + g->r.size : end;
		for (a &= ~(ps - 1); a < e; a += ps) {
			uint64_t k = (a - g->r.base) / ps;

			g->removed[k / 8] |= (uint8_t)(1u << (k % 8));
		}
	}
}

static void handle(struct handler *h, const struct uffd_msg *m)
{
	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		h->faults++;
		if (!serve(h, m->arg.pagefault.address)) {
			if (h->nr_deferred == MAX_DEFERRED)
				die("too many faults waiting behind mapping changes");
			h->deferred[h->nr_deferred++] = m->arg.pagefault.address;
		}
		break;
	case UFFD_EVENT_REMOVE:
		mark_removed(h, m->arg.remove.start, m->arg.remove.end);
		break;
	case UFFD_EVENT_UNMAP:
		mark_removed(h, m->arg.remove.start, m->arg.remove.end);
		break;
	default:
		fprintf(stderr, "uffd_handler: event %u ignored\n", m->event);
		break;
	}
}

static void run(struct handler *h)
{
	struct pollfd p[2] = { { .fd = h->uffd, .events = POLLIN },
			       { .fd = h->pidfd, .events = POLLIN } };

	for (;;) {
		struct uffd_msg msgs[16];
		unsigned int waiting = h->nr_deferred;
		ssize_t n;

		if (poll(p, h->pidfd >= 0 ? 2 : 1, waiting ? 1 : -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (p[1].revents)
			finish(h, "the VMM ended");
		if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			finish(h, "the userfaultfd is closed");
		n = read(h->uffd, msgs, sizeof(msgs));
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			die("reading the userfaultfd: %s", strerror(errno));
		for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(msgs[0]); i++)
			handle(h, &msgs[i]);
		/* Faults that met a mapping change, after the events before them. */
		waiting = h->nr_deferred;
		h->nr_deferred = 0;
		for (unsigned int i = 0; i < waiting; i++)
			if (!serve(h, h->deferred[i]))
				h->deferred[h->nr_deferred++] = h->deferred[i];
	}
}

int main(int argc, char **argv)
{
	static struct handler h;
	static char msg[UFFD_MSG_MAX_LEN];
	int lfd, conn;
	size_t len;

	if (argc != 3) {
		fprintf(stderr, "usage: uffd_handler SOCKET_PATH MEM_FILE\n");
		return 1;
	}
	map_file(&h, argv[2]);
	lfd = listen_on(argv[1]);
	do
		conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (conn < 0 && errno == EINTR);
	if (conn < 0)
		die("accept: %s", strerror(errno));
	close(lfd);
	unlink(argv[1]);
	h.pidfd = peer_pidfd(conn);
	len = receive(conn, msg, sizeof(msg), &h.uffd);
	close(conn);
	setup_regions(&h, msg, len);
	run(&h);
}
