// SPDX-License-Identifier: MIT
/*
 * xfer.c - the byte mover of ember's network and vsock tests, on both sides:
 * in the guest's root filesystem and on the host (L1).
 *
 * It moves a deterministic pseudo-random stream (xorshift64*, seeded) over TCP,
 * AF_VSOCK, a unix socket, or a unix socket with Firecracker's vsock handshake
 * (`CONNECT <port>\n` answered by `OK <hostport>\n`), and prints for every
 * connection the bytes moved and their checksum (FNV-1a 64 over 64-bit words), so the two ends of a
 * transfer can be compared.  Every wait is bounded by the idle timeout (-t).
 *
 * Usage: xfer MODE [options] ENDPOINT
 *   send         connect, send -n BYTES of the stream, half-close, wait for the
 *                peer to close
 *   recv         connect, receive -n BYTES (or until the peer closes)
 *   echo         connect, send -n BYTES, read them back, check they match
 *   many         echo over -m CONNS connections opened at once
 *   abort        connect, send -n BYTES, then reset the connection (SO_LINGER 0)
 *   serve-echo   listen; echo every connection back
 *   serve-recv   listen; receive every connection (-n BYTES each, or to its end)
 *   serve-send   listen; send -n BYTES to every connection
 *                (serve-*: -k COUNT connections, concurrently; 0 = forever)
 *   raw          connect (unix: endpoint, no handshake), write -d DATA (with \n,
 *                \r, \\ and \xHH escapes; -L N appends N 'A's), report whether
 *                the peer answered, closed or stayed silent; -c closes right
 *                after writing
 *   gen          write -n BYTES of the stream to stdout
 * Endpoints: tcp:IPV4:PORT, vsock:CID:PORT, unix:PATH, fc:UDS_PATH:PORT;
 *   listening: tcp:PORT, vsock:PORT, unix:PATH.
 * Options: -s SEED (default 1; connection i of many/serve-send uses SEED+i),
 *   -t SECONDS idle timeout (default 30), -q no per-connection lines.
 * Output: `xfer: ROLE bytes=N sum=HEX secs=S mibps=R end=HOW` per connection,
 *   then `xfer: ok` (status 0) or `xfer: FAIL reason` (status 1).
 *   raw prints `xfer: raw result=answered|closed|reset|silent|sent reply='...'`.
 * Sizes take K, M and G suffixes (powers of 1024).
 *
 * Built static (gcc -static -O2) by tests/tests.mk and tests/guests/mkrootfs.sh.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define BUF_SIZE (64 * 1024)
#define MAX_CONNS 1024
#define HS_MAX 64		/* longest handshake answer we accept */

enum role { R_SEND, R_RECV, R_ECHO, R_ECHOED, R_ABORT };
static const char *const role_name[] = { "send", "recv", "echo", "echoed", "abort" };

struct stream {			/* xorshift64* stream, 8 bytes a step */
	uint64_t x;
	uint8_t word[8];
	unsigned used;
};

struct sum {			/* see sum_add() */
	uint64_t h, word, len;
};

struct conn {
	int fd;
	enum role role;
	int handshake;		/* reading the `OK <port>` line */
	char hs[HS_MAX + 1];
	size_t hs_len;
	struct stream gen;
	uint64_t tx_left;	/* stream bytes still to send */
	uint64_t tx, rx;	/* bytes sent, received */
	uint64_t rx_want;	/* stop after this many (UINT64_MAX: at the end) */
	struct sum tx_sum, rx_sum;
	uint8_t buf[BUF_SIZE];	/* echo: received, not yet sent back */
	size_t buf_len, buf_off;
	int wr_shut, reported;
	double t0;
	const char *end;	/* NULL while open */
	const char *error;
};

static struct {
	uint64_t bytes;
	int bytes_set;
	uint64_t seed;
	int conns, count, idle, quiet, close_after;
	const char *data;
	size_t pad;
} opt = { .seed = 1, .conns = 1, .idle = 30 };

