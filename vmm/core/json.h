/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json.h - helpers shared by the configuration parsers (the files of
 * vmm/config/): checked JSON objects and error messages.  No state:
 * callable from any thread (the parsers run on the vmm thread, config.h).
 */
#ifndef EMBER_CORE_JSON_H
#define EMBER_CORE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct json_field {
	const char *key;
	json_type type;   /* JSON_INTEGER, JSON_STRING, JSON_OBJECT, JSON_ARRAY,
			   * JSON_TRUE (any bool), JSON_NULL (any type) */
	bool required;
};

/* Format `err` and return -EINVAL. */
int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Replace *dst with a copy of src (NULL allowed). */
void set_str(char **dst, const char *src);
/* `obj` must be an object with only the listed keys, each of its type, and
 * every required key present (`partial`: none required). */
int json_check_fields(const char *section, json_t *obj, const struct json_field *f,
		      size_t nf, bool partial, char *err, size_t errlen);
/* An API/config identifier: 1-64 characters of [A-Za-z0-9_]. */
bool config_id_valid(const char *id);

#endif
