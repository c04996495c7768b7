// SPDX-License-Identifier: Apache-2.0
/*
 * test_http.c - the API transport: the HTTP layer (api-socket/http.c) fed
 * byte sequences directly, and the api thread (api-socket/server.c) over a
 * real unix socket, with a test thread playing the vmm thread (take →
 * answer → reply).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "unit.h"
#include "api-socket/api.h"
#include "api-socket/http.h"
#include "vmm/core/log.h"

#define OK_BODY "{\"ok\": true}"
#define OK_RESPONSE "HTTP/1.1 200 OK\r\nServer: ember\r\n"                    \
		    "Content-Type: application/json\r\nContent-Length: 12\r\n\r\n" \
		    OK_BODY

/* ==== the HTTP layer ===================================================== */

#define DRV_MAX_REQ 8

struct rec {
	enum api_method method;
	char method_name[16];
	char path[API_MAX_PATH];
	char body[512];
	size_t body_len;
	bool body_null;
};

/* Drives one struct http_conn the way server.c does, answering every
 * request with `status` and `resp`, and collecting all output. */
struct drv {
	struct http_conn c;
	int nreq;
	struct rec req[DRV_MAX_REQ];
	int status;
	const char *resp;
	char out[32768];
	size_t out_len;
};

static void drv_reset(struct drv *d, size_t max_payload)
{
	http_conn_destroy(&d->c);
	memset(d, 0, sizeof(*d));
	http_conn_init(&d->c, max_payload);
	d->status = 200;
	d->resp = OK_BODY;
}

static int drv_setup(void **state)
{
	struct drv *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	http_conn_init(&d->c, 1024);
	drv_reset(d, 1024);
	*state = d;
	return 0;
}

static int drv_teardown(void **state)
{
	struct drv *d = *state;

	http_conn_destroy(&d->c);
	free(d);
	return 0;
}

static void drv_take_output(struct drv *d)
{
	size_t len;
	const char *o = http_conn_output(&d->c, &len);

	assert_true(d->out_len + len < sizeof(d->out));
	memcpy(d->out + d->out_len, o, len);
	d->out_len += len;
	d->out[d->out_len] = '\0';
	http_conn_consume(&d->c, len);
}

static void drv_record(struct drv *d)
{
	const struct api_request *r = &d->c.req;
	struct rec *rec;

	assert_true(d->nreq < DRV_MAX_REQ);
	rec = &d->req[d->nreq++];
	rec->method = r->method;
	strcpy(rec->method_name, r->method_name);
	assert_true(strlen(r->path) < API_MAX_PATH);
	strcpy(rec->path, r->path);
	rec->body_null = !r->body;
	rec->body_len = r->body_len;
	if (r->body) {
		assert_true(r->body_len < sizeof(rec->body));
		assert_int_equal(r->body[r->body_len], '\0');
		memcpy(rec->body, r->body, r->body_len + 1);
	}
}

/* Feed bytes, answering each request, until they are all consumed. */
static enum http_feed drv_feed(struct drv *d, const char *data, size_t len)
{
	for (;;) {
		size_t used = 0;
		enum http_feed f = http_conn_feed(&d->c, data, len, &used);

		assert_true(used <= len);
		data += used;
		len -= used;
		if (f != HTTP_FEED_REQUEST) {
			assert_true(f == HTTP_FEED_CLOSE || len == 0);
			drv_take_output(d);
			return f;
		}
		drv_record(d);
		d->c.req.status = d->status;
		d->c.req.resp_body = d->resp ? strdup(d->resp) : NULL;
		assert_ret(http_conn_respond(&d->c), 0);
	}
}

static enum http_feed drv_feed_str(struct drv *d, const char *s)
{
	return drv_feed(d, s, strlen(s));
}

/* resp holds exactly one fault response with `status`, closing the
 * connection, whose fault_message contains `what`. */
static void assert_fault(const char *resp, int status, const char *what)
{
	char line[32];
	const char *body = strstr(resp, "\r\n\r\n");
	json_error_t err;
	json_t *root;
	const char *msg = NULL;

	snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	if (strncmp(resp, line, strlen(line)))
		fail_msg("expected status %d, got: %.60s", status, resp);
	assert_non_null(body);
	assert_non_null(strstr(resp, "Connection: close\r\n"));
	assert_non_null(strstr(resp, "Content-Type: application/json\r\n"));
	root = json_loads(body + 4, 0, &err);
	if (!root)
		fail_msg("fault body is not JSON: %s (%s)", body + 4, err.text);
	if (json_unpack(root, "{s:s}", "fault_message", &msg) || !strstr(msg, what)) {
		json_decref(root);
		fail_msg("fault_message does not mention '%s': %s", what, body + 4);
	}
	json_decref(root);
}

static void test_get(void **state)
{
	struct drv *d = *state;

	assert_int_equal(drv_feed_str(d, "GET /machine-config HTTP/1.1\r\nHost: localhost\r\n"
				      "Accept: application/json\r\n\r\n"), HTTP_FEED_MORE);
	assert_int_equal(d->nreq, 1);
	assert_int_equal(d->req[0].method, API_GET);
	assert_string_equal(d->req[0].method_name, "GET");
	assert_string_equal(d->req[0].path, "/machine-config");
	assert_true(d->req[0].body_null);
	assert_int_equal(d->req[0].body_len, 0);
	assert_string_equal(d->out, OK_RESPONSE);
	assert_false(http_conn_closing(&d->c));
	assert_false(http_conn_mid_request(&d->c));
}

