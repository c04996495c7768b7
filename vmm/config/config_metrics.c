// SPDX-License-Identifier: Apache-2.0
/*
 * config_metrics.c - the "metrics" section (config file, PUT /metrics): the
 * metrics file, and what every line carries on top of the counters: the
 * instance id ("emit_id") and operator key/value pairs ("properties"),
 * bounded as Firecracker bounds them.  See config.h.
 */
#include <string.h>

#include "config.h"
#include "vmm/core/json.h"

static int check_properties(json_t *props, char *err, size_t errlen)
{
	const char *key;
	json_t *val;

	if (json_object_size(props) > CONFIG_METRICS_MAX_PROPS)
		return fail(err, errlen, "metrics: at most %d 'properties'", CONFIG_METRICS_MAX_PROPS);
	json_object_foreach(props, key, val) {
		if (!json_is_string(val))
			return fail(err, errlen, "metrics: property '%.64s' must be a string", key);
		if (!*key || strlen(key) > CONFIG_METRICS_MAX_KEY_LEN)
			return fail(err, errlen, "metrics: a property key must be 1-%d bytes",
				    CONFIG_METRICS_MAX_KEY_LEN);
		if (json_string_length(val) > CONFIG_METRICS_MAX_VALUE_LEN)
			return fail(err, errlen, "metrics: property '%s' is longer than %d bytes",
				    key, CONFIG_METRICS_MAX_VALUE_LEN);
	}
	return 0;
}

int config_put_metrics(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "metrics_path", JSON_STRING, true },
		{ "emit_id", JSON_TRUE, false },
		{ "properties", JSON_OBJECT, false },
	};
	const char *path;
	json_t *props;
	int ret = json_check_fields("metrics", obj, fields, 3, false, err, errlen);

	if (ret)
		return ret;
	path = json_string_value(json_object_get(obj, "metrics_path"));
	props = json_object_get(obj, "properties");
	if (!*path)
		return fail(err, errlen, "metrics: 'metrics_path' is empty");
	if (props && (ret = check_properties(props, err, errlen)))
		return ret;
	set_str(&cfg->metrics_path, path);
	cfg->metrics_emit_id = json_is_true(json_object_get(obj, "emit_id"));
	json_decref(cfg->metrics_properties);
	cfg->metrics_properties = props && json_object_size(props) ? json_deep_copy(props) : NULL;
	return 0;
}
