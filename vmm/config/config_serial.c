// SPDX-License-Identifier: Apache-2.0
/*
 * config_serial.c - the "serial" section (config file, PUT /serial): the
 * file or named pipe the guest console is written to instead of stdout,
 * and the token bucket that caps it.  See config.h.
 */
#include <stdlib.h>

#include "config_section.h"
#include "vmm/core/json.h"

int config_put_serial(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "serial_out_path", JSON_STRING, false },
		{ "rate_limiter", JSON_OBJECT, false },
	};
	struct token_bucket_cfg tb = { 0 };
	json_t *path = NULL, *rl;
	int ret;

	/* null: the key left out (Firecracker's Option) */
	if (json_is_object(obj) && json_is_null(json_object_get(obj, "serial_out_path")))
		json_object_del(obj, "serial_out_path");
	ret = json_check_fields("serial", obj, fields, 2, false, err, errlen);
	if (ret)
		return ret;
	path = json_object_get(obj, "serial_out_path");
	if (path && !*json_string_value(path))
		return fail(err, errlen, "serial: 'serial_out_path' is empty");
	rl = json_object_get(obj, "rate_limiter");
	if (rl && (ret = config_parse_token_bucket("serial.rate_limiter", rl, &tb, err, errlen)))
		return ret;
	free(cfg->serial.out_path);
	cfg->serial.out_path = NULL;
	if (path)
		set_str(&cfg->serial.out_path, json_string_value(path));
	cfg->serial.rate_limited = rl != NULL;
	cfg->serial.rate_limiter = tb;
	return 0;
}

const struct token_bucket_cfg *config_console_budget(const struct vm_config *cfg)
{
	return cfg->serial.rate_limited ? &cfg->serial.rate_limiter : &cfg->console_budget;
}