static void test_put_with_body(void **state)
{
	struct drv *d = *state;
	const char *body = "{\"vcpu_count\": 2}";
	char req[256];

	snprintf(req, sizeof(req), "PUT /machine-config HTTP/1.1\r\nContent-Type: "
		 "application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
	assert_int_equal(drv_feed_str(d, req), HTTP_FEED_MORE);
	assert_int_equal(d->nreq, 1);
	assert_int_equal(d->req[0].method, API_PUT);
	assert_string_equal(d->req[0].body, body);
	assert_int_equal(d->req[0].body_len, strlen(body));
	assert_string_equal(d->out, OK_RESPONSE);
}

static void test_methods_and_query(void **state)
{
	static const struct { const char *req; enum api_method m; const char *name, *path; } t[] = {
		{ "PATCH /vm HTTP/1.1\r\n\r\n", API_PATCH, "PATCH", "/vm" },
		{ "DELETE /drives/rootfs HTTP/1.1\r\n\r\n", API_OTHER, "DELETE", "/drives/rootfs" },
		{ "POST /actions HTTP/1.1\r\n\r\n", API_OTHER, "POST", "/actions" },
		{ "GET /a/b?x=1&y=2 HTTP/1.1\r\n\r\n", API_GET, "GET", "/a/b" },
		{ "GET /a#frag HTTP/1.1\r\n\r\n", API_GET, "GET", "/a" },
		{ "GET http://localhost/version HTTP/1.1\r\n\r\n", API_GET, "GET", "/version" },
		{ "GET / HTTP/1.1\r\n\r\n", API_GET, "GET", "/" },
	};
	struct drv *d = *state;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		drv_reset(d, 1024);
		assert_int_equal(drv_feed_str(d, t[i].req), HTTP_FEED_MORE);
		assert_int_equal(d->nreq, 1);
		assert_int_equal(d->req[0].method, t[i].m);
		assert_string_equal(d->req[0].method_name, t[i].name);
		assert_string_equal(d->req[0].path, t[i].path);
	}
}

/* Three requests in one buffer: a GET, a PUT with a body, a chunked PUT. */
static const char pipeline[] =
	"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
	"PUT /second HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
	"PUT /third?q=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: x\r\n\r\n";

static void assert_pipeline(struct drv *d)
{
	assert_int_equal(d->nreq, 3);
	assert_string_equal(d->req[0].path, "/first");
	assert_true(d->req[0].body_null);
	assert_string_equal(d->req[1].path, "/second");
	assert_string_equal(d->req[1].body, "hello");
	assert_string_equal(d->req[2].path, "/third");
	assert_string_equal(d->req[2].body, "abcde");
	assert_int_equal(d->req[2].body_len, 5);
	assert_string_equal(d->out, OK_RESPONSE OK_RESPONSE OK_RESPONSE);
	assert_false(http_conn_closing(&d->c));
}

static void test_pipelined(void **state)
{
	struct drv *d = *state;

	assert_int_equal(drv_feed(d, pipeline, sizeof(pipeline) - 1), HTTP_FEED_MORE);
	assert_pipeline(d);
}

static void test_split_everywhere(void **state)
{
	struct drv *d = *state;
	size_t len = sizeof(pipeline) - 1;

	for (size_t i = 0; i <= len; i++) {
		drv_reset(d, 1024);
		assert_int_equal(drv_feed(d, pipeline, i), HTTP_FEED_MORE);
		assert_int_equal(drv_feed(d, pipeline + i, len - i), HTTP_FEED_MORE);
		assert_pipeline(d);
	}
	drv_reset(d, 1024);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(drv_feed(d, pipeline + i, 1), HTTP_FEED_MORE);
	assert_pipeline(d);
}

