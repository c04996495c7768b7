// SPDX-License-Identifier: Apache-2.0
/*
 * test_sandbox.c - the seccompiler JSON policy parser and printer
 * (vmm/core/sandbox.c) and the built-in policy (vmm/sandbox_policy.c): every
 * field read back, actions and operators, every malformed policy refused
 * with a reason, the built-in policy printed and parsed back unchanged.
 * Nothing is compiled or installed here (that would confine the test).
 */
#include "unit.h"

#include <errno.h>

#include "vmm/core/sandbox.h"
#include "vmm/sandbox_policy.h"

#define FILTER(def, rules) \
	"{\"default_action\": " def ", \"filter_action\": \"allow\", \"filter\": [" rules "]}"
#define MINIMAL(vmm_rules) \
	"{\"vmm\": " FILTER("\"kill_process\"", vmm_rules) ", " \
	"\"api\": " FILTER("\"trap\"", "") ", \"vcpu\": " FILTER("\"log\"", "") "}"

static const struct sandbox_rule *rule0(const struct sandbox_policy *p, enum sandbox_class c)
{
	assert_true(p->f[c].nparts == 1 && p->f[c].parts[0].n > 0);
	return &p->f[c].parts[0].rules[0];
}

static void test_parse_fields(void **state)
{
	const char *text = MINIMAL(
		"{\"syscall\": \"ioctl\", \"comment\": \"KVM\", \"args\": ["
		" {\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": 44672, \"comment\": \"KVM_RUN\"},"
		" {\"index\": 2, \"type\": \"qword\", \"op\": {\"masked_eq\": 4}, \"val\": 0}]},"
		"{\"syscall\": \"read\"}");
	struct sandbox_policy p;
	char err[256] = "";
	const struct sandbox_rule *r;

	(void)state;
	assert_int_equal(sandbox_policy_parse(&p, text, err, sizeof(err)), 0);
	assert_true(p.f[SANDBOX_VMM].present && p.f[SANDBOX_API].present &&
		    p.f[SANDBOX_VCPU].present);
	assert_false(p.f[SANDBOX_VMM_BOOT].present);
	assert_int_equal(p.f[SANDBOX_VMM].default_action, SANDBOX_KILL_PROCESS);
	assert_int_equal(p.f[SANDBOX_VMM].filter_action, SANDBOX_ALLOW);
	assert_int_equal(p.f[SANDBOX_API].default_action, SANDBOX_TRAP);
	assert_int_equal(p.f[SANDBOX_VCPU].default_action, SANDBOX_LOG);
	r = rule0(&p, SANDBOX_VMM);
	assert_string_equal(r->syscall, "ioctl");
	assert_string_equal(r->comment, "KVM");
	assert_int_equal(r->nargs, 2);
	assert_int_equal(r->args[0].index, 1);
	assert_false(r->args[0].qword);
	assert_int_equal(r->args[0].op, SANDBOX_EQ);
	assert_int_equal(r->args[0].val, 44672);
	assert_string_equal(r->args[0].comment, "KVM_RUN");
	assert_true(r->args[1].qword);
	assert_int_equal(r->args[1].op, SANDBOX_MASKED_EQ);
	assert_int_equal(r->args[1].mask, 4);
	assert_int_equal(p.f[SANDBOX_VMM].parts[0].n, 2);
	assert_int_equal(sandbox_filter_count(&p.f[SANDBOX_VMM]), 2);
	sandbox_policy_free(&p);
}

