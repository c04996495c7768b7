// SPDX-License-Identifier: Apache-2.0
/*
 * config_dev.c - Firecracker's device, logger and metrics sections
 * ("drives", "network-interfaces", "vsock", "logger", "metrics") for the
 * config file and the API.  Each parser validates the whole object before
 * it changes the configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "vmm/core/json.h"

/* ---- rate limiters ------------------------------------------------------ */

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
	*out = (struct token_bucket_cfg){ .set = size > 0, .size = (uint64_t)size,
		.one_time_burst = (uint64_t)burst, .refill_time_ms = (uint64_t)refill };
	return 0;
}

static int parse_rate_limiter(const char *what, json_t *obj, struct rate_limiter_cfg *out,
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

static json_t *rate_limiter_to_json(const struct rate_limiter_cfg *rl)
{
	json_t *o = json_object();

	if (rl->bandwidth.set)
		json_object_set_new(o, "bandwidth", bucket_to_json(&rl->bandwidth));
	if (rl->ops.set)
		json_object_set_new(o, "ops", bucket_to_json(&rl->ops));
	return o;
}

/* The {id} of a PUT/PATCH: the path's, which must match the body's when the
 * body names one (a config-file entry has only the body's). */
static int resolve_id(const char *section, const char *key, const char *path_id,
		      json_t *obj, const char **id, char *err, size_t errlen)
{
	const char *body_id = json_string_value(json_object_get(obj, key));

	*id = path_id ? path_id : body_id;
	if (!*id || !config_id_valid(*id))
		return fail(err, errlen, "%s: invalid %s (1-64 characters of A-Z a-z 0-9 _)",
			    section, key);
	if (body_id && strcmp(body_id, *id))
		return fail(err, errlen, "%s: '%s' in the body (%s) differs from the path (%s)",
			    section, key, body_id, *id);
	return 0;
}

/* ---- drives ------------------------------------------------------------- */

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
	if ((v = json_object_get(obj, "partuuid")))
		dr->partuuid = (char *)json_string_value(v);
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
		ret = parse_rate_limiter("drives.rate_limiter", v, &dr->rate_limiter, err, errlen);
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
		ret = resolve_id("drives", "drive_id", path_id, obj, &id, err, errlen);
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

/* ---- network interfaces -------------------------------------------------- */

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
				      &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static struct net_cfg *find_net(struct devices_cfg *d, const char *id)
{
	for (unsigned int i = 0; i < d->nr_nets; i++)
		if (!strcmp(d->nets[i].id, id))
			return &d->nets[i];
	return NULL;
}

static int net_check_unique(struct devices_cfg *d, const struct net_cfg *n,
			    const struct net_cfg *self, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < d->nr_nets; i++) {
		const struct net_cfg *o = &d->nets[i];

		if (o == self)
			continue;
		if (!strcmp(o->host_dev, n->host_dev))
			return fail(err, errlen, "network-interfaces: host device '%s' is already used by '%s'",
				    n->host_dev, o->id);
		if (n->has_mac && o->has_mac && !memcmp(o->mac, n->mac, 6))
			return fail(err, errlen, "network-interfaces: guest MAC is already used by '%s'",
				    o->id);
	}
	return 0;
}

static int net_from_json(struct net_cfg *n, json_t *obj, char *err, size_t errlen)
{
	json_t *v;
	int ret = 0;

	if ((v = json_object_get(obj, "host_dev_name"))) {
		n->host_dev = (char *)json_string_value(v);
		if (!*n->host_dev || strlen(n->host_dev) >= 16)
			return fail(err, errlen, "network-interfaces: 'host_dev_name' must be 1-15 characters");
	}
	if ((v = json_object_get(obj, "guest_mac"))) {
		if (parse_mac(json_string_value(v), n->mac))
			return fail(err, errlen, "network-interfaces: 'guest_mac' must look like 06:00:ac:10:00:02");
		n->has_mac = true;
	}
	if ((v = json_object_get(obj, "rx_rate_limiter")))
		ret = parse_rate_limiter("network-interfaces.rx_rate_limiter", v, &n->rx, err, errlen);
	if (!ret && (v = json_object_get(obj, "tx_rate_limiter")))
		ret = parse_rate_limiter("network-interfaces.tx_rate_limiter", v, &n->tx, err, errlen);
	return ret;
}

int config_put_net(struct vm_config *cfg, const char *path_id, json_t *obj, bool patch,
		   char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "iface_id", JSON_STRING, true },
		{ "host_dev_name", JSON_STRING, true },
		{ "guest_mac", JSON_STRING, false },
		{ "rx_rate_limiter", JSON_OBJECT, false },
		{ "tx_rate_limiter", JSON_OBJECT, false },
	};
	struct devices_cfg *d = &cfg->devs;
	struct net_cfg *old, n = { 0 };
	const char *id;
	int ret = json_check_fields("network-interfaces", obj, fields, 5, patch, err, errlen);

	if (!ret)
		ret = resolve_id("network-interfaces", "iface_id", path_id, obj, &id, err, errlen);
	if (ret)
		return ret;
	old = find_net(d, id);
	if (patch && !old)
		return fail(err, errlen, "network-interfaces: no interface '%s' to update", id);
	if (patch && (json_object_get(obj, "host_dev_name") || json_object_get(obj, "guest_mac")))
		return fail(err, errlen, "network-interfaces: PATCH may change only the rate limiters");
	if (patch)
		n = *old;
	ret = net_from_json(&n, obj, err, errlen);
	if (!ret)
		ret = net_check_unique(d, &n, old, err, errlen);
	if (ret)
		return ret;
	if (!old && d->nr_nets == CONFIG_MAX_NETS)
		return fail(err, errlen, "network-interfaces: at most %d interfaces", CONFIG_MAX_NETS);
	n.id = strdup(id);
	n.host_dev = strdup(n.host_dev);
	if (!old)
		old = &d->nets[d->nr_nets++];
	free(old->id);
	free(old->host_dev);
	*old = n;
	return 0;
}

