// SPDX-License-Identifier: Apache-2.0
/*
 * test_cpu_template.c - CPU templates (vmm/x86/cpu_template.c,
 * cpu_static.c) and their place in the configuration (PUT /cpu-config,
 * machine-config "cpu_template", the config file's "cpu-config"): every
 * malformed template refused with a reason naming the entry, a valid one
 * applied bit-exactly to CPUID entries and MSR values, the static
 * templates refused on the wrong vendor or CPU model.
 */
#include <errno.h>
#include <jansson.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/config/config.h"
#include "vmm/x86/cpu_template.h"

/* ---- bitmaps and numbers --------------------------------------------------- */

static void test_bitmap_full_and_contracted(void **state)
{
	uint64_t m, v;
	char err[256];

	(void)state;
	/* The example of Firecracker's documentation: x keeps, 0 clears, 1 sets. */
	assert_ret(cpu_bitmap_parse("0bxxxx000000000011xx00011011110010", 32, &m, &v, err,
				    sizeof(err)), 0);
	assert_int_equal(m, 0x0fff3fff);
	assert_int_equal(v, 0x000306f2);
	/* A short bitmap keeps the bits it does not reach; no prefix; '_' skipped. */
	assert_ret(cpu_bitmap_parse("0b101", 32, &m, &v, err, sizeof(err)), 0);
	assert_int_equal(m, 0x7);
	assert_int_equal(v, 0x5);
	assert_ret(cpu_bitmap_parse("1_0x_1", 32, &m, &v, err, sizeof(err)), 0);
	assert_int_equal(m, 0xd);
	assert_int_equal(v, 0x9);
	assert_ret(cpu_bitmap_parse("0b", 32, &m, &v, err, sizeof(err)), 0);
	assert_int_equal(m, 0);
	/* 64 bits for MSRs: every bit decided, only the top one set. */
	assert_ret(cpu_bitmap_parse("0b1000000000000000000000000000000000000000000000000000000000000000",
				    64, &m, &v, err, sizeof(err)), 0);
	assert_true(m == ~0ULL && v == (1ULL << 63));
}

static void test_bitmap_malformed(void **state)
{
	static const struct { const char *s; unsigned int bits; const char *why; } bad[] = {
		{ "0b111111111111111111111111111111111", 32, "longer than 32 bits" },
		{ "0bx1111111111111111111111111111111_1", 32, "longer than 32 bits" },
		{ "0b10000000000000000000000000000000000000000000000000000000000000000", 64,
		  "longer than 64 bits" },
		{ "0b10y1", 32, "the character 'y'" },
		{ "0b1 1", 32, "the character ' '" },
		{ "0B11", 32, "the character 'B'" },
	};
	uint64_t m = 0xdead, v = 0xbeef;
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = 0;
		assert_ret_case(bad[i].s, cpu_bitmap_parse(bad[i].s, bad[i].bits, &m, &v, err,
							   sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].why))
			fail_msg("'%s': reason '%s' lacks '%s'", bad[i].s, err, bad[i].why);
	}
}