static int failed;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("xfer: FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failed = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void stream_init(struct stream *s, uint64_t seed)
{
	/* splitmix64 of the seed: never zero, seeds 1 and 2 unrelated */
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	s->x = (z ^ (z >> 31)) | 1;
	s->used = 8;
}

static uint64_t stream_next(struct stream *s)
{
	s->x ^= s->x >> 12;
	s->x ^= s->x << 25;
	s->x ^= s->x >> 27;
	return s->x * 0x2545f4914f6cdd1dULL;
}

static void stream_fill(struct stream *s, uint8_t *p, size_t n)
{
	for (; n && s->used < 8; n--)
		*p++ = s->word[s->used++];
	for (; n >= 8; n -= 8, p += 8) {
		uint64_t v = stream_next(s);

		memcpy(p, &v, 8);
	}
	if (n) {
		uint64_t v = stream_next(s);

		memcpy(s->word, &v, 8);
		memcpy(p, s->word, n);
		s->used = n;
	}
}

/*
 * The checksum: FNV-1a 64 taken over 64-bit little-endian words instead of
 * bytes (eight times fewer multiplications, which matters at nested-TCG speed);
 * the final partial word and the length are mixed in by sum_value().
 */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static void sum_init(struct sum *s)
{
	*s = (struct sum){ .h = FNV_OFFSET };
}

static void sum_add(struct sum *s, const uint8_t *p, size_t n)
{
	while (n && (s->len & 7)) {	/* complete a partial word first */
		s->word |= (uint64_t)*p++ << (8 * (s->len & 7));
		s->len++;
		n--;
		if (!(s->len & 7)) {
			s->h = (s->h ^ s->word) * FNV_PRIME;
			s->word = 0;
		}
	}
	for (; n >= 8; n -= 8, p += 8, s->len += 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		s->h = (s->h ^ w) * FNV_PRIME;
	}
	for (; n; n--, s->len++)	/* a partial word: fewer than 8 bytes left */
		s->word |= (uint64_t)*p++ << (8 * (s->len & 7));
}

static uint64_t sum_value(const struct sum *s)
{
	return ((s->h ^ s->word) * FNV_PRIME ^ s->len) * FNV_PRIME;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'G': v <<= 10; /* fall through */
	case 'M': v <<= 10; /* fall through */
	case 'K': v <<= 10; end++; break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* ---- endpoints ------------------------------------------------------------ */

struct endpoint {
	int family;
	struct sockaddr_storage addr;
	socklen_t len;
	unsigned fc_port;	/* fc: the CONNECT port; 0 for the others */
};

static int parse_port(const char *s, unsigned *port)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v > 0xffffffffUL)
		return -1;
	*port = v;
	return 0;
}

static int parse_unix(const char *path, struct endpoint *ep)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&ep->addr;

	if (!*path || strlen(path) >= sizeof(un->sun_path))
		return -1;
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, path);
	ep->family = AF_UNIX;
	ep->len = sizeof(*un);
	return 0;
}

/* Parse ENDPOINT; listening endpoints have no host/CID part. */
static int parse_endpoint(const char *spec, int listening, struct endpoint *ep)
{
	char buf[256], *rest, *colon;
	unsigned port, cid = VMADDR_CID_ANY;

	memset(ep, 0, sizeof(*ep));
	if (strlen(spec) >= sizeof(buf))
		return -1;
	strcpy(buf, spec);
	rest = strchr(buf, ':');
	if (!rest)
		return -1;
	*rest++ = '\0';
	if (strcmp(buf, "unix") == 0)
		return parse_unix(rest, ep);
	colon = strrchr(rest, ':');
	if (strcmp(buf, "fc") == 0) {
		if (listening || !colon)
			return -1;
		*colon = '\0';
		if (parse_port(colon + 1, &ep->fc_port) || parse_unix(rest, ep))
			return -1;
		return 0;
	}
	if (listening ? colon != NULL : colon == NULL)
		return -1;
	if (parse_port(listening ? rest : colon + 1, &port))
		return -1;
	if (colon)
		*colon = '\0';
	if (strcmp(buf, "vsock") == 0) {
		struct sockaddr_vm *vm = (struct sockaddr_vm *)&ep->addr;

		if (!listening && parse_port(rest, &cid))
			return -1;
		vm->svm_family = AF_VSOCK;
		vm->svm_cid = cid;
		vm->svm_port = port;
		ep->family = AF_VSOCK;
		ep->len = sizeof(*vm);
		return 0;
	}
	if (strcmp(buf, "tcp") == 0) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ep->addr;
		if (port > 0xffff)
			return -1;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		if (!listening && inet_pton(AF_INET, rest, &in->sin_addr) != 1)
			return -1;	/* numeric addresses only: no resolver in a static binary */
		in->sin_port = htons(port);
		ep->family = AF_INET;
		ep->len = sizeof(*in);
		return 0;
	}
	return -1;
}

