// SPDX-License-Identifier: Apache-2.0
/*
 * test_ratelimit.c - Firecracker-style token buckets (vmm/ratelimit.c) on a
 * simulated clock: disabled buckets, refusals and their waits, the one-time
 * burst, operations bigger than the bucket, refill capped at the size, and
 * the long-run rate of a greedy consumer.
 */
#include "unit.h"
#include "vmm/core/ratelimit.h"

#define MS 1000000ULL

static struct rate_limiter limiter(uint64_t bytes, uint64_t burst, uint64_t ops, uint64_t refill_ms)
{
	struct rate_limiter_cfg cfg = {
		.bandwidth = { .set = bytes > 0, .size = bytes, .one_time_burst = burst,
			       .refill_time_ms = refill_ms },
		.ops = { .set = ops > 0, .size = ops, .refill_time_ms = refill_ms },
	};
	struct rate_limiter rl;

	rate_limiter_set(&rl, &cfg, 0);
	return rl;
}

static void test_disabled_never_waits(void **state)
{
	struct rate_limiter rl = limiter(0, 0, 0, 100);

	(void)state;
	assert_false(rate_limiter_active(&rl));
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rate_limiter_consume(&rl, 1ULL << 30, 0), 0);
}

static void test_bytes_refused_then_allowed_after_wait(void **state)
{
	struct rate_limiter rl = limiter(1000, 0, 0, 100);
	uint64_t wait;

	(void)state;
	assert_true(rate_limiter_active(&rl));
	assert_int_equal(rate_limiter_consume(&rl, 600, 0), 0);
	wait = rate_limiter_consume(&rl, 600, 0);
	/* 200 bytes missing at 10 bytes/ms: 20 ms. */
	assert_in_range(wait, 20 * MS, 20 * MS + 1);
	assert_true(rate_limiter_consume(&rl, 600, wait - 1000) > 0);
	assert_int_equal(rate_limiter_consume(&rl, 600, wait), 0);
}

static void test_ops_bucket(void **state)
{
	struct rate_limiter rl = limiter(0, 0, 10, 1000);

	(void)state;
	for (int i = 0; i < 10; i++)
		assert_int_equal(rate_limiter_consume(&rl, 4096, 0), 0);
	assert_in_range(rate_limiter_consume(&rl, 4096, 0), 100 * MS, 100 * MS + 1);
	assert_int_equal(rate_limiter_consume(&rl, 4096, 100 * MS), 0);
}

static void test_refused_takes_nothing_from_either_bucket(void **state)
{
	struct rate_limiter rl = limiter(1000, 0, 2, 1000);

	(void)state;
	assert_int_equal(rate_limiter_consume(&rl, 900, 0), 0);
	/* bytes refuse: the op must not be spent */
	assert_true(rate_limiter_consume(&rl, 900, 0) > 0);
	assert_int_equal(rate_limiter_consume(&rl, 100, 0), 0);
	/* now the ops bucket is empty: the bytes must not be spent either */
	assert_true(rate_limiter_consume(&rl, 0, 0) > 0);
	assert_int_equal(rl.bytes.budget, 0);
}

static void test_one_time_burst_spent_first_and_not_refilled(void **state)
{
	struct rate_limiter rl = limiter(100, 1000, 0, 1000);

	(void)state;
	assert_int_equal(rate_limiter_consume(&rl, 1000, 0), 0);
	assert_int_equal(rl.bytes.burst, 0);
	assert_int_equal(rate_limiter_consume(&rl, 100, 0), 0);
	assert_true(rate_limiter_consume(&rl, 1, 0) > 0);
	/* a long idle time refills only the bucket, never the burst */
	assert_int_equal(rate_limiter_consume(&rl, 100, 3600 * 1000 * MS), 0);
	assert_true(rate_limiter_consume(&rl, 1, 3600 * 1000 * MS) > 0);
}

static void test_bigger_than_bucket_leaves_debt(void **state)
{
	struct rate_limiter rl = limiter(100, 0, 0, 1000);
	uint64_t wait;

	(void)state;
	assert_int_equal(rate_limiter_consume(&rl, 500, 0), 0);  /* full bucket: allowed */
	assert_int_equal(rl.bytes.budget, -400);
	wait = rate_limiter_consume(&rl, 1, 0);
	/* 401 tokens to earn at 0.1 token/ms */
	assert_in_range(wait, 4010 * MS, 4010 * MS + 1);
	assert_int_equal(rate_limiter_consume(&rl, 1, wait), 0);
}

static void test_refill_capped_at_size(void **state)
{
	struct rate_limiter rl = limiter(1000, 0, 0, 100);

	(void)state;
	assert_int_equal(rate_limiter_consume(&rl, 1000, 0), 0);
	assert_int_equal(rate_limiter_consume(&rl, 1000, 10000 * MS), 0);
	assert_true(rate_limiter_consume(&rl, 1, 10000 * MS) > 0);
}

/* A greedy consumer of 4 KiB operations over 10 simulated seconds gets the
 * configured 1 MB/s, within 1 %. */
static void test_long_run_rate(void **state)
{
	struct rate_limiter rl = limiter(100000, 0, 0, 100);
	uint64_t now = 0, bytes = 0;

	(void)state;
	while (now < 10000 * MS) {
		uint64_t wait = rate_limiter_consume(&rl, 4096, now);

		if (wait)
			now += wait;
		else
			bytes += 4096;
	}
	assert_in_range(bytes, 9900000 + 100000 - 4096, 10100000 + 100000);
}

/* refill_time = 2^58 ms once wrapped refill_ns to 0 (SIGFPE on the first
 * request) and larger values to a short period: now a very slow bucket. */
