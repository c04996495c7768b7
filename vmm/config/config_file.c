// SPDX-License-Identifier: Apache-2.0
/*
 * config_file.c - a whole JSON config file: each top-level key is a section
 * dispatched through one table to its parser; the file is applied all or
 * nothing.  See config.h (config_parse_json).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "vmm/core/json.h"
#include "vmm/x86/cpu_template.h"

typedef int section_put_fn(struct vm_config *cfg, json_t *val, char *err, size_t errlen);

static int put_machine(struct vm_config *cfg, json_t *val, char *err, size_t errlen)
{
	return config_put_machine(cfg, val, false, err, errlen);
}

static int put_drive(struct vm_config *cfg, json_t *val, char *err, size_t errlen)
{
	return config_put_drive(cfg, NULL, val, false, err, errlen);
}

static int put_net(struct vm_config *cfg, json_t *val, char *err, size_t errlen)
{
	return config_put_net(cfg, NULL, val, false, err, errlen);
}

static const struct config_section {
	const char *key;
	section_put_fn *put;   /* NULL: a Firecracker section ember does not offer */
	bool is_array;         /* an array of what `put` takes ("drives": PUT bodies) */
	bool null_ok;          /* null leaves the section unconfigured */
} sections[] = {
	{ "boot-source", config_put_boot_source, false, false },
	{ "machine-config", put_machine, false, false },
	{ "drives", put_drive, true, false },
	{ "network-interfaces", put_net, true, false },
	{ "vsock", config_put_vsock, false, true },
	{ "logger", config_put_logger, false, true },
	{ "metrics", config_put_metrics, false, true },
	{ "mmds-config", NULL, false, true },
	{ "balloon", NULL, false, true },
	{ "entropy", NULL, false, true },
	{ "cpu-config", config_put_cpu_config_file, false, true },
	{ "pmem", NULL, false, true },
	{ "memory-hotplug", NULL, false, true },
};

static int put_array(struct vm_config *cfg, const struct config_section *s, json_t *val,
		     char *err, size_t errlen)
{
	size_t i;
	json_t *item;
	int ret;

	if (!json_is_array(val))
		return fail(err, errlen, "'%s' must be an array", s->key);
	json_array_foreach(val, i, item) {
		ret = s->put(cfg, item, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_section(struct vm_config *cfg, const char *key, json_t *val,
			 char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		const struct config_section *s = &sections[i];

		if (strcmp(key, s->key))
			continue;
		if (!s->put && json_is_array(val) && !json_array_size(val))
			return 0;
		if (s->null_ok && json_is_null(val))
			return 0;
		if (!s->put)
			return fail(err, errlen, "'%s' is not supported by ember", key);
		return s->is_array ? put_array(cfg, s, val, err, errlen)
				   : s->put(cfg, val, err, errlen);
	}
	return fail(err, errlen, "unknown configuration section '%s'", key);
}

/* Move what a config file sets from `src` into `dst`, freeing what it replaces. */
static void config_take_file(struct vm_config *dst, struct vm_config *src)
{
	if (src->kernel_path) {
		free(dst->kernel_path);
		free(dst->initrd_path);
		free(dst->cmdline);
		dst->kernel_path = src->kernel_path;
		dst->initrd_path = src->initrd_path;
		dst->cmdline = src->cmdline;
	}
	dst->vcpus = src->vcpus;
	dst->mem_mib = src->mem_mib;
	dst->hugepages = src->hugepages;
	dst->smt = src->smt;
	dst->track_dirty_pages = src->track_dirty_pages;
	cpu_template_free(dst->cpu_custom);
	dst->cpu_custom = src->cpu_custom;
	dst->cpu_static = src->cpu_static;
	dst->log_level = src->log_level;
	devices_cfg_free(&dst->devs);
	dst->devs = src->devs;
	if (src->logger.configured) {
		free(dst->logger.path);
		dst->logger = src->logger;
	}
	if (src->metrics_path) {
		free(dst->metrics_path);
		json_decref(dst->metrics_properties);
		dst->metrics_path = src->metrics_path;
		dst->metrics_emit_id = src->metrics_emit_id;
		dst->metrics_properties = src->metrics_properties;
	}
}

int config_parse_json(struct vm_config *cfg, const char *text, char *err, size_t errlen)
{
	struct vm_config tmp;
	json_error_t jerr;
	json_t *root, *val;
	const char *key;
	int ret = 0;

	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, errlen, "invalid JSON at line %d, column %d: %s",
			    jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errlen, "the configuration must be a JSON object");
	}
	/* Parse into a scratch configuration so a failure leaves `cfg` as it was. */
	config_init(&tmp);
	tmp.vcpus = cfg->vcpus;
	tmp.mem_mib = cfg->mem_mib;
	tmp.hugepages = cfg->hugepages;
	tmp.smt = cfg->smt;
	tmp.track_dirty_pages = cfg->track_dirty_pages;
	tmp.log_level = cfg->log_level;
	/* "cpu-config" last: a custom template wins over machine-config's
	 * static one, whatever the order of the keys (Firecracker). */
	json_object_foreach(root, key, val) {
		ret = strcmp(key, "cpu-config") ? parse_section(&tmp, key, val, err, errlen) : 0;
		if (ret)
			break;
	}
	val = json_object_get(root, "cpu-config");
	if (!ret && val)
		ret = parse_section(&tmp, "cpu-config", val, err, errlen);
	json_decref(root);
	if (ret) {
		config_free(&tmp);
		return ret;
	}
	config_take_file(cfg, &tmp);
	return 0;
}
