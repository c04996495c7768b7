// SPDX-License-Identifier: Apache-2.0
/* config_json.c - see config_json.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? strdup(src) : NULL;
}

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_INTEGER: return "an integer";
	case JSON_STRING: return "a string";
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	default: return "a boolean";
	}
}

static const struct json_field *field_find(const struct json_field *f, size_t nf,
					   const char *key)
{
	for (size_t i = 0; i < nf; i++)
		if (!strcmp(f[i].key, key))
			return &f[i];
	return NULL;
}

/* An optional field given as null means "not given", as in Firecracker:
 * drop it so the parsers only see real values. */
static int drop_nulls(const char *section, json_t *obj, const struct json_field *f,
		      size_t nf, char *err, size_t errlen)
{
	const char *key;
	json_t *val;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, val) {
		const struct json_field *fd = field_find(f, nf, key);

		if (!json_is_null(val) || !fd)
			continue;
		if (fd->required)
			return fail(err, errlen, "%s: field '%s' must not be null", section, key);
		json_object_del(obj, key);
	}
	return 0;
}

int json_check_fields(const char *section, json_t *obj, const struct json_field *f,
		      size_t nf, bool partial, char *err, size_t errlen)
{
	const char *key;
	json_t *val;

	if (!json_is_object(obj))
		return fail(err, errlen, "%s: expected a JSON object", section);
	if (drop_nulls(section, obj, f, nf, err, errlen))
		return -EINVAL;
	json_object_foreach(obj, key, val) {
		size_t i;

		for (i = 0; i < nf && strcmp(f[i].key, key); i++)
			;
		if (i == nf)
			return fail(err, errlen, "%s: unknown field '%s'", section, key);
		if (f[i].type == JSON_NULL ? false  /* any type: the caller checks */
		    : f[i].type == JSON_TRUE ? !json_is_boolean(val)
		    : json_typeof(val) != f[i].type)
			return fail(err, errlen, "%s: field '%s' must be %s", section, key,
				    type_name(f[i].type));
	}
	for (size_t i = 0; i < nf && !partial; i++)
		if (f[i].required && !json_object_get(obj, f[i].key))
			return fail(err, errlen, "%s: missing required field '%s'", section,
				    f[i].key);
	return 0;
}

bool config_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '_')
			return false;
	return true;
}
