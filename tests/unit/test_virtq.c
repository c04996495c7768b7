// SPDX-License-Identifier: Apache-2.0
/*
 * test_virtq.c - the split virtqueue core (virtio/virtq.c) over fake guest
 * RAM: a table of hostile rings, each of which must either stop the queue
 * (-EPROTO, one violation counted, later pops -EPROTO too) or give one
 * exact clean result, then the valid paths: pop/push, 16-bit index
 * wrap-around, in-flight accounting, batched returns (fill/flush), interrupt suppression (NO_INTERRUPT
 * and EVENT_IDX), notification re-enabling, reset.
 */
#include <errno.h>

#include "unit.h"
#include "vmm/core/memory.h"
#include "virtio/virtq.h"

#define RAM_SIZE  (1024 * 1024ull)
#define DESC_GPA  0x1000ull
#define AVAIL_GPA 0x3000ull
#define USED_GPA  0x4000ull
#define TABLE_GPA 0x8000ull         /* indirect tables */
#define BUF_GPA   0x10000ull        /* data buffers */
#define QSIZE     8

struct fx {
	struct guest_mem gm;
	uint8_t *ram;
	struct virtq q;
	struct virtq_chain chain;
	uint16_t avail_idx;          /* the driver's shadow of avail->idx */
};

/* put16/get16/get32 and desc_at on this fixture (unit_virtio.h) */
#define UNIT_FX    struct fx
#define UNIT_GM(f) (&(f)->gm)
#include "unit_virtio.h"

/* ---- the fake driver ------------------------------------------------- */

static void desc(struct fx *f, uint16_t idx, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	desc_at(f, DESC_GPA + 16ull * idx, addr, len, flags, next);
}

static void ind(struct fx *f, uint16_t idx, uint64_t addr, uint32_t len,
		uint16_t flags, uint16_t next)
{
	desc_at(f, TABLE_GPA + 16ull * idx, addr, len, flags, next);
}

static void set_avail_idx(struct fx *f, uint16_t idx)
{
	f->avail_idx = idx;
	put16(f, AVAIL_GPA + 2, idx);
}

/* Make `head` available at the next ring slot and publish it. */
static void avail(struct fx *f, uint16_t head)
{
	put16(f, AVAIL_GPA + 4 + 2ull * (f->avail_idx % f->q.size), head);
	set_avail_idx(f, f->avail_idx + 1);
}

static uint64_t used_event(struct fx *f) { return AVAIL_GPA + 4 + 2ull * f->q.size; }
static uint64_t avail_event(struct fx *f) { return USED_GPA + 4 + 8ull * f->q.size; }

static int fx_start(struct fx *f, uint16_t size, bool indirect, bool event_idx)
{
	memset(f->ram, 0, RAM_SIZE);
	memset(&f->q, 0, sizeof(f->q));
	f->avail_idx = 0;
	f->q.name = "test q0";
	f->q.size = size;
	f->q.desc_gpa = DESC_GPA;
	f->q.avail_gpa = AVAIL_GPA;
	f->q.used_gpa = USED_GPA;
	f->q.indirect = indirect;
	f->q.event_idx = event_idx;
	return virtq_activate(&f->q, &f->gm);
}

static int pop(struct fx *f)
{
	return virtq_pop(&f->q, &f->chain);
}

/* One single-buffer chain per head 0..n-1, all made available. */
static void simple_chains(struct fx *f, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		desc(f, i, BUF_GPA + 0x100ull * i, 0x100, F_WRITE, 0);
		avail(f, i);
	}
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || !(f->ram = malloc(RAM_SIZE))) {
		free(f);
		return -1;
	}
	gm_init_fake(&f->gm, f->ram, RAM_SIZE);
	if (fx_start(f, QSIZE, false, false))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->ram);
	free(f);
	return 0;
}

/* ---- the hostile corpus ---------------------------------------------- */

/* Each act lays out a ring on a fresh queue and returns the result of the
 * last operation it performs. */

static int act_self_loop(struct fx *f)
{
	desc(f, 0, BUF_GPA, 16, F_NEXT, 0);
	avail(f, 0);
	return pop(f);
}

static int act_two_cycle(struct fx *f)
{
	desc(f, 0, BUF_GPA, 16, F_NEXT, 1);
	desc(f, 1, BUF_GPA, 16, F_NEXT, 0);
	avail(f, 0);
	return pop(f);
}

static int act_long_cycle(struct fx *f)
{
	for (uint16_t i = 0; i < QSIZE; i++)
		desc(f, i, BUF_GPA, 16, F_NEXT, i == QSIZE - 1 ? 3 : i + 1);
	avail(f, 0);
	return pop(f);
}

static int act_next_out_of_range(struct fx *f)
{
	desc(f, 0, BUF_GPA, 16, F_NEXT, QSIZE);
	avail(f, 0);
	return pop(f);
}

static int act_next_ffff(struct fx *f)
{
	desc(f, 0, BUF_GPA, 16, F_NEXT, 0xffff);
	avail(f, 0);
	return pop(f);
}

static int act_addr_out_of_ram(struct fx *f)
{
	desc(f, 0, RAM_SIZE, 1, 0, 0);
	avail(f, 0);
	return pop(f);
}

static int act_addr_len_wraps(struct fx *f)
{
	desc(f, 0, 0xfffffffffffffff0ull, 0x20, 0, 0);
	avail(f, 0);
	return pop(f);
}

static int act_len_huge(struct fx *f)
{
	desc(f, 0, BUF_GPA, 0xffffffffu, F_WRITE, 0);
	avail(f, 0);
	return pop(f);
}

static int act_straddles_end(struct fx *f)
{
	desc(f, 0, RAM_SIZE - 8, 16, 0, 0);
	avail(f, 0);
	return pop(f);
}

static int act_ends_at_end(struct fx *f)
{
	desc(f, 0, RAM_SIZE - 16, 16, 0, 0);
	avail(f, 0);
	return pop(f);
}

static int act_second_buf_out_of_ram(struct fx *f)
{
	desc(f, 0, BUF_GPA, 16, F_NEXT, 1);
	desc(f, 1, RAM_SIZE + 4096, 16, F_WRITE, 0);
	avail(f, 0);
	return pop(f);
}

/* Size 4: three direct buffers and an indirect table of two. */
static int act_chain_longer_than_queue(struct fx *f)
{
	fx_start(f, 4, true, false);
	desc(f, 0, BUF_GPA, 16, F_NEXT, 1);
	desc(f, 1, BUF_GPA, 16, F_NEXT, 2);
	desc(f, 2, BUF_GPA, 16, F_NEXT, 3);
	desc(f, 3, TABLE_GPA, 32, F_IND, 0);
	ind(f, 0, BUF_GPA, 16, F_NEXT, 1);
	ind(f, 1, BUF_GPA, 16, 0, 0);
	avail(f, 0);
	return pop(f);
}

static int act_chain_exactly_queue(struct fx *f)
{
	for (uint16_t i = 0; i < QSIZE; i++)
		desc(f, i, BUF_GPA, 16, i < QSIZE - 1 ? F_NEXT : 0, i + 1);
	avail(f, 0);
	return pop(f);
}

