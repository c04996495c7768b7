// SPDX-License-Identifier: Apache-2.0
/*
 * vsock_host.c - virtio-vsock's host side before the io_uring: the listener
 * on uds_path, the connection limit RLIMIT_NOFILE allows, and the
 * "CONNECT <port>\n" handshake of host-initiated connections.  See vsock.h.
 *
 * The CONNECT line is parsed the way Firecracker's users write it: the
 * keyword in any case, blanks (spaces, tabs) between the words, trailing
 * blanks and a '\r' before the '\n' tolerated; anything else (a port that
 * is not plain decimal or does not fit 32 bits, more words, no newline in
 * VSOCK_LINE_MAX bytes) closes the unix connection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/core/log.h"
#include "vmm/core/usock.h"
#include "vsock_priv.h"

#define LISTEN_BACKLOG 128

int vsock_host_listen(struct vsock_dev *v, const char *path)
{
	int ret;

	snprintf(v->uds_path, sizeof(v->uds_path), "%s", path);
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0)
		return -errno;
	/* A live listener at uds_path belongs to another program: refused,
	 * never unlinked.  A stale socket file is replaced. */
	ret = usock_bind(v->listen_fd, v->uds_path, v->name, &v->uds_id);
	if (ret == -EADDRINUSE) {
		log_error("%s: uds_path %s is a live socket (a program listens on it): "
			  "refusing to replace it", v->name, path);
		return ret;
	}
	if (ret == -EEXIST) {
		log_error("%s: uds_path %s exists and is not a socket: left alone", v->name, path);
		return ret;
	}
	if (ret) {
		log_error("%s: cannot bind %s: %s", v->name, path, strerror(-ret));
		return ret;
	}
	if (listen(v->listen_fd, LISTEN_BACKLOG)) {
		log_error("%s: cannot listen on %s: %s", v->name, path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The fixed-file table (max_conns + 1 slots) may not be larger than the
 * soft RLIMIT_NOFILE.  Raise that towards the hard limit; if it still is
 * too small, fit the table beside a reserve of descriptors for the rest of
 * ember (which also needs one per connection briefly, while installing). */
unsigned int vsock_host_conn_limit(struct vsock_dev *v)
{
	const rlim_t want = VSOCK_MAX_CONNS + 1 + VSOCK_FD_RESERVE;
	struct rlimit rl;
	rlim_t reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return VSOCK_MAX_CONNS;  /* cannot tell: registering the table will */
	if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
		struct rlimit raised = { .rlim_cur = rl.rlim_max < want ? rl.rlim_max : want,
					 .rlim_max = rl.rlim_max };

		if (!setrlimit(RLIMIT_NOFILE, &raised)) {
			log_info("%s: RLIMIT_NOFILE soft limit raised from %llu to %llu", v->name,
				 (unsigned long long)rl.rlim_cur, (unsigned long long)raised.rlim_cur);
			rl.rlim_cur = raised.rlim_cur;
		}
	}
	if (rl.rlim_cur >= want)
		return VSOCK_MAX_CONNS;
	reserve = rl.rlim_cur / 2 < VSOCK_FD_RESERVE ? rl.rlim_cur / 2 : VSOCK_FD_RESERVE;
	if (rl.rlim_cur < reserve + 2) {
		log_error("%s: RLIMIT_NOFILE (%llu) leaves no room for connections", v->name,
			  (unsigned long long)rl.rlim_cur);
		return 0;
	}
	log_warn("%s: connection limit lowered from %u to %llu: RLIMIT_NOFILE is %llu (hard "
		 "limit %llu), the io_uring file table needs a slot per connection and %llu "
		 "descriptors stay for the rest of ember", v->name, VSOCK_MAX_CONNS,
		 (unsigned long long)(rl.rlim_cur - reserve - 1), (unsigned long long)rl.rlim_cur,
		 (unsigned long long)rl.rlim_max, (unsigned long long)reserve);
	return (unsigned int)(rl.rlim_cur - reserve - 1);
}

void vsock_host_accepted(struct vsock_dev *v, int fd)
{
	struct vsock_conn *c = NULL;

	if (v->nr_host_lines < VSOCK_MAX_HOST_PENDING)
		c = vsock_conn_alloc(v, VSOCK_HANDSHAKE);
	if (!c) {
		v->stats.conns_refused++;
		log_ratelimited(LOG_WARN, "%s: host connection refused: too many %s", v->name,
				v->nr_conns < v->max_conns ? "handshakes in progress"
							   : "connections");
		close(fd);
		return;
	}
	if (vsock_uds_install(v, c, fd) || vsock_uds_recv(v, c, c->line, VSOCK_LINE_MAX))
		vsock_conn_close(v, c, false);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int vsock_parse_connect(const char *line, uint32_t len, uint32_t *port)
{
	static const char verb[] = "CONNECT";
	uint32_t i = sizeof(verb) - 1, digits = 0;
	uint64_t val = 0;

	if (len && line[len - 1] == '\r')
		len--;
	while (len && is_blank(line[len - 1]))
		len--;
	if (len <= i || strncasecmp(line, verb, i) || !is_blank(line[i]))
		return -EINVAL;
	while (i < len && is_blank(line[i]))
		i++;
	for (; i < len; i++, digits++) {
		if (line[i] < '0' || line[i] > '9')
			return -EINVAL;
		val = val * 10 + (uint64_t)(line[i] - '0');
		if (val > UINT32_MAX)
			return -EINVAL;
	}
	if (!digits)
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

void vsock_host_line(struct vsock_dev *v, struct vsock_conn *c, int res)
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
	/* The client did not wait for OK: those bytes are for the guest.  They
	 * stay in line[] (no staging buffer) until delivered. */
	extra = c->line_len - (uint32_t)(nl + 1 - c->line);
	memmove(c->line, nl + 1, extra);
	c->r_off = 0;
	c->r_len = extra;
	c->r_inline = extra != 0;
	vsock_conn_host_request(v, c, port);
}