static void test_chunked(void **state)
{
	struct drv *d = *state;

	assert_int_equal(drv_feed_str(d, "PUT /logger HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), HTTP_FEED_MORE);
	assert_int_equal(d->nreq, 1);
	assert_string_equal(d->req[0].body, "hello world");
	assert_int_equal(d->req[0].body_len, 11);
}

static void test_empty_body_is_null(void **state)
{
	struct drv *d = *state;

	assert_int_equal(drv_feed_str(d, "PUT /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
				      "PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
			 HTTP_FEED_MORE);
	assert_int_equal(d->nreq, 2);
	assert_true(d->req[0].body_null);
	assert_true(d->req[1].body_null);
}

/* A body exactly at the limit passes; one byte more does not. */
static void test_body_at_limit(void **state)
{
	struct drv *d = *state;
	char req[128];

	drv_reset(d, 8);
	snprintf(req, sizeof(req), "PUT /x HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678");
	assert_int_equal(drv_feed_str(d, req), HTTP_FEED_MORE);
	assert_int_equal(d->nreq, 1);
	assert_string_equal(d->req[0].body, "12345678");
	assert_int_equal(drv_feed_str(d, "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				      "4\r\n1234\r\n4\r\n5678\r\n0\r\n\r\n"), HTTP_FEED_MORE);
	assert_int_equal(d->nreq, 2);
	assert_string_equal(d->req[1].body, "12345678");
}

/* Content-Length over the limit: 413 at the end of the headers, before
 * any body byte, and the connection closes. */
static void test_content_length_too_large(void **state)
{
	struct drv *d = *state;

	drv_reset(d, 100);
	assert_int_equal(drv_feed_str(d, "PUT /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n"),
			 HTTP_FEED_CLOSE);
	assert_int_equal(d->nreq, 0);
	assert_fault(d->out, 413, "request body too large: 101 bytes (limit 100)");
	assert_true(http_conn_closing(&d->c));
	/* Whatever follows is ignored. */
	d->out_len = 0;
	assert_int_equal(drv_feed_str(d, "GET / HTTP/1.1\r\n\r\n"), HTTP_FEED_CLOSE);
	assert_int_equal(d->nreq, 0);
	assert_int_equal(d->out_len, 0);
	/* A huge value is no different; one that overflows is malformed. */
	drv_reset(d, 100);
	assert_int_equal(drv_feed_str(d, "PUT /x HTTP/1.1\r\nContent-Length: "
				      "999999999999999\r\n\r\n"), HTTP_FEED_CLOSE);
	assert_fault(d->out, 413, "too large");
	drv_reset(d, 100);
	assert_int_equal(drv_feed_str(d, "PUT /x HTTP/1.1\r\nContent-Length: "
				      "18446744073709551616\r\n\r\n"), HTTP_FEED_CLOSE);
	assert_fault(d->out, 400, "HPE_INVALID_CONTENT_LENGTH");
}

static void test_chunked_too_large(void **state)
{
	struct drv *d = *state;

	/* Chunks that add up past the limit. */
	drv_reset(d, 16);
	assert_int_equal(drv_feed_str(d, "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				      "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n"),
			 HTTP_FEED_CLOSE);
	assert_int_equal(d->nreq, 0);
	assert_fault(d->out, 413, "too large");
	/* One chunk header announcing too much: refused before its data. */
	drv_reset(d, 16);
	assert_int_equal(drv_feed_str(d, "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				      "ffffff\r\n"), HTTP_FEED_CLOSE);
	assert_fault(d->out, 413, "chunk of 16777215 bytes");
}

static void test_uri_too_long(void **state)
{
	struct drv *d = *state;
	char req[HTTP_MAX_URL + 128];
	char path[API_MAX_PATH + 2];

	/* The longest path that fits. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[API_MAX_PATH - 1] = '\0';
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", path);
	assert_int_equal(drv_feed_str(d, req), HTTP_FEED_MORE);
	assert_int_equal(d->nreq, 1);
	assert_string_equal(d->req[0].path, path);
	/* One more byte of path. */
	drv_reset(d, 1024);
	path[API_MAX_PATH - 1] = 'a';
	path[API_MAX_PATH] = '\0';
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", path);
	assert_int_equal(drv_feed_str(d, req), HTTP_FEED_CLOSE);
	assert_int_equal(d->nreq, 0);
	assert_fault(d->out, 400, "URI too long");
	/* A short path with a query string over the URL limit. */
	drv_reset(d, 1024);
	memset(req, 0, sizeof(req));
	strcpy(req, "GET /a?");
	memset(req + 7, 'q', HTTP_MAX_URL);
	strcat(req, " HTTP/1.1\r\n\r\n");
	assert_int_equal(drv_feed_str(d, req), HTTP_FEED_CLOSE);
	assert_fault(d->out, 400, "URI too long");
}

static void test_garbage(void **state)
{
	static const char *const bad[] = {
		"\x01\x02\x03 garbage\r\n\r\n",
		"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
		"GET / HTTP/1.x\r\n\r\n",
		"GET\r\n\r\n",
		"PUT / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
		"PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GET /a\x7f HTTP/1.1\r\n\r\n",
	};
	struct drv *d = *state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		drv_reset(d, 1024);
		assert_int_equal(drv_feed_str(d, bad[i]), HTTP_FEED_CLOSE);
		assert_int_equal(d->nreq, 0);
		assert_fault(d->out, 400, "malformed HTTP request: HPE_");
		assert_true(http_conn_closing(&d->c));
	}
	drv_reset(d, 1024);
	drv_feed_str(d, "FOO / HTTP/1.1\r\n\r\n");
	assert_fault(d->out, 400, "HPE_INVALID_METHOD");
}

/* A valid request, then garbage: the first is answered, then a 400. */
static void test_garbage_after_request(void **state)
{
	struct drv *d = *state;
	const char *second;

	assert_int_equal(drv_feed_str(d, "GET /ok HTTP/1.1\r\n\r\n\x01garbage"), HTTP_FEED_CLOSE);
	assert_int_equal(d->nreq, 1);
	assert_true(!strncmp(d->out, OK_RESPONSE, strlen(OK_RESPONSE)));
	second = d->out + strlen(OK_RESPONSE);
	assert_fault(second, 400, "malformed");
}

/* Content-Length promises more than arrives, then the peer closes. */
static void test_missing_body_then_eof(void **state)
{
	struct drv *d = *state;

	assert_int_equal(drv_feed_str(d, "PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"),
			 HTTP_FEED_MORE);
	assert_int_equal(d->nreq, 0);
	assert_true(http_conn_mid_request(&d->c));
	assert_int_equal(http_conn_eof(&d->c), HTTP_FEED_CLOSE);
	drv_take_output(d);
	assert_fault(d->out, 400, "closed mid-request");
	/* EOF between requests: nothing to say. */
	drv_reset(d, 1024);
	drv_feed_str(d, "GET / HTTP/1.1\r\n\r\n");
	d->out_len = 0;
	assert_int_equal(http_conn_eof(&d->c), HTTP_FEED_CLOSE);
	drv_take_output(d);
	assert_int_equal(d->out_len, 0);
	assert_true(http_conn_closing(&d->c));
}

static void test_headers_too_large(void **state)
{
	struct drv *d = *state;
	char *req = unit_keep(malloc(HTTP_MAX_HEADER_BYTES + 64));
	size_t n;

	n = (size_t)sprintf(req, "GET / HTTP/1.1\r\nX-Big: ");
	memset(req + n, 'v', HTTP_MAX_HEADER_BYTES);
	req[n + HTTP_MAX_HEADER_BYTES] = '\0';
	/* Never terminated: refused as soon as the limit passes. */
	assert_int_equal(drv_feed_str(d, req), HTTP_FEED_CLOSE);
	assert_fault(d->out, 400, "headers too large");
	/* Many small headers add up the same way. */
	drv_reset(d, 1024);
	assert_int_equal(drv_feed_str(d, "GET / HTTP/1.1\r\n"), HTTP_FEED_MORE);
	for (int i = 0; i < 1000 && !http_conn_closing(&d->c); i++)
		drv_feed_str(d, "X-Small: 12345678\r\n");
	assert_fault(d->out, 400, "headers too large");
	unit_drop(req);
}

static void test_http10_closes(void **state)
{
	struct drv *d = *state;

	assert_int_equal(drv_feed_str(d, "GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n"),
			 HTTP_FEED_CLOSE);
	assert_int_equal(d->nreq, 1);
	assert_non_null(strstr(d->out, "\r\nConnection: close\r\n"));
	assert_true(http_conn_closing(&d->c));
	/* HTTP/1.0 asking for keep-alive is told it is kept. */
	drv_reset(d, 1024);
	assert_int_equal(drv_feed_str(d, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
			 HTTP_FEED_MORE);
	assert_non_null(strstr(d->out, "\r\nConnection: keep-alive\r\n"));
	assert_false(http_conn_closing(&d->c));
}

static void test_connection_close(void **state)
{
	struct drv *d = *state;

	assert_int_equal(drv_feed_str(d, "GET /a HTTP/1.1\r\nConnection: close\r\n\r\n"
				      "GET /b HTTP/1.1\r\n\r\n"), HTTP_FEED_CLOSE);
	assert_int_equal(d->nreq, 1);
	assert_string_equal(d->out, "HTTP/1.1 200 OK\r\nServer: ember\r\n"
			    "Content-Type: application/json\r\nContent-Length: 12\r\n"
			    "Connection: close\r\n\r\n" OK_BODY);
	assert_true(http_conn_closing(&d->c));
}

static void test_204_and_head(void **state)
{
	struct drv *d = *state;

	d->status = 204;
	d->resp = NULL;
	assert_int_equal(drv_feed_str(d, "PUT /actions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"),
			 HTTP_FEED_MORE);
	assert_string_equal(d->out, "HTTP/1.1 204 No Content\r\nServer: ember\r\n\r\n");
	/* HEAD: the headers of the response, without its body. */
	drv_reset(d, 1024);
	assert_int_equal(drv_feed_str(d, "HEAD / HTTP/1.1\r\n\r\n"), HTTP_FEED_MORE);
	assert_string_equal(d->out, "HTTP/1.1 200 OK\r\nServer: ember\r\nContent-Type: "
			    "application/json\r\nContent-Length: 12\r\n\r\n");
	/* A handler that set no status: 500. */
	drv_reset(d, 1024);
	d->status = 0;
	d->resp = NULL;
	drv_feed_str(d, "GET / HTTP/1.1\r\n\r\n");
	assert_true(!strncmp(d->out, "HTTP/1.1 500 Internal Server Error\r\n", 36));
}

static void test_expect_continue(void **state)
{
	struct drv *d = *state;

	assert_int_equal(drv_feed_str(d, "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\n"
				      "Content-Length: 2\r\n\r\n"), HTTP_FEED_MORE);
	assert_string_equal(d->out, "HTTP/1.1 100 Continue\r\n\r\n");
	assert_int_equal(drv_feed_str(d, "{}"), HTTP_FEED_MORE);
	assert_string_equal(d->out, "HTTP/1.1 100 Continue\r\n\r\n" OK_RESPONSE);
	/* Not for a body over the limit: 413 straight away. */
	drv_reset(d, 1);
	drv_feed_str(d, "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
	assert_fault(d->out, 413, "too large");
}

/* A response that does not fit the output bound is refused whole. */
static void test_output_bound(void **state)
{
	struct drv *d = *state;
	size_t used, len;
	char *big = malloc(HTTP_OUT_MAX + 1);

	assert_non_null(big);
	memset(big, 'x', HTTP_OUT_MAX);
	big[HTTP_OUT_MAX] = '\0';
	assert_int_equal(http_conn_feed(&d->c, "GET / HTTP/1.1\r\n\r\n", 18, &used),
			 HTTP_FEED_REQUEST);
	d->c.req.status = 200;
	d->c.req.resp_body = big;
	assert_ret(http_conn_respond(&d->c), -ENOBUFS);
	http_conn_output(&d->c, &len);
	assert_int_equal(len, 0);
}

static void test_fault_body(void **state)
{
	json_t *root;
	const char *msg;
	char *s;

	(void)state;
	s = api_fault_body("bad \"%s\" \\ \n\t%d", "quote", 42);
	assert_non_null(s);
	assert_true(!strncmp(s, "{\"fault_message\": \"", 19));
	root = json_loads(s, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_unpack(root, "{s:s}", "fault_message", &msg), 0);
	assert_string_equal(msg, "bad \"quote\" \\ \n\t42");
	json_decref(root);
	free(s);
	/* Bytes that are not UTF-8 still give valid JSON. */
	s = api_fault_body("unknown path %s", "/\xff\xfe");
	assert_non_null(s);
	root = json_loads(s, 0, NULL);
	assert_non_null(root);
	json_decref(root);
	free(s);
}

/* ==== the server ========================================================== */

/* The vmm thread's stand-in. */
struct sim {
	struct api_server *srv;
	pthread_t thread;
	int quit_fd;
	atomic_int served;
	atomic_int delay_ms;
	char last_body[256];
};

#define FX_MAX_CLIENTS 8

struct fx {
	char dir[64];
	char path[128];
	struct api_server *srv;
	struct sim sim;
	bool sim_running;
	struct client *clients[FX_MAX_CLIENTS];  /* closed by the teardown */
	int fds;                                 /* open before the test */
};

#define BIG_LEN (32 * 1024)

static void sim_answer(struct sim *s, struct api_request *req)
{
	json_t *o;

	if (req->body)
		snprintf(s->last_body, sizeof(s->last_body), "%s", req->body);
	if (atomic_load(&s->delay_ms))
		usleep((useconds_t)atomic_load(&s->delay_ms) * 1000);
	if (!strcmp(req->path, "/empty")) {
		req->status = 204;
		return;
	}
	if (!strcmp(req->path, "/big")) {
		req->status = 200;
		req->resp_body = malloc(BIG_LEN + 3);
		memset(req->resp_body, 'b', BIG_LEN + 2);
		req->resp_body[0] = req->resp_body[BIG_LEN + 1] = '"';
		req->resp_body[BIG_LEN + 2] = '\0';
		return;
	}
	o = json_pack("{s:s, s:s, s:i}", "method", req->method_name, "path", req->path,
		      "body_len", (int)req->body_len);
	req->status = 200;
	req->resp_body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
}

static void *sim_thread(void *arg)
{
	struct sim *s = arg;
	struct pollfd p[2] = {
		{ .fd = api_server_request_fd(s->srv), .events = POLLIN },
		{ .fd = s->quit_fd, .events = POLLIN },
	};
	struct api_request *req;

	pthread_setname_np(pthread_self(), "vmm");
	while (poll(p, 2, -1) >= 0 && !p[1].revents) {
		while ((req = api_server_take(s->srv))) {
			sim_answer(s, req);
			atomic_fetch_add(&s->served, 1);
			api_server_reply(s->srv, req);
		}
	}
	return NULL;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->fds = count_fds();
	strcpy(f->dir, "/tmp/ember-test-http-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	*state = f;
	return 0;
}

static void fx_stop(struct fx *f)
{
	if (f->sim_running) {
		eventfd_write(f->sim.quit_fd, 1);
		pthread_join(f->sim.thread, NULL);
		close(f->sim.quit_fd);
		f->sim_running = false;
	}
	api_server_stop(f->srv);
	f->srv = NULL;
}

static void client_close(struct fx *f, struct client *cl);

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	int fds;

	for (int i = 0; i < FX_MAX_CLIENTS; i++)
		client_close(f, f->clients[i]);
	unit_drop_all();
	fx_stop(f);
	unlink(f->path);
	rmdir(f->dir);
	fds = count_fds();
	if (fds != f->fds) {
		fprintf(stderr, "fd leak: %d open before the test, %d after\n", f->fds, fds);
		free(f);
		return -1;
	}
	free(f);
	return 0;
}

static void fx_start_opts(struct fx *f, unsigned int max_conns, unsigned int timeout_ms,
			  size_t max_payload, bool with_sim)
{
	struct api_server_opts o = {
		.sock_path = f->path, .max_conns = max_conns,
		.timeout_ms = timeout_ms, .max_payload = max_payload,
	};

	assert_ret(api_server_start(&f->srv, &o), 0);
	if (!with_sim)
		return;
	f->sim.srv = f->srv;
	f->sim.quit_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(f->sim.quit_fd >= 0);
	assert_int_equal(pthread_create(&f->sim.thread, NULL, sim_thread, &f->sim), 0);
	f->sim_running = true;
}

static void fx_start(struct fx *f)
{
	fx_start_opts(f, 0, 0, 0, true);
}

/* ---- a minimal client ----------------------------------------------------- */

struct client {
	int fd;
	char buf[256 * 1024];
	size_t len;
};

struct resp {
	int status;
	bool close;
	char head[1024];
	char body[64 * 1024];
	size_t body_len;
};

/* A connected client, registered in f so that the teardown closes it. */
static struct client *client_open(struct fx *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	struct client *cl = calloc(1, sizeof(*cl));
	int slot = 0;

	assert_non_null(cl);
	while (slot < FX_MAX_CLIENTS && f->clients[slot])
		slot++;
	if (slot == FX_MAX_CLIENTS) {
		free(cl);
		fail_msg("more than %d clients", FX_MAX_CLIENTS);
	}
	f->clients[slot] = cl;
	strcpy(sa.sun_path, f->path);
	cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(cl->fd >= 0);
	setsockopt(cl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(cl->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return cl;
}

static void client_close(struct fx *f, struct client *cl)
{
	if (!cl)
		return;
	for (int i = 0; i < FX_MAX_CLIENTS; i++)
		if (f->clients[i] == cl)
			f->clients[i] = NULL;
	close(cl->fd);
	free(cl);
}

static void client_send(struct client *cl, const char *s)
{
	size_t len = strlen(s);

	assert_int_equal(send(cl->fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Read more into the buffer: bytes read, 0 at EOF, -1 on error/timeout. */
static ssize_t client_fill(struct client *cl)
{
	ssize_t n;

	assert_true(cl->len < sizeof(cl->buf));
	n = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len, 0);
	if (n > 0)
		cl->len += (size_t)n;
	return n;
}

/* The next whole response: 0, or -1 if the connection ends first. */
static int client_response(struct client *cl, struct resp *r)
{
	char *end, *cl_hdr;
	size_t hlen, clen = 0, total;

	memset(r, 0, sizeof(*r));
	while (!(end = memmem(cl->buf, cl->len, "\r\n\r\n", 4)))
		if (client_fill(cl) <= 0)
			return -1;
	hlen = (size_t)(end - cl->buf) + 4;
	assert_true(hlen < sizeof(r->head));
	memcpy(r->head, cl->buf, hlen);
	r->status = atoi(r->head + 9);
	cl_hdr = strcasestr(r->head, "\r\nContent-Length: ");
	if (cl_hdr)
		clen = strtoul(cl_hdr + 18, NULL, 10);
	r->close = strcasestr(r->head, "\r\nConnection: close\r\n") != NULL;
	total = hlen + clen;
	while (cl->len < total)
		if (client_fill(cl) <= 0)
			return -1;
	assert_true(clen < sizeof(r->body));
	memcpy(r->body, cl->buf + hlen, clen);
	r->body_len = clen;
	memmove(cl->buf, cl->buf + total, cl->len - total);
	cl->len -= total;
	return 0;
}

/* The server closes the connection (after any buffered response). */
static void assert_eof(struct client *cl)
{
	ssize_t n;

	do {
		cl->len = 0;
		n = client_fill(cl);
	} while (n > 0);
	if (n < 0 && errno != ECONNRESET)
		fail_msg("expected EOF, got %s", strerror(errno));
}

static void roundtrip(struct client *cl, const char *path)
{
	char req[512], want[512];
	struct resp r;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
	client_send(cl, req);
	assert_int_equal(client_response(cl, &r), 0);
	assert_int_equal(r.status, 200);
	snprintf(want, sizeof(want), "{\"method\":\"GET\",\"path\":\"%s\",\"body_len\":0}", path);
	assert_string_equal(r.body, want);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* ---- server tests ---------------------------------------------------------- */

static void test_srv_roundtrip(void **state)
{
	struct fx *f = *state;
	struct client *cl;
	struct resp r;
	const char *body;
	char head[256];

	fx_start(f);
	assert_null(api_server_take(f->srv));  /* nothing pending */
	cl = client_open(f);
	client_send(cl, "GET /machine-config HTTP/1.1\r\nHost: localhost\r\n\r\n");
	assert_int_equal(client_response(cl, &r), 0);
	body = "{\"method\":\"GET\",\"path\":\"/machine-config\",\"body_len\":0}";
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nServer: ember\r\nContent-Type: "
		 "application/json\r\nContent-Length: %zu\r\n\r\n", strlen(body));
	assert_string_equal(r.head, head);
	assert_string_equal(r.body, body);
	/* A PUT with a body, and a 204. */
	client_send(cl, "PUT /boot-source HTTP/1.1\r\nContent-Length: 12\r\n\r\n"
		    "{\"a\": \"\xc3\xa9\"}\n");
	assert_int_equal(client_response(cl, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"body_len\":12"));
	assert_string_equal(f->sim.last_body, "{\"a\": \"\xc3\xa9\"}\n");
	client_send(cl, "PUT /empty HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(client_response(cl, &r), 0);
	assert_string_equal(r.head, "HTTP/1.1 204 No Content\r\nServer: ember\r\n\r\n");
	assert_int_equal(atomic_load(&f->sim.served), 3);
}

static void test_srv_stale_socket_replaced(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct client *cl;
	int fd;

	/* A socket file nobody listens on any more. */
	strcpy(sa.sun_path, f->path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	fx_start(f);
	cl = client_open(f);
	roundtrip(cl, "/after-stale");
}

static void test_srv_live_socket_refused(void **state)
{
	struct fx *f = *state;
	struct api_server_opts o = { .sock_path = f->path };
	struct api_server *other = NULL;
	struct client *cl;
	char longpath[200];
	int fd;

	fx_start(f);
	assert_ret(api_server_start(&other, &o), -EADDRINUSE);
	/* The first server kept its socket. */
	cl = client_open(f);
	roundtrip(cl, "/still-here");
	/* A path too long for sun_path; something that is not a socket. */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	o.sock_path = longpath;
	assert_ret(api_server_start(&other, &o), -ENAMETOOLONG);
	snprintf(longpath, sizeof(longpath), "%s/file", f->dir);
	fd = open(longpath, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	o.sock_path = longpath;
	assert_ret(api_server_start(&other, &o), -EEXIST);
	assert_int_equal(access(longpath, F_OK), 0);  /* not unlinked */
	unlink(longpath);
}

static void test_srv_socket_unlinked_on_stop(void **state)
{
	struct fx *f = *state;

	fx_start(f);
	assert_int_equal(access(f->path, F_OK), 0);
	fx_stop(f);
	assert_int_equal(access(f->path, F_OK), -1);
}

/* A socket file somebody else put at the path meanwhile is not ours to remove. */
static void test_srv_recreated_socket_left_at_stop(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	fx_start(f);
	assert_int_equal(unlink(f->path), 0);
	strcpy(sa.sun_path, f->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	fx_stop(f);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
}

/* The API socket is 0600 whatever the umask: nobody else may drive the VM. */
static void test_srv_socket_mode_0600(void **state)
{
	struct fx *f = *state;
	mode_t old = umask(0);
	struct stat st;

	fx_start(f);
	umask(old);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_srv_keep_alive_100(void **state)
{
	struct fx *f = *state;
	struct client *cl;
	char path[32];

	fx_start(f);
	cl = client_open(f);
	for (int i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/req/%d", i);
		roundtrip(cl, path);
	}
	assert_int_equal(atomic_load(&f->sim.served), 100);
}

/* 100 requests in one write: 100 answers, in order. */
static void test_srv_pipelined_100(void **state)
{
	struct fx *f = *state;
	struct client *cl;
	struct resp r;
	char *all = unit_keep(calloc(1, 100 * 64));
	char want[128];
	size_t n = 0;

	fx_start(f);
	cl = client_open(f);
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(all + n, "GET /p/%d HTTP/1.1\r\n\r\n", i);
	client_send(cl, all);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(client_response(cl, &r), 0);
		snprintf(want, sizeof(want), "{\"method\":\"GET\",\"path\":\"/p/%d\",\"body_len\":0}", i);
		assert_string_equal(r.body, want);
	}
}

/* Issue 12 item 9: idle connections at the limit used to lock every new
 * client out with 503.  Now the longest-idle one makes room. */
static void test_srv_full_evicts_longest_idle(void **state)
{
	struct fx *f = *state;
	struct client *a, *b, *c;

	fx_start_opts(f, 2, 0, 0, true);
	a = client_open(f);
	b = client_open(f);
	roundtrip(a, "/a");
	sleep_ms(5);
	roundtrip(b, "/b");
	c = client_open(f);
	roundtrip(c, "/c");
	assert_eof(a);          /* a used keep-alive one: closed, as by the idle timeout */
	roundtrip(b, "/b2");
	roundtrip(c, "/c2");
}

/* A connection that never sent a request is told why it is closed. */
static void test_srv_evicted_unused_connection_told(void **state)
{
	struct fx *f = *state;
	struct client *a, *b;
	struct resp r;

	fx_start_opts(f, 1, 0, 0, true);
	a = client_open(f);
	b = client_open(f);
	roundtrip(b, "/b");
	assert_int_equal(client_response(a, &r), 0);
	assert_int_equal(r.status, 503);
	assert_true(r.close);
	assert_string_equal(r.body, "{\"fault_message\": \"idle connection closed to admit a "
			    "new client (limit 1)\"}");
	assert_eof(a);
}

/* Only when every connection is mid-request is a newcomer refused; the
 * requests in progress are not disturbed. */
static void test_srv_too_many_connections(void **state)
{
	struct fx *f = *state;
	struct client *a, *b, *c;
	struct resp r;

	fx_start_opts(f, 2, 0, 0, true);
	a = client_open(f);
	b = client_open(f);
	client_send(a, "GET /a HTTP/1.1\r\nHost: x");
	client_send(b, "GET /b HTTP/1.1\r\nHost: x");
	c = client_open(f);
	assert_int_equal(client_response(c, &r), 0);
	assert_int_equal(r.status, 503);
	assert_true(r.close);
	assert_string_equal(r.body, "{\"fault_message\": \"too many connections (limit 2)\"}");
	assert_eof(c);
	client_send(a, "\r\n\r\n");
	client_send(b, "\r\n\r\n");
	assert_int_equal(client_response(a, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(client_response(b, &r), 0);
	assert_int_equal(r.status, 200);
}

static void test_srv_slow_client_times_out(void **state)
{
	struct fx *f = *state;
	struct client *slow, *idle, *fast;
	struct resp r;
	uint64_t t0;

	fx_start_opts(f, 0, 300, 0, true);
	idle = client_open(f);
	fast = client_open(f);
	slow = client_open(f);
	t0 = time_mono_us();
	client_send(slow, "GET /slow HTTP/1.1\r\nHost: lo");
	sleep_ms(100);
	client_send(slow, "calhost\r\nX-Drip: 1");  /* trickling does not extend it */
	roundtrip(fast, "/fast");
	assert_int_equal(client_response(slow, &r), 0);
	assert_int_equal(r.status, 408);
	assert_true(r.close);
	assert_non_null(strstr(r.body, "within 300 ms"));
	assert_true(time_mono_us() - t0 >= 290000);
	assert_true(time_mono_us() - t0 < 3000000);
	assert_eof(slow);
	/* A connection that sent nothing is not a slow request. */
	roundtrip(idle, "/idle");
	/* A body that never completes, sent at once: the same. */
	client_close(f, slow);
	slow = client_open(f);
	client_send(slow, "PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
	assert_int_equal(client_response(slow, &r), 0);
	assert_int_equal(r.status, 408);
}

static void test_srv_body_too_large(void **state)
{
	struct fx *f = *state;
	struct client *cl;
	struct resp r;

	fx_start_opts(f, 0, 0, 64, true);
	cl = client_open(f);
	client_send(cl, "PUT /drives/x HTTP/1.1\r\nContent-Length: 65\r\n\r\n");
	assert_int_equal(client_response(cl, &r), 0);
	assert_int_equal(r.status, 413);
	assert_eof(cl);
	assert_int_equal(atomic_load(&f->sim.served), 0);
}

/* Clients leaving at every stage: nothing crashes, nothing leaks, the
 * others are served. */
static void test_srv_client_closes_mid_request(void **state)
{
	static const char *const partial[] = {
		"",
		"GE",
		"GET /x HTTP/1.1\r\nHost:",
		"PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
		"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
		"GET /x HTTP/1.1\r\n\r\n",  /* whole, but gone before the answer */
		"GET /big HTTP/1.1\r\n\r\nGET /big HTTP/1.1\r\n\r\nGET /big HTTP/1.1\r\n\r\n",
	};
	struct fx *f = *state;
	struct client *ok;

	fx_start(f);
	ok = client_open(f);
	for (size_t i = 0; i < ARRAY_SIZE(partial); i++) {
		struct client *cl = client_open(f);

		if (partial[i][0])
			client_send(cl, partial[i]);
		client_close(f, cl);
		/* Half-closed: the cut-short request is answered 400. */
		cl = client_open(f);
		if (partial[i][0])
			client_send(cl, partial[i]);
		shutdown(cl->fd, SHUT_WR);
		client_close(f, cl);
		roundtrip(ok, "/ok");
	}
}

static void test_srv_half_close_answered(void **state)
{
	struct fx *f = *state;
	struct client *cl;
	struct resp r;

	fx_start(f);
	cl = client_open(f);
	client_send(cl, "GET /one HTTP/1.1\r\n\r\nPUT /x HTTP/1.1\r\nContent-Length: 9\r\n\r\nab");
	shutdown(cl->fd, SHUT_WR);
	assert_int_equal(client_response(cl, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(client_response(cl, &r), 0);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "closed mid-request"));
	assert_eof(cl);
}

static void test_srv_malformed_closes(void **state)
{
	struct fx *f = *state;
	struct client *cl;
	struct resp r;

	fx_start(f);
	cl = client_open(f);
	client_send(cl, "GET /good HTTP/1.1\r\n\r\nBLAH\x01 / HTTP/1.1\r\n\r\n");
	assert_int_equal(client_response(cl, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(client_response(cl, &r), 0);
	assert_int_equal(r.status, 400);
	assert_true(r.close);
	assert_non_null(strstr(r.body, "HPE_INVALID_METHOD"));
	assert_eof(cl);
}

/* A client that pipelines big answers and never reads: the others are
 * served meanwhile, and it is dropped once its output stalls.  6 MiB of
 * answers: more than any socket buffer holds. */
#define HOG_REQS 200

static void test_srv_client_not_reading(void **state)
{
	struct fx *f = *state;
	struct client *hog, *ok;
	char reqs[32 * HOG_REQS];
	size_t total = 0;
	ssize_t n;

	fx_start_opts(f, 0, 300, 0, true);
	hog = client_open(f);
	ok = client_open(f);
	reqs[0] = '\0';
	for (int i = 0; i < HOG_REQS; i++)
		strcat(reqs, "GET /big HTTP/1.1\r\n\r\n");
	client_send(hog, reqs);
	for (int i = 0; i < 10; i++) {
		roundtrip(ok, "/ok");
		sleep_ms(20);
	}
	sleep_ms(600);
	roundtrip(ok, "/still-ok");
	/* The hog got part of its answers, then the connection ended. */
	do {
		hog->len = 0;
		n = client_fill(hog);
		total += n > 0 ? (size_t)n : 0;
	} while (n > 0);
	assert_true(n == 0 || errno == ECONNRESET);
	assert_true(total < HOG_REQS * (BIG_LEN + 100));
}

/* Stop while a request waits for a vmm thread that never takes it. */
static void test_srv_stop_while_waiting(void **state)
{
	struct fx *f = *state;
	struct client *cl;
	struct pollfd p;

	fx_start_opts(f, 0, 0, 0, false);
	cl = client_open(f);
	client_send(cl, "GET /never HTTP/1.1\r\n\r\n");
	p = (struct pollfd){ .fd = api_server_request_fd(f->srv), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	fx_stop(f);
	assert_eof(cl);
}

/* A slow vmm thread: requests from several connections wait their turn,
 * one at a time, and each gets its own answer. */
static void test_srv_one_at_a_time(void **state)
{
	struct fx *f = *state;
	struct client *cl[4];
	struct resp r;
	char path[64];

	fx_start(f);
	atomic_store(&f->sim.delay_ms, 50);
	for (int i = 0; i < 4; i++) {
		cl[i] = client_open(f);
		snprintf(path, sizeof(path), "GET /c%d HTTP/1.1\r\n\r\n", i);
		client_send(cl[i], path);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(client_response(cl[i], &r), 0);
		assert_int_equal(r.status, 200);
		snprintf(path, sizeof(path), "/c%d\"", i);
		assert_non_null(strstr(r.body, path));
	}
	assert_int_equal(atomic_load(&f->sim.served), 4);
}

#define H(fn) cmocka_unit_test_setup_teardown(fn, drv_setup, drv_teardown)
#define S(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		H(test_get),
		H(test_put_with_body),
		H(test_methods_and_query),
		H(test_pipelined),
		H(test_split_everywhere),
		H(test_chunked),
		H(test_empty_body_is_null),
		H(test_body_at_limit),
		H(test_content_length_too_large),
		H(test_chunked_too_large),
		H(test_uri_too_long),
		H(test_garbage),
		H(test_garbage_after_request),
		H(test_missing_body_then_eof),
		H(test_headers_too_large),
		H(test_http10_closes),
		H(test_connection_close),
		H(test_204_and_head),
		H(test_expect_continue),
		H(test_output_bound),
		cmocka_unit_test(test_fault_body),
		S(test_srv_roundtrip),
		S(test_srv_stale_socket_replaced),
		S(test_srv_live_socket_refused),
		S(test_srv_socket_unlinked_on_stop),
		S(test_srv_recreated_socket_left_at_stop),
		S(test_srv_socket_mode_0600),
		S(test_srv_keep_alive_100),
		S(test_srv_pipelined_100),
		S(test_srv_too_many_connections),
		S(test_srv_full_evicts_longest_idle),
		S(test_srv_evicted_unused_connection_told),
		S(test_srv_slow_client_times_out),
		S(test_srv_body_too_large),
		S(test_srv_client_closes_mid_request),
		S(test_srv_half_close_answered),
		S(test_srv_malformed_closes),
		S(test_srv_client_not_reading),
		S(test_srv_stop_while_waiting),
		S(test_srv_one_at_a_time),
	};

	unit_init();
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