/* ---- vsock, logger, metrics --------------------------------------------- */

int config_put_vsock(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "guest_cid", JSON_INTEGER, true },
		{ "uds_path", JSON_STRING, true },
		{ "vsock_id", JSON_STRING, false },
	};
	json_int_t cid;
	const char *uds;
	int ret = json_check_fields("vsock", obj, fields, 3, false, err, errlen);

	if (ret)
		return ret;
	cid = json_integer_value(json_object_get(obj, "guest_cid"));
	uds = json_string_value(json_object_get(obj, "uds_path"));
	if (cid < 3 || cid > UINT32_MAX)
		return fail(err, errlen, "vsock: 'guest_cid' must be between 3 and %u", UINT32_MAX);
	if (!*uds || strlen(uds) >= 108)
		return fail(err, errlen, "vsock: 'uds_path' must be 1-107 characters");
	set_str(&cfg->devs.vsock.uds_path, uds);
	cfg->devs.vsock.guest_cid = (uint32_t)cid;
	cfg->devs.vsock.set = true;
	return 0;
}

int config_put_logger(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "log_path", JSON_STRING, false },
		{ "level", JSON_STRING, false },
		{ "show_level", JSON_TRUE, false },
		{ "show_log_origin", JSON_TRUE, false },
		{ "module", JSON_STRING, false },
	};
	enum log_level level = cfg->log_level;
	const char *path, *lvl;
	int ret = json_check_fields("logger", obj, fields, 5, false, err, errlen);

	if (ret)
		return ret;
	path = json_string_value(json_object_get(obj, "log_path"));
	lvl = json_string_value(json_object_get(obj, "level"));
	if (lvl && log_level_parse(lvl, &level))
		return fail(err, errlen, "logger: 'level' must be one of Error, Warning, Info, Debug, Trace");
	if (path && !*path)
		return fail(err, errlen, "logger: 'log_path' is empty");
	if (path)
		set_str(&cfg->logger.path, path);
	cfg->log_level = level;
	cfg->logger.configured = true;
	cfg->logger.show_level = json_is_true(json_object_get(obj, "show_level"));
	cfg->logger.show_origin = json_is_true(json_object_get(obj, "show_log_origin"));
	return 0;
}

int config_put_metrics(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "metrics_path", JSON_STRING, true },
	};
	const char *path;
	int ret = json_check_fields("metrics", obj, fields, 1, false, err, errlen);

	if (ret)
		return ret;
	path = json_string_value(json_object_get(obj, "metrics_path"));
	if (!*path)
		return fail(err, errlen, "metrics: 'metrics_path' is empty");
	set_str(&cfg->metrics_path, path);
	return 0;
}

void devices_cfg_free(struct devices_cfg *devs)
{
	for (unsigned int i = 0; i < devs->nr_drives; i++)
		drive_free(&devs->drives[i]);
	for (unsigned int i = 0; i < devs->nr_nets; i++) {
		free(devs->nets[i].id);
		free(devs->nets[i].host_dev);
	}
	free(devs->vsock.uds_path);
	memset(devs, 0, sizeof(*devs));
}

/* ---- GET /vm/config ------------------------------------------------------ */

static json_t *drives_to_json(const struct devices_cfg *d)
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
				      rate_limiter_to_json(&dr->rate_limiter));

		if (dr->partuuid)
			json_object_set_new(o, "partuuid", json_string(dr->partuuid));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *nets_to_json(const struct devices_cfg *d)
{
	json_t *arr = json_array();

	for (unsigned int i = 0; i < d->nr_nets; i++) {
		const struct net_cfg *n = &d->nets[i];
		json_t *o = json_pack("{ss ss so so}", "iface_id", n->id, "host_dev_name",
				      n->host_dev, "rx_rate_limiter", rate_limiter_to_json(&n->rx),
				      "tx_rate_limiter", rate_limiter_to_json(&n->tx));
		char mac[18];

		if (n->has_mac) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0],
				 n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
			json_object_set_new(o, "guest_mac", json_string(mac));
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *config_machine_to_json(const struct vm_config *cfg)
{
	return json_pack("{si sI sb sb ss}", "vcpu_count", (int)cfg->vcpus,
			 "mem_size_mib", (json_int_t)cfg->mem_mib, "smt", 0,
			 "track_dirty_pages", 0, "huge_pages", cfg->hugepages ? "2M" : "None");
}

json_t *config_to_json(const struct vm_config *cfg)
{
	json_t *boot = json_object(), *root;

	if (cfg->kernel_path)
		json_object_set_new(boot, "kernel_image_path", json_string(cfg->kernel_path));
	if (cfg->initrd_path)
		json_object_set_new(boot, "initrd_path", json_string(cfg->initrd_path));
	json_object_set_new(boot, "boot_args", json_string(config_cmdline(cfg)));
	root = json_pack("{so so so so}", "boot-source", boot,
			 "machine-config", config_machine_to_json(cfg),
			 "drives", drives_to_json(&cfg->devs),
			 "network-interfaces", nets_to_json(&cfg->devs));
	if (cfg->devs.vsock.set)
		json_object_set_new(root, "vsock", json_pack("{sI ss}", "guest_cid",
				    (json_int_t)cfg->devs.vsock.guest_cid, "uds_path",
				    cfg->devs.vsock.uds_path));
	return root;
}