static void test_parse_actions_and_ops(void **state)
{
	static const struct { const char *json; uint32_t action; } actions[] = {
		{ "\"allow\"", SANDBOX_ALLOW }, { "\"trap\"", SANDBOX_TRAP },
		{ "\"log\"", SANDBOX_LOG }, { "\"kill_thread\"", SANDBOX_KILL_THREAD },
		{ "\"kill_process\"", SANDBOX_KILL_PROCESS },
		{ "{\"errno\": 1}", SANDBOX_ERRNO(1) }, { "{\"trace\": 7}", SANDBOX_TRACE(7) },
	};
	static const char *const ops[] = { "eq", "ne", "lt", "le", "gt", "ge" };
	char text[1024], err[256];
	struct sandbox_policy p;

	(void)state;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"vmm\": {\"default_action\": %s, \"filter_action\": %s, \"filter\": []},"
			 " \"api\": " FILTER("\"trap\"", "") ", \"vcpu\": " FILTER("\"trap\"", "") "}",
			 actions[i].json, actions[i].action == SANDBOX_ALLOW ? "\"log\"" : "\"allow\"");
		assert_int_equal(sandbox_policy_parse(&p, text, err, sizeof(err)), 0);
		assert_int_equal(p.f[SANDBOX_VMM].default_action, actions[i].action);
		sandbox_policy_free(&p);
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		snprintf(text, sizeof(text), MINIMAL("{\"syscall\": \"mmap\", \"args\": [{\"index\": 2, "
			 "\"type\": \"dword\", \"op\": \"%s\", \"val\": 3}]}"), ops[i]);
		assert_int_equal(sandbox_policy_parse(&p, text, err, sizeof(err)), 0);
		assert_int_equal(rule0(&p, SANDBOX_VMM)->args[0].op, (enum sandbox_op)i);
		sandbox_policy_free(&p);
	}
}

/* Each malformed policy is refused, with a reason naming what is wrong. */
static void test_parse_errors(void **state)
{
	static const struct { const char *text, *reason; } bad[] = {
		{ "{\"vmm\": ", "not valid JSON" },
		{ "[]", "object of thread names" },
		{ MINIMAL("") ",", "not valid JSON" },
		{ "{\"vmm\": " FILTER("\"trap\"", "") "}", "no filter for the 'api' thread" },
		{ "{\"api\": " FILTER("\"trap\"", "") ", \"vcpu\": " FILTER("\"trap\"", "") "}",
		  "no filter for the 'vmm' thread" },
		{ "{\"vmm\": " FILTER("\"trap\"", "") ", \"api\": " FILTER("\"trap\"", "")
		  ", \"vcpu\": " FILTER("\"trap\"", "") ", \"gpu\": {}}", "unknown thread 'gpu'" },
		{ "{\"vmm\": 3}", "a filter is an object" },
		{ MINIMAL("{\"syscall\": \"frobnicate\"}"), "unknown system call 'frobnicate'" },
		{ MINIMAL("{\"syscall\": 5}"), "'syscall' must be a string" },
		{ MINIMAL("{\"args\": []}"), "missing required field 'syscall'" },
		{ MINIMAL("{\"syscall\": \"read\", \"bogus\": 1}"), "unknown field 'bogus'" },
		{ MINIMAL("{\"syscall\": \"read\", \"args\": [{\"index\": 6, \"type\": \"dword\", "
			  "\"op\": \"eq\", \"val\": 0}]}"), "index 6" },
		{ MINIMAL("{\"syscall\": \"read\", \"args\": [{\"index\": -1, \"type\": \"dword\", "
			  "\"op\": \"eq\", \"val\": 0}]}"), "index -1" },
		{ MINIMAL("{\"syscall\": \"read\", \"args\": [{\"index\": 0, \"type\": \"word\", "
			  "\"op\": \"eq\", \"val\": 0}]}"), "type 'word'" },
		{ MINIMAL("{\"syscall\": \"read\", \"args\": [{\"index\": 0, \"type\": \"dword\", "
			  "\"op\": \"about\", \"val\": 0}]}"), "unknown op 'about'" },
		{ MINIMAL("{\"syscall\": \"read\", \"args\": [{\"index\": 0, \"type\": \"dword\", "
			  "\"op\": {\"masked\": 1}, \"val\": 0}]}"), "masked_eq" },
		{ MINIMAL("{\"syscall\": \"read\", \"args\": [{\"index\": 0, \"type\": \"dword\", "
			  "\"op\": \"eq\", \"val\": 4294967296}]}"), "does not fit 32 bits" },
		{ MINIMAL("{\"syscall\": \"read\", \"args\": [{\"index\": 0, \"type\": \"dword\", "
			  "\"op\": \"eq\"}]}"), "missing required field 'val'" },
		{ "{\"vmm\": " FILTER("\"explode\"", "") ", \"api\": " FILTER("\"trap\"", "")
		  ", \"vcpu\": " FILTER("\"trap\"", "") "}", "vmm: default_action: unknown action 'explode'" },
		{ "{\"vmm\": " FILTER("{\"errno\": 70000}", "") ", \"api\": " FILTER("\"trap\"", "")
		  ", \"vcpu\": " FILTER("\"trap\"", "") "}", "errno needs a number" },
		{ "{\"vmm\": " FILTER("{\"signal\": 1}", "") ", \"api\": " FILTER("\"trap\"", "")
		  ", \"vcpu\": " FILTER("\"trap\"", "") "}", "unknown action 'signal'" },
		{ "{\"vmm\": " FILTER("\"allow\"", "") ", \"api\": " FILTER("\"trap\"", "")
		  ", \"vcpu\": " FILTER("\"trap\"", "") "}", "filter_action is the default_action" },
		{ "{\"vmm\": {\"default_action\": \"trap\", \"filter\": []}, \"api\": "
		  FILTER("\"trap\"", "") ", \"vcpu\": " FILTER("\"trap\"", "") "}",
		  "missing required field 'filter_action'" },
		{ MINIMAL("{\"syscall\": \"read\", \"args\": [1, 2, 3, 4, 5, 6, 7]}"),
		  "at most 6 argument conditions" },
	};
	struct sandbox_policy p;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(sandbox_policy_parse(&p, bad[i].text, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].reason))
			fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].reason);
	}
}

