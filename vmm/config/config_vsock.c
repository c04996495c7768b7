// SPDX-License-Identifier: Apache-2.0
/* config_vsock.c - the "vsock" section (config file, PUT /vsock).  See config.h. */
#include <stdint.h>
#include <string.h>

#include "config_section.h"
#include "vmm/core/json.h"

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

json_t *config_vsock_to_json(const struct vsock_cfg *v)
{
	return json_pack("{sI ss}", "guest_cid", (json_int_t)v->guest_cid, "uds_path",
			 v->uds_path);
}
