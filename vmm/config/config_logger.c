// SPDX-License-Identifier: Apache-2.0
/* config_logger.c - the "logger" section (config file, PUT /logger).  See config.h. */
#include "config.h"
#include "vmm/core/json.h"

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
		return fail(err, errlen, "logger: 'level' must be one of Error, Warning, Info, Debug, Trace, Off (any case)");
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
