// SPDX-License-Identifier: Apache-2.0
/*
 * http.c - see http.h.  Everything here runs on the api thread (or in the
 * unit tests and the fuzzer): a struct http_conn is never shared.
 *
 * http-parser does the HTTP work; the callbacks below only collect the
 * method, the request target, the one header the server acts on (Expect)
 * and the body, and enforce the limits.  A callback that refuses a request
 * records the status and message and returns non-zero, which stops the
 * parser; the parser's own errors become 400 with the error's name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "http.h"
#include "vmm/core/log.h"

#define FAULT_FALLBACK "{\"fault_message\": \"internal error\"}"
#define BODY_MIN_CAP   256

static int refuse(struct http_conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A callback refuses the request: remember why and stop the parser. */
static int refuse(struct http_conn *c, int status, const char *fmt, ...)
{
	va_list ap;

	c->err_status = status;
	va_start(ap, fmt);
	vsnprintf(c->err_msg, sizeof(c->err_msg), fmt, ap);
	va_end(ap);
	return -1;
}

static void req_clear(struct http_conn *c)
{
	free(c->req.body);
	free(c->req.resp_body);
	memset(&c->req, 0, sizeof(c->req));
	c->body_cap = 0;
}

/* ---- parser callbacks ---------------------------------------------------- */

static int on_message_begin(http_parser *p)
{
	struct http_conn *c = p->data;

	req_clear(c);
	c->in_message = true;
	c->url_len = 0;
	c->hdr_name_len = 0;
	c->hdr_value_len = 0;
	c->in_value = false;
	c->expect_continue = false;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (len > sizeof(c->url) - 1 - c->url_len)
		return refuse(c, 400, "URI too long (limit %d bytes)", HTTP_MAX_URL - 1);
	memcpy(c->url + c->url_len, at, len);
	c->url_len += len;
	return 0;
}

/* Collect a header name or value; one too long for buf saturates at its
 * size, so it matches nothing the server looks for. */
static void hdr_append(char *buf, size_t size, size_t *len, const char *at, size_t n)
{
	if (n > size - *len) {
		*len = size;
		return;
	}
	memcpy(buf + *len, at, n);
	*len += n;
}

static bool hdr_is(const char *buf, size_t len, const char *want)
{
	while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	return len == strlen(want) && !strncasecmp(buf, want, len);
}

/* One header is whole: note the ones the server acts on. */
static void hdr_done(struct http_conn *c)
{
	if (hdr_is(c->hdr_name, c->hdr_name_len, "expect") &&
	    hdr_is(c->hdr_value, c->hdr_value_len, "100-continue"))
		c->expect_continue = true;
	c->hdr_name_len = 0;
	c->hdr_value_len = 0;
	c->in_value = false;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (c->in_value)
		hdr_done(c);
	hdr_append(c->hdr_name, sizeof(c->hdr_name), &c->hdr_name_len, at, len);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	c->in_value = true;
	hdr_append(c->hdr_value, sizeof(c->hdr_value), &c->hdr_value_len, at, len);
	return 0;
}

static void set_method(struct http_conn *c)
{
	enum http_method m = (enum http_method)c->parser.method;

	switch (m) {
	case HTTP_GET:
		c->req.method = API_GET;
		break;
	case HTTP_PUT:
		c->req.method = API_PUT;
		break;
	case HTTP_PATCH:
		c->req.method = API_PATCH;
		break;
	default:
		c->req.method = API_OTHER;
	}
	snprintf(c->req.method_name, sizeof(c->req.method_name), "%s", http_method_str(m));
	c->head = m == HTTP_HEAD;
	c->http10 = c->parser.http_major == 1 && c->parser.http_minor == 0;
}

/* The path of the request target, without query or fragment. */
static int set_path(struct http_conn *c)
{
	struct http_parser_url u;
	size_t off, len;

	http_parser_url_init(&u);
	if (http_parser_parse_url(c->url, c->url_len, c->parser.method == HTTP_CONNECT, &u))
		return refuse(c, 400, "invalid request target");
	if (!(u.field_set & (1 << UF_PATH))) {
		strcpy(c->req.path, "/");
		return 0;
	}
	off = u.field_data[UF_PATH].off;
	len = u.field_data[UF_PATH].len;
	if (len >= API_MAX_PATH)
		return refuse(c, 400, "URI too long (path limit %d bytes)", API_MAX_PATH - 1);
	memcpy(c->req.path, c->url + off, len);
	c->req.path[len] = '\0';
	return 0;
}

