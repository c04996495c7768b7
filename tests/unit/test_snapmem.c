// SPDX-License-Identifier: Apache-2.0
/*
 * test_snapmem.c - dirty-page tracking in guest memory (vmm/core/memory.c:
 * the bitmap the checked writers and gm_mark_dirty* set, taken and merged
 * back) and a snapshot's memory file (vmm/snapmem.c: Full and Diff writes,
 * the rebase of a Diff onto its base: holes, ranges at region edges, files
 * that do not belong together refused).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>

#include "unit.h"
#include "vmm/core/memory.h"
#include "vmm/snapmem.h"

#define PG      GM_PAGE_SIZE
#define REG     (64 * PG)              /* one region: 64 pages, one bitmap word */
#define RAM     (2 * REG)
#define HI_GPA  0x100000ULL            /* region 1, above a hole */

/* Two regions over one heap buffer, as gm_init lays them out: [0, REG) and
 * [HI_GPA, HI_GPA + REG), file pages 0-63 and 64-127. */
struct fx {
	struct guest_mem gm;
	uint8_t *host;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || !(f->host = malloc(RAM)))
		return -1;
	for (size_t i = 0; i < RAM; i++)
		f->host[i] = (uint8_t)(i * 7 + i / PG);
	f->gm.size = RAM;
	f->gm.nr_regions = 2;
	f->gm.region[0] = (struct gm_region){ .gpa = 0, .size = REG, .host = f->host };
	f->gm.region[1] = (struct gm_region){ .gpa = HI_GPA, .size = REG, .host = f->host + REG };
	if (gm_dirty_init(&f->gm))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->gm.dirty);
	free(f->host);
	free(f);
	return 0;
}

/* The marks taken out, as a 128-bit set. */
static void take(struct fx *f, uint64_t bits[2])
{
	bits[0] = bits[1] = 0;
	gm_dirty_take(&f->gm, bits);
}

static uint64_t b(unsigned int page)
{
	return 1ULL << (page % 64);
}

/* ---- the bitmap ----------------------------------------------------------------- */

static void test_dirty_off_is_no_op(void **state)
{
	struct guest_mem gm;
	uint8_t buf[2 * PG] = { 0 };

	(void)state;
	gm_init_fake(&gm, buf, sizeof(buf));
	assert_null(gm.dirty);
	assert_ret(gm_write(&gm, 0, "x", 1), 0);
	gm_mark_dirty(&gm, 0, PG);
	assert_null(gm.dirty);
	/* A region that is not a multiple of 64 pages cannot be tracked. */
	assert_ret(gm_dirty_init(&gm), -EINVAL);
	assert_null(gm.dirty);
}

static void test_dirty_writers_mark(void **state)
{
	struct fx *f = *state;
	uint64_t bits[2];

	assert_int_equal(gm_dirty_words(&f->gm), 2);
	assert_int_equal(gm_dirty_region_word(&f->gm, 1), 1);
	take(f, bits);
	assert_true(!bits[0] && !bits[1]);
	/* Two bytes across the first page boundary: pages 0 and 1. */
	assert_ret(gm_write(&f->gm, PG - 1, "ab", 2), 0);
	/* The last byte of region 0 (page 63) and the last of region 1 (127). */
	assert_ret(gm_fill(&f->gm, REG - 1, 0, 1), 0);
	assert_ret(gm_fill(&f->gm, HI_GPA + REG - 1, 0, 1), 0);
	/* A refused write marks nothing (the hole). */
	assert_ret(gm_write(&f->gm, REG, "z", 1), -EFAULT);
	take(f, bits);
	assert_true(bits[0] == (b(0) | b(1) | b(63)));
	assert_true(bits[1] == b(127));
	take(f, bits);
	assert_true(!bits[0] && !bits[1]);
}

static void test_dirty_mark_ranges(void **state)
{
	struct fx *f = *state;
	struct iovec iov[2] = {
		{ .iov_base = f->host + REG + 5 * PG + 10, .iov_len = PG },  /* pages 69, 70 */
		{ .iov_base = f->host + RAM + PG, .iov_len = PG },           /* not guest RAM */
	};
	uint64_t bits[2];

	gm_mark_dirty(&f->gm, 0, 0);                    /* nothing */
	gm_mark_dirty(&f->gm, REG + PG, PG);            /* in the hole: nothing */
	gm_mark_dirty(&f->gm, REG - PG, 16 * PG);       /* clipped at the region's end */
	take(f, bits);
	assert_true(bits[0] == b(63) && !bits[1]);
	gm_mark_dirty(&f->gm, HI_GPA, REG);             /* a whole word */
	gm_mark_dirty_iov(&f->gm, iov, 2);
	take(f, bits);
	assert_true(!bits[0] && bits[1] == ~0ULL);
	gm_mark_dirty_iov(&f->gm, iov, 2);
	take(f, bits);
	assert_true(!bits[0] && bits[1] == (b(69) | b(70)));
	gm_mark_dirty(&f->gm, 3 * PG, 60 * PG + 1);     /* pages 3..63 */
	take(f, bits);
	assert_true(bits[0] == (~0ULL << 3) && !bits[1]);
}