static int act_avail_jump_over_size(struct fx *f)
{
	simple_chains(f, 1);
	set_avail_idx(f, QSIZE + 1);
	return pop(f);
}

static int act_avail_jump_exactly_size(struct fx *f)
{
	simple_chains(f, QSIZE);
	for (int i = 0; i < QSIZE; i++)
		assert_ret(pop(f), 1);
	assert_int_equal(f->q.in_flight, QSIZE);
	return pop(f);
}

static int act_avail_backwards(struct fx *f)
{
	simple_chains(f, 1);
	set_avail_idx(f, 0xffff);
	return pop(f);
}

static int act_head_out_of_range(struct fx *f)
{
	simple_chains(f, 1);
	put16(f, AVAIL_GPA + 4, QSIZE);
	return pop(f);
}

static int act_head_reuse(struct fx *f)
{
	simple_chains(f, 1);
	avail(f, 0);
	assert_ret(pop(f), 1);
	return pop(f);
}

static int act_head_reuse_after_push(struct fx *f)
{
	simple_chains(f, 1);
	avail(f, 0);
	assert_ret(pop(f), 1);
	assert_ret(virtq_push(&f->q, 0, 0), 0);
	return pop(f);
}

static int act_push_not_in_flight(struct fx *f)
{
	simple_chains(f, 2);
	assert_ret(pop(f), 1);
	return virtq_push(&f->q, 1, 0);
}

static int act_push_head_out_of_range(struct fx *f)
{
	return virtq_push(&f->q, 0xffff, 0);
}

static int act_double_push(struct fx *f)
{
	simple_chains(f, 1);
	assert_ret(pop(f), 1);
	assert_ret(virtq_push(&f->q, 0, 4), 0);
	return virtq_push(&f->q, 0, 4);
}

static int act_readable_after_writable(struct fx *f)
{
	desc(f, 0, BUF_GPA, 16, F_WRITE | F_NEXT, 1);
	desc(f, 1, BUF_GPA + 16, 16, 0, 0);
	avail(f, 0);
	return pop(f);
}

static int act_readable_after_writable_indirect(struct fx *f)
{
	fx_start(f, QSIZE, true, false);
	desc(f, 0, BUF_GPA, 16, F_WRITE | F_NEXT, 1);
	desc(f, 1, TABLE_GPA, 16, F_IND, 0);
	ind(f, 0, BUF_GPA, 16, 0, 0);
	avail(f, 0);
	return pop(f);
}

static int act_indirect_not_negotiated(struct fx *f)
{
	desc(f, 0, TABLE_GPA, 16, F_IND, 0);
	ind(f, 0, BUF_GPA, 16, 0, 0);
	avail(f, 0);
	return pop(f);
}

/* Lay out head 0 -> indirect table (len bytes), negotiate INDIRECT, pop. */
static int indirect_head(struct fx *f, uint64_t addr, uint32_t len, uint16_t flags)
{
	f->q.indirect = true;
	assert_ret(virtq_activate(&f->q, &f->gm), 0);
	desc(f, 0, addr, len, F_IND | flags, 1);
	desc(f, 1, BUF_GPA, 16, 0, 0);
	avail(f, 0);
	return pop(f);
}

static int act_indirect_valid(struct fx *f)
{
	ind(f, 0, BUF_GPA, 16, F_NEXT, 2);       /* chained out of order */
	ind(f, 2, BUF_GPA + 16, 32, F_WRITE, 0);
	return indirect_head(f, TABLE_GPA, 48, 0);
}

static int act_indirect_with_write_flag(struct fx *f)
{
	ind(f, 0, BUF_GPA, 16, 0, 0);           /* the table's WRITE is ignored */
	return indirect_head(f, TABLE_GPA, 16, F_WRITE);
}

static int act_indirect_with_next(struct fx *f)
{
	ind(f, 0, BUF_GPA, 16, 0, 0);
	return indirect_head(f, TABLE_GPA, 16, F_NEXT);
}

static int act_nested_indirect(struct fx *f)
{
	ind(f, 0, TABLE_GPA, 16, F_IND, 0);
	return indirect_head(f, TABLE_GPA, 16, 0);
}

static int act_indirect_len_24(struct fx *f)
{
	ind(f, 0, BUF_GPA, 16, 0, 0);
	return indirect_head(f, TABLE_GPA, 24, 0);
}

static int act_indirect_len_0(struct fx *f)
{
	return indirect_head(f, TABLE_GPA, 0, 0);
}

static int act_indirect_out_of_ram(struct fx *f)
{
	return indirect_head(f, RAM_SIZE, 16, 0);
}

static int act_indirect_straddles_end(struct fx *f)
{
	return indirect_head(f, RAM_SIZE - 16, 32, 0);
}

static int act_indirect_wraps(struct fx *f)
{
	return indirect_head(f, 0xfffffffffffffff0ull, 32, 0);
}

static int act_indirect_too_many_entries(struct fx *f)
{
	for (uint16_t i = 0; i <= QSIZE; i++)
		ind(f, i, BUF_GPA, 16, i < QSIZE ? F_NEXT : 0, i + 1);
	return indirect_head(f, TABLE_GPA, 16 * (QSIZE + 1), 0);
}

static int act_indirect_full_size(struct fx *f)
{
	for (uint16_t i = 0; i < QSIZE; i++)
		ind(f, i, BUF_GPA, 16, i < QSIZE - 1 ? F_NEXT : 0, i + 1);
	return indirect_head(f, TABLE_GPA, 16 * QSIZE, 0);
}

static int act_indirect_next_out_of_table(struct fx *f)
{
	ind(f, 0, BUF_GPA, 16, F_NEXT, 2);      /* table has 2 entries */
	ind(f, 2, BUF_GPA, 16, 0, 0);
	return indirect_head(f, TABLE_GPA, 32, 0);
}

static int act_indirect_loop(struct fx *f)
{
	ind(f, 0, BUF_GPA, 16, F_NEXT, 1);
	ind(f, 1, BUF_GPA, 16, F_NEXT, 0);
	return indirect_head(f, TABLE_GPA, 32, 0);
}

static int act_indirect_self_loop(struct fx *f)
{
	ind(f, 0, BUF_GPA, 16, F_NEXT, 0);
	return indirect_head(f, TABLE_GPA, 16, 0);
}

static int act_indirect_entry_out_of_ram(struct fx *f)
{
	ind(f, 0, RAM_SIZE - 4, 16, 0, 0);
	return indirect_head(f, TABLE_GPA, 16, 0);
}

static int act_indirect_readable_after_writable(struct fx *f)
{
	ind(f, 0, BUF_GPA, 16, F_WRITE | F_NEXT, 1);
	ind(f, 1, BUF_GPA, 16, 0, 0);
	return indirect_head(f, TABLE_GPA, 32, 0);
}

static int act_zero_length(struct fx *f)
{
	desc(f, 0, BUF_GPA, 0, F_NEXT, 1);
	desc(f, 1, BUF_GPA, 16, F_WRITE, 0);
	avail(f, 0);
	return pop(f);
}

