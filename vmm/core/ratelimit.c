// SPDX-License-Identifier: Apache-2.0
/* ratelimit.c - see ratelimit.h. */
#include "ratelimit.h"

static void bucket_set(struct token_bucket *b, const struct token_bucket_cfg *cfg,
		       uint64_t now_ns)
{
	*b = (struct token_bucket){ 0 };
	if (!cfg->set || !cfg->size || !cfg->refill_time_ms)
		return;
	b->enabled = true;
	b->size = cfg->size;
	b->refill_ns = cfg->refill_time_ms * 1000000ULL;
	b->burst = cfg->one_time_burst;
	b->budget = (int64_t)(cfg->size > INT64_MAX ? INT64_MAX : cfg->size);
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
	if (earned >= (unsigned __int128)(b->size + (uint64_t)(b->budget < 0 ? -b->budget : 0))) {
		b->budget = (int64_t)b->size;
		b->last_ns = now_ns;
		return;
	}
	b->budget += (int64_t)earned;
	if (b->budget > (int64_t)b->size)
		b->budget = (int64_t)b->size;
	b->last_ns += (uint64_t)(earned * b->refill_ns / b->size);
}

/* 0 if `n` tokens may be taken now, else the ns until they may. */
static uint64_t bucket_wait(struct token_bucket *b, uint64_t n, uint64_t now_ns)
{
	__int128 need = n < b->size ? n : b->size, have, wait;

	if (!b->enabled)
		return 0;
	bucket_refill(b, now_ns);
	have = (__int128)b->budget + b->burst;
	if (have >= need)
		return 0;
	/* The missing tokens are earned from last_ns on, rounded up to a ns. */
	wait = ((need - have) * b->refill_ns + b->size - 1) / b->size - (__int128)(now_ns - b->last_ns);
	return wait > 0 ? (uint64_t)wait : 1;
}

static void bucket_take(struct token_bucket *b, uint64_t n)
{
	uint64_t from_burst = n < b->burst ? n : b->burst;

	if (!b->enabled)
		return;
	b->burst -= from_burst;
	b->budget -= (int64_t)(n - from_burst);
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