/* Room for `need` body bytes plus the NUL, never more than the limit. */
static int body_reserve(struct http_conn *c, size_t need)
{
	size_t cap = c->body_cap ? c->body_cap : BODY_MIN_CAP;
	char *p;

	if (need <= c->body_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > c->max_payload + 1)
		cap = c->max_payload + 1;
	p = realloc(c->req.body, cap);
	if (!p)
		return -ENOMEM;
	c->req.body = p;
	c->body_cap = cap;
	return 0;
}

/* A Content-Length over the limit is refused before any body byte is read. */
static int check_length(struct http_conn *c)
{
	unsigned long long len = c->parser.content_length;

	if ((c->parser.flags & F_CHUNKED) || !(c->parser.flags & F_CONTENTLENGTH) || !len)
		return 0;
	if (len > c->max_payload)
		return refuse(c, 413, "request body too large: %llu bytes (limit %zu)",
			      len, c->max_payload);
	if (body_reserve(c, (size_t)len + 1))
		return refuse(c, 500, "out of memory");
	return 0;
}

static bool body_expected(const struct http_conn *c)
{
	return (c->parser.flags & F_CHUNKED) ||
	       ((c->parser.flags & F_CONTENTLENGTH) && c->parser.content_length);
}

static int queue_raw(struct http_conn *c, const char *data, size_t len);

static int on_headers_complete(http_parser *p)
{
	struct http_conn *c = p->data;
	int ret;

	if (c->in_value)
		hdr_done(c);
	if (p->http_major != 1)
		return refuse(c, 400, "unsupported HTTP version %u.%u (only HTTP/1.x)",
			      p->http_major, p->http_minor);
	set_method(c);
	ret = set_path(c);
	if (!ret)
		ret = check_length(c);
	if (ret)
		return ret;
	if (c->expect_continue && !c->http10 && body_expected(c)) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		if (queue_raw(c, cont, sizeof(cont) - 1))
			return refuse(c, 500, "out of memory");
	}
	return 0;
}

static int on_chunk_header(http_parser *p)
{
	struct http_conn *c = p->data;

	if (p->content_length > c->max_payload - c->req.body_len)
		return refuse(c, 413, "request body too large: chunk of %llu bytes "
			      "(limit %zu)", (unsigned long long)p->content_length,
			      c->max_payload);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (len > c->max_payload - c->req.body_len)
		return refuse(c, 413, "request body too large (limit %zu)", c->max_payload);
	if (body_reserve(c, c->req.body_len + len + 1))
		return refuse(c, 500, "out of memory");
	memcpy(c->req.body + c->req.body_len, at, len);
	c->req.body_len += len;
	return 0;
}

/* A whole request: pause the parser so the caller serves it before any
 * pipelined byte after it is parsed. */
static int on_message_complete(http_parser *p)
{
	struct http_conn *c = p->data;

	if (c->req.body)
		c->req.body[c->req.body_len] = '\0';
	c->keep_alive = http_should_keep_alive(p) && !p->upgrade;
	c->in_message = false;
	c->ready = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
	.on_chunk_header = on_chunk_header,
};

/* ---- output ---------------------------------------------------------------- */

/* Room for n more output bytes, within HTTP_OUT_MAX unsent. */
static int out_reserve(struct http_conn *c, size_t n)
{
	size_t pending = c->out_len - c->out_off;
	size_t cap = c->out_cap ? c->out_cap : 1024;
	char *p;

	if (n > HTTP_OUT_MAX - pending)
		return -ENOBUFS;
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_off = 0;
		c->out_len = pending;
	}
	if (pending + n <= c->out_cap)
		return 0;
	while (cap < pending + n)
		cap *= 2;
	p = realloc(c->out, cap);
	if (!p)
		return -ENOMEM;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

