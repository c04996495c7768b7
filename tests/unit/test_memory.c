// SPDX-License-Identifier: Apache-2.0
/*
 * test_memory.c - the checked guest-memory accessors (vmm/memory.c):
 * every (gpa, len) either lies wholly inside one RAM region or is refused,
 * with no arithmetic overflow, over one region and over two.
 */
#include <errno.h>
#include <sys/mman.h>

#include "unit.h"
#include "vmm/x86/layout.h"
#include "vmm/core/memory.h"

#define FAKE_SIZE (64 * KiB)

/* ---- one region: gm_init_fake over a heap buffer ---------------------- */

struct one {
	struct guest_mem gm;
	uint8_t *host;
};

static int one_setup(void **state)
{
	struct one *o = calloc(1, sizeof(*o));

	if (!o || !(o->host = malloc(FAKE_SIZE)))
		return -1;
	for (size_t i = 0; i < FAKE_SIZE; i++)
		o->host[i] = (uint8_t)i;
	gm_init_fake(&o->gm, o->host, FAKE_SIZE);
	*state = o;
	return 0;
}

static int one_teardown(void **state)
{
	struct one *o = *state;

	free(o->host);
	free(o);
	return 0;
}

static void test_fake_layout(void **state)
{
	struct one *o = *state;

	assert_int_equal(o->gm.nr_regions, 1);
	assert_int_equal(o->gm.size, FAKE_SIZE);
	assert_int_equal(o->gm.region[0].gpa, 0);
	assert_int_equal(o->gm.region[0].size, FAKE_SIZE);
	assert_ptr_equal(o->gm.region[0].host, o->host);
	assert_int_equal(gm_low_end(&o->gm), FAKE_SIZE);
	assert_null(o->gm.map);  /* gm_free must not munmap a fake */
}