static void test_huge_refill_time_is_a_very_slow_bucket(void **state)
{
	static const uint64_t refills[] = { 1ULL << 58, (1ULL << 58) + 1, UINT64_MAX,
					    18446744073710ULL };
	const uint64_t year = 365ULL * 24 * 3600 * 1000 * MS;

	(void)state;
	for (unsigned int i = 0; i < sizeof(refills) / sizeof(refills[0]); i++) {
		struct rate_limiter rl = limiter(1048576, 0, 100, refills[i]);
		uint64_t wait;

		assert_int_equal(rate_limiter_consume(&rl, 1048576, 1000 * MS), 0);
		wait = rate_limiter_consume(&rl, 4096, 2000 * MS);
		/* 4096 of 1 MiB of a >= 584-year period: years, not ms. */
		assert_true(wait > year);
		assert_true(rate_limiter_consume(&rl, 4096, 2000 * MS + year) > 0);
	}
}

/* A bucket of 2^63 - 1 tokens, partly spent, then half refilled: the
 * budget plus what was earned once overflowed an int64_t (UBSan, found
 * by fuzz_api with a drive's rate limiter). */
static void test_refill_near_int64_max_does_not_overflow(void **state)
{
	struct rate_limiter rl = limiter(INT64_MAX, 0, 0, 2);

	(void)state;
	assert_int_equal(rate_limiter_consume(&rl, 10, 0), 0);
	assert_int_equal(rate_limiter_consume(&rl, 10, 1 * MS), 0);   /* earns 2^62 */
	assert_int_equal(rate_limiter_consume(&rl, (uint64_t)INT64_MAX, 2 * MS), 0);
	assert_true(rate_limiter_consume(&rl, 1, 2 * MS) > 0);
}

/* An operation of 2^64 - 1 bytes once wrapped the debt into credit. */
static void test_huge_operation_leaves_debt_not_credit(void **state)
{
	struct rate_limiter rl = limiter(1000, 0, 0, 100);
	struct rate_limiter_cfg cfg = {
		.bandwidth = { .set = true, .size = UINT64_MAX, .one_time_burst = UINT64_MAX,
			       .refill_time_ms = 1 },
	};

	(void)state;
	assert_int_equal(rate_limiter_consume(&rl, UINT64_MAX, 0), 0);
	assert_true(rate_limiter_consume(&rl, 1, 0) > 0);
	assert_true(rate_limiter_consume(&rl, 1, 1000 * MS) > 0);
	/* Extreme sizes reach the core too: no wrap, no crash. */
	rate_limiter_set(&rl, &cfg, 0);
	assert_int_equal(rate_limiter_consume(&rl, UINT64_MAX, 0), 0);
	assert_true(rate_limiter_consume(&rl, UINT64_MAX, 0) > 0);
	(void)rate_limiter_consume(&rl, UINT64_MAX, 0);
	(void)rate_limiter_consume(&rl, UINT64_MAX, UINT64_MAX);
	(void)rate_limiter_consume(&rl, 1, 1);
}

/* Saved at t = 50 ms on one clock, restored at t = 7 s on another: the
 * tokens left and the time since the last refill carry over. */
static void test_save_restore_relative(void **state)
{
	struct rate_limiter rl = limiter(1000, 0, 0, 100), rl2;
	struct rate_limiter_state st;

	(void)state;
	assert_int_equal(rate_limiter_consume(&rl, 1000, 40 * MS), 0);  /* empty at 40 ms */
	rate_limiter_save(&rl, 50 * MS, &st);
	rl2 = limiter(1000, 0, 0, 100);
	rate_limiter_restore(&rl2, &st, 7000 * MS);
	/* as at 50 ms: 100 bytes earned since 40 ms; 500 more need 50 ms */
	assert_in_range(rate_limiter_consume(&rl2, 600, 7000 * MS), 50 * MS - 1, 50 * MS + 1);
	assert_int_equal(rate_limiter_consume(&rl2, 600, 7050 * MS), 0);
}

/* A hostile state cannot give more than the configuration allows. */
static void test_restore_clamps(void **state)
{
	struct rate_limiter rl = limiter(1000, 500, 0, 100);
	struct rate_limiter_state st = { .bytes = { .budget = INT64_MAX, .burst = UINT64_MAX,
						    .since_refill_ns = UINT64_MAX } };

	(void)state;
	rate_limiter_restore(&rl, &st, 0);
	assert_int_equal(rate_limiter_consume(&rl, 1500, 0), 0);  /* size + burst */
	assert_true(rate_limiter_consume(&rl, 1, 0) > 0);
	st.bytes.budget = INT64_MIN;
	rate_limiter_restore(&rl, &st, 0);
	assert_true(rate_limiter_consume(&rl, 1, 1000 * MS) > 0);    /* deep debt, no overflow */
	rl = limiter(0, 0, 0, 100);
	rate_limiter_restore(&rl, &st, 0);
	assert_false(rate_limiter_active(&rl));                    /* disabled stays so */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_restore_relative),
		cmocka_unit_test(test_restore_clamps),
		cmocka_unit_test(test_disabled_never_waits),
		cmocka_unit_test(test_bytes_refused_then_allowed_after_wait),
		cmocka_unit_test(test_ops_bucket),
		cmocka_unit_test(test_refused_takes_nothing_from_either_bucket),
		cmocka_unit_test(test_one_time_burst_spent_first_and_not_refilled),
		cmocka_unit_test(test_bigger_than_bucket_leaves_debt),
		cmocka_unit_test(test_refill_capped_at_size),
		cmocka_unit_test(test_long_run_rate),
		cmocka_unit_test(test_huge_refill_time_is_a_very_slow_bucket),
		cmocka_unit_test(test_huge_operation_leaves_debt_not_credit),
		cmocka_unit_test(test_refill_near_int64_max_does_not_overflow),
	};

	unit_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