/* The built-in policy printed and parsed back gives the same rules, the
 * printed text again the same text. */
static void test_builtin_round_trip(void **state)
{
	struct sandbox_policy builtin, parsed;
	char *text, *again, err[256] = "";

	(void)state;
	sandbox_policy_builtin(&builtin);
	for (int c = 0; c < SANDBOX_NR; c++) {
		assert_true(builtin.f[c].present);
		assert_int_equal(builtin.f[c].default_action, SANDBOX_KILL_PROCESS);
	}
	/* vmm_boot holds vmm and vcpu (the vCPU threads inherit it) */
	assert_true(sandbox_filter_count(&builtin.f[SANDBOX_VMM_BOOT]) >
		    sandbox_filter_count(&builtin.f[SANDBOX_VMM]));
	text = sandbox_policy_print(&builtin);
	assert_non_null(text);
	if (sandbox_policy_parse(&parsed, text, err, sizeof(err)))
		fail_msg("the printed policy does not parse: %s", err);
	for (int c = 0; c < SANDBOX_NR; c++)
		assert_int_equal(sandbox_filter_count(&parsed.f[c]),
				 sandbox_filter_count(&builtin.f[c]));
	again = sandbox_policy_print(&parsed);
	assert_string_equal(again, text);
	sandbox_policy_free(&parsed);
	free(again);
	free(text);
}

/* Every rule of the built-in policy names a call libseccomp knows and says
 * why it is there. */
static void test_builtin_rules_commented(void **state)
{
	struct sandbox_policy p;

	(void)state;
	sandbox_policy_builtin(&p);
	for (int c = 0; c < SANDBOX_NR; c++)
		for (unsigned int i = 0; i < p.f[c].nparts; i++)
			for (size_t j = 0; j < p.f[c].parts[i].n; j++) {
				const struct sandbox_rule *r = &p.f[c].parts[i].rules[j];

				if (!r->comment || !*r->comment)
					fail_msg("%s: %s has no comment", sandbox_class_names[c],
						 r->syscall);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_actions_and_ops),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_builtin_round_trip),
		cmocka_unit_test(test_builtin_rules_commented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
