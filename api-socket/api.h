/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h - the HTTP/1.1 API server on a unix socket (the "api" thread) and
 * its hand-off to the vmm thread.
 *
 * The api thread accepts connections, parses requests with http-parser
 * (keep-alive and pipelining, bounded body size, bounded connection count,
 * a deadline for slow clients) and answers transport-level errors itself
 * (malformed HTTP → 400, body over the limit → 413, too many connections,
 * timeouts).  Every well-formed request is handed to the vmm thread, one at
 * a time and in order: the api thread publishes it, makes request_fd
 * readable and waits; the vmm thread takes it with api_server_take, runs the
 * handler, and hands it back with api_server_reply; the api thread then
 * writes the response.
 */
#ifndef EMBER_API_H
#define EMBER_API_H

#include <stdbool.h>
#include <stddef.h>

#define API_DEFAULT_MAX_PAYLOAD  51200
#define API_DEFAULT_MAX_CONNS    64
#define API_DEFAULT_TIMEOUT_MS   5000
#define API_MAX_PATH             256

enum api_method { API_GET, API_PUT, API_PATCH, API_OTHER };

struct api_request {
	/* filled by the api thread */
	enum api_method method;
	char method_name[16];         /* as sent, e.g. "DELETE" */
	char path[API_MAX_PATH];      /* without query string */
	char *body;                   /* NUL-terminated, NULL when empty */
	size_t body_len;
	/* filled by the vmm thread's handler */
	int status;                   /* 200, 204, 400, ... */
	char *resp_body;              /* malloc'd JSON or NULL (204) */
};

struct api_server_opts {
	const char *sock_path;
	size_t max_payload;           /* bytes of body; over it → 413 */
	unsigned int max_conns;       /* concurrent connections */
	unsigned int timeout_ms;      /* a request must arrive whole within this */
	/* api thread, before its first accept: confine itself (seccomp); non-zero
	 * stops the thread (the API is then gone).  NULL: nothing to do. */
	int (*confine)(void);
};

struct api_server;

/* Bind the socket (a stale socket file is replaced, a live one is refused
 * with -EADDRINUSE) and start the api thread.  vmm thread (api_open). */
int api_server_start(struct api_server **out, const struct api_server_opts *opts);
/* Readable (eventfd) when a request waits for the vmm thread. */
int api_server_request_fd(const struct api_server *srv);
/* vmm thread: the waiting request (consumes the eventfd count), or NULL. */
struct api_request *api_server_take(struct api_server *srv);
/* vmm thread: hand the answered request back; the server frees resp_body. */
void api_server_reply(struct api_server *srv, struct api_request *req);
/* Stop the thread, close every connection, unlink the socket.  vmm thread (api_close). */
void api_server_stop(struct api_server *srv);

/* Build a {"fault_message": ...} body (malloc'd) for status >= 400. */
char *api_fault_body(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