/* A snapshot that failed gives its pages back; marks made meanwhile stay. */
static void test_dirty_merge_back(void **state)
{
	struct fx *f = *state;
	uint64_t bits[2], again[2];

	gm_mark_dirty(&f->gm, 7 * PG, 1);
	gm_mark_dirty(&f->gm, HI_GPA + 9 * PG, 1);
	take(f, bits);
	gm_mark_dirty(&f->gm, 8 * PG, 1);
	gm_dirty_merge(&f->gm, bits);
	take(f, again);
	assert_true(again[0] == (b(7) | b(8)) && again[1] == b(73));
}

/* ---- the memory file ------------------------------------------------------------- */

static uint8_t *slurp(const char *path, off_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *buf;

	assert_true(fd >= 0 && !fstat(fd, &st));
	*len = st.st_size;
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	return buf;
}

/* The data ranges of `path` as page runs "start+count ..." */
static void data_ranges(const char *path, char *out, size_t outlen)
{
	int fd = open(path, O_RDONLY);
	off_t off = 0, data, hole;
	size_t used = 0;

	assert_true(fd >= 0);
	out[0] = '\0';
	while ((data = lseek(fd, off, SEEK_DATA)) >= 0) {
		hole = lseek(fd, data, SEEK_HOLE);
		used += (size_t)snprintf(out + used, outlen - used, "%s%lld+%lld", used ? " " : "",
					 (long long)(data / PG), (long long)((hole - data) / PG));
		off = hole;
	}
	close(fd);
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void test_write_full(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	char ranges[256];
	uint8_t *got;
	off_t len;

	/* Pages of zeros (never touched, or cleared) become holes: 2-4 and the
	 * last page of region 0, the first of region 1 and the last of RAM. */
	memset(f->host + 2 * PG, 0, 3 * PG);
	memset(f->host + REG - PG, 0, 2 * PG);
	memset(f->host + RAM - PG, 0, PG);
	f->host[3 * PG + 100] = 1;   /* but one byte makes a page data */
	assert_ret(snapmem_write(&f->gm, "full.mem", NULL, err, sizeof(err)), 0);
	got = slurp("full.mem", &len);
	assert_int_equal(len, RAM);
	assert_memory_equal(got, f->host, RAM);
	free(got);
	data_ranges("full.mem", ranges, sizeof(ranges));
	assert_string_equal(ranges, "0+2 3+1 5+58 65+62");
}

/* Only the marked pages, at their file offsets; the rest holes of zeros;
 * runs at both regions' edges and across the boundary between them. */
static void test_write_diff(void **state)
{
	struct fx *f = *state;
	uint64_t bits[2] = { b(0) | b(10) | b(11) | b(12) | b(63), b(64) | b(127) };
	uint8_t *got, zero[PG] = { 0 };
	char err[256] = "", ranges[256];
	off_t len;

	assert_ret(snapmem_write(&f->gm, "diff.mem", bits, err, sizeof(err)), 0);
	data_ranges("diff.mem", ranges, sizeof(ranges));
	assert_string_equal(ranges, "0+1 10+3 63+2 127+1");
	got = slurp("diff.mem", &len);
	assert_int_equal(len, RAM);
	for (unsigned int p = 0; p < RAM / PG; p++) {
		bool dirty = bits[p / 64] >> (p % 64) & 1;

		assert_memory_equal(got + p * PG, dirty ? f->host + p * PG : zero, PG);
	}
	free(got);
	assert_ret(snapmem_write(&f->gm, "nodir/diff.mem", bits, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot create nodir/diff.mem"));
}

/* Full, then pages written (the writers mark them), a Diff, the rebase:
 * the base holds RAM as it is now. */
static void test_rebase_round_trip(void **state)
{
	struct fx *f = *state;
	uint64_t bits[2];
	char err[256] = "";
	uint8_t *got;
	off_t len;

	assert_ret(snapmem_write(&f->gm, "base.mem", NULL, err, sizeof(err)), 0);
	take(f, bits);
	assert_ret(gm_fill(&f->gm, 0, 0xaa, 3), 0);
	assert_ret(gm_fill(&f->gm, REG - 2, 0xbb, 2), 0);
	assert_ret(gm_fill(&f->gm, HI_GPA, 0xcc, 2 * PG), 0);
	assert_ret(gm_fill(&f->gm, HI_GPA + REG - PG, 0, PG), 0);  /* a page of zeros is data */
	take(f, bits);
	assert_ret(snapmem_write(&f->gm, "d.mem", bits, err, sizeof(err)), 0);
	assert_ret(snapmem_rebase("base.mem", "d.mem", err, sizeof(err)), 0);
	got = slurp("base.mem", &len);
	assert_int_equal(len, RAM);
	assert_memory_equal(got, f->host, RAM);
	free(got);
}

/* Data ranges of any size and place (not page runs): each copied, the rest
 * of the base kept; an all-holes diff changes nothing. */
static void test_rebase_ranges_and_holes(void **state)
{
	uint8_t *base = malloc(RAM), *want = malloc(RAM), *got, blk[3 * PG];
	static const struct { off_t off; size_t len; } data[] = {
		{ 0, PG }, { REG - PG, 2 * PG }, { RAM - PG, PG },
	};
	char err[256] = "";
	int fd;
	off_t len;

	(void)state;
	for (size_t i = 0; i < RAM; i++)
		base[i] = want[i] = (uint8_t)(i % 251);
	write_file("b.mem", base, RAM);
	fd = open("holes.mem", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && !ftruncate(fd, RAM));
	close(fd);
	assert_ret(snapmem_rebase("b.mem", "holes.mem", err, sizeof(err)), 0);
	got = slurp("b.mem", &len);
	assert_memory_equal(got, want, RAM);
	free(got);

	fd = open("ranges.mem", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && !ftruncate(fd, RAM));
	for (size_t i = 0; i < ARRAY_SIZE(data); i++) {
		memset(blk, 0x50 + (int)i, data[i].len);
		assert_int_equal(pwrite(fd, blk, data[i].len, data[i].off), (ssize_t)data[i].len);
		memset(want + data[i].off, 0x50 + (int)i, data[i].len);
	}
	close(fd);
	assert_ret(snapmem_rebase("b.mem", "ranges.mem", err, sizeof(err)), 0);
	got = slurp("b.mem", &len);
	assert_int_equal(len, RAM);
	assert_memory_equal(got, want, RAM);
	free(got);
	free(base);
	free(want);
}

/* Files that cannot go together: refused with the reason, the base as it was. */
static void test_rebase_refused(void **state)
{
	static const struct { const char *name, *base, *diff, *words; int ret; } cases[] = {
		{ "diff larger than the base", "small.mem", "big.mem", "not the same microVM", -EINVAL },
		{ "diff smaller than the base", "big.mem", "small.mem", "not the same microVM", -EINVAL },
		{ "the same file", "big.mem", "big.mem", "the same file", -EINVAL },
		{ "no diff", "big.mem", "missing.mem", "cannot open the diff", -ENOENT },
		{ "no base", "missing.mem", "big.mem", "cannot open the base", -ENOENT },
		{ "a directory", "big.mem", ".", "not a regular file", -EINVAL },
	};
	uint8_t *small = calloc(1, REG), *big = malloc(RAM), *got;
	off_t len;

	(void)state;
	memset(big, 0x11, RAM);
	memset(small, 0x22, REG);
	write_file("big.mem", big, RAM);
	write_file("small.mem", small, REG);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[256] = "";

		assert_ret_case(cases[i].name, snapmem_rebase(cases[i].base, cases[i].diff, err,
							      sizeof(err)), cases[i].ret);
		if (!strstr(err, cases[i].words))
			fail_msg("case '%s': '%s' not in '%s'", cases[i].name, cases[i].words, err);
	}
	got = slurp("small.mem", &len);
	assert_int_equal(len, REG);
	assert_memory_equal(got, small, REG);
	free(got);
	got = slurp("big.mem", &len);
	assert_memory_equal(got, big, RAM);
	free(got);
	free(small);
	free(big);
}

int main(void)
{
	static const char *const files[] = {
		"full.mem", "diff.mem", "base.mem", "d.mem", "b.mem", "holes.mem", "ranges.mem",
		"small.mem", "big.mem",
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirty_off_is_no_op),
		cmocka_unit_test_setup_teardown(test_dirty_writers_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_mark_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_merge_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebase_round_trip, setup, teardown),
		cmocka_unit_test(test_rebase_ranges_and_holes),
		cmocka_unit_test(test_rebase_refused),
	};
	int ret;

	unit_init();
	unit_scratch_enter(files, ARRAY_SIZE(files));
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	unit_scratch_leave(files, ARRAY_SIZE(files));
	return ret;
}
