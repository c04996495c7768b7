// SPDX-License-Identifier: Apache-2.0
/*
 * config_machine.c - the "machine-config" section (config file, PUT and
 * PATCH /machine-config, GET /machine-config).  See config.h.
 */
#include <string.h>

#include "config.h"
#include "vmm/core/json.h"
#include "vmm/x86/layout.h"

/* machine-config "huge_pages" values, indexed by enum gm_pages.  Nothing
 * asked reads back as "None", Firecracker's default, although ember then
 * asks for transparent huge pages (docs/api.md). */
static const char *const huge_pages_names[] = {
	[GM_PAGES_DEFAULT] = "None",
	[GM_PAGES_NORMAL] = "None",
	[GM_PAGES_HUGETLB] = "2M",
	[GM_PAGES_THP] = "Transparent",
};

/* The enum gm_pages named `name` ("None" is GM_PAGES_NORMAL), or -1. */
static int huge_pages_parse(const char *name)
{
	for (size_t i = GM_PAGES_NORMAL; i < sizeof(huge_pages_names) / sizeof(huge_pages_names[0]); i++)
		if (!strcmp(name, huge_pages_names[i]))
			return (int)i;
	return -1;
}

/* An integer field if present: *out keeps its value when absent. */
static void get_int(json_t *obj, const char *key, json_int_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v)
		*out = json_integer_value(v);
}

int config_put_machine(struct vm_config *cfg, json_t *obj, bool partial,
		       char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "vcpu_count", JSON_INTEGER, true },
		{ "mem_size_mib", JSON_INTEGER, true },
		{ "smt", JSON_TRUE, false },
		{ "track_dirty_pages", JSON_TRUE, false },
		{ "huge_pages", JSON_STRING, false },
		{ "cpu_template", JSON_STRING, false },
	};
	json_int_t vcpus = cfg->vcpus, mem = (json_int_t)cfg->mem_mib;
	const char *huge, *tmpl;
	enum gm_pages pages = cfg->hugepages;
	int ret = json_check_fields("machine-config", obj, fields, 6, partial, err, errlen);

	if (ret)
		return ret;
	get_int(obj, "vcpu_count", &vcpus);
	get_int(obj, "mem_size_mib", &mem);
	huge = json_string_value(json_object_get(obj, "huge_pages"));
	tmpl = json_string_value(json_object_get(obj, "cpu_template"));
	if (vcpus < 1 || vcpus > EMBER_MAX_VCPUS)
		return fail(err, errlen, "machine-config: 'vcpu_count' must be between 1 and %d",
			    EMBER_MAX_VCPUS);
	if (mem < (json_int_t)EMBER_MIN_MEM_MIB || mem > (json_int_t)EMBER_MAX_MEM_MIB)
		return fail(err, errlen, "machine-config: 'mem_size_mib' must be between %llu and %llu",
			    EMBER_MIN_MEM_MIB, EMBER_MAX_MEM_MIB);
	if (json_is_true(json_object_get(obj, "smt")))
		return fail(err, errlen, "machine-config: 'smt' is not supported (must be false)");
	if (huge && huge_pages_parse(huge) < 0)
		return fail(err, errlen,
			    "machine-config: 'huge_pages' must be \"None\", \"Transparent\" or \"2M\"");
	if (huge)
		pages = (enum gm_pages)huge_pages_parse(huge);
	if (pages == GM_PAGES_HUGETLB && mem % 2)
		return fail(err, errlen, "machine-config: 'mem_size_mib' must be a multiple of 2 with 2M huge pages");
	if (tmpl && strcmp(tmpl, "None"))
		return fail(err, errlen, "machine-config: 'cpu_template' \"%s\" is not supported", tmpl);
	cfg->vcpus = (unsigned int)vcpus;
	cfg->mem_mib = (uint64_t)mem;
	cfg->hugepages = pages;
	return 0;
}

json_t *config_machine_to_json(const struct vm_config *cfg)
{
	return json_pack("{si sI sb sb ss}", "vcpu_count", (int)cfg->vcpus,
			 "mem_size_mib", (json_int_t)cfg->mem_mib, "smt", 0,
			 "track_dirty_pages", 0, "huge_pages", huge_pages_names[cfg->hugepages]);
}