static void test_number(void **state)
{
	uint32_t n;
	char err[256];

	(void)state;
	assert_ret(cpu_number_parse("0x80000001", &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0x80000001);
	assert_ret(cpu_number_parse("0b000111", &n, err, sizeof(err)), 0);
	assert_int_equal(n, 7);
	assert_ret(cpu_number_parse("0xFFFFFFFF", &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0xffffffff);
	assert_ret(cpu_number_parse("1", &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no number prefix"));
	assert_ret(cpu_number_parse("0x", &n, err, sizeof(err)), -EINVAL);
	assert_ret(cpu_number_parse("0x1g", &n, err, sizeof(err)), -EINVAL);
	assert_ret(cpu_number_parse("0b102", &n, err, sizeof(err)), -EINVAL);
	assert_ret(cpu_number_parse("0x100000000", &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "out of range"));
}

/* ---- JSON templates -------------------------------------------------------- */

static int parse(const char *text, struct cpu_template **t, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loads(text, 0, &jerr);
	int ret;

	if (!o)
		fail_msg("bad test JSON: %s: %s", text, jerr.text);
	ret = cpu_template_from_json(o, t, err, errlen);
	json_decref(o);
	return ret;
}

#define LEAF1(mods) "{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", " \
		    "\"flags\": 0, \"modifiers\": [" mods "]}]}"

static void test_template_malformed(void **state)
{
	static const struct { const char *json, *why; } bad[] = {
		{ "[]", "must be a JSON object" },
		{ "{\"reg_modifiers\": []}", "unknown field 'reg_modifiers'" },
		{ "{\"cpuid_modifiers\": {}}", "'cpuid_modifiers' must be an array" },
		{ "{\"msr_modifiers\": 3}", "'msr_modifiers' must be an array" },
		{ "{\"cpuid_modifiers\": [7]}", "cpuid_modifiers[0]: must be an object" },
		{ "{\"cpuid_modifiers\": [{\"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}]}",
		  "cpuid_modifiers[0]: missing 'leaf'" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": 1, \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}]}",
		  "cpuid_modifiers[0]: 'leaf' must be a string" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": \"1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}]}",
		  "cpuid_modifiers[0]: \"1\" has no number prefix" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": \"0x100000000\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}]}",
		  "cpuid_modifiers[0]: \"0x100000000\" is out of range" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"flags\": 0, \"modifiers\": []}]}",
		  "cpuid_modifiers[0]: missing 'subleaf'" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"subleaf\": \"0x0\", \"modifiers\": []}]}",
		  "(leaf 0x7, subleaf 0x0): missing 'flags'" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"subleaf\": \"0x0\", \"flags\": -1, \"modifiers\": []}]}",
		  "(leaf 0x7, subleaf 0x0): 'flags' must be an integer" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"subleaf\": \"0x0\", \"flags\": \"1\", \"modifiers\": []}]}",
		  "'flags' must be an integer" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"subleaf\": \"0x0\", \"flags\": 0}]}",
		  "(leaf 0x7, subleaf 0x0): missing 'modifiers'" },
		{ LEAF1("{\"register\": \"ekx\", \"bitmap\": \"0b1\"}"),
		  "(leaf 0x1, subleaf 0x0): invalid CPUID register \"ekx\"" },
		{ LEAF1("{\"bitmap\": \"0b1\"}"), "(leaf 0x1, subleaf 0x0): missing 'register'" },
		{ LEAF1("{\"register\": \"eax\"}"), "(leaf 0x1, subleaf 0x0): missing 'bitmap'" },
		{ LEAF1("{\"register\": \"ecx\", \"bitmap\": 5}"), "'bitmap' must be a string" },
		{ LEAF1("{\"register\": \"ecx\", \"bitmap\": \"0b111111111111111111111111111111111\"}"),
		  "(leaf 0x1, subleaf 0x0), register ecx: bitmap \"0b111111111111111111111111111111111\" is longer than 32 bits" },
		{ LEAF1("{\"register\": \"edx\", \"bitmap\": \"0b12\"}"),
		  "(leaf 0x1, subleaf 0x0), register edx: bitmap \"0b12\" has the character '2'" },
		{ "{\"msr_modifiers\": [{\"addr\": \"0jj0\", \"bitmap\": \"0b1\"}]}",
		  "msr_modifiers[0]: \"0jj0\" has no number prefix" },
		{ "{\"msr_modifiers\": [{\"bitmap\": \"0b1\"}]}", "msr_modifiers[0]: missing 'addr'" },
		{ "{\"msr_modifiers\": [{\"addr\": \"0x10a\"}]}", "(MSR 0x10a): missing 'bitmap'" },
		{ "{\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": \"0b10000000000000000000000000000000000000000000000000000000000000000\"}]}",
		  "(MSR 0x10a): bitmap" },
		{ "{\"kvm_capabilities\": [56]}", "kvm_capabilities[0]: must be a string" },
		{ "{\"kvm_capabilities\": [\"!\"]}", "kvm_capabilities[0]: \"!\" is not a capability number" },
		{ "{\"kvm_capabilities\": [\"12\", \"0x5\"]}", "kvm_capabilities[1]: \"0x5\" is not a capability number" },
		{ "{\"kvm_capabilities\": [\"4294967296\"]}", "is out of range" },
	};
	struct cpu_template *t = NULL;
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = 0;
		assert_ret_case(bad[i].json, parse(bad[i].json, &t, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].why))
			fail_msg("%s: reason '%s' lacks '%s'", bad[i].json, err, bad[i].why);
	}
}

static const char valid_template[] =
	"{\"kvm_capabilities\": [\"!56\", \"+7\", \"12\"],"
	" \"cpuid_modifiers\": ["
	"  {\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": ["
	"    {\"register\": \"ecx\", \"bitmap\": \"0b0xxxxxxxxxxxxxxxxxxxxxxxxxxxx1xx\"},"
	"    {\"register\": \"edx\", \"bitmap\": \"0b1_0000\"}]},"
	"  {\"leaf\": \"0b111\", \"subleaf\": \"0x0\", \"flags\": 1, \"modifiers\": ["
	"    {\"register\": \"ebx\", \"bitmap\": \"0bxxxxxxxxxxxxxxxxxxxxxxxxxx0xxxxx\"},"
	"    {\"register\": \"eax\", \"bitmap\": \"0x1\"},"
	"    {\"register\": \"eax\", \"bitmap\": \"10\"}]}],"
	" \"msr_modifiers\": ["
	"  {\"addr\": \"0x277\", \"bitmap\": \"0b00000001\"},"
	"  {\"addr\": \"0x10a\", \"bitmap\": \"0b1xxx\"},"
	"  {\"addr\": \"0x277\", \"bitmap\": \"0b1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}";

static void test_template_apply_cpuid(void **state)
{
	struct kvm_cpuid_entry2 e[] = {
		{ .function = 0x0, .eax = 0xd },
		{ .function = 0x1, .eax = 0x00a00f11, .ecx = 0xf6f8320b, .edx = 0x078bfbff },
		{ .function = 0x7, .index = 0, .flags = 1, .eax = 0x0, .ebx = 0x219c97a9,
		  .ecx = 0x0040069c, .edx = 0x10 },
		{ .function = 0x7, .index = 1, .flags = 1, .eax = 0x30, .ebx = 0x55 },
	};
	struct kvm_cpuid_entry2 before[ARRAY_SIZE(e)];
	struct cpu_template *t;
	char err[256];

	(void)state;
	assert_ret(parse(valid_template, &t, err, sizeof(err)), 0);
	assert_int_equal(t->nr_leaves, 2);
	assert_int_equal(t->nr_msrs, 3);
	assert_int_equal(t->nr_caps, 3);
	memcpy(before, e, sizeof(e));
	assert_ret(cpu_template_apply_cpuid(t, e, ARRAY_SIZE(e), err, sizeof(err)), 0);
	/* leaf 1: ECX bit 31 cleared (hypervisor), bit 2 set; EDX bits 0-3
	 * cleared, bit 4 set; EAX/EBX untouched. */
	assert_int_equal(e[1].ecx, (0xf6f8320bU & ~(1U << 31)) | (1U << 2));
	assert_int_equal(e[1].edx, (0x078bfbffU & ~0xfU) | 0x10U);
	assert_int_equal(e[1].eax, before[1].eax);
	assert_int_equal(e[1].ebx, before[1].ebx);
	assert_int_equal(e[1].flags, 0);
	/* leaf 7.0: EBX bit 5 (AVX2) cleared; EAX: "0x1" (no prefix: '1'
	 * sets bit 0, 'x' keeps bit 1, '0' clears bit 2), then "10" sets bit 1
	 * and clears bit 0, applied in order. */
	assert_int_equal(e[2].ebx, 0x219c97a9U & ~(1U << 5));
	assert_int_equal(e[2].eax, 0x2);
	assert_int_equal(e[2].ecx, before[2].ecx);
	assert_int_equal(e[2].flags, 1);
	/* leaf 0 and leaf 7.1 are not in the template. */
	assert_memory_equal(&e[0], &before[0], sizeof(e[0]));
	assert_memory_equal(&e[3], &before[3], sizeof(e[3]));
	cpu_template_free(t);
}

static void test_template_leaf_not_offered(void **state)
{
	struct kvm_cpuid_entry2 e[] = {
		{ .function = 0x1, .ecx = 0x80000000 },
		{ .function = 0x7, .index = 0, .ebx = 0x20 },
	}, before[2];
	struct cpu_template *t;
	char err[256];

	(void)state;
	/* leaf 7 subleaf 1 is not among the entries: refused, nothing changed
	 * (not even leaf 1, listed first). */
	assert_ret(parse("{\"cpuid_modifiers\": ["
			 "{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": [{\"register\": \"ecx\", \"bitmap\": \"0b0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]},"
			 "{\"leaf\": \"0x7\", \"subleaf\": \"0x1\", \"flags\": 1, \"modifiers\": []}]}",
			 &t, err, sizeof(err)), 0);
	memcpy(before, e, sizeof(e));
	assert_ret(cpu_template_apply_cpuid(t, e, 2, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "leaf 0x7, subleaf 0x1, which is not in KVM's supported CPUID"));
	assert_memory_equal(e, before, sizeof(e));
	cpu_template_free(t);
}

static void test_template_msrs_and_caps(void **state)
{
	struct cpu_template *t;
	struct kvm_msrs *m;
	char err[256];

	(void)state;
	assert_ret(parse(valid_template, &t, err, sizeof(err)), 0);
	m = cpu_template_msr_list(t);
	assert_non_null(m);
	/* 0x277 named twice: read once. */
	assert_int_equal(m->nmsrs, 2);
	assert_int_equal(m->entries[0].index, 0x277);
	assert_int_equal(m->entries[1].index, 0x10a);
	m->entries[0].data = 0x0007040600070406ULL;   /* PAT at reset */
	m->entries[1].data = 0x0;
	cpu_template_apply_msrs(t, m);
	/* Low byte set to 0x01, then bit 63 set on top. */
	assert_true(m->entries[0].data == 0x8007040600070401ULL);
	assert_true(m->entries[1].data == 0x8);
	free(m);
	/* "!56" drops capability 56 from ember's checks; "+7" and "12" add. */
	assert_true(cpu_template_cap_removed(t, 56));
	assert_false(cpu_template_cap_removed(t, 7));
	assert_false(cpu_template_cap_removed(t, 12));
	assert_false(cpu_template_cap_removed(NULL, 56));
	assert_false(t->caps[1].remove);
	assert_int_equal(t->caps[1].cap, 7);
	cpu_template_free(t);
}

/* ---- static templates ------------------------------------------------------ */

#define SIG_SKYLAKE_SP      0x00050654
#define SIG_CASCADE_LAKE    0x00050657
#define SIG_ICE_LAKE_SP     0x000606a6
#define SIG_MILAN           0x00a00f11

static void test_static_vendor_and_model(void **state)
{
	struct cpu_template *t = NULL;
	char err[256];

	(void)state;
	assert_int_equal(cpu_vendor_of(0x756e6547, 0x49656e69, 0x6c65746e), CPU_VENDOR_INTEL);
	assert_int_equal(cpu_vendor_of(0x68747541, 0x69746e65, 0x444d4163), CPU_VENDOR_AMD);
	for (int s = CPU_STATIC_C3; s <= CPU_STATIC_T2CL; s++) {
		assert_ret(cpu_static_template(s, CPU_VENDOR_AMD, SIG_MILAN, &t, err, sizeof(err)),
			   -EINVAL);
		assert_non_null(strstr(err, "does not match the template's (Intel)"));
	}
	assert_ret(cpu_static_template(CPU_STATIC_T2A, CPU_VENDOR_INTEL, SIG_CASCADE_LAKE, &t, err,
				       sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "T2A: the CPU vendor of this host does not match the template's (AMD)"));
	assert_ret(cpu_static_template(CPU_STATIC_T2CL, CPU_VENDOR_INTEL, SIG_SKYLAKE_SP, &t, err,
				       sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "older than Intel Cascade Lake"));
	assert_ret(cpu_static_template(CPU_STATIC_NONE, CPU_VENDOR_INTEL, SIG_SKYLAKE_SP, &t, err,
				       sizeof(err)), -EINVAL);
	assert_ret(cpu_static_template(CPU_STATIC_T2CL, CPU_VENDOR_INTEL, SIG_CASCADE_LAKE, &t, err,
				       sizeof(err)), 0);
	cpu_template_free(t);
	assert_ret(cpu_static_template(CPU_STATIC_T2CL, CPU_VENDOR_INTEL, SIG_ICE_LAKE_SP, &t, err,
				       sizeof(err)), 0);
	cpu_template_free(t);
	/* Names: the swagger's enum, nothing else. */
	assert_int_equal(cpu_static_from_name("None"), CPU_STATIC_NONE);
	assert_int_equal(cpu_static_from_name("T2CL"), CPU_STATIC_T2CL);
	assert_int_equal(cpu_static_from_name("V1N1"), -1);
	assert_int_equal(cpu_static_from_name("t2"), -1);
	assert_string_equal(cpu_static_name(CPU_STATIC_T2S), "T2S");
}

/* T2A on a Milan-like CPUID: the masks land where Firecracker's do. */
static void test_static_t2a_applied(void **state)
{
	struct kvm_cpuid_entry2 e[] = {
		{ .function = 0x1, .eax = SIG_MILAN, .ecx = 0xfef83203, .edx = 0x178bfbff },
		{ .function = 0x7, .index = 0, .flags = 1, .ebx = 0x219c97a9, .ecx = 0x0040069c,
		  .edx = 0x10 },
		{ .function = 0xd, .index = 0, .flags = 1, .eax = 0x2e7 },
		{ .function = 0xd, .index = 1, .flags = 1, .eax = 0xf },
		{ .function = 0x80000001, .ecx = 0x75c237ff, .edx = 0x2fd3fbff },
		{ .function = 0x80000008, .ebx = 0x0300d205 },
	};
	struct cpu_template *t;
	char err[256];

	(void)state;
	assert_ret(cpu_static_template(CPU_STATIC_T2A, CPU_VENDOR_AMD, SIG_MILAN, &t, err,
				       sizeof(err)), 0);
	assert_int_equal(t->nr_msrs, 0);
	assert_ret(cpu_template_apply_cpuid(t, e, ARRAY_SIZE(e), err, sizeof(err)), 0);
	assert_int_equal(e[0].eax, 0x000306f2);                        /* the T2 signature */
	assert_int_equal(e[0].ecx, 0xfef83203U & ~0x0004cdfcU);
	assert_int_equal(e[0].edx, (0x178bfbffU & ~0xe8641080U) | 0x1080U);
	assert_int_equal(e[1].ebx, (0x219c97a9U & ~0xffefda14U) | 0x200U);
	assert_int_equal(e[1].ebx & (1U << 5), 1U << 5);               /* AVX2 stays */
	assert_int_equal(e[2].eax, 0x2e7U & ~0x2f8U);
	assert_int_equal(e[3].eax, 0x1);
	assert_int_equal(e[4].ecx, 0x75c237ffU & ~0x200001c4U);
	assert_int_equal(e[4].edx & (1U << 26), 0);                    /* no 1 GiB pages */
	assert_int_equal(e[5].ebx, (0x0300d205U & ~0x001c0205U) | 0x001c0004U);
	cpu_template_free(t);
}

static void test_static_intel_msrs(void **state)
{
	struct cpu_template *t;
	struct kvm_msrs *m;
	char err[256];

	(void)state;
	assert_ret(cpu_static_template(CPU_STATIC_T2S, CPU_VENDOR_INTEL, SIG_SKYLAKE_SP, &t, err,
				       sizeof(err)), 0);
	m = cpu_template_msr_list(t);
	assert_int_equal(m->nmsrs, 1);
	assert_int_equal(m->entries[0].index, 0x10a);
	m->entries[0].data = 0xffffffffffffffffULL;
	cpu_template_apply_msrs(t, m);
	assert_true(m->entries[0].data == 0x04080c4cULL);
	free(m);
	cpu_template_free(t);
	assert_ret(cpu_static_template(CPU_STATIC_T2CL, CPU_VENDOR_INTEL, SIG_CASCADE_LAKE, &t, err,
				       sizeof(err)), 0);
	m = cpu_template_msr_list(t);
	m->entries[0].data = 0xffffffffffffffffULL;
	cpu_template_apply_msrs(t, m);
	assert_true(m->entries[0].data == ~0xffffffffe2f51e00ULL);
	free(m);
	cpu_template_free(t);
	assert_ret(cpu_static_template(CPU_STATIC_C3, CPU_VENDOR_INTEL, SIG_SKYLAKE_SP, &t, err,
				       sizeof(err)), 0);
	assert_int_equal(t->nr_msrs, 0);
	assert_int_equal(t->nr_leaves, 5);   /* 1, 7.0, 0xd.0, 0xd.1, 0x80000001 */
	cpu_template_free(t);
}

/* ---- the configuration ----------------------------------------------------- */

static json_t *obj(const char *text)
{
	json_t *o = json_loads(text, 0, NULL);

	assert_non_null(o);
	return o;
}

static void test_config_last_template_wins(void **state)
{
	struct vm_config cfg;
	json_t *o, *m;
	char err[CONFIG_ERR_LEN];

	(void)state;
	config_init(&cfg);
	o = obj("{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"T2\"}");
	assert_ret(config_put_machine(&cfg, o, false, err, sizeof(err)), 0);
	json_decref(o);
	m = config_machine_to_json(&cfg);
	assert_string_equal(json_string_value(json_object_get(m, "cpu_template")), "T2");
	json_decref(m);
	/* A custom template replaces it; GET /machine-config names no template. */
	o = obj(valid_template);
	assert_ret(config_put_cpu_config(&cfg, o, err, sizeof(err)), 0);
	json_decref(o);
	assert_non_null(cfg.cpu_custom);
	m = config_machine_to_json(&cfg);
	assert_null(json_object_get(m, "cpu_template"));
	json_decref(m);
	/* machine-config without cpu_template keeps it; a bad one changes nothing. */
	o = obj("{\"vcpu_count\": 2, \"mem_size_mib\": 64}");
	assert_ret(config_put_machine(&cfg, o, false, err, sizeof(err)), 0);
	json_decref(o);
	assert_non_null(cfg.cpu_custom);
	o = obj("{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"V1N1\"}");
	assert_ret(config_put_machine(&cfg, o, false, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'cpu_template' \"V1N1\" is not one of None, C3, T2, T2S, T2CL, T2A"));
	json_decref(o);
	assert_non_null(cfg.cpu_custom);
	assert_int_equal(cfg.vcpus, 2);
	/* A malformed custom template leaves the one before in place. */
	o = obj("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\"}]}");
	assert_ret(config_put_cpu_config(&cfg, o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cpu-config: cpuid_modifiers[0]: missing 'subleaf'"));
	json_decref(o);
	assert_int_equal(cfg.cpu_custom->nr_leaves, 2);
	/* "None" removes the custom template too. */
	o = obj("{\"cpu_template\": \"None\"}");
	assert_ret(config_put_machine(&cfg, o, true, err, sizeof(err)), 0);
	json_decref(o);
	assert_null(cfg.cpu_custom);
	assert_int_equal(cfg.cpu_static, CPU_STATIC_NONE);
	config_free(&cfg);
}

static void test_config_file_cpu_config(void **state)
{
	char path[] = "/tmp/ember-test-tmpl-XXXXXX", text[512], err[CONFIG_ERR_LEN];
	struct vm_config cfg;
	int fd = mkstemp(path);
	const char tmpl[] = "{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0,"
			    " \"modifiers\": [{\"register\": \"ecx\", \"bitmap\": \"0b0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}]}";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, tmpl, strlen(tmpl)), (ssize_t)strlen(tmpl));
	close(fd);
	config_init(&cfg);
	/* cpu-config first in the file, machine-config's static template
	 * after: the custom one still wins. */
	snprintf(text, sizeof(text), "{\"cpu-config\": \"%s\", \"machine-config\": {\"vcpu_count\": 1,"
		 " \"mem_size_mib\": 64, \"cpu_template\": \"T2A\"}}", path);
	assert_ret(config_parse_json(&cfg, text, err, sizeof(err)), 0);
	assert_non_null(cfg.cpu_custom);
	assert_int_equal(cfg.cpu_custom->leaves[0].regs[0].mask, 0x80000000U);
	assert_int_equal(cfg.cpu_static, CPU_STATIC_NONE);
	config_free(&cfg);
	config_init(&cfg);
	assert_ret(config_parse_json(&cfg, "{\"cpu-config\": \"/nonexistent/tmpl.json\"}", err,
				     sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cpu-config: /nonexistent/tmpl.json"));
	assert_ret(config_parse_json(&cfg, "{\"cpu-config\": {}}", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must be the path"));
	assert_null(cfg.cpu_custom);
	config_free(&cfg);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmap_full_and_contracted),
		cmocka_unit_test(test_bitmap_malformed),
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_template_malformed),
		cmocka_unit_test(test_template_apply_cpuid),
		cmocka_unit_test(test_template_leaf_not_offered),
		cmocka_unit_test(test_template_msrs_and_caps),
		cmocka_unit_test(test_static_vendor_and_model),
		cmocka_unit_test(test_static_t2a_applied),
		cmocka_unit_test(test_static_intel_msrs),
		cmocka_unit_test(test_config_last_template_wins),
		cmocka_unit_test(test_config_file_cpu_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