/* A zero-length buffer is never accessed, so its address is not checked. */
static int act_zero_length_wild_addr(struct fx *f)
{
	desc(f, 0, 0xffffffffffffffffull, 0, 0, 0);
	avail(f, 0);
	return pop(f);
}

static int act_zero_length_still_ordered(struct fx *f)
{
	desc(f, 0, BUF_GPA, 16, F_WRITE | F_NEXT, 1);
	desc(f, 1, BUF_GPA, 0, 0, 0);
	avail(f, 0);
	return pop(f);
}

static int act_header_split(struct fx *f)
{
	desc(f, 0, BUF_GPA, 8, F_NEXT, 1);            /* e.g. half a blk header */
	desc(f, 1, BUF_GPA + 0x100, 8, F_NEXT, 2);    /* the other half */
	desc(f, 2, BUF_GPA + 0x200, 512, F_WRITE, 0);
	avail(f, 0);
	return pop(f);
}

/* Activation with a bad layout. */
static int start_with(struct fx *f, uint16_t size, uint64_t d, uint64_t a, uint64_t u)
{
	fx_start(f, QSIZE, false, false);
	f->q.size = size;
	f->q.desc_gpa = d;
	f->q.avail_gpa = a;
	f->q.used_gpa = u;
	return virtq_activate(&f->q, &f->gm);
}

static int act_size_0(struct fx *f) { return start_with(f, 0, DESC_GPA, AVAIL_GPA, USED_GPA); }
static int act_size_3(struct fx *f) { return start_with(f, 3, DESC_GPA, AVAIL_GPA, USED_GPA); }
static int act_size_512(struct fx *f) { return start_with(f, 512, DESC_GPA, AVAIL_GPA, USED_GPA); }
static int act_size_max(struct fx *f)
{
	return start_with(f, VIRTQ_MAX_SIZE, 0x10000, 0x20000, 0x30000);
}
static int act_size_1(struct fx *f) { return start_with(f, 1, DESC_GPA, AVAIL_GPA, USED_GPA); }
static int act_desc_misaligned(struct fx *f)
{
	return start_with(f, QSIZE, DESC_GPA + 8, AVAIL_GPA, USED_GPA);
}
static int act_avail_misaligned(struct fx *f)
{
	return start_with(f, QSIZE, DESC_GPA, AVAIL_GPA + 1, USED_GPA);
}
static int act_used_misaligned(struct fx *f)
{
	return start_with(f, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA + 2);
}
static int act_desc_past_ram(struct fx *f)
{
	return start_with(f, QSIZE, RAM_SIZE - 16 * QSIZE + 16, AVAIL_GPA, USED_GPA);
}
static int act_desc_at_end(struct fx *f)
{
	return start_with(f, QSIZE, RAM_SIZE - 16 * QSIZE, AVAIL_GPA, USED_GPA);
}
/* used_event is part of the ring: an avail ring missing it is refused. */
static int act_avail_past_ram(struct fx *f)
{
	return start_with(f, QSIZE, DESC_GPA, RAM_SIZE - (4 + 2 * QSIZE), USED_GPA);
}
static int act_used_past_ram(struct fx *f)
{
	return start_with(f, QSIZE, DESC_GPA, AVAIL_GPA, RAM_SIZE - (4 + 8 * QSIZE));
}
static int act_used_wraps(struct fx *f)
{
	return start_with(f, QSIZE, DESC_GPA, AVAIL_GPA, 0xfffffffffffffffcull);
}

struct hostile {
	const char *name;
	int (*act)(struct fx *f);
	int want;                    /* -EPROTO: queue broken; -EINVAL: not started */
	int want_bufs;               /* when want == 1: chain->nr_bufs */
};

static const struct hostile corpus[] = {
	{ "self loop",                      act_self_loop, -EPROTO, 0 },
	{ "two-descriptor cycle",           act_two_cycle, -EPROTO, 0 },
	{ "long cycle",                     act_long_cycle, -EPROTO, 0 },
	{ "next == size",                   act_next_out_of_range, -EPROTO, 0 },
	{ "next 0xffff",                    act_next_ffff, -EPROTO, 0 },
	{ "address past RAM",               act_addr_out_of_ram, -EPROTO, 0 },
	{ "address+len wraps 2^64",         act_addr_len_wraps, -EPROTO, 0 },
	{ "len 4 GiB - 1",                  act_len_huge, -EPROTO, 0 },
	{ "buffer straddles end of RAM",    act_straddles_end, -EPROTO, 0 },
	{ "buffer ends at end of RAM",      act_ends_at_end, 1, 1 },
	{ "second buffer past RAM",         act_second_buf_out_of_ram, -EPROTO, 0 },
	{ "chain longer than queue",        act_chain_longer_than_queue, -EPROTO, 0 },
	{ "chain exactly queue size",       act_chain_exactly_queue, 1, QSIZE },
	{ "avail idx jumps size + 1",       act_avail_jump_over_size, -EPROTO, 0 },
	{ "avail idx jumps exactly size",   act_avail_jump_exactly_size, 0, 0 },
	{ "avail idx goes backwards",       act_avail_backwards, -EPROTO, 0 },
	{ "head == size",                   act_head_out_of_range, -EPROTO, 0 },
	{ "head reused while in flight",    act_head_reuse, -EPROTO, 0 },
	{ "head reused after push",         act_head_reuse_after_push, 1, 1 },
	{ "push of a head not in flight",   act_push_not_in_flight, -EPROTO, 0 },
	{ "push of head 0xffff",            act_push_head_out_of_range, -EPROTO, 0 },
	{ "double push",                    act_double_push, -EPROTO, 0 },
	{ "readable after writable",        act_readable_after_writable, -EPROTO, 0 },
	{ "readable indirect after writable", act_readable_after_writable_indirect, -EPROTO, 0 },
	{ "indirect not negotiated",        act_indirect_not_negotiated, -EPROTO, 0 },
	{ "indirect valid",                 act_indirect_valid, 1, 2 },
	{ "indirect with WRITE flag",       act_indirect_with_write_flag, 1, 1 },
	{ "indirect with NEXT",             act_indirect_with_next, -EPROTO, 0 },
	{ "nested indirect",                act_nested_indirect, -EPROTO, 0 },
	{ "indirect len 24",                act_indirect_len_24, -EPROTO, 0 },
	{ "indirect len 0",                 act_indirect_len_0, -EPROTO, 0 },
	{ "indirect table past RAM",        act_indirect_out_of_ram, -EPROTO, 0 },
	{ "indirect table straddles end",   act_indirect_straddles_end, -EPROTO, 0 },
	{ "indirect table wraps 2^64",      act_indirect_wraps, -EPROTO, 0 },
	{ "indirect entries > size",        act_indirect_too_many_entries, -EPROTO, 0 },
	{ "indirect entries == size",       act_indirect_full_size, 1, QSIZE },
	{ "indirect next out of table",     act_indirect_next_out_of_table, -EPROTO, 0 },
	{ "indirect loop",                  act_indirect_loop, -EPROTO, 0 },
	{ "indirect self loop",             act_indirect_self_loop, -EPROTO, 0 },
	{ "indirect entry past RAM",        act_indirect_entry_out_of_ram, -EPROTO, 0 },
	{ "indirect readable after writable", act_indirect_readable_after_writable, -EPROTO, 0 },
	{ "zero-length descriptor",         act_zero_length, 1, 1 },
	{ "zero-length at a wild address",  act_zero_length_wild_addr, 1, 0 },
	{ "zero-length readable after writable", act_zero_length_still_ordered, -EPROTO, 0 },
	{ "header split over two bufs",     act_header_split, 1, 3 },
	{ "activate size 0",                act_size_0, -EINVAL, 0 },
	{ "activate size 3",                act_size_3, -EINVAL, 0 },
	{ "activate size 512",              act_size_512, -EINVAL, 0 },
	{ "activate size max",              act_size_max, 0, 0 },
	{ "activate size 1",                act_size_1, 0, 0 },
	{ "activate desc misaligned",       act_desc_misaligned, -EINVAL, 0 },
	{ "activate avail misaligned",      act_avail_misaligned, -EINVAL, 0 },
	{ "activate used misaligned",       act_used_misaligned, -EINVAL, 0 },
	{ "activate desc past RAM",         act_desc_past_ram, -EINVAL, 0 },
	{ "activate desc ends at RAM end",  act_desc_at_end, 0, 0 },
	{ "activate avail without used_event", act_avail_past_ram, -EINVAL, 0 },
	{ "activate used past RAM",         act_used_past_ram, -EINVAL, 0 },
	{ "activate used wraps 2^64",       act_used_wraps, -EINVAL, 0 },
};

