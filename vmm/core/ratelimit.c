// SPDX-License-Identifier: Apache-2.0
/* ratelimit.c - see ratelimit.h. */
#include "ratelimit.h"

/*
 * Saturating bounds, so that no configuration can divide by zero or wrap:
 * size, burst and budget stay within [-BUCKET_MAX, BUCKET_MAX] (int64_t),
 * refill_ns is at least 1 ms and at most UINT64_MAX ns (584 years, "never"
 * in practice).  Every product below is then below 2^128 in unsigned
 * __int128: (size + debt) < 2^64 times refill_ns < 2^64.
 */
#define BUCKET_MAX ((uint64_t)INT64_MAX)

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* refill_time_ms * 10^6, saturated at UINT64_MAX instead of wrapping. */
static uint64_t refill_ms_to_ns(uint64_t ms)
{
	return ms > UINT64_MAX / 1000000ULL ? UINT64_MAX : ms * 1000000ULL;
}

static void bucket_set(struct token_bucket *b, const struct token_bucket_cfg *cfg,
		       uint64_t now_ns)
{
	*b = (struct token_bucket){ 0 };
	if (!cfg->set || !cfg->size || !cfg->refill_time_ms)
		return;
	b->enabled = true;
	b->size = min_u64(cfg->size, BUCKET_MAX);
	b->refill_ns = refill_ms_to_ns(cfg->refill_time_ms);
	b->burst = min_u64(cfg->one_time_burst, BUCKET_MAX);
	b->budget = (int64_t)b->size;
	b->last_ns = now_ns;
}

void rate_limiter_set(struct rate_limiter *rl, const struct rate_limiter_cfg *cfg, uint64_t now_ns)
{
	bucket_set(&rl->bytes, &cfg->bandwidth, now_ns);
	bucket_set(&rl->ops, &cfg->ops, now_ns);
}

bool rate_limiter_active(const struct rate_limiter *rl)
{
	return rl->bytes.enabled || rl->ops.enabled;
}

/* Add the tokens earned since last_ns, up to a full bucket.  last_ns only
 * moves by the time those whole tokens took, so no fraction is lost. */
static void bucket_refill(struct token_bucket *b, uint64_t now_ns)
{
	unsigned __int128 earned;
	uint64_t elapsed;

	if (now_ns <= b->last_ns)
		return;
	elapsed = now_ns - b->last_ns;
	earned = (unsigned __int128)elapsed * b->size / b->refill_ns;
	if (b->budget >= 0 && (uint64_t)b->budget >= b->size) {
		b->last_ns = now_ns;  /* full: nothing to earn */
		return;
	}
	/* What fills the bucket: size - budget, below 2^64 as budget >=
	 * -BUCKET_MAX; whatever is earned short of that keeps budget < size. */
	if ((__int128)earned >= (__int128)b->size - b->budget) {
		b->budget = (int64_t)b->size;
		b->last_ns = now_ns;
		return;
	}
	b->budget += (int64_t)earned;
	b->last_ns += (uint64_t)(earned * b->refill_ns / b->size);
}

/* 0 if `n` tokens may be taken now, else the ns until they may. */
static uint64_t bucket_wait(struct token_bucket *b, uint64_t n, uint64_t now_ns)
{
	__int128 need = n < b->size ? n : b->size, have;
	unsigned __int128 missing, wait, since;

	if (!b->enabled)
		return 0;
	bucket_refill(b, now_ns);
	have = (__int128)b->budget + b->burst;
	if (have >= need)
		return 0;
	/* The missing tokens are earned from last_ns on, rounded up to a ns:
	 * missing <= size + debt < 2^64, so the product stays below 2^128. */
	missing = (unsigned __int128)(need - have);
	wait = (missing * b->refill_ns + b->size - 1) / b->size;
	since = now_ns > b->last_ns ? now_ns - b->last_ns : 0;
	if (wait <= since)
		return 1;
	wait -= since;
	return wait > UINT64_MAX ? UINT64_MAX : (uint64_t)wait;
}

static void bucket_take(struct token_bucket *b, uint64_t n)
{
	uint64_t from_burst = n < b->burst ? n : b->burst;
	__int128 left;

	if (!b->enabled)
		return;
	b->burst -= from_burst;
	/* The debt saturates at -BUCKET_MAX rather than wrapping into credit. */
	left = (__int128)b->budget - (n - from_burst);
	b->budget = left < -(__int128)BUCKET_MAX ? -(int64_t)BUCKET_MAX : (int64_t)left;
}

uint64_t rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns)
{
	uint64_t wait_bytes = bucket_wait(&rl->bytes, bytes, now_ns);
	uint64_t wait_ops = bucket_wait(&rl->ops, 1, now_ns);

	if (wait_bytes || wait_ops)
		return wait_bytes > wait_ops ? wait_bytes : wait_ops;
	bucket_take(&rl->bytes, bytes);
	bucket_take(&rl->ops, 1);
	return 0;
}

/* ---- snapshots ------------------------------------------------------------ */

static void bucket_save(const struct token_bucket *b, uint64_t now_ns,
			struct rate_limiter_bucket_state *out)
{
	*out = (struct rate_limiter_bucket_state){ 0 };
	if (!b->enabled)
		return;
	out->budget = b->budget;
	out->burst = b->burst;
	out->since_refill_ns = now_ns > b->last_ns ? now_ns - b->last_ns : 0;
}

static void bucket_restore(struct token_bucket *b, const struct rate_limiter_bucket_state *st,
			   uint64_t now_ns)
{
	uint64_t since = min_u64(st->since_refill_ns, b->refill_ns);

	if (!b->enabled)
		return;
	b->budget = st->budget > (int64_t)b->size ? (int64_t)b->size :
		    st->budget < -(int64_t)BUCKET_MAX ? -(int64_t)BUCKET_MAX : st->budget;
	b->burst = min_u64(st->burst, b->burst);  /* never more than configured */
	b->last_ns = now_ns > since ? now_ns - since : 0;
}

void rate_limiter_save(const struct rate_limiter *rl, uint64_t now_ns,
		       struct rate_limiter_state *out)
{
	bucket_save(&rl->bytes, now_ns, &out->bytes);
	bucket_save(&rl->ops, now_ns, &out->ops);
}

void rate_limiter_restore(struct rate_limiter *rl, const struct rate_limiter_state *st,
			  uint64_t now_ns)
{
	bucket_restore(&rl->bytes, &st->bytes, now_ns);
	bucket_restore(&rl->ops, &st->ops, now_ns);
}