static void set_timeouts(int fd, int family)
{
	struct timeval tv = { .tv_sec = opt.idle };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (family == AF_VSOCK)	/* default 2 s: too short for a nested guest */
		setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv));
}

/* A connected socket (blocking connect bounded by the idle timeout), or -1. */
static int ep_connect(const struct endpoint *ep)
{
	int fd = socket(ep->family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fail("socket: %s", strerror(errno));
		return -1;
	}
	set_timeouts(fd, ep->family);
	if (connect(fd, (const struct sockaddr *)&ep->addr, ep->len) < 0) {
		fail("connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (ep->family == AF_INET)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	return fd;
}

static int ep_listen(const struct endpoint *ep)
{
	int fd = socket(ep->family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fail("socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	if (ep->family == AF_UNIX)
		unlink(((const struct sockaddr_un *)&ep->addr)->sun_path);
	if (bind(fd, (const struct sockaddr *)&ep->addr, ep->len) < 0 || listen(fd, MAX_CONNS) < 0) {
		fail("bind/listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- connections ---------------------------------------------------------- */

static struct conn *conns[MAX_CONNS];
static int nconns;

static struct conn *conn_new(int fd, enum role role, uint64_t seed, unsigned fc_port)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		fail("out of memory");
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->role = role;
	stream_init(&c->gen, seed);
	c->tx_left = (role == R_SEND || role == R_ECHO || role == R_ABORT) ? opt.bytes : 0;
	c->rx_want = UINT64_MAX;
	if (role == R_ECHO || (role == R_RECV && opt.bytes_set))
		c->rx_want = opt.bytes;
	sum_init(&c->tx_sum);
	sum_init(&c->rx_sum);
	c->t0 = now();
	if (fc_port) {
		char line[32];
		int n = snprintf(line, sizeof(line), "CONNECT %u\n", fc_port);

		if (write(fd, line, n) != n) {
			fail("writing the handshake: %s", strerror(errno));
			close(fd);
			free(c);
			return NULL;
		}
		c->handshake = 1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	conns[nconns++] = c;
	return c;
}

/*
 * End C (closing it, or resetting it for abort).  Unless ERROR says otherwise,
 * an end before every byte was sent, received or echoed is a failure.
 */
static void conn_end(struct conn *c, const char *how, const char *error)
{
	if (c->end)
		return;
	if (!error && c->tx_left)
		error = "ended before all bytes were sent";
	if (!error && c->rx_want != UINT64_MAX && c->rx < c->rx_want)
		error = "ended before all bytes arrived";
	if (!error && c->buf_len > c->buf_off && c->role == R_ECHOED)
		error = "ended before everything was echoed";
	c->end = how;
	c->error = error;
	if (c->role == R_ABORT && !error)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 0 }, sizeof(struct linger));
	close(c->fd);
	c->fd = -1;
}

/* The `OK <port>\n` line, a byte at a time so no stream byte is taken. */
static void conn_handshake(struct conn *c)
{
	char ch;
	ssize_t n;

	while ((n = read(c->fd, &ch, 1)) == 1) {
		if (ch == '\n') {
			c->hs[c->hs_len] = '\0';
			if (strncmp(c->hs, "OK ", 3) != 0 || !isdigit((unsigned char)c->hs[3])) {
				conn_end(c, "handshake", "handshake answer is not OK <port>");
				return;
			}
			c->handshake = 0;
			c->t0 = now();
			return;
		}
		if (c->hs_len == HS_MAX) {
			conn_end(c, "handshake", "handshake answer too long");
			return;
		}
		c->hs[c->hs_len++] = ch;
	}
	if (n == 0)
		conn_end(c, "handshake", "closed during the handshake (no OK)");
	else if (errno != EAGAIN && errno != EINTR)
		conn_end(c, "handshake", "error during the handshake");
}

static void conn_read(struct conn *c)
{
	uint8_t tmp[BUF_SIZE];
	uint8_t *p = c->role == R_ECHOED ? c->buf : tmp;
	size_t room = sizeof(tmp);
	ssize_t n;

	if (c->rx_want != UINT64_MAX && c->rx_want - c->rx < room)
		room = c->rx_want - c->rx;
	n = read(c->fd, p, room);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_end(c, errno == ECONNRESET || errno == EPIPE ? "reset" : "error",
			 errno == ECONNRESET || errno == EPIPE ? NULL : strerror(errno));
		return;
	}
	if (n == 0) {
		conn_end(c, "eof", NULL);
		return;
	}
	c->rx += n;
	sum_add(&c->rx_sum, p, n);
	if (c->role == R_ECHOED) {
		c->buf_len = n;
		c->buf_off = 0;
	}
	if (c->rx == c->rx_want && c->role == R_ECHO)
		conn_end(c, "done", sum_value(&c->rx_sum) != sum_value(&c->tx_sum) ? "the echo differs from what was sent" : NULL);
	else if (c->rx == c->rx_want && c->role == R_RECV)
		conn_end(c, "done", NULL);
}

/* Send the pending bytes: the echo buffer, or the next piece of the stream. */
static void conn_write(struct conn *c)
{
	ssize_t n;

	if (c->role != R_ECHOED && c->buf_len == 0) {
		c->buf_len = c->tx_left < BUF_SIZE ? c->tx_left : BUF_SIZE;
		c->buf_off = 0;
		stream_fill(&c->gen, c->buf, c->buf_len);
	}
	n = write(c->fd, c->buf + c->buf_off, c->buf_len - c->buf_off);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_end(c, errno == ECONNRESET || errno == EPIPE ? "reset" : "error", NULL);
		return;
	}
	if (c->role != R_ECHOED) {
		sum_add(&c->tx_sum, c->buf + c->buf_off, n);
		c->tx_left -= n;
	}
	c->tx += n;
	c->buf_off += n;
	if (c->buf_off == c->buf_len)
		c->buf_len = c->buf_off = 0;
	if (c->tx_left == 0 && c->role == R_ABORT)
		conn_end(c, "reset-sent", NULL);
	else if (c->tx_left == 0 && c->role == R_SEND && !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = 1;
	}
}

static short conn_events(const struct conn *c)
{
	if (c->handshake)
		return POLLIN;
	if (c->role == R_ECHOED)
		return c->buf_len > c->buf_off ? POLLOUT : POLLIN;
	return (c->tx_left ? POLLOUT : 0) | POLLIN;
}

static void conn_report(const struct conn *c)
{
	double secs = now() - c->t0;
	uint64_t bytes = c->role == R_RECV ? c->rx : c->tx;
	uint64_t sum = sum_value(c->role == R_RECV || c->role == R_ECHOED ? &c->rx_sum : &c->tx_sum);

	if (!opt.quiet || c->error)
		printf("xfer: %s bytes=%" PRIu64 " sum=%016" PRIx64 " secs=%.3f mibps=%.2f end=%s%s%s\n",
		       role_name[c->role], bytes, sum, secs, secs > 0 ? bytes / secs / 1048576 : 0.0,
		       c->end ? c->end : "open", c->error ? " error=" : "", c->error ? c->error : "");
}

/*
 * Run every connection to its end; with a listening socket, accept until
 * `count` connections (0: forever) were taken.  Returns the failures.
 */
static int run(int lfd, int count, enum role role)
{
	struct pollfd pfd[MAX_CONNS + 1];
	struct conn *map[MAX_CONNS + 1];
	int accepted = 0, bad = 0, i;

	for (;;) {
		int n = 0, open = 0, r;

		if (lfd >= 0 && (count == 0 || accepted < count) && nconns < MAX_CONNS) {
			pfd[n] = (struct pollfd){ .fd = lfd, .events = POLLIN };
			map[n++] = NULL;
		}
		for (i = 0; i < nconns; i++) {
			if (conns[i]->end)
				continue;
			pfd[n] = (struct pollfd){ .fd = conns[i]->fd, .events = conn_events(conns[i]) };
			map[n++] = conns[i];
			open++;
		}
		if (!n)
			break;
		r = poll(pfd, n, open || count ? opt.idle * 1000 : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fail("nothing moved for %d s (%d connection(s) open, %d accepted)", opt.idle, open, accepted);
			for (i = 0; i < nconns; i++)
				if (!conns[i]->end)
					conn_end(conns[i], "timeout", "idle timeout");
			break;
		}
		for (i = 0; i < n; i++) {
			struct conn *c = map[i];

			if (!pfd[i].revents)
				continue;
			if (!c) {
				int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

				if (fd >= 0 && conn_new(fd, role, opt.seed + accepted, 0))
					accepted++;
				continue;
			}
			if (c->handshake)
				conn_handshake(c);
			else if ((pfd[i].events & POLLIN) && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				conn_read(c);
			if (!c->end && !c->handshake && (pfd[i].revents & (POLLOUT | POLLHUP | POLLERR)) &&
			    (pfd[i].events & POLLOUT))
				conn_write(c);
		}
		for (i = 0; i < nconns; i++)
			if (conns[i]->end && !conns[i]->reported) {
				conn_report(conns[i]);
				bad += conns[i]->error != NULL;
				conns[i]->reported = 1;
			}
		fflush(stdout);
	}
	return bad;
}

/* ---- raw: a handshake line of our choosing --------------------------------- */

static size_t unescape(const char *s, char *out)
{
	size_t n = 0;

	while (*s) {
		if (*s != '\\' || !s[1]) {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': out[n++] = '\n'; s++; break;
		case 'r': out[n++] = '\r'; s++; break;
		case 'x':
			if (isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
				char hex[3] = { s[1], s[2], 0 };

				out[n++] = (char)strtoul(hex, NULL, 16);
				s += 3;
				break;
			}
			/* fall through */
		default: out[n++] = *s++; break;
		}
	}
	return n;
}

static int do_raw(const struct endpoint *ep)
{
	size_t len = strlen(opt.data ? opt.data : "");
	char *msg = malloc(len + opt.pad + 1), reply[256];
	size_t n, got = 0;
	const char *result;
	int fd;

	if (!msg) {
		fail("out of memory");
		return 1;
	}
	n = unescape(opt.data ? opt.data : "", msg);
	memset(msg + n, 'A', opt.pad);
	n += opt.pad;
	fd = ep_connect(ep);
	if (fd < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (write(fd, msg, n) != (ssize_t)n) {
		result = "closed";	/* taken as closed: the peer stopped reading */
	} else if (opt.close_after) {
		result = "sent";
	} else {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		result = "silent";
		while (got < sizeof(reply) - 1 && poll(&p, 1, opt.idle * 1000) > 0) {
			ssize_t r = read(fd, reply + got, sizeof(reply) - 1 - got);

			if (r < 0 && errno == ECONNRESET) {
				result = "reset";
				break;
			}
			if (r <= 0) {
				result = "closed";
				break;
			}
			got += r;
			result = "answered";
			if (memchr(reply, '\n', got))
				break;
		}
	}
	reply[got] = '\0';
	reply[strcspn(reply, "\r\n")] = '\0';
	printf("xfer: raw result=%s reply='%s'\n", result, reply);
	close(fd);
	free(msg);
	return 0;
}

/* ---- main ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: xfer send|recv|echo|many|abort|serve-echo|serve-recv|serve-send|raw|gen\n"
		"            [-n BYTES] [-s SEED] [-m CONNS] [-k COUNT] [-t SECS] [-d DATA] [-L N] [-c] [-q]\n"
		"            ENDPOINT (tcp:HOST:PORT vsock:CID:PORT unix:PATH fc:UDS:PORT; listening tcp:PORT vsock:PORT unix:PATH)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; enum role role; int listen; } modes[] = {
		{ "send", R_SEND, 0 }, { "recv", R_RECV, 0 }, { "echo", R_ECHO, 0 },
		{ "many", R_ECHO, 0 }, { "abort", R_ABORT, 0 }, { "raw", R_SEND, 0 },
		{ "serve-echo", R_ECHOED, 1 }, { "serve-recv", R_RECV, 1 }, { "serve-send", R_SEND, 1 },
	};
	struct endpoint ep;
	const char *mode;
	unsigned m;
	int c, i, lfd = -1;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "n:s:m:k:t:d:L:cq")) != -1) {
		uint64_t v;

		switch (c) {
		case 'n': if (parse_size(optarg, &opt.bytes)) usage(); opt.bytes_set = 1; break;
		case 's': if (parse_size(optarg, &opt.seed)) usage(); break;
		case 'm': if (parse_size(optarg, &v) || !v || v > MAX_CONNS) usage(); opt.conns = v; break;
		case 'k': if (parse_size(optarg, &v) || v > 1000000) usage(); opt.count = v; break;
		case 't': if (parse_size(optarg, &v) || !v || v > 86400) usage(); opt.idle = v; break;
		case 'd': opt.data = optarg; break;
		case 'L': if (parse_size(optarg, &v) || v > (1 << 20)) usage(); opt.pad = v; break;
		case 'c': opt.close_after = 1; break;
		case 'q': opt.quiet = 1; break;
		default: usage();
		}
	}
	if (strcmp(mode, "gen") == 0) {
		struct stream s;
		uint8_t buf[BUF_SIZE];
		struct sum sum;

		sum_init(&sum);
		stream_init(&s, opt.seed);
		for (uint64_t left = opt.bytes; left;) {
			size_t n = left < sizeof(buf) ? left : sizeof(buf);

			stream_fill(&s, buf, n);
			sum_add(&sum, buf, n);
			if (fwrite(buf, 1, n, stdout) != n)
				return 1;
			left -= n;
		}
		fprintf(stderr, "xfer: gen bytes=%" PRIu64 " sum=%016" PRIx64 "\n", opt.bytes, sum_value(&sum));
		return 0;
	}
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]) && strcmp(mode, modes[m].name); m++)
		;
	if (m == sizeof(modes) / sizeof(modes[0]) || optind != argc - 1)
		usage();
	if (parse_endpoint(argv[optind], modes[m].listen, &ep)) {
		fprintf(stderr, "xfer: bad endpoint '%s'\n", argv[optind]);
		usage();
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "raw") == 0) {
		if (ep.family != AF_UNIX || ep.fc_port)
			usage();
		return do_raw(&ep) || failed;
	}
	if (modes[m].listen) {
		lfd = ep_listen(&ep);
		if (lfd < 0)
			return 1;
		printf("xfer: listening on %s\n", argv[optind]);
	} else {
		int n = strcmp(mode, "many") == 0 ? opt.conns : 1;

		for (i = 0; i < n; i++) {
			int fd = ep_connect(&ep);

			if (fd < 0 || !conn_new(fd, modes[m].role, opt.seed + i, ep.fc_port))
				break;
		}
		if (nconns < n) {
			fail("connected %d of %d", nconns, n);
			return 1;
		}
	}
	i = run(lfd, opt.count, modes[m].role);
	if (i && !failed)
		fail("%d of %d connection(s) failed", i, nconns);
	else if (!failed)
		printf("xfer: ok\n");
	return failed;
}
