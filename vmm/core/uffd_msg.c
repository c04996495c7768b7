// SPDX-License-Identifier: Apache-2.0
/* uffd_msg.c - see uffd_msg.h. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "uffd_msg.h"

#define PAGE_MIN (4ULL << 10)
#define PAGE_MAX (1ULL << 30)

char *uffd_msg_build(const struct uffd_region *r, unsigned int n)
{
	json_t *arr = json_array();
	char *out = NULL;
	unsigned int i;

	for (i = 0; arr && i < n; i++) {
		json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I}",
				      "base_host_virt_addr", (json_int_t)r[i].base,
				      "size", (json_int_t)r[i].size,
				      "offset", (json_int_t)r[i].offset,
				      "page_size", (json_int_t)r[i].page_size,
				      "page_size_kib", (json_int_t)r[i].page_size);

		if (!o || json_array_append_new(arr, o))
			break;
	}
	if (arr && i == n)
		out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return out;
}

static int bad(char *err, size_t errlen, unsigned int i, const char *why)
{
	snprintf(err, errlen, "region %u: %s", i, why);
	return -EINVAL;
}

/* A non-negative integer member; false when missing or anything else. */
static bool get_u64(json_t *o, const char *key, uint64_t *v, bool *present)
{
	json_t *j = json_object_get(o, key);

	*present = j != NULL;
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return false;
	*v = (uint64_t)json_integer_value(j);
	return true;
}

static int parse_region(json_t *o, unsigned int i, uint64_t file_size, struct uffd_region *r,
			char *err, size_t errlen)
{
	uint64_t kib = 0;
	bool has_ps, has_kib, seen;

	if (!json_is_object(o))
		return bad(err, errlen, i, "not an object");
	if (!get_u64(o, "base_host_virt_addr", &r->base, &seen) ||
	    !get_u64(o, "size", &r->size, &seen) || !get_u64(o, "offset", &r->offset, &seen))
		return bad(err, errlen, i, "base_host_virt_addr, size and offset must be "
			   "non-negative integers");
	if (!get_u64(o, "page_size", &r->page_size, &has_ps) && has_ps)
		return bad(err, errlen, i, "page_size must be a non-negative integer");
	if (!get_u64(o, "page_size_kib", &kib, &has_kib) && has_kib)
		return bad(err, errlen, i, "page_size_kib must be a non-negative integer");
	if (!has_ps && !has_kib)
		return bad(err, errlen, i, "no page_size");
	if (!has_ps)
		r->page_size = kib;   /* bytes, despite its name */
	else if (has_kib && kib != r->page_size)
		return bad(err, errlen, i, "page_size and page_size_kib differ");
	if (r->page_size < PAGE_MIN || r->page_size > PAGE_MAX ||
	    (r->page_size & (r->page_size - 1)))
		return bad(err, errlen, i, "page_size must be a power of two from 4096 to 1 GiB");
	if (!r->size || (r->base | r->size | r->offset) & (r->page_size - 1))
		return bad(err, errlen, i, "base, size and offset must be non-zero multiples of "
			   "the page size (size not 0)");
	if (r->base > UINT64_MAX - r->size || r->offset > UINT64_MAX - r->size)
		return bad(err, errlen, i, "the region wraps around");
	if (r->offset + r->size > file_size)
		return bad(err, errlen, i, "the region lies beyond the end of the memory file");
	return 0;
}

int uffd_msg_parse(const char *msg, size_t len, uint64_t file_size, struct uffd_region *r,
		   unsigned int max, unsigned int *n, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *arr = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &jerr);
	size_t count = json_array_size(arr);
	int ret = 0;

	*n = 0;
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "the message is not a JSON array%s%s", arr ? "" : ": ",
			 arr ? "" : jerr.text);
		json_decref(arr);
		return -EINVAL;
	}
	if (!count || count > max) {
		snprintf(err, errlen, "%zu regions (1 to %u expected)", count, max);
		ret = -EINVAL;
	}
	for (unsigned int i = 0; !ret && i < count; i++)
		ret = parse_region(json_array_get(arr, i), i, file_size, &r[i], err, errlen);
	for (unsigned int i = 0; !ret && i < count; i++)
		for (unsigned int j = 0; !ret && j < i; j++)
			if (r[i].base < r[j].base + r[j].size && r[j].base < r[i].base + r[i].size)
				ret = bad(err, errlen, i, "overlaps an earlier region");
	json_decref(arr);
	if (!ret)
		*n = (unsigned int)count;
	return ret;
}