static void check_case(struct fx *f, const struct hostile *c)
{
	uint16_t last_avail, used;

	fx_start(f, QSIZE, false, false);
	assert_ret_case(c->name, c->act(f), c->want);
	if (c->want == -EINVAL) {
		assert_false(f->q.ready);
		assert_ret_case(c->name, pop(f), 0);
		return;
	}
	if (c->want != -EPROTO) {
		assert_false(f->q.broken);
		assert_int_equal(f->q.violations, 0);
		if (c->want == 1)
			assert_ret_case(c->name, f->chain.nr_bufs, c->want_bufs);
		return;
	}
	assert_true(f->q.broken);
	assert_int_equal(f->q.violations, 1);
	/* Stopped for good: even a now-valid ring gives -EPROTO, counted once,
	 * and nothing more is written to the guest. */
	last_avail = f->q.last_avail;
	used = get16(f, USED_GPA + 2);
	simple_chains(f, 1);
	assert_ret_case(c->name, pop(f), -EPROTO);
	assert_ret_case(c->name, pop(f), -EPROTO);
	assert_int_equal(f->q.violations, 1);
	assert_int_equal(f->q.last_avail, last_avail);
	assert_int_equal(get16(f, USED_GPA + 2), used);
	assert_false(virtq_has_avail(&f->q));
	assert_false(virtq_should_interrupt(&f->q));
}

static void test_hostile_corpus(void **state)
{
	struct fx *f = *state;

	assert_true(ARRAY_SIZE(corpus) >= 30);
	for (size_t i = 0; i < ARRAY_SIZE(corpus); i++)
		check_case(f, &corpus[i]);
}

/* ---- valid paths -------------------------------------------------------- */

static void test_pop_push_roundtrip(void **state)
{
	struct fx *f = *state;
	struct virtq_chain *c = &f->chain;

	desc(f, 5, BUF_GPA, 16, F_NEXT, 2);
	desc(f, 2, BUF_GPA + 0x100, 0x200, F_WRITE | F_NEXT, 7);
	desc(f, 7, BUF_GPA + 0x400, 0x40, F_WRITE, 0);
	avail(f, 5);
	assert_true(virtq_has_avail(&f->q));
	assert_ret(pop(f), 1);
	assert_false(virtq_has_avail(&f->q));
	assert_int_equal(c->head, 5);
	assert_int_equal(c->nr_bufs, 3);
	assert_int_equal(c->nr_readable, 1);
	assert_int_equal(c->readable_len, 16);
	assert_int_equal(c->writable_len, 0x240);
	assert_int_equal(c->bufs[0].gpa, BUF_GPA);
	assert_false(c->bufs[0].device_writes);
	assert_int_equal(c->bufs[1].gpa, BUF_GPA + 0x100);
	assert_int_equal(c->bufs[1].len, 0x200);
	assert_true(c->bufs[2].device_writes);
	assert_int_equal(f->q.in_flight, 1);
	assert_ret(pop(f), 0);

	assert_ret(virtq_push(&f->q, 5, 0x123), 0);
	assert_int_equal(get16(f, USED_GPA + 2), 1);
	assert_int_equal(get32(f, USED_GPA + 4), 5);
	assert_int_equal(get32(f, USED_GPA + 8), 0x123);
	assert_int_equal(f->q.in_flight, 0);
	assert_int_equal(f->q.head_busy[5], 0);
	assert_int_equal(f->q.violations, 0);
}

/* nr_slots: the descriptor-table entries a chain occupies (what the driver
 * cannot reuse while the device holds it): each direct descriptor, even a
 * zero-length one, counts one; an indirect table counts one, whatever it
 * holds. */
static void test_chain_slots(void **state)
{
	struct fx *f = *state;
	struct virtq_chain *c = &f->chain;

	assert_ret(fx_start(f, 16, true, false), 0);
	desc(f, 0, BUF_GPA, 0x100, F_WRITE | F_NEXT, 1);
	desc(f, 1, BUF_GPA + 0x100, 0, F_WRITE | F_NEXT, 2);     /* no buffer, one slot */
	desc(f, 2, BUF_GPA + 0x200, 0x100, F_WRITE, 0);
	avail(f, 0);
	assert_ret(pop(f), 1);
	assert_int_equal(c->nr_bufs, 2);
	assert_int_equal(c->nr_slots, 3);
	/* An indirect table of four: one slot. */
	for (uint16_t i = 0; i < 4; i++)
		ind(f, i, BUF_GPA + 0x1000 + 0x100ull * i, 0x100, F_WRITE | (i < 3 ? F_NEXT : 0),
		    (uint16_t)(i + 1));
	desc(f, 5, TABLE_GPA, 64, F_IND, 0);
	avail(f, 5);
	assert_ret(pop(f), 1);
	assert_int_equal(c->nr_bufs, 4);
	assert_int_equal(c->nr_slots, 1);
	/* A direct descriptor, then the indirect table: two. */
	desc(f, 7, BUF_GPA + 0x2000, 0x100, F_WRITE | F_NEXT, 8);
	desc(f, 8, TABLE_GPA, 64, F_IND, 0);
	avail(f, 7);
	assert_ret(pop(f), 1);
	assert_int_equal(c->nr_bufs, 5);
	assert_int_equal(c->nr_slots, 2);
	/* A single descriptor. */
	desc(f, 9, BUF_GPA + 0x3000, 0x10, F_WRITE, 0);
	avail(f, 9);
	assert_ret(pop(f), 1);
	assert_int_equal(c->nr_slots, 1);
	assert_int_equal(f->q.violations, 0);
}

