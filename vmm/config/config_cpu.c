// SPDX-License-Identifier: Apache-2.0
/*
 * config_cpu.c - CPU templates in the configuration: PUT /cpu-config and
 * the config file's "cpu-config" (a custom template), and which template
 * the vCPUs get at InstanceStart.  machine-config's "cpu_template" (a
 * static one) is parsed in config_machine.c.  See config.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "config.h"
#include "vmm/core/json.h"
#include "vmm/x86/cpu_template.h"

int config_put_cpu_config(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct cpu_template *t;
	char why[CONFIG_ERR_LEN];

	if (cpu_template_from_json(obj, &t, why, sizeof(why)))
		return fail(err, errlen, "cpu-config: %s", why);
	cpu_template_free(cfg->cpu_custom);
	cfg->cpu_custom = t;
	cfg->cpu_static = CPU_STATIC_NONE;
	return 0;
}

int config_put_cpu_config_file(struct vm_config *cfg, json_t *val, char *err, size_t errlen)
{
	const char *path = json_string_value(val);
	json_error_t jerr;
	json_t *obj;
	int ret;

	if (!path)
		return fail(err, errlen, "'cpu-config' must be the path of a CPU template file");
	obj = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return fail(err, errlen, "cpu-config: %s: %s (line %d)", path, jerr.text, jerr.line);
	ret = config_put_cpu_config(cfg, obj, err, errlen);
	json_decref(obj);
	return ret;
}

int config_cpu_template(const struct vm_config *cfg, const struct cpu_template **out,
			struct cpu_template **owned, char *err, size_t errlen)
{
	enum cpu_vendor vendor;
	uint32_t signature;
	char why[CONFIG_ERR_LEN];

	*out = cfg->cpu_custom;
	*owned = NULL;
	if (cfg->cpu_custom || cfg->cpu_static == CPU_STATIC_NONE)
		return 0;
	cpu_host_id(&vendor, &signature);
	if (cpu_static_template(cfg->cpu_static, vendor, signature, owned, why, sizeof(why)))
		return fail(err, errlen, "%s", why);
	*out = *owned;
	return 0;
}
