// SPDX-License-Identifier: Apache-2.0
/*
 * config_machine.c - the "machine-config" section (config file, PUT and
 * PATCH /machine-config, GET /machine-config).  See config.h.
 */
#include <string.h>

#include "config.h"
#include "vmm/core/json.h"
#include "vmm/x86/layout.h"

/* An integer field if present: *out keeps its value when absent. */
static void get_int(json_t *obj, const char *key, json_int_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v)
		*out = json_integer_value(v);
}

/* A boolean field if present: *out keeps its value when absent. */
static void get_bool(json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (v)
		*out = json_is_true(v);
}

/*
 * PUT gives the whole machine: a field it leaves out takes its default
 * (smt and track_dirty_pages false, huge_pages "None"), as Firecracker's
 * swagger says.  PATCH changes only the fields it names, and must name one.
 */
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
	bool hugepages = partial && cfg->hugepages, smt = partial && cfg->smt;
	bool dirty = partial && cfg->track_dirty_pages;
	int ret = json_check_fields("machine-config", obj, fields, 6, partial, err, errlen);

	if (ret)
		return ret;
	if (partial && !json_object_size(obj))
		return fail(err, errlen, "machine-config: a PATCH must name at least one field");
	get_int(obj, "vcpu_count", &vcpus);
	get_int(obj, "mem_size_mib", &mem);
	get_bool(obj, "smt", &smt);
	get_bool(obj, "track_dirty_pages", &dirty);
	huge = json_string_value(json_object_get(obj, "huge_pages"));
	tmpl = json_string_value(json_object_get(obj, "cpu_template"));
	if (vcpus < 1 || vcpus > EMBER_MAX_VCPUS)
		return fail(err, errlen, "machine-config: 'vcpu_count' must be between 1 and %d",
			    EMBER_MAX_VCPUS);
	/* x86: with SMT the vCPUs pair up as the two threads of a core. */
	if (smt && vcpus > 1 && vcpus % 2)
		return fail(err, errlen, "machine-config: with 'smt' true, 'vcpu_count' must be 1 "
			    "or an even number, not %lld", (long long)vcpus);
	if (mem < (json_int_t)EMBER_MIN_MEM_MIB || mem > (json_int_t)EMBER_MAX_MEM_MIB)
		return fail(err, errlen, "machine-config: 'mem_size_mib' must be between %llu and %llu",
			    EMBER_MIN_MEM_MIB, EMBER_MAX_MEM_MIB);
	if (huge && strcmp(huge, "None") && strcmp(huge, "2M"))
		return fail(err, errlen, "machine-config: 'huge_pages' must be \"None\" or \"2M\"");
	if (huge)
		hugepages = !strcmp(huge, "2M");
	if (hugepages && mem % 2)
		return fail(err, errlen, "machine-config: 'mem_size_mib' must be a multiple of 2 with 2M huge pages");
	if (tmpl && strcmp(tmpl, "None"))
		return fail(err, errlen, "machine-config: 'cpu_template' \"%s\" is not supported", tmpl);
	cfg->vcpus = (unsigned int)vcpus;
	cfg->mem_mib = (uint64_t)mem;
	cfg->hugepages = hugepages;
	cfg->smt = smt;
	cfg->track_dirty_pages = dirty;
	return 0;
}

json_t *config_machine_to_json(const struct vm_config *cfg)
{
	return json_pack("{si sI sb sb ss}", "vcpu_count", (int)cfg->vcpus,
			 "mem_size_mib", (json_int_t)cfg->mem_mib, "smt", cfg->smt,
			 "track_dirty_pages", cfg->track_dirty_pages,
			 "huge_pages", cfg->hugepages ? "2M" : "None");
}