/* gm_ptr over one region: which (gpa, len) pairs are inside. */
static void test_ptr_bounds(void **state)
{
	struct one *o = *state;
	static const struct {
		const char *name;
		uint64_t gpa, len;
		int ok;
	} cases[] = {
		{ "first byte",            0, 1, 1 },
		{ "whole region",          0, FAKE_SIZE, 1 },
		{ "middle",                0x1234, 0x100, 1 },
		{ "touching the end",      FAKE_SIZE - 8, 8, 1 },
		{ "last byte",             FAKE_SIZE - 1, 1, 1 },
		{ "len 0 inside",          0x100, 0, 1 },
		{ "len 0 at gpa 0",        0, 0, 1 },
		{ "one past the end",      FAKE_SIZE - 8, 9, 0 },
		{ "whole region plus one", 0, FAKE_SIZE + 1, 0 },
		{ "starting at the end",   FAKE_SIZE, 1, 0 },
		{ "len 0 past the end",    FAKE_SIZE + 1, 0, 0 },
		{ "far away",              1ULL << 40, 1, 0 },
		{ "gpa+len overflows",     UINT64_MAX - 1, 4, 0 },
		{ "huge len",              0, UINT64_MAX, 0 },
		{ "huge len, gpa inside",  0x10, UINT64_MAX - 0x8, 0 },
		{ "last gpa",              UINT64_MAX, 1, 0 },
		{ "last gpa, len 0",       UINT64_MAX, 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		void *p = gm_ptr(&o->gm, cases[i].gpa, cases[i].len);

		if (cases[i].ok && p != o->host + cases[i].gpa)
			fail_msg("case '%s': gm_ptr gave %p, expected %p", cases[i].name, p,
				 (void *)(o->host + cases[i].gpa));
		if (!cases[i].ok && p)
			fail_msg("case '%s': gm_ptr accepted an out-of-range access", cases[i].name);
	}
}

static void test_read_write(void **state)
{
	struct one *o = *state;
	uint8_t buf[16], pattern[16];

	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(0xa0 + i);

	assert_ret(gm_write(&o->gm, 0x1000, pattern, sizeof(pattern)), 0);
	assert_memory_equal(o->host + 0x1000, pattern, sizeof(pattern));
	memset(buf, 0, sizeof(buf));
	assert_ret(gm_read(&o->gm, 0x1000, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, pattern, sizeof(pattern));

	/* Touching the end. */
	assert_ret(gm_write(&o->gm, FAKE_SIZE - 16, pattern, 16), 0);
	assert_ret(gm_read(&o->gm, FAKE_SIZE - 16, buf, 16), 0);
	assert_memory_equal(buf, pattern, 16);

	/* Len 0 inside is a successful no-op. */
	assert_ret(gm_write(&o->gm, 0x10, pattern, 0), 0);
	assert_ret(gm_read(&o->gm, 0x10, buf, 0), 0);
	assert_int_equal(o->host[0x10], 0x10);
}

/* A refused access returns -EFAULT and touches nothing. */
static void test_read_write_refused(void **state)
{
	struct one *o = *state;
	uint8_t buf[16], pattern[16];

	memset(pattern, 0x5a, sizeof(pattern));
	memset(buf, 0xee, sizeof(buf));

	assert_ret(gm_write(&o->gm, FAKE_SIZE - 8, pattern, 9), -EFAULT);
	assert_int_equal(o->host[FAKE_SIZE - 8], (uint8_t)(FAKE_SIZE - 8));
	assert_ret(gm_read(&o->gm, FAKE_SIZE - 8, buf, 9), -EFAULT);
	assert_int_equal(buf[0], 0xee);
	assert_ret(gm_write(&o->gm, UINT64_MAX - 1, pattern, 4), -EFAULT);
	assert_ret(gm_read(&o->gm, UINT64_MAX - 1, buf, 4), -EFAULT);
	assert_ret(gm_write(&o->gm, FAKE_SIZE, pattern, 1), -EFAULT);
	assert_ret(gm_read(&o->gm, FAKE_SIZE, buf, 1), -EFAULT);
	assert_ret(gm_fill(&o->gm, FAKE_SIZE - 8, 0, 9), -EFAULT);
	assert_int_equal(o->host[FAKE_SIZE - 1], (uint8_t)(FAKE_SIZE - 1));
	assert_ret(gm_fill(&o->gm, UINT64_MAX - 1, 0, 4), -EFAULT);
	assert_ret(gm_fill(&o->gm, 0, 0, UINT64_MAX), -EFAULT);
	assert_int_equal(buf[0], 0xee);
}

static void test_fill(void **state)
{
	struct one *o = *state;

	assert_ret(gm_fill(&o->gm, 0x200, 0xcc, 0x100), 0);
	for (int i = 0; i < 0x100; i++)
		assert_int_equal(o->host[0x200 + i], 0xcc);
	assert_int_equal(o->host[0x1ff], 0xff);   /* neighbours untouched */
	assert_int_equal(o->host[0x300], 0x00);
	assert_ret(gm_fill(&o->gm, 0, 0, FAKE_SIZE), 0);
	for (size_t i = 0; i < FAKE_SIZE; i++)
		assert_int_equal(o->host[i], 0);
	assert_ret(gm_fill(&o->gm, FAKE_SIZE - 1, 0x77, 1), 0);
	assert_int_equal(o->host[FAKE_SIZE - 1], 0x77);
	assert_ret(gm_fill(&o->gm, 5, 0x77, 0), 0);
	assert_int_equal(o->host[5], 0);
}

/* ---- two regions, built by hand --------------------------------------
 * Low RAM at 0 and high RAM at 4 GiB, each REGION bytes, backed by ONE
 * contiguous host buffer (as gm_init lays it out): an access running off
 * the end of the low region would find valid host memory, so only the
 * range check can refuse it. */

#define REGION (16 * KiB)

struct two {
	struct guest_mem gm;
	uint8_t *host;
};

static int two_setup(void **state)
{
	struct two *t = calloc(1, sizeof(*t));

	if (!t || !(t->host = calloc(1, 2 * REGION)))
		return -1;
	t->gm.region[0] = (struct gm_region){ .gpa = 0, .size = REGION, .host = t->host };
	t->gm.region[1] = (struct gm_region){
		.gpa = RAM_HIGH_START, .size = REGION, .host = t->host + REGION };
	t->gm.nr_regions = 2;
	t->gm.size = 2 * REGION;
	*state = t;
	return 0;
}

static int two_teardown(void **state)
{
	struct two *t = *state;

	free(t->host);
	free(t);
	return 0;
}

static void test_two_regions_ptr(void **state)
{
	struct two *t = *state;
	static const struct {
		const char *name;
		uint64_t gpa, len;
		int region;  /* -1: refused */
	} cases[] = {
		{ "low start",                 0, 8, 0 },
		{ "low touching its end",      REGION - 8, 8, 0 },
		{ "low one past its end",      REGION - 8, 9, -1 },
		{ "low into the gap",          REGION - 1, 2, -1 },
		{ "in the gap",                REGION, 1, -1 },
		{ "MMIO gap start",            MMIO_GAP_START, 4, -1 },
		{ "just below 4 GiB",          RAM_HIGH_START - 1, 1, -1 },
		{ "spanning the gap",          REGION - 4, RAM_HIGH_START - REGION + 8, -1 },
		{ "gap into high",             RAM_HIGH_START - 4, 8, -1 },
		{ "high start",                RAM_HIGH_START, 8, 1 },
		{ "high whole",                RAM_HIGH_START, REGION, 1 },
		{ "high touching its end",     RAM_HIGH_START + REGION - 1, 1, 1 },
		{ "high one past its end",     RAM_HIGH_START + REGION - 8, 9, -1 },
		{ "above high",                RAM_HIGH_START + REGION, 1, -1 },
		{ "high len 0",                RAM_HIGH_START + 4, 0, 1 },
		{ "high, gpa+len overflows",   RAM_HIGH_START + 4, UINT64_MAX - 2, -1 },
		{ "top of the address space",  UINT64_MAX - 1, 4, -1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		void *p = gm_ptr(&t->gm, cases[i].gpa, cases[i].len);
		uint8_t *want = NULL;

		if (cases[i].region >= 0) {
			const struct gm_region *r = &t->gm.region[cases[i].region];

			want = r->host + (cases[i].gpa - r->gpa);
		}
		if (p != want)
			fail_msg("case '%s': gm_ptr gave %p, expected %p", cases[i].name, p,
				 (void *)want);
	}
}

static void test_two_regions_rw(void **state)
{
	struct two *t = *state;
	uint64_t v = 0x1122334455667788ULL, r = 0;

	assert_ret(gm_write(&t->gm, RAM_HIGH_START + 0x10, &v, sizeof(v)), 0);
	assert_memory_equal(t->host + REGION + 0x10, &v, sizeof(v));
	assert_ret(gm_read(&t->gm, RAM_HIGH_START + 0x10, &r, sizeof(r)), 0);
	assert_int_equal(r, v);

	/* A write straddling the end of low RAM would land in high RAM's host
	 * bytes if it were allowed; it must be refused without writing. */
	assert_ret(gm_write(&t->gm, REGION - 4, &v, sizeof(v)), -EFAULT);
	assert_ret(gm_fill(&t->gm, REGION - 4, 0xff, 8), -EFAULT);
	for (int i = 0; i < 8; i++)
		assert_int_equal(t->host[REGION - 4 + i], 0);
	assert_ret(gm_read(&t->gm, RAM_HIGH_START - 4, &r, sizeof(r)), -EFAULT);
	assert_ret(gm_fill(&t->gm, RAM_HIGH_START, 0xab, REGION), 0);
	assert_int_equal(t->host[2 * REGION - 1], 0xab);
	assert_int_equal(t->host[REGION - 1], 0);
	assert_int_equal(gm_low_end(&t->gm), REGION);
}

/* ---- gm_init: the real layout for a guest larger than the gap -------- */

/* gm_init maps with MAP_NORESERVE, so a guest bigger than the MMIO gap
 * costs only address space; the test touches two pages of it. */
static void test_init_large_layout(void **state)
{
	const uint64_t size = MMIO_GAP_START + 8 * MiB;
	struct guest_mem gm;
	uint32_t v = 0xfeedf00d, r = 0;
	int ret;

	(void)state;
	ret = gm_init(&gm, size, GM_PAGES_NORMAL, MMIO_GAP_START, MMIO_GAP_END);
	if (ret == -ENOMEM)
		skip();  /* no address space for it here */
	assert_ret(ret, 0);
	assert_int_equal(gm.nr_regions, 2);
	assert_int_equal(gm.size, size);
	assert_int_equal(gm.region[0].gpa, 0);
	assert_int_equal(gm.region[0].size, MMIO_GAP_START);
	assert_int_equal(gm.region[1].gpa, RAM_HIGH_START);
	assert_int_equal(gm.region[1].size, 8 * MiB);
	assert_ptr_equal(gm.region[1].host, gm.region[0].host + MMIO_GAP_START);
	assert_int_equal((uintptr_t)gm.region[1].host % (2 * MiB), 0);
	assert_int_equal(gm_low_end(&gm), MMIO_GAP_START);

	assert_null(gm_ptr(&gm, MMIO_GAP_START - 2, 4));
	assert_null(gm_ptr(&gm, MMIO_GAP_START, 1));
	assert_null(gm_ptr(&gm, RAM_HIGH_START + 8 * MiB - 2, 4));
	assert_ret(gm_write(&gm, RAM_HIGH_START, &v, sizeof(v)), 0);
	assert_ret(gm_read(&gm, RAM_HIGH_START, &r, sizeof(r)), 0);
	assert_int_equal(r, v);
	assert_ret(gm_write(&gm, MMIO_GAP_START - 4, &v, sizeof(v)), 0);
	assert_ret(gm_write(&gm, MMIO_GAP_START - 3, &v, sizeof(v)), -EFAULT);
	gm_free(&gm);
	assert_null(gm.map);
	assert_int_equal(gm.nr_regions, 0);
}

static void test_init_small_and_bad(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_ret(gm_init(&gm, 16 * MiB, GM_PAGES_NORMAL, MMIO_GAP_START, MMIO_GAP_END), 0);
	assert_int_equal(gm.nr_regions, 1);
	assert_int_equal(gm_low_end(&gm), 16 * MiB);
	assert_non_null(gm_ptr(&gm, 16 * MiB - 1, 1));
	assert_null(gm_ptr(&gm, 16 * MiB, 1));
	gm_free(&gm);

	assert_ret(gm_init(&gm, 0, GM_PAGES_NORMAL, MMIO_GAP_START, MMIO_GAP_END), -EINVAL);
	assert_ret(gm_init(&gm, 3 * MiB, GM_PAGES_HUGETLB, MMIO_GAP_START, MMIO_GAP_END), -EINVAL);  /* not 2 MiB pages */
}

/* Guest RAM starts on a 2 MiB boundary whatever its size, so the host can
 * back each 2 MiB of guest RAM with one huge page and KVM map it with one
 * entry.  Sizes that are not a multiple of 2 MiB, several mappings alive at
 * once: the kernel aligns none of these by itself, and a 4 KiB-aligned
 * mmap lands on a 2 MiB boundary by chance once in 512. */
static void test_init_aligned_2m(void **state)
{
	static const uint64_t sizes[] = { 63 * MiB, 16 * MiB + 4096, 17 * MiB, 33 * MiB - 4096 };
	const enum gm_pages kinds[] = { GM_PAGES_NORMAL, GM_PAGES_THP, GM_PAGES_DEFAULT };
	struct guest_mem gm[3][ARRAY_SIZE(sizes)];

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			int ret = gm_init(&gm[k][i], sizes[i], kinds[k], MMIO_GAP_START, MMIO_GAP_END);

			if (ret == -EINVAL && kinds[k] == GM_PAGES_THP)
				skip();  /* a kernel without transparent huge pages */
			assert_ret(ret, 0);
			if ((uintptr_t)gm[k][i].region[0].host % (2 * MiB))
				fail_msg("pages %d, %llu bytes: guest RAM at %p, not 2 MiB-aligned",
					 kinds[k], (unsigned long long)sizes[i], gm[k][i].region[0].host);
			assert_int_equal(gm[k][i].pages, kinds[k]);
			/* The whole size is usable, nothing past it. */
			assert_ret(gm_fill(&gm[k][i], 0, 0xa5, sizes[i]), 0);
			assert_null(gm_ptr(&gm[k][i], sizes[i], 1));
		}
	}
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
			gm_free(&gm[k][i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fake_layout, one_setup, one_teardown),
		cmocka_unit_test_setup_teardown(test_ptr_bounds, one_setup, one_teardown),
		cmocka_unit_test_setup_teardown(test_read_write, one_setup, one_teardown),
		cmocka_unit_test_setup_teardown(test_read_write_refused, one_setup, one_teardown),
		cmocka_unit_test_setup_teardown(test_fill, one_setup, one_teardown),
		cmocka_unit_test_setup_teardown(test_two_regions_ptr, two_setup, two_teardown),
		cmocka_unit_test_setup_teardown(test_two_regions_rw, two_setup, two_teardown),
		cmocka_unit_test(test_init_large_layout),
		cmocka_unit_test(test_init_small_and_bad),
		cmocka_unit_test(test_init_aligned_2m),
	};

	unit_init();
	return cmocka_run_group_tests_name("memory", tests, NULL, NULL);
}