static void test_index_wraparound(void **state)
{
	struct fx *f = *state;

	for (uint16_t i = 0; i < 4; i++)
		desc(f, i, BUF_GPA + 0x100ull * i, 0x100, F_WRITE, 0);
	f->q.last_avail = f->q.used_idx = 65534;
	put16(f, USED_GPA + 2, 65534);
	set_avail_idx(f, 65534);
	for (uint16_t i = 0; i < 4; i++)
		avail(f, i);                    /* slots 6, 7, 0, 1 */
	assert_int_equal(f->avail_idx, 2);
	for (uint16_t i = 0; i < 4; i++) {
		assert_ret(pop(f), 1);
		assert_int_equal(f->chain.head, i);
	}
	assert_ret(pop(f), 0);
	assert_int_equal(f->q.last_avail, 2);
	for (uint16_t i = 0; i < 4; i++)
		assert_ret(virtq_push(&f->q, 3 - i, i), 0);
	assert_int_equal(get16(f, USED_GPA + 2), 2);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 6), 3);   /* slot 6 */
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 7), 2);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 0), 1);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 1), 0);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 1 + 4), 3);
	assert_false(f->q.broken);
}

static void test_in_flight_accounting(void **state)
{
	struct fx *f = *state;

	simple_chains(f, 3);
	for (int i = 0; i < 3; i++)
		assert_ret(pop(f), 1);
	assert_int_equal(f->q.in_flight, 3);
	assert_ret(virtq_push(&f->q, 1, 0), 0);
	assert_int_equal(f->q.in_flight, 2);
	assert_int_equal(f->q.head_busy[1], 0);
	assert_int_equal(f->q.head_busy[0], 1);
	/* The freed head may come back; the busy ones may not. */
	avail(f, 1);
	assert_ret(pop(f), 1);
	assert_int_equal(f->q.in_flight, 3);
	assert_ret(virtq_push(&f->q, 0, 0), 0);
	assert_ret(virtq_push(&f->q, 2, 0), 0);
	assert_ret(virtq_push(&f->q, 1, 0), 0);
	assert_int_equal(f->q.in_flight, 0);
	assert_int_equal(f->q.used_idx, 4);
}

/* ---- batched returns: virtq_fill / virtq_flush ---------------------------- */

/* Filled elements land in the used ring without moving used->idx; one
 * flush publishes them all; heads leave the in-flight set at fill time. */
static void test_fill_flush_batch(void **state)
{
	struct fx *f = *state;

	simple_chains(f, 4);
	for (int i = 0; i < 4; i++)
		assert_ret(pop(f), 1);
	assert_ret(virtq_fill(&f->q, 2, 0x20, 0), 0);
	assert_ret(virtq_fill(&f->q, 0, 0x21, 1), 0);
	assert_ret(virtq_fill(&f->q, 3, 0x22, 2), 0);
	assert_int_equal(get16(f, USED_GPA + 2), 0);          /* not yet seen */
	assert_int_equal(f->q.used_idx, 0);
	assert_int_equal(f->q.in_flight, 1);
	assert_int_equal(f->q.head_busy[2] + f->q.head_busy[0] + f->q.head_busy[3], 0);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 1), 0);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 1 + 4), 0x21);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 2), 3);
	assert_ret(virtq_flush(&f->q, 3), 0);
	assert_int_equal(get16(f, USED_GPA + 2), 3);          /* one store: all three */
	assert_int_equal(get32(f, USED_GPA + 4), 2);
	assert_int_equal(f->q.unflushed, 0);
	assert_true(virtq_should_interrupt(&f->q));
	/* A flush of nothing stores nothing; push is fill + flush of one. */
	put16(f, USED_GPA + 2, 0x7777);
	assert_ret(virtq_flush(&f->q, 0), 0);
	assert_int_equal(get16(f, USED_GPA + 2), 0x7777);
	assert_ret(virtq_push(&f->q, 1, 5), 0);
	assert_int_equal(get16(f, USED_GPA + 2), 4);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 3), 1);
	assert_int_equal(f->q.in_flight, 0);
	assert_int_equal(f->q.violations, 0);
}

/* The batch's slots wrap with the 16-bit index and the ring. */
static void test_fill_flush_wraparound(void **state)
{
	struct fx *f = *state;

	for (uint16_t i = 0; i < 4; i++)
		desc(f, i, BUF_GPA + 0x100ull * i, 0x100, F_WRITE, 0);
	f->q.last_avail = f->q.used_idx = 65534;
	put16(f, USED_GPA + 2, 65534);
	set_avail_idx(f, 65534);
	for (uint16_t i = 0; i < 4; i++)
		avail(f, i);
	for (uint16_t i = 0; i < 4; i++)
		assert_ret(pop(f), 1);
	for (uint16_t i = 0; i < 4; i++)
		assert_ret(virtq_fill(&f->q, i, i, i), 0);    /* slots 6, 7, 0, 1 */
	assert_int_equal(get16(f, USED_GPA + 2), 65534);
	assert_ret(virtq_flush(&f->q, 4), 0);
	assert_int_equal(get16(f, USED_GPA + 2), 2);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 6), 0);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 7), 1);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 0), 2);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 * 1), 3);
	assert_false(f->q.broken);
}

/* Like virtq_push: a head not in flight is a driver violation (a head the
 * driver made available twice would otherwise be returned twice). */
static void test_fill_refuses_head_not_in_flight(void **state)
{
	struct fx *f = *state;

	simple_chains(f, 2);
	assert_ret(pop(f), 1);
	assert_ret(virtq_fill(&f->q, 0, 1, 0), 0);
	assert_ret(virtq_fill(&f->q, 0, 1, 1), -EPROTO);      /* returned already */
	assert_true(f->q.broken);
	assert_int_equal(f->q.violations, 1);
	assert_ret(virtq_flush(&f->q, 1), -EPROTO);           /* nothing published */
	assert_int_equal(get16(f, USED_GPA + 2), 0);
	assert_ret(pop(f), -EPROTO);
	/* Never popped, and beyond the queue. */
	assert_ret(fx_start(f, QSIZE, false, false), 0);
	assert_ret(virtq_fill(&f->q, 3, 0, 0), -EPROTO);
	assert_true(f->q.broken);
	assert_ret(fx_start(f, QSIZE, false, false), 0);
	assert_ret(virtq_fill(&f->q, QSIZE, 0, 0), -EPROTO);
	assert_ret(fx_start(f, QSIZE, false, false), 0);
	assert_ret(virtq_fill(&f->q, 0xffff, 0, 0), -EPROTO);
	assert_int_equal(f->q.violations, 1);
}

/* Device-side misuse is refused without touching the ring or the guest's
 * standing: an offset outside the ring, a flush of more than was filled. */
