// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_virtq.c - libFuzzer target over the split virtqueue core
 * (virtio/virtq.c): the input is a small guest RAM image (descriptor
 * table, rings, indirect tables) plus a script of device operations and
 * driver pokes; every popped chain is checked against the invariants the
 * devices rely on.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ivmm -Ivirtio \
 *       tests/fuzz/fuzz_virtq.c virtio/virtq.c vmm/memory.c vmm/log.c \
 *       -lpthread -o fuzz_virtq
 *
 * Input: 8 control bytes (queue size, features, ring placement, starting
 * index, script length), the script, then the RAM image (zero-padded).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/core/log.h"
#include "vmm/core/memory.h"
#include "virtio/virtq.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define RAM_SIZE   (16 * 1024)
#define HDR        8
#define MAX_SCRIPT 64

enum op { OP_POP, OP_PUSH_OLDEST, OP_PUSH_ANY, OP_INTERRUPT, OP_NOTIFY,
	  OP_HAS_AVAIL, OP_BATCH, OP_POKE, OP_COUNT };

struct state {
	struct guest_mem gm;
	struct virtq q;
	struct virtq_chain chain;
	uint16_t heads[VIRTQ_MAX_SIZE];  /* in flight, oldest first */
	unsigned int nr_heads;
};

static _Alignas(4096) uint8_t ram[RAM_SIZE];
static struct state st;

static void check_chain(const struct state *s)
{
	const struct virtq_chain *c = &s->chain;
	uint64_t rd = 0, wr = 0;

	CHECK(c->head < s->q.size);
	CHECK(s->q.head_busy[c->head]);
	CHECK(c->nr_bufs <= s->q.size);
	CHECK(c->nr_readable <= c->nr_bufs);
	for (unsigned int i = 0; i < c->nr_bufs; i++) {
		const struct virtq_buf *b = &c->bufs[i];

		CHECK(b->len > 0);
		CHECK(gm_ptr(&s->gm, b->gpa, b->len) != NULL);
		CHECK(b->device_writes == (i >= c->nr_readable));
		*(b->device_writes ? &wr : &rd) += b->len;
	}
	CHECK(rd == c->readable_len && wr == c->writable_len);
}

static int do_pop(struct state *s)
{
	int ret = virtq_pop(&s->q, &s->chain);

	if (ret == 1) {
		check_chain(s);
		CHECK(s->nr_heads < s->q.size);
		s->heads[s->nr_heads++] = s->chain.head;
	} else if (ret == -EPROTO) {
		CHECK(s->q.broken && s->q.violations > 0);
	} else {
		CHECK(ret == 0 && !s->q.broken);
	}
	return ret;
}

static void do_push(struct state *s, unsigned int i, uint32_t written)
{
	uint16_t head;

	CHECK(i < s->nr_heads);
	head = s->heads[i];
	memmove(&s->heads[i], &s->heads[i + 1], (s->nr_heads - i - 1) * sizeof(head));
	s->nr_heads--;
	CHECK(virtq_push(&s->q, head, written) == (s->q.broken ? -EPROTO : 0));
}

/* The device pushes a head that may or may not be in flight. */
static void push_any(struct state *s, uint16_t head)
{
	for (unsigned int i = 0; i < s->nr_heads; i++) {
		if (s->heads[i] == head) {
			do_push(s, i, 1);
			return;
		}
	}
	CHECK(virtq_push(&s->q, head, 1) == -EPROTO);
	CHECK(s->q.broken);
}

/* Return the `k` oldest heads in one batch: virtq_fill each (used->idx
 * does not move), then one virtq_flush (it moves by k, in RAM too). */
