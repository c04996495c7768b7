// SPDX-License-Identifier: Apache-2.0
/* config_metrics.c - the "metrics" section (config file, PUT /metrics).  See config.h. */
#include "config.h"
#include "vmm/core/json.h"

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