static void test_fill_flush_bounds(void **state)
{
	struct fx *f = *state;

	simple_chains(f, 2);
	assert_ret(pop(f), 1);
	assert_ret(pop(f), 1);
	assert_ret(virtq_fill(&f->q, 0, 1, QSIZE), -EINVAL);
	assert_int_equal(f->q.head_busy[0], 1);              /* still in flight */
	assert_ret(virtq_flush(&f->q, 1), -EINVAL);
	assert_int_equal(get16(f, USED_GPA + 2), 0);
	assert_ret(virtq_fill(&f->q, 0, 1, QSIZE - 1), 0);
	assert_ret(virtq_flush(&f->q, 2), -EINVAL);
	assert_int_equal(get16(f, USED_GPA + 2), 0);
	assert_false(f->q.broken);
	assert_int_equal(f->q.violations, 0);
	/* A used ring outside RAM breaks the queue like a push. */
	f->q.used_gpa = RAM_SIZE - 16;
	assert_ret(virtq_fill(&f->q, 1, 1, 3), -EPROTO);
	assert_true(f->q.broken);
	assert_int_equal(f->q.in_flight, 0);
}

/* On a stopped queue nothing is written, but the heads are released. */
static void test_fill_broken_releases(void **state)
{
	struct fx *f = *state;

	simple_chains(f, 2);
	assert_ret(pop(f), 1);
	assert_ret(pop(f), 1);
	assert_ret(virtq_fill(&f->q, 0, 1, 0), 0);
	assert_ret(virtq_push(&f->q, 7, 0), -EPROTO);        /* break it */
	assert_ret(virtq_fill(&f->q, 1, 1, 1), -EPROTO);
	assert_int_equal(f->q.in_flight, 0);
	assert_ret(virtq_flush(&f->q, 2), -EPROTO);
	assert_int_equal(f->q.unflushed, 0);
	assert_int_equal(get16(f, USED_GPA + 2), 0);
	assert_int_equal(get32(f, USED_GPA + 4 + 8), 0);
	virtq_reset(&f->q);
	assert_int_equal(f->q.unflushed, 0);
}