static int queue_raw(struct http_conn *c, const char *data, size_t len)
{
	int ret = out_reserve(c, len);

	if (ret)
		return ret;
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

static const char *reason(int status)
{
	const char *s = http_status_str((enum http_status)status);

	return s[0] == '<' ? "Unknown" : s;
}

/* Status line, headers and (unless with_body is false) the body, queued
 * whole or not at all. */
static int queue_response(struct http_conn *c, int status, const char *body,
			  bool with_body, bool close)
{
	size_t blen = body && status != 204 ? strlen(body) : 0;
	char head[256], clen[48] = "";
	int n, ret;

	if (status != 204)
		snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", blen);
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nServer: ember\r\n%s%s%s\r\n",
		     status, reason(status), blen ? "Content-Type: application/json\r\n" : "",
		     clen, close ? "Connection: close\r\n" :
		     c->http10 ? "Connection: keep-alive\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	if (!with_body)
		blen = 0;
	ret = out_reserve(c, (size_t)n + blen);
	if (ret)
		return ret;
	memcpy(c->out + c->out_len, head, (size_t)n);
	if (blen)
		memcpy(c->out + c->out_len + n, body, blen);
	c->out_len += (size_t)n + blen;
	return 0;
}

/* ---- the connection --------------------------------------------------------- */

void http_conn_init(struct http_conn *c, size_t max_payload)
{
	memset(c, 0, sizeof(*c));
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->max_payload = max_payload;
	/* Process-wide in http-parser; every connection uses the same bound. */
	http_parser_set_max_header_size(HTTP_MAX_HEADER_BYTES);
}

void http_conn_destroy(struct http_conn *c)
{
	req_clear(c);
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = c->out_cap = 0;
}

static void fail_parse(struct http_conn *c, enum http_errno err)
{
	if (c->err_status)
		http_conn_fail(c, c->err_status, "%s", c->err_msg);
	else if (err == HPE_HEADER_OVERFLOW)
		http_conn_fail(c, 400, "headers too large (limit %d bytes)",
			       HTTP_MAX_HEADER_BYTES);
	else
		http_conn_fail(c, 400, "malformed HTTP request: %s (%s)",
			       http_errno_name(err), http_errno_description(err));
}

enum http_feed http_conn_feed(struct http_conn *c, const char *data, size_t len,
			      size_t *used)
{
	enum http_errno err;
	size_t n;

	*used = 0;
	if (c->closing)
		return HTTP_FEED_CLOSE;
	if (c->ready)
		return HTTP_FEED_REQUEST;
	if (!len)  /* a zero length would tell http-parser "EOF" */
		return HTTP_FEED_MORE;
	n = http_parser_execute(&c->parser, &parser_settings, data, len);
	*used = n;
	if (c->ready) {
		http_parser_pause(&c->parser, 0);
		return HTTP_FEED_REQUEST;
	}
	err = HTTP_PARSER_ERRNO(&c->parser);
	if (err == HPE_OK && n == len)
		return HTTP_FEED_MORE;
	fail_parse(c, err);
	*used = len;
	return HTTP_FEED_CLOSE;
}

enum http_feed http_conn_eof(struct http_conn *c)
{
	if (!c->closing && c->in_message)
		http_conn_fail(c, 400, "connection closed mid-request");
	c->closing = true;
	return HTTP_FEED_CLOSE;
}

int http_conn_respond(struct http_conn *c)
{
	int status = c->req.status, ret;

	if (!c->ready)
		return -EINVAL;
	if (status < 200 || status > 599) {
		log_error("%s %s: the handler set status %d", c->req.method_name,
			  c->req.path, status);
		free(c->req.resp_body);
		c->req.resp_body = api_fault_body("internal error: bad status %d", status);
		status = 500;
	}
	ret = queue_response(c, status, c->req.resp_body, !c->head, !c->keep_alive);
	if (!c->keep_alive)
		c->closing = true;
	req_clear(c);
	c->ready = false;
	return ret;
}

int http_conn_fail(struct http_conn *c, int status, const char *fmt, ...)
{
	char msg[256], *body;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_ratelimited(LOG_WARN, "API request refused (%d): %s", status, msg);
	body = api_fault_body("%s", msg);
	ret = queue_response(c, status, body ? body : FAULT_FALLBACK, true, true);
	free(body);
	c->closing = true;
	return ret;
}

bool http_conn_mid_request(const struct http_conn *c)
{
	return c->in_message;
}

bool http_conn_closing(const struct http_conn *c)
{
	return c->closing;
}

const char *http_conn_output(const struct http_conn *c, size_t *len)
{
	*len = c->out_len - c->out_off;
	return c->out ? c->out + c->out_off : "";
}

void http_conn_consume(struct http_conn *c, size_t n)
{
	if (n > c->out_len - c->out_off)
		n = c->out_len - c->out_off;
	c->out_off += n;
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
}

/* ---- fault bodies ------------------------------------------------------------ */

static char *fault_json(const char *msg)
{
	json_t *obj = json_pack("{s:s}", "fault_message", msg);
	char *s;

	if (!obj)
		return NULL;
	s = json_dumps(obj, 0);
	json_decref(obj);
	return s;
}

char *api_fault_body(const char *fmt, ...)
{
	char *msg, *body;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	body = fault_json(msg);
	if (!body) {  /* not UTF-8 (client bytes in the message): keep ASCII */
		for (char *s = msg; *s; s++)
			if ((unsigned char)*s >= 0x80)
				*s = '?';
		body = fault_json(msg);
	}
	free(msg);
	return body;
}
