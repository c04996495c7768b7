// SPDX-License-Identifier: Apache-2.0
/*
 * config_drives.c - the "drives" section (config file, PUT and PATCH
 * /drives/{id}): each drive is validated whole, its backing file checked,
 * before the configuration changes.  See config.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_section.h"
#include "vmm/core/json.h"

struct drive_cfg *config_find_drive(struct devices_cfg *d, const char *id)
{
	for (unsigned int i = 0; i < d->nr_drives; i++)
		if (!strcmp(d->drives[i].id, id))
			return &d->drives[i];
	return NULL;
}

static void drive_free(struct drive_cfg *dr)
{
	free(dr->id);
	free(dr->path);
	free(dr->partuuid);
	memset(dr, 0, sizeof(*dr));
}

static int check_backing_file(const char *what, const char *path, bool need_write,
			      char *err, size_t errlen)
{
	struct stat st;

	if (!*path)
		return fail(err, errlen, "%s: 'path_on_host' is empty", what);
	if (stat(path, &st))
		return fail(err, errlen, "%s: cannot use '%s': %s", what, path, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return fail(err, errlen, "%s: '%s' is not a regular file or block device",
			    what, path);
	if (access(path, need_write ? R_OK | W_OK : R_OK))
		return fail(err, errlen, "%s: cannot %s '%s': %s", what,
			    need_write ? "read and write" : "read", path, strerror(errno));
	return 0;
}

static int parse_enum(const char *what, const char *field, const char *v,
		      const char *const *names, int n, int *out, char *err, size_t errlen)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v, names[i])) {
			*out = i;
			return 0;
		}
	return fail(err, errlen, "%s: '%s' must be \"%s\" or \"%s\"", what, field,
		    names[0], names[1]);
}

bool config_partuuid_valid(const char *s)
{
	/* GPT: 8-4-4-4-12 hex digits; MBR: disk signature and partition, 8-2. */
	static const char *const shapes[] = { "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
					      "xxxxxxxx-xx" };

	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		const char *p = shapes[k];
		size_t i = 0;

		for (; p[i] && s[i]; i++)
			if (p[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
				break;
		if (!p[i] && !s[i])
			return true;
	}
	return false;
}

/* Fill `dr` (a copy of the current drive for PATCH) from `obj`. */
static int drive_from_json(struct drive_cfg *dr, json_t *obj, bool patch,
			   char *err, size_t errlen)
{
	static const char *const caches[] = { "Unsafe", "Writeback" };
	static const char *const engines[] = { "Async", "Sync" };
	json_t *v;
	int e = 0, ret = 0;

	if ((v = json_object_get(obj, "path_on_host")))
		dr->path = (char *)json_string_value(v);
	if ((v = json_object_get(obj, "is_root_device")))
		dr->is_root = json_is_true(v);
	if ((v = json_object_get(obj, "is_read_only")))
		dr->read_only = json_is_true(v);
	if ((v = json_object_get(obj, "partuuid"))) {
		dr->partuuid = (char *)json_string_value(v);
		/* It goes into the kernel command line (root=PARTUUID=...). */
		if (!config_partuuid_valid(dr->partuuid))
			return fail(err, errlen, "drives: partuuid must be a partition UUID "
				    "(8-4-4-4-12 hex digits, or 8-2 for an MBR disk)");
	}
	if ((v = json_object_get(obj, "cache_type"))) {
		ret = parse_enum("drives", "cache_type", json_string_value(v), caches, 2, &e,
				 err, errlen);
		dr->cache = (enum drive_cache)e;
	}
	if (!ret && (v = json_object_get(obj, "io_engine"))) {
		ret = parse_enum("drives", "io_engine", json_string_value(v), engines, 2, &e,
				 err, errlen);
		dr->engine = (enum drive_engine)e;
	}
	if (!ret && (v = json_object_get(obj, "rate_limiter")))
		ret = config_parse_rate_limiter("drives.rate_limiter", v, &dr->rate_limiter, err, errlen);
	if (!ret && (!patch || json_object_get(obj, "path_on_host")))
		ret = check_backing_file("drives", dr->path, !dr->read_only, err, errlen);
	return ret;
}

