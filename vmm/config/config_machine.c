// SPDX-License-Identifier: Apache-2.0
/*
 * config_machine.c - the "machine-config" section (config file, PUT and
 * PATCH /machine-config, GET /machine-config).  See config.h.
 */
#include <string.h>

#include "config.h"
#include "vmm/core/json.h"
#include "vmm/x86/cpu_template.h"
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

/* A boolean field if present: *out keeps its value when absent. */
static void get_bool(json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (v)
		*out = json_is_true(v);
}

/*
 * PUT gives the whole machine: a field it leaves out takes its default
 * (smt and track_dirty_pages false, huge_pages "None" as read back: ember's
 * GM_PAGES_DEFAULT), as Firecracker's swagger says.  PATCH changes only the fields it names, and must name one.
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
	enum gm_pages pages = partial ? cfg->hugepages : GM_PAGES_DEFAULT;
	bool smt = partial && cfg->smt, dirty = partial && cfg->track_dirty_pages;
	int cpu_static = -1;
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
	if (huge && huge_pages_parse(huge) < 0)
		return fail(err, errlen,
			    "machine-config: 'huge_pages' must be \"None\", \"Transparent\" or \"2M\"");
	if (huge)
		pages = (enum gm_pages)huge_pages_parse(huge);
	if (pages == GM_PAGES_HUGETLB && mem % 2)
		return fail(err, errlen, "machine-config: 'mem_size_mib' must be a multiple of 2 with 2M huge pages");
	/* Absent: the template set before stays; "None" removes the static or
	 * custom one (Firecracker). */
	if (tmpl && (cpu_static = cpu_static_from_name(tmpl)) < 0)
		return fail(err, errlen, "machine-config: 'cpu_template' \"%s\" is not one of None, C3, T2, T2S, T2CL, T2A",
			    tmpl);
	if (cpu_static >= 0) {
		cpu_template_free(cfg->cpu_custom);
		cfg->cpu_custom = NULL;
		cfg->cpu_static = cpu_static;
	}
	cfg->vcpus = (unsigned int)vcpus;
	cfg->mem_mib = (uint64_t)mem;
	cfg->hugepages = pages;
	cfg->smt = smt;
	cfg->track_dirty_pages = dirty;
	return 0;
}

json_t *config_machine_to_json(const struct vm_config *cfg)
{
	json_t *m = json_pack("{si sI sb sb ss}", "vcpu_count", (int)cfg->vcpus,
			      "mem_size_mib", (json_int_t)cfg->mem_mib, "smt", cfg->smt,
			      "track_dirty_pages", cfg->track_dirty_pages,
			      "huge_pages", huge_pages_names[cfg->hugepages]);

	/* Firecracker names a static template only (none or a custom one: absent). */
	if (cfg->cpu_static != CPU_STATIC_NONE)
		json_object_set_new(m, "cpu_template", json_string(cpu_static_name(cfg->cpu_static)));
	return m;
}