static void test_no_interrupt_flag(void **state)
{
	struct fx *f = *state;

	simple_chains(f, 1);
	assert_ret(pop(f), 1);
	assert_ret(virtq_push(&f->q, 0, 0), 0);
	assert_true(virtq_should_interrupt(&f->q));
	put16(f, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_false(virtq_should_interrupt(&f->q));
	put16(f, AVAIL_GPA, 0);
	assert_true(virtq_should_interrupt(&f->q));
}

static void push_one(struct fx *f, uint16_t head)
{
	desc(f, head, BUF_GPA, 16, F_WRITE, 0);
	avail(f, head);
	assert_ret(pop(f), 1);
	assert_ret(virtq_push(&f->q, head, 16), 0);
}

static void test_event_idx_suppression(void **state)
{
	struct fx *f = *state;

	assert_ret(fx_start(f, QSIZE, false, true), 0);
	/* NO_INTERRUPT is ignored with EVENT_IDX. */
	put16(f, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	push_one(f, 0);                               /* used idx 1 */
	assert_true(virtq_should_interrupt(&f->q));   /* nothing signalled yet */
	assert_int_equal(f->q.signalled_used, 1);
	put16(f, used_event(f), 0);                   /* "interrupt after 0" */
	push_one(f, 1);                               /* used idx 2 */
	assert_false(virtq_should_interrupt(&f->q));
	put16(f, used_event(f), 3);                   /* after entry 3 */
	push_one(f, 2);                               /* 3: not yet */
	assert_false(virtq_should_interrupt(&f->q));
	push_one(f, 3);                               /* 4: crossed */
	assert_true(virtq_should_interrupt(&f->q));
	assert_false(virtq_should_interrupt(&f->q));  /* nothing new */
	/* Several pushes at once crossing the event also interrupt. */
	put16(f, used_event(f), 5);
	push_one(f, 4);
	push_one(f, 5);
	push_one(f, 6);                               /* 7 */
	assert_true(virtq_should_interrupt(&f->q));
}

static void test_event_idx_wraparound(void **state)
{
	struct fx *f = *state;

	assert_ret(fx_start(f, QSIZE, false, true), 0);
	f->q.last_avail = f->q.used_idx = 0xfffe;
	set_avail_idx(f, 0xfffe);
	f->q.signalled_used = 0xfffe;
	f->q.signalled_valid = true;
	put16(f, used_event(f), 0xffff);
	push_one(f, 0);                               /* 0xffff */
	assert_false(virtq_should_interrupt(&f->q));
	push_one(f, 1);                               /* 0x0000 */
	assert_true(virtq_should_interrupt(&f->q));
	assert_int_equal(f->q.signalled_used, 0);
}

static void test_enable_notify_event_idx(void **state)
{
	struct fx *f = *state;

	assert_ret(fx_start(f, QSIZE, false, true), 0);
	simple_chains(f, 2);
	assert_ret(pop(f), 1);
	assert_ret(pop(f), 1);
	assert_false(virtq_enable_notify(&f->q));
	assert_int_equal(get16(f, avail_event(f)), 2);
	desc(f, 2, BUF_GPA, 16, 0, 0);
	avail(f, 2);                                  /* raced with the sleep */
	assert_true(virtq_enable_notify(&f->q));
	assert_int_equal(get16(f, avail_event(f)), 2);
	assert_ret(pop(f), 1);
	assert_false(virtq_enable_notify(&f->q));
	assert_int_equal(get16(f, avail_event(f)), 3);
	assert_int_equal(get16(f, USED_GPA), 0);      /* flags untouched */
}

static void test_enable_notify_flags(void **state)
{
	struct fx *f = *state;

	put16(f, USED_GPA, VIRTQ_USED_F_NO_NOTIFY);
	assert_false(virtq_enable_notify(&f->q));
	assert_int_equal(get16(f, USED_GPA), 0);
	assert_int_equal(get16(f, avail_event(f)), 0);  /* not written */
	simple_chains(f, 1);
	assert_true(virtq_enable_notify(&f->q));
}

static void test_reset(void **state)
{
	struct fx *f = *state;

	simple_chains(f, 2);
	assert_ret(pop(f), 1);
	assert_ret(virtq_push(&f->q, 7, 0), -EPROTO);   /* break it */
	assert_true(f->q.broken);
	virtq_reset(&f->q);
	assert_false(f->q.ready);
	assert_false(f->q.broken);
	assert_int_equal(f->q.in_flight, 0);
	assert_int_equal(f->q.last_avail, 0);
	assert_int_equal(f->q.head_busy[0], 0);
	assert_int_equal(f->q.violations, 1);           /* a metric: kept */
	assert_int_equal(f->q.size, QSIZE);             /* transport's: kept */
	assert_ret(pop(f), 0);                           /* not started */
	assert_ret(virtq_push(&f->q, 0, 0), -EPROTO);
	assert_false(virtq_should_interrupt(&f->q));
	assert_false(virtq_has_avail(&f->q));
	/* Restarting the queue starts from index 0 again. */
	assert_ret(virtq_activate(&f->q, &f->gm), 0);
	assert_ret(pop(f), 1);
	assert_int_equal(f->chain.head, 0);
	assert_ret(pop(f), 1);
	assert_int_equal(f->chain.head, 1);
}

/* A broken queue never touches guest memory again (no gm at all here), and
 * pushing completions that were in flight only releases their heads. */
static void test_broken_touches_nothing(void **state)
{
	struct fx *f = *state;

	simple_chains(f, 2);
	assert_ret(pop(f), 1);
	put16(f, AVAIL_GPA + 2, 100);
	assert_ret(pop(f), -EPROTO);
	f->q.gm = NULL;
	assert_ret(pop(f), -EPROTO);
	assert_false(virtq_has_avail(&f->q));
	assert_false(virtq_enable_notify(&f->q));
	assert_false(virtq_should_interrupt(&f->q));
	assert_ret(virtq_push(&f->q, 0, 16), -EPROTO);
	assert_int_equal(f->q.in_flight, 0);
	assert_int_equal(f->q.violations, 1);
	f->q.gm = &f->gm;
	assert_int_equal(get16(f, USED_GPA + 2), 0);
}

/* A queue at the top of RAM, of the largest size, full of maximal chains. */
static void test_max_size_queue(void **state)
{
	struct fx *f = *state;
	const uint16_t n = VIRTQ_MAX_SIZE;

	memset(&f->q, 0, sizeof(f->q));
	f->q.name = "test big";
	f->q.size = n;
	f->q.desc_gpa = RAM_SIZE - 16 * n;
	f->q.avail_gpa = RAM_SIZE - 16 * n - (6 + 2 * n) - 2;   /* 2-aligned */
	f->q.used_gpa = BUF_GPA;
	assert_ret(virtq_activate(&f->q, &f->gm), 0);
	for (uint16_t i = 0; i < n; i++)
		desc_at(f, f->q.desc_gpa + 16ull * i, 0x20000 + i, 1,
			i < n - 1 ? F_NEXT : 0, (uint16_t)(i + 1));
	put16(f, f->q.avail_gpa + 4, 0);
	put16(f, f->q.avail_gpa + 2, 1);
	assert_ret(pop(f), 1);
	assert_int_equal(f->chain.nr_bufs, n);
	assert_int_equal(f->chain.readable_len, n);
	assert_int_equal(f->chain.bufs[n - 1].gpa, 0x20000 + n - 1);
}

/* ---- a chain's bytes: virtq_chain_iov / virtq_chain_copy --------------- */

/* Readable 4 + 0 + 6 + 5 bytes at BUF_GPA, 0x100, 0x200 (the empty one at
 * 0x180), then writable 3 + 7 at 0x300, 0x400; RAM byte = its gpa's low 8
 * bits, so where a byte came from is visible. */
static void chain_lay_out(struct fx *f, struct virtq_chain *c)
{
	static const struct virtq_buf bufs[] = {
		{ BUF_GPA, 4, false }, { BUF_GPA + 0x180, 0, false },
		{ BUF_GPA + 0x100, 6, false }, { BUF_GPA + 0x200, 5, false },
		{ BUF_GPA + 0x300, 3, true }, { BUF_GPA + 0x400, 7, true },
	};

	for (uint64_t a = BUF_GPA; a < BUF_GPA + 0x500; a++)
		f->ram[a] = (uint8_t)a;
	memset(c, 0, sizeof(*c));
	memcpy(c->bufs, bufs, sizeof(bufs));
	c->nr_bufs = 6;
	c->nr_readable = 4;
	c->readable_len = 15;
	c->writable_len = 10;
}

static void test_chain_iov_ranges(void **state)
{
	struct fx *f = *state;
	struct virtq_chain *c = &f->chain;
	struct iovec iov[8];

	chain_lay_out(f, c);
	/* From inside the 3rd readable buffer (the empty 2nd yields nothing). */
	assert_ret(virtq_chain_iov(&f->gm, c, false, 6, 7, iov, 8), 2);
	assert_ptr_equal(iov[0].iov_base, f->ram + BUF_GPA + 0x102);
	assert_int_equal(iov[0].iov_len, 4);
	assert_ptr_equal(iov[1].iov_base, f->ram + BUF_GPA + 0x200);
	assert_int_equal(iov[1].iov_len, 3);
	/* The whole readable area: 3 iovecs, no zero-length one. */
	assert_ret(virtq_chain_iov(&f->gm, c, false, 0, 15, iov, 8), 3);
	assert_int_equal(iov[0].iov_len, 4);
	assert_int_equal(iov[1].iov_len, 6);
	assert_int_equal(iov[2].iov_len, 5);
	/* Offset exactly at a buffer boundary; nothing asked, nothing given. */
	assert_ret(virtq_chain_iov(&f->gm, c, false, 4, 1, iov, 8), 1);
	assert_ptr_equal(iov[0].iov_base, f->ram + BUF_GPA + 0x100);
	assert_ret(virtq_chain_iov(&f->gm, c, false, 15, 0, iov, 8), 0);
	/* The writable side starts at the first writable buffer. */
	assert_ret(virtq_chain_iov(&f->gm, c, true, 2, 8, iov, 8), 2);
	assert_ptr_equal(iov[0].iov_base, f->ram + BUF_GPA + 0x302);
	assert_int_equal(iov[0].iov_len, 1);
	assert_ptr_equal(iov[1].iov_base, f->ram + BUF_GPA + 0x400);
	assert_int_equal(iov[1].iov_len, 7);
}

static void test_chain_iov_refuses(void **state)
{
	struct fx *f = *state;
	struct virtq_chain *c = &f->chain;
	struct iovec iov[8];

	chain_lay_out(f, c);
	/* Past the end of each area, by one byte and from beyond it. */
	assert_ret(virtq_chain_iov(&f->gm, c, false, 0, 16, iov, 8), -EFAULT);
	assert_ret(virtq_chain_iov(&f->gm, c, false, 15, 1, iov, 8), -EFAULT);
	assert_ret(virtq_chain_iov(&f->gm, c, false, 100, 1, iov, 8), -EFAULT);
	assert_ret(virtq_chain_iov(&f->gm, c, true, 3, 8, iov, 8), -EFAULT);
	assert_ret(virtq_chain_iov(&f->gm, c, false, 0, UINT64_MAX, iov, 8), -EFAULT);
	/* More iovecs than room: 3 needed. */
	assert_ret(virtq_chain_iov(&f->gm, c, false, 0, 15, iov, 2), -ENOBUFS);
	assert_ret(virtq_chain_iov(&f->gm, c, false, 0, 10, iov, 2), 2);
	assert_ret(virtq_chain_iov(&f->gm, c, false, 0, 1, iov, 0), -ENOBUFS);
	/* No writable buffers at all. */
	c->nr_bufs = c->nr_readable;
	assert_ret(virtq_chain_iov(&f->gm, c, true, 0, 1, iov, 8), -EFAULT);
	assert_ret(virtq_chain_iov(&f->gm, c, true, 0, 0, iov, 8), 0);
}

static void test_chain_copy(void **state)
{
	struct fx *f = *state;
	struct virtq_chain *c = &f->chain;
	uint8_t buf[16], want[] = { 0x02, 0x03, 0x00, 0x01, 0x02 };

	chain_lay_out(f, c);
	/* Out of the readable area, across the empty buffer. */
	assert_ret(virtq_chain_copy(&f->gm, c, false, 2, buf, 5), 0);
	assert_memory_equal(buf, want, 5);
	assert_ret(virtq_chain_copy(&f->gm, c, false, 14, buf, 1), 0);
	assert_int_equal(buf[0], 0x04);
	assert_ret(virtq_chain_copy(&f->gm, c, false, 14, buf, 2), -EFAULT);
	assert_ret(virtq_chain_copy(&f->gm, c, false, 0, buf, 0), 0);
	/* Into the writable area, across its two buffers; readable untouched. */
	memset(buf, 0xee, sizeof(buf));
	assert_ret(virtq_chain_copy(&f->gm, c, true, 1, buf, 4), 0);
	assert_int_equal(f->ram[BUF_GPA + 0x300], 0x00);
	assert_int_equal(f->ram[BUF_GPA + 0x301], 0xee);
	assert_int_equal(f->ram[BUF_GPA + 0x302], 0xee);
	assert_int_equal(f->ram[BUF_GPA + 0x400], 0xee);
	assert_int_equal(f->ram[BUF_GPA + 0x401], 0xee);
	assert_int_equal(f->ram[BUF_GPA + 0x402], 0x02);
	assert_int_equal(f->ram[BUF_GPA], 0x00);
	/* Too long: -EFAULT once the area ends (the bytes before it copied). */
	assert_ret(virtq_chain_copy(&f->gm, c, true, 8, buf, 3), -EFAULT);
	assert_int_equal(f->ram[BUF_GPA + 0x405], 0xee);
	assert_int_equal(f->ram[BUF_GPA + 0x406], 0xee);
}

/* A popped chain with a zero-length descriptor in the middle: the helpers
 * see only its real buffers. */
static void test_chain_iov_popped(void **state)
{
	struct fx *f = *state;
	struct iovec iov[4];
	uint8_t hdr[4];

	desc(f, 0, BUF_GPA, 2, F_NEXT, 1);
	desc(f, 1, BUF_GPA + 0x80, 0, F_NEXT, 2);
	desc(f, 2, BUF_GPA + 0x100, 2, F_NEXT, 3);
	desc(f, 3, BUF_GPA + 0x200, 0x10, F_WRITE, 0);
	avail(f, 0);
	assert_ret(pop(f), 1);
	put16(f, BUF_GPA, 0x2211);
	put16(f, BUF_GPA + 0x100, 0x4433);
	assert_ret(virtq_chain_copy(&f->gm, &f->chain, false, 0, hdr, 4), 0);
	assert_int_equal(hdr[0], 0x11);
	assert_int_equal(hdr[3], 0x44);
	assert_ret(virtq_chain_iov(&f->gm, &f->chain, false, 1, 2, iov, 4), 2);
	assert_ret(virtq_chain_iov(&f->gm, &f->chain, true, 0, 0x10, iov, 4), 1);
	assert_ptr_equal(iov[0].iov_base, f->ram + BUF_GPA + 0x200);
	assert_ret(virtq_chain_iov(&f->gm, &f->chain, true, 0, 0x11, iov, 4), -EFAULT);
}

/* ---- snapshots ------------------------------------------------------ */

/* A queue saved with nothing in flight comes back where it was: the next
 * pop is the next chain, the used ring goes on at the same slot, and with
 * a chain in flight there is nothing to save. */
static void test_save_restore_goes_on(void **state)
{
	struct fx *f = *state;
	struct virtq_state st;
	struct virtq q2 = { .name = "restored", .event_idx = false };
	uint16_t head;

	simple_chains(f, 3);
	assert_int_equal(pop(f), 1);
	head = f->chain.head;
	assert_int_equal(virtq_save(&f->q, false, &st), -EBUSY);   /* in flight */
	assert_int_equal(virtq_save(&f->q, true, &st), 0);         /* a dead device's */
	assert_int_equal(virtq_push(&f->q, head, 0x10), 0);
	assert_int_equal(virtq_save(&f->q, false, &st), 0);
	assert_null(virtq_state_error(&st, QSIZE));
	assert_int_equal(virtq_restore(&q2, &f->gm, &st, true), 0);
	assert_true(q2.ready);
	assert_int_equal(virtq_pop(&q2, &f->chain), 1);
	assert_int_equal(f->chain.head, 1);                 /* not 0 again */
	assert_int_equal(virtq_push(&q2, f->chain.head, 0x20), 0);
	assert_int_equal(get16(f, USED_GPA + 2), 2);
	assert_int_equal(get32(f, USED_GPA + 4 + 8 + 0), 1);  /* used slot 1: head 1 */
}

/* Chains taken but never used go back (the last ones taken, in order);
 * anything else is refused and changes nothing. */
static void test_unpop(void **state)
{
	struct fx *f = *state;
	uint16_t heads[3];

	simple_chains(f, 4);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pop(f), 1);
		heads[i] = f->chain.head;
	}
	assert_int_equal(virtq_push(&f->q, heads[0], 0), 0);
	assert_int_equal(virtq_unpop(&f->q, heads, 3), -EINVAL);      /* head 0 was used */
	assert_int_equal(virtq_unpop(&f->q, &heads[1], 2), 0);
	assert_int_equal(f->q.in_flight, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->chain.head, 1);                           /* taken again */
	assert_int_equal(virtq_unpop(&f->q, &heads[2], 1), -EINVAL);  /* not the last taken */
	assert_int_equal(virtq_unpop(&f->q, &heads[1], 1), 0);
}