int config_put_drive(struct vm_config *cfg, const char *path_id, json_t *obj, bool patch,
		     char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "drive_id", JSON_STRING, true },
		{ "path_on_host", JSON_STRING, true },
		{ "is_root_device", JSON_TRUE, true },
		{ "is_read_only", JSON_TRUE, false },
		{ "partuuid", JSON_STRING, false },
		{ "cache_type", JSON_STRING, false },
		{ "io_engine", JSON_STRING, false },
		{ "rate_limiter", JSON_OBJECT, false },
	};
	struct devices_cfg *d = &cfg->devs;
	struct drive_cfg *old, dr = { 0 };
	const char *id;
	int ret = json_check_fields("drives", obj, fields, 8, patch, err, errlen);

	if (!ret)
		ret = config_resolve_id("drives", "drive_id", path_id, obj, &id, err, errlen);
	if (ret)
		return ret;
	old = config_find_drive(d, id);
	if (patch && !old)
		return fail(err, errlen, "drives: no drive '%s' to update", id);
	if (patch) {
		if (json_object_get(obj, "is_root_device") || json_object_get(obj, "is_read_only") ||
		    json_object_get(obj, "partuuid") || json_object_get(obj, "cache_type") ||
		    json_object_get(obj, "io_engine"))
			return fail(err, errlen, "drives: PATCH may change only 'path_on_host' and 'rate_limiter'");
		/* As Firecracker: a virtio-block PATCH must change something. */
		if (!json_object_get(obj, "path_on_host") && !json_object_get(obj, "rate_limiter"))
			return fail(err, errlen, "drives: a PATCH needs 'path_on_host' or 'rate_limiter'");
		dr = *old;
	}
	ret = drive_from_json(&dr, obj, patch, err, errlen);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < d->nr_drives && dr.is_root; i++)
		if (d->drives[i].is_root && &d->drives[i] != old)
			return fail(err, errlen, "drives: a root block device already exists (%s)",
				    d->drives[i].id);
	if (!old && d->nr_drives == CONFIG_MAX_DRIVES)
		return fail(err, errlen, "drives: at most %d drives", CONFIG_MAX_DRIVES);
	/* Valid: commit, with owned copies of the strings. */
	dr.id = strdup(id);
	dr.path = strdup(dr.path);
	dr.partuuid = dr.partuuid ? strdup(dr.partuuid) : NULL;
	if (!old)
		old = &d->drives[d->nr_drives++];
	drive_free(old);
	*old = dr;
	return 0;
}

void config_drives_free(struct devices_cfg *d)
{
	for (unsigned int i = 0; i < d->nr_drives; i++)
		drive_free(&d->drives[i]);
	d->nr_drives = 0;
}

json_t *config_drives_to_json(const struct devices_cfg *d)
{
	static const char *const caches[] = { "Unsafe", "Writeback" };
	static const char *const engines[] = { "Async", "Sync" };
	json_t *arr = json_array();

	for (unsigned int i = 0; i < d->nr_drives; i++) {
		const struct drive_cfg *dr = &d->drives[i];
		json_t *o = json_pack("{ss ss sb sb ss ss so}", "drive_id", dr->id,
				      "path_on_host", dr->path, "is_root_device", dr->is_root,
				      "is_read_only", dr->read_only, "cache_type", caches[dr->cache],
				      "io_engine", engines[dr->engine], "rate_limiter",
				      config_rate_limiter_to_json(&dr->rate_limiter));

		if (dr->partuuid)
			json_object_set_new(o, "partuuid", json_string(dr->partuuid));
		json_array_append_new(arr, o);
	}
	return arr;
}
