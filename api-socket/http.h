/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h - one HTTP/1.1 server connection as a bytes-in, bytes-out state
 * machine over Debian's http-parser.  No sockets, no clock, no threads:
 * the api thread (server.c) owns one struct http_conn per connection and
 * calls everything here; so do the unit tests and the fuzzer.
 *
 * Cycle: feed received bytes with http_conn_feed() until it returns
 * HTTP_FEED_REQUEST; the request is then in c->req (path without query,
 * body NUL-terminated, bounded by max_payload).  Fill c->req.status and
 * c->req.resp_body, call http_conn_respond(), and feed the bytes that were
 * not consumed (pipelining).  Transport errors (malformed HTTP → 400, body
 * over the limit → 413, URI or headers too long → 400) are answered here:
 * the fault response is queued and the connection turns "closing".
 * Whatever is queued is read with http_conn_output() and released with
 * http_conn_consume() as the socket takes it.
 */
#ifndef EMBER_HTTP_H
#define EMBER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <http_parser.h>

#include "api.h"

#define HTTP_MAX_HEADER_BYTES  8192        /* request line + headers */
#define HTTP_MAX_URL           1024        /* request target, query included */
#define HTTP_OUT_MAX           (256 * 1024) /* unsent response bytes */

enum http_feed {
	HTTP_FEED_MORE,     /* all bytes consumed, no whole request yet */
	HTTP_FEED_REQUEST,  /* c->req is a whole request: respond, then feed the rest */
	HTTP_FEED_CLOSE,    /* closing: no more input is parsed; flush output, close */
};

struct http_conn {
	http_parser parser;
	size_t max_payload;
	struct api_request req;       /* the request being parsed, or ready */
	size_t body_cap;
	char url[HTTP_MAX_URL];
	size_t url_len;
	char hdr_name[16];            /* the current header, enough for "Expect" */
	char hdr_value[16];           /*   and "100-continue"; longer → no match */
	size_t hdr_name_len, hdr_value_len;
	bool in_value;                /* the last header callback was a value */
	bool expect_continue;
	int err_status;               /* set by a callback that refused the request */
	char err_msg[96];
	bool in_message;              /* between the first byte and the end */
	bool ready;                   /* c->req is whole, awaiting http_conn_respond */
	bool keep_alive;
	bool head;                    /* HEAD: the response carries no body */
	bool http10;
	bool closing;
	char *out;                    /* queued response bytes: out[out_off..out_len) */
	size_t out_off, out_len, out_cap;
};

/* Prepare c for a new connection; bodies over max_payload are refused. */
void http_conn_init(struct http_conn *c, size_t max_payload);
/* Free every buffer c holds (request body, response body, output). */
void http_conn_destroy(struct http_conn *c);

/* Parse up to len received bytes; *used says how many were consumed (fewer
 * than len only with HTTP_FEED_REQUEST, or when closing).  Must not be
 * called while a request is ready (before http_conn_respond). */
enum http_feed http_conn_feed(struct http_conn *c, const char *data, size_t len,
			      size_t *used);
/* The peer closed its side: a request cut short is answered 400.  Returns
 * HTTP_FEED_CLOSE. */
enum http_feed http_conn_eof(struct http_conn *c);

/* Queue the response to the ready request from c->req.status and
 * c->req.resp_body, then free body and resp_body and clear c->req.  Adds
 * "Connection: close" (and turns closing) when the request did not keep
 * the connection alive.  0, or -ENOBUFS when the output would exceed
 * HTTP_OUT_MAX (drop the connection), -ENOMEM. */
int http_conn_respond(struct http_conn *c);
/* Queue a {"fault_message": ...} response with `status` and
 * "Connection: close", and turn closing (used for timeouts and refused
 * connections).  0 or -ENOBUFS, -ENOMEM. */
int http_conn_fail(struct http_conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* True between the first byte of a request and its end. */
bool http_conn_mid_request(const struct http_conn *c);
/* True once no more input will be parsed (after an error, a response with
 * "Connection: close", EOF). */
bool http_conn_closing(const struct http_conn *c);
/* The queued bytes not yet sent (*len may be 0). */
const char *http_conn_output(const struct http_conn *c, size_t *len);
/* n queued bytes were sent. */
void http_conn_consume(struct http_conn *c, size_t n);

#endif
