/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.h - Firecracker's rate limiter: two token buckets, one counting
 * bytes and one counting operations.
 *
 * A bucket holds `size` tokens and refills linearly, so that an empty bucket
 * is full again after refill_time ms; `one_time_burst` extra tokens are spent
 * first and never come back.  An operation is allowed when every enabled
 * bucket holds what it needs; one bigger than a whole bucket is allowed when
 * that bucket is full and leaves it in debt, so the long-run rate still
 * holds.  A refused operation takes nothing and learns how long to wait.
 * Pure arithmetic on a caller-supplied clock (ns): the owner's thread only.
 */
#ifndef EMBER_RATELIMIT_H
#define EMBER_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* Firecracker's TokenBucket: size units refilled every refill_time ms. */
struct token_bucket_cfg {
	bool set;
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
};

struct rate_limiter_cfg {
	struct token_bucket_cfg bandwidth;   /* bytes */
	struct token_bucket_cfg ops;         /* operations */
};

struct token_bucket {
	bool enabled;
	uint64_t size;
	uint64_t refill_ns;      /* time to refill `size` tokens */
	uint64_t burst;          /* one-time burst tokens left */
	int64_t budget;          /* refilling tokens; negative: debt */
	uint64_t last_ns;        /* refilled up to this time */
};

struct rate_limiter {
	struct token_bucket bytes;
	struct token_bucket ops;
};

/* (Re)configure from the API's shape; buckets start full.  A bucket given
 * as size 0 (or not given) is disabled. */
void rate_limiter_set(struct rate_limiter *rl, const struct rate_limiter_cfg *cfg, uint64_t now_ns);
/* Is any bucket enabled? */
bool rate_limiter_active(const struct rate_limiter *rl);
/* One operation of `bytes` bytes: 0 when allowed (tokens taken), otherwise
 * the nanoseconds to wait before asking again (nothing taken). */
uint64_t rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns);

/* A snapshot of the buckets (tokens left, one-time burst left, time since
 * the last refill), so that a restore goes on where the save left off
 * whatever the two hosts' clocks say.  Fixed-width, little-endian. */
struct rate_limiter_bucket_state {
	int64_t budget;
	uint64_t burst;
	uint64_t since_refill_ns;
};
struct rate_limiter_state {
	struct rate_limiter_bucket_state bytes, ops;
};
void rate_limiter_save(const struct rate_limiter *rl, uint64_t now_ns,
		       struct rate_limiter_state *out);
/* Onto buckets already configured (rate_limiter_set): a disabled bucket
 * stays disabled; the values are clamped to what the bucket allows (budget
 * at most its size and within the debt bounds, burst at most the one
 * configured, the time since the last refill at most one refill period),
 * so any input is safe. */
void rate_limiter_restore(struct rate_limiter *rl, const struct rate_limiter_state *st,
			  uint64_t now_ns);
#endif