/* Hostile states: refused by the pure check, or at activation. */
static void test_restore_refuses_bad_state(void **state)
{
	struct fx *f = *state;
	struct virtq_state st = { .desc_gpa = DESC_GPA, .avail_gpa = AVAIL_GPA,
				  .used_gpa = USED_GPA, .size = QSIZE, .ready = 1 };
	struct virtq q2 = { .name = "restored" };

	assert_null(virtq_state_error(&st, QSIZE));
	st.size = 16;
	assert_non_null(virtq_state_error(&st, QSIZE));   /* over the device's max */
	st.size = 6;
	assert_non_null(virtq_state_error(&st, 256));
	st.size = QSIZE;
	st.used_gpa = USED_GPA + 2;
	assert_non_null(virtq_state_error(&st, QSIZE));
	st.used_gpa = RAM_SIZE - 8;                        /* aligned, past RAM */
	assert_null(virtq_state_error(&st, QSIZE));
	assert_int_equal(virtq_restore(&q2, &f->gm, &st, true), -EINVAL);
	assert_false(q2.ready);
	/* not live (the driver had not finished): registers only, no check yet */
	assert_int_equal(virtq_restore(&q2, &f->gm, &st, false), 0);
	(void)f;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_corpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_push_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_wraparound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_flight_accounting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fill_flush_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fill_flush_wraparound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fill_refuses_head_not_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fill_flush_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fill_broken_releases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_suppression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_wraparound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_notify_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_notify_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_touches_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_size_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_iov_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_iov_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_iov_popped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_restore_goes_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_refuses_bad_state, setup, teardown),
	};

	unit_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
