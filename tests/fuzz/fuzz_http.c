// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_http.c - libFuzzer target over the HTTP layer (api-socket/http.c):
 * arbitrary bytes, cut into arbitrary pieces, fed to one connection the
 * way the api thread does, every request answered.  Checks the request
 * invariants the handlers rely on and, when no HEAD request made bodies
 * implicit, that everything written back parses as HTTP responses.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ivmm -Iapi-socket \
 *       tests/fuzz/fuzz_http.c api-socket/http.c vmm/log.c \
 *       -ljansson -lhttp_parser -o fuzz_http
 *
 * Input: byte 0 sets the body limit, byte 1 how the rest is cut, the rest
 * is what the client sends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api-socket/http.h"
#include "vmm/core/log.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

struct out {
	char *buf;
	size_t len, cap;
	int requests;
	bool saw_head;
};

static void take_output(struct http_conn *c, struct out *o)
{
	size_t len;
	const char *p = http_conn_output(c, &len);

	if (!len)
		return;
	if (o->len + len > o->cap) {
		o->cap = (o->len + len) * 2;
		o->buf = realloc(o->buf, o->cap);
		CHECK(o->buf);
	}
	memcpy(o->buf + o->len, p, len);
	o->len += len;
	http_conn_consume(c, len);
}

static void check_request(const struct http_conn *c)
{
	const struct api_request *r = &c->req;
	size_t plen = strnlen(r->path, API_MAX_PATH);

	CHECK(plen < API_MAX_PATH && plen > 0);
	CHECK(strnlen(r->method_name, sizeof(r->method_name)) < sizeof(r->method_name));
	CHECK((r->method == API_GET) == !strcmp(r->method_name, "GET"));
	CHECK((r->method == API_PUT) == !strcmp(r->method_name, "PUT"));
	CHECK((r->method == API_PATCH) == !strcmp(r->method_name, "PATCH"));
	CHECK(r->body_len <= c->max_payload);
	CHECK(!r->body == !r->body_len);
	CHECK(!r->body || r->body[r->body_len] == '\0');
	CHECK(!r->resp_body && !r->status);
}

/* Answer like a handler would, with a status and body picked by n. */
static void answer(struct http_conn *c, struct out *o)
{
	static const int status[] = { 200, 204, 400, 404, 500 };
	int n = o->requests++;

	check_request(c);
	if (!strcmp(c->req.method_name, "HEAD"))
		o->saw_head = true;
	c->req.status = status[n % 5];
	if (c->req.status != 204)
		c->req.resp_body = api_fault_body("%s %s", c->req.method_name, c->req.path);
	CHECK(http_conn_respond(c) == 0);
}

static int on_resp_complete(http_parser *p)
{
	(*(int *)p->data)++;
	return 0;
}

/* The bytes written back are well-formed HTTP responses, one per request
 * plus interim 100s and at most one fault. */
static void check_output(const struct out *o)
{
	http_parser_settings s = { .on_message_complete = on_resp_complete };
	http_parser p;
	int responses = 0;
	size_t n;

	http_parser_init(&p, HTTP_RESPONSE);
	p.data = &responses;
	n = http_parser_execute(&p, &s, o->buf ? o->buf : "", o->len);
	CHECK(n == o->len && HTTP_PARSER_ERRNO(&p) == HPE_OK);
	CHECK(responses >= o->requests);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_conn c;
	struct out o = { 0 };
	size_t off = 2, used, step;
	enum http_feed f = HTTP_FEED_MORE;

	if (size < 2)
		return 0;
	http_conn_init(&c, (size_t)data[0] * 4);
	for (unsigned int k = 1; off < size && f != HTTP_FEED_CLOSE; k++) {
		step = data[1] ? (data[1] * k) % 23 + 1 : size - off;
		if (step > size - off)
			step = size - off;
		f = http_conn_feed(&c, (const char *)data + off, step, &used);
		CHECK(used <= step);
		if (f == HTTP_FEED_REQUEST)
			answer(&c, &o);
		else if (f == HTTP_FEED_MORE)
			CHECK(used == step);
		off += used;
		take_output(&c, &o);
	}
	http_conn_eof(&c);
	take_output(&c, &o);
	CHECK(http_conn_closing(&c));
	if (!o.saw_head)
		check_output(&o);
	http_conn_destroy(&c);
	free(o.buf);
	return 0;
}
