// SPDX-License-Identifier: Apache-2.0
/*
 * config_dev_common.c - what the "drives" and "network-interfaces" sections
 * share: the {id} of a PUT/PATCH and Firecracker's RateLimiter objects
 * (parsed, and written back for GET /vm/config).  See config_section.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config_section.h"
#include "vmm/core/json.h"

int config_resolve_id(const char *section, const char *key, const char *path_id,
		      json_t *obj, const char **id, char *err, size_t errlen)
{
	const char *body_id = json_string_value(json_object_get(obj, key));

	/* The swagger requires the id in every body, PATCH bodies too. */
	if (!body_id)
		return fail(err, errlen, "%s: missing required field '%s'", section, key);
	*id = path_id ? path_id : body_id;
	if (!*id || !config_id_valid(*id))
		return fail(err, errlen, "%s: invalid %s (1-64 characters of A-Z a-z 0-9 _)",
			    section, key);
	if (body_id && strcmp(body_id, *id))
		return fail(err, errlen, "%s: '%s' in the body (%s) differs from the path (%s)",
			    section, key, body_id, *id);
	return 0;
}

/* ---- rate limiters ------------------------------------------------------ */

/*
 * Firecracker's swagger types size, one_time_burst and refill_time as u64
 * (minimum 0) and gives no maximum.  ember keeps the bucket's period in ns
 * in a u64, so refill_time (ms) is bounded by UINT64_MAX / 10^6 ms (about
 * 584 years): larger values once wrapped refill_time * 10^6 to a short
 * period or to 0 (a division by zero on the guest's first request).  size
 * and one_time_burst are already bounded by the JSON integer (int64_t).
 */
#define REFILL_TIME_MAX_MS (UINT64_MAX / 1000000ULL)

static int parse_bucket(const char *what, json_t *obj, struct token_bucket_cfg *out,
			char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "size", JSON_INTEGER, true },
		{ "one_time_burst", JSON_INTEGER, false },
		{ "refill_time", JSON_INTEGER, true },
	};
	json_int_t size, burst = 0, refill;
	int ret = json_check_fields(what, obj, fields, 3, false, err, errlen);

	if (ret)
		return ret;
	size = json_integer_value(json_object_get(obj, "size"));
	refill = json_integer_value(json_object_get(obj, "refill_time"));
	if (json_object_get(obj, "one_time_burst"))
		burst = json_integer_value(json_object_get(obj, "one_time_burst"));
	if (size < 0 || burst < 0 || refill < 0)
		return fail(err, errlen, "%s: values must not be negative", what);
	if (size > 0 && refill == 0)
		return fail(err, errlen, "%s: 'refill_time' must be positive when 'size' is", what);
	if ((uint64_t)refill > REFILL_TIME_MAX_MS)
		return fail(err, errlen, "%s: 'refill_time' must be at most %llu ms", what,
			    (unsigned long long)REFILL_TIME_MAX_MS);
	*out = (struct token_bucket_cfg){ .set = size > 0, .size = (uint64_t)size,
		.one_time_burst = (uint64_t)burst, .refill_time_ms = (uint64_t)refill };
	return 0;
}

int config_parse_rate_limiter(const char *what, json_t *obj, struct rate_limiter_cfg *out,
			      char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "bandwidth", JSON_OBJECT, false },
		{ "ops", JSON_OBJECT, false },
	};
	struct rate_limiter_cfg rl = { 0 };
	char sub[64];
	json_t *b, *o;
	int ret = json_check_fields(what, obj, fields, 2, false, err, errlen);

	if (ret)
		return ret;
	b = json_object_get(obj, "bandwidth");
	o = json_object_get(obj, "ops");
	snprintf(sub, sizeof(sub), "%s.bandwidth", what);
	if (b && (ret = parse_bucket(sub, b, &rl.bandwidth, err, errlen)))
		return ret;
	snprintf(sub, sizeof(sub), "%s.ops", what);
	if (o && (ret = parse_bucket(sub, o, &rl.ops, err, errlen)))
		return ret;
	*out = rl;
	return 0;
}

static json_t *bucket_to_json(const struct token_bucket_cfg *b)
{
	return json_pack("{sI sI sI}", "size", (json_int_t)b->size,
			 "one_time_burst", (json_int_t)b->one_time_burst,
			 "refill_time", (json_int_t)b->refill_time_ms);
}

json_t *config_rate_limiter_to_json(const struct rate_limiter_cfg *rl)
{
	json_t *o = json_object();

	if (rl->bandwidth.set)
		json_object_set_new(o, "bandwidth", bucket_to_json(&rl->bandwidth));
	if (rl->ops.set)
		json_object_set_new(o, "ops", bucket_to_json(&rl->ops));
	return o;
}