static void do_batch(struct state *s, unsigned int k)
{
	uint16_t before = s->q.used_idx, idx;
	bool broken = s->q.broken;
	int ret;

	CHECK(k <= s->nr_heads);
	for (unsigned int i = 0; i < k; i++) {
		ret = virtq_fill(&s->q, s->heads[i], i, (uint16_t)i);
		CHECK(ret == (s->q.broken ? -EPROTO : 0));
		CHECK(s->q.used_idx == before);
	}
	memmove(&s->heads[0], &s->heads[k], (s->nr_heads - k) * sizeof(s->heads[0]));
	s->nr_heads -= k;
	ret = virtq_flush(&s->q, (uint16_t)k);
	if (broken || s->q.broken) {
		CHECK(ret == -EPROTO && s->q.unflushed == 0);
		return;
	}
	CHECK(ret == 0 && s->q.used_idx == (uint16_t)(before + k) && !s->q.unflushed);
	memcpy(&idx, ram + s->q.used_gpa + 2, 2);
	CHECK(!k || idx == s->q.used_idx);          /* a flush of 0 stores nothing */
}

/* One script step; returns how many script bytes it consumed. */
static size_t step(struct state *s, const uint8_t *p, size_t left)
{
	switch (p[0] % OP_COUNT) {
	case OP_POP:
		do_pop(s);
		return 1;
	case OP_PUSH_OLDEST:
		if (s->nr_heads)
			do_push(s, 0, p[0]);
		return 1;
	case OP_PUSH_ANY:
		if (left < 2)
			return left;
		push_any(s, p[1]);
		return 2;
	case OP_INTERRUPT:
		(void)virtq_should_interrupt(&s->q);
		return 1;
	case OP_NOTIFY:
		(void)virtq_enable_notify(&s->q);
		return 1;
	case OP_HAS_AVAIL:
		(void)virtq_has_avail(&s->q);
		return 1;
	case OP_BATCH:
		if (left < 2)
			return left;
		do_batch(s, p[1] % (s->nr_heads + 1));
		return 2;
	default:                              /* the driver writes a byte */
		if (left < 3)
			return left;
		ram[(p[1] | (unsigned int)p[2] << 8) % RAM_SIZE] ^= p[0];
		return 3;
	}
}

static int start(struct state *s, const uint8_t *h)
{
	memset(&s->q, 0, sizeof(s->q));
	s->nr_heads = 0;
	s->q.name = "fuzz q0";
	s->q.size = (uint16_t)(1u << (h[0] % 10));          /* up to 512: refused */
	s->q.indirect = h[1] & 1;
	s->q.event_idx = h[1] & 2;
	s->q.desc_gpa = (uint64_t)h[2] * 16 + (h[1] & 16 ? 8 : 0);
	s->q.avail_gpa = 0x1000 + (uint64_t)h[3] * 2 + (h[1] & 4 ? 1 : 0);
	s->q.used_gpa = 0x2000 + (uint64_t)h[4] * 52;
	if (h[1] & 8)
		s->q.used_gpa = RAM_SIZE - 8 - 8ull * s->q.size;  /* at the end */
	if (virtq_activate(&s->q, &s->gm))
		return -1;
	s->q.last_avail = s->q.used_idx = (uint16_t)(h[5] | h[6] << 8);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state *s = &st;
	size_t nscript, off = 0;

	if (size < HDR)
		return 0;
	nscript = data[7] % (MAX_SCRIPT + 1);
	if (size < HDR + nscript)
		nscript = size - HDR;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + HDR + nscript,
	       size - HDR - nscript < RAM_SIZE ? size - HDR - nscript : RAM_SIZE);
	gm_init_fake(&s->gm, ram, RAM_SIZE);
	if (start(s, data))
		return 0;
	while (off < nscript)
		off += step(s, data + HDR + off, nscript - off);
	/* Drain: bounded, whatever the ring says. */
	for (unsigned int i = 0; i < 2u * VIRTQ_MAX_SIZE + 2; i++) {
		CHECK(s->q.in_flight <= s->q.size && s->q.in_flight == s->nr_heads);
		if (s->nr_heads == s->q.size || s->q.broken)
			break;
		if (!do_pop(s) && !s->nr_heads)
			break;
		if (s->nr_heads && (i & 1))
			do_push(s, s->nr_heads - 1, 0);
	}
	while (s->nr_heads)
		do_push(s, 0, 0);
	CHECK(s->q.in_flight == 0);
	if (s->q.broken)
		CHECK(virtq_pop(&s->q, &s->chain) == -EPROTO);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);   /* violations are expected here */
	return 0;
}
