// SPDX-License-Identifier: Apache-2.0
/*
 * config_boot.c - the "boot-source" section (config file, PUT /boot-source):
 * kernel, initrd and kernel command line.  See config.h.
 */
#include <string.h>

#include "config_section.h"
#include "vmm/core/json.h"
#include "vmm/x86/layout.h"

const char *config_cmdline(const struct vm_config *cfg)
{
	return cfg->cmdline ? cfg->cmdline : CONFIG_DEFAULT_CMDLINE;
}

int config_put_boot_source(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "kernel_image_path", JSON_STRING, true },
		{ "boot_args", JSON_STRING, false },
		{ "initrd_path", JSON_STRING, false },
	};
	const char *kernel, *args, *initrd;
	int ret = json_check_fields("boot-source", obj, fields, 3, false, err, errlen);

	if (ret)
		return ret;
	kernel = json_string_value(json_object_get(obj, "kernel_image_path"));
	args = json_string_value(json_object_get(obj, "boot_args"));
	initrd = json_string_value(json_object_get(obj, "initrd_path"));
	if (!*kernel)
		return fail(err, errlen, "boot-source: 'kernel_image_path' is empty");
	if (args && strlen(args) >= LAYOUT_CMDLINE_MAX)
		return fail(err, errlen, "boot-source: 'boot_args' is %zu bytes, the limit is %llu",
			    strlen(args), LAYOUT_CMDLINE_MAX - 1);
	set_str(&cfg->kernel_path, kernel);
	set_str(&cfg->cmdline, args);
	set_str(&cfg->initrd_path, initrd && *initrd ? initrd : NULL);
	return 0;
}

json_t *config_boot_source_to_json(const struct vm_config *cfg)
{
	json_t *boot = json_object();

	if (cfg->kernel_path)
		json_object_set_new(boot, "kernel_image_path", json_string(cfg->kernel_path));
	if (cfg->initrd_path)
		json_object_set_new(boot, "initrd_path", json_string(cfg->initrd_path));
	json_object_set_new(boot, "boot_args", json_string(config_cmdline(cfg)));
	return boot;
}
