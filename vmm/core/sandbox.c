// SPDX-License-Identifier: Apache-2.0
/* sandbox.c - see sandbox.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <jansson.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "json.h"
#include "log.h"

const char *const sandbox_class_names[SANDBOX_NR] = {
	[SANDBOX_VMM] = "vmm", [SANDBOX_API] = "api", [SANDBOX_VCPU] = "vcpu",
	[SANDBOX_VMM_BOOT] = "vmm_boot",
};

static const char *const op_names[] = {
	[SANDBOX_EQ] = "eq", [SANDBOX_NE] = "ne", [SANDBOX_LT] = "lt", [SANDBOX_LE] = "le",
	[SANDBOX_GT] = "gt", [SANDBOX_GE] = "ge", [SANDBOX_MASKED_EQ] = "masked_eq",
};

static const struct { const char *name; uint32_t action; } simple_actions[] = {
	{ "allow", SANDBOX_ALLOW }, { "trap", SANDBOX_TRAP }, { "log", SANDBOX_LOG },
	{ "kill_thread", SANDBOX_KILL_THREAD }, { "kill_process", SANDBOX_KILL_PROCESS },
};

/* ---- JSON → policy ----------------------------------------------------------- */

/* "allow" | "trap" | "log" | "kill_thread" | "kill_process" | {"errno": N} | {"trace": N} */
static int parse_action(json_t *j, const char *what, uint32_t *out, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (json_is_string(j)) {
		for (size_t i = 0; i < sizeof(simple_actions) / sizeof(simple_actions[0]); i++)
			if (!strcmp(json_string_value(j), simple_actions[i].name)) {
				*out = simple_actions[i].action;
				return 0;
			}
		return fail(err, errlen, "%s: unknown action '%s'", what, json_string_value(j));
	}
	if (!json_is_object(j) || json_object_size(j) != 1)
		return fail(err, errlen, "%s: an action is a string or {\"errno\": N} / {\"trace\": N}",
			    what);
	json_object_foreach(j, key, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 0xffff)
			return fail(err, errlen, "%s: %s needs a number from 0 to 65535", what, key);
		if (!strcmp(key, "errno"))
			*out = SANDBOX_ERRNO((uint32_t)json_integer_value(v));
		else if (!strcmp(key, "trace"))
			*out = SANDBOX_TRACE((uint32_t)json_integer_value(v));
		else
			return fail(err, errlen, "%s: unknown action '%s'", what, key);
	}
	return 0;
}

static int parse_op(json_t *j, struct sandbox_arg *a, const char *what, char *err, size_t errlen)
{
	json_t *mask;

	if (json_is_string(j)) {
		for (size_t i = 0; i < SANDBOX_MASKED_EQ; i++)
			if (!strcmp(json_string_value(j), op_names[i])) {
				a->op = (enum sandbox_op)i;
				return 0;
			}
		return fail(err, errlen, "%s: unknown op '%s'", what, json_string_value(j));
	}
	mask = json_object_get(j, "masked_eq");
	if (!json_is_object(j) || json_object_size(j) != 1 || !json_is_integer(mask))
		return fail(err, errlen, "%s: op is eq, ne, lt, le, gt, ge or {\"masked_eq\": MASK}",
			    what);
	a->op = SANDBOX_MASKED_EQ;
	a->mask = (uint64_t)json_integer_value(mask);
	return 0;
}

static int parse_arg(json_t *j, struct sandbox_arg *a, const char *what, char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "index", JSON_INTEGER, true }, { "type", JSON_STRING, true },
		{ "op", JSON_NULL, true }, { "val", JSON_INTEGER, true },
		{ "comment", JSON_STRING, false },
	};
	json_t *index = json_object_get(j, "index"), *type = json_object_get(j, "type");
	json_t *val = json_object_get(j, "val");
	int ret = json_check_fields(what, j, fields, sizeof(fields) / sizeof(fields[0]), false,
				    err, errlen);

	if (ret)
		return ret;
	if (json_integer_value(index) < 0 || json_integer_value(index) >= SANDBOX_MAX_ARGS)
		return fail(err, errlen, "%s: index %lld: a system call has arguments 0 to 5", what,
			    (long long)json_integer_value(index));
	a->index = (unsigned int)json_integer_value(index);
	if (!strcmp(json_string_value(type), "qword"))
		a->qword = true;
	else if (strcmp(json_string_value(type), "dword"))
		return fail(err, errlen, "%s: type '%s': dword or qword", what,
			    json_string_value(type));
	ret = parse_op(json_object_get(j, "op"), a, what, err, errlen);
	if (ret)
		return ret;
	a->val = (uint64_t)json_integer_value(val);
	if (!a->qword && (a->val > UINT32_MAX || (a->op == SANDBOX_MASKED_EQ && a->mask > UINT32_MAX)))
		return fail(err, errlen, "%s: a dword value does not fit 32 bits", what);
	if (json_object_get(j, "comment"))
		a->comment = strdup(json_string_value(json_object_get(j, "comment")));
	return 0;
}

static int parse_rule(json_t *j, struct sandbox_rule *r, const char *what, char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "syscall", JSON_STRING, true }, { "args", JSON_ARRAY, false },
		{ "comment", JSON_STRING, false },
	};
	json_t *args = json_object_get(j, "args"), *a;
	char where[96];
	size_t i;
	int ret = json_check_fields(what, j, fields, sizeof(fields) / sizeof(fields[0]), false,
				    err, errlen);

	if (ret)
		return ret;
	r->syscall = strdup(json_string_value(json_object_get(j, "syscall")));
	if (json_object_get(j, "comment"))
		r->comment = strdup(json_string_value(json_object_get(j, "comment")));
	if (seccomp_syscall_resolve_name(r->syscall) == __NR_SCMP_ERROR)
		return fail(err, errlen, "%s: unknown system call '%s'", what, r->syscall);
	if (json_array_size(args) > SANDBOX_MAX_ARGS)
		return fail(err, errlen, "%s (%s): at most %d argument conditions", what,
			    r->syscall, SANDBOX_MAX_ARGS);
	json_array_foreach(args, i, a) {
		snprintf(where, sizeof(where), "%s (%s) args[%zu]", what, r->syscall, i);
		ret = parse_arg(a, &r->args[i], where, err, errlen);
		if (ret)
			return ret;
		r->nargs++;
	}
	return 0;
}

static int parse_filter(json_t *j, struct sandbox_filter *f, const char *thread, char *err,
			size_t errlen)
{
	static const struct json_field fields[] = {
		{ "default_action", JSON_NULL, true }, { "filter_action", JSON_NULL, true },
		{ "filter", JSON_ARRAY, true },
	};
	json_t *rules = json_object_get(j, "filter"), *r;
	struct sandbox_rule *list;
	char what[64];
	size_t i;
	int ret = json_check_fields(thread, j, fields, sizeof(fields) / sizeof(fields[0]), false,
				    err, errlen);

	if (ret)
		return ret;
	snprintf(what, sizeof(what), "%s: default_action", thread);
	ret = parse_action(json_object_get(j, "default_action"), what, &f->default_action,
			   err, errlen);
	snprintf(what, sizeof(what), "%s: filter_action", thread);
	if (!ret)
		ret = parse_action(json_object_get(j, "filter_action"), what, &f->filter_action,
				   err, errlen);
	if (ret)
		return ret;
	if (f->default_action == f->filter_action)
		return fail(err, errlen, "%s: filter_action is the default_action", thread);
	list = calloc(json_array_size(rules) + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	f->present = true;
	f->parts[0] = (struct sandbox_list){ .rules = list };
	f->nparts = 1;
	json_array_foreach(rules, i, r) {
		snprintf(what, sizeof(what), "%s: filter[%zu]", thread, i);
		f->parts[0].n++;  /* counted first: freed even when half parsed */
		ret = parse_rule(r, &list[i], what, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int sandbox_policy_parse(struct sandbox_policy *p, const char *text, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr), *v;
	const char *key;
	int ret = 0;

	memset(p, 0, sizeof(*p));
	p->owned = true;
	if (!root)
		return fail(err, errlen, "not valid JSON: %s (line %d, column %d)", jerr.text,
			    jerr.line, jerr.column);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errlen, "the top level must be an object of thread names");
	}
	json_object_foreach(root, key, v) {
		int c = 0;

		while (c < SANDBOX_NR && strcmp(key, sandbox_class_names[c]))
			c++;
		if (c == SANDBOX_NR)
			ret = fail(err, errlen, "unknown thread '%s' (vmm, api, vcpu, vmm_boot)", key);
		else if (!json_is_object(v))
			ret = fail(err, errlen, "%s: a filter is an object", key);
		else
			ret = parse_filter(v, &p->f[c], key, err, errlen);
		if (ret)
			break;
	}
	json_decref(root);
	for (int c = 0; !ret && c < SANDBOX_VMM_BOOT; c++)
		if (!p->f[c].present)
			ret = fail(err, errlen, "no filter for the '%s' thread", sandbox_class_names[c]);
	if (ret)
		sandbox_policy_free(p);
	return ret;
}

int sandbox_policy_load(struct sandbox_policy *p, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	char *text, msg[192];
	int ret;

	memset(p, 0, sizeof(*p));
	if (!root) {
		if (jerr.line < 0 || strstr(jerr.text, "unable to open"))
			return fail(err, errlen, "seccomp filter %s: %s", path, jerr.text);
		return fail(err, errlen, "seccomp filter %s: not valid JSON: %s (line %d, column %d)",
			    path, jerr.text, jerr.line, jerr.column);
	}
	text = json_dumps(root, JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return fail(err, errlen, "seccomp filter %s: out of memory", path);
	ret = sandbox_policy_parse(p, text, msg, sizeof(msg));
	free(text);
	if (ret)
		return fail(err, errlen, "seccomp filter %s: %s", path, msg);
	return 0;
}

void sandbox_policy_free(struct sandbox_policy *p)
{
	if (!p->owned)
		return;
	for (int c = 0; c < SANDBOX_NR; c++) {
		struct sandbox_list *l = &p->f[c].parts[0];
		struct sandbox_rule *r = (struct sandbox_rule *)l->rules;

		for (size_t i = 0; p->f[c].nparts && i < l->n; i++) {
			free((char *)r[i].syscall);
			free((char *)r[i].comment);
			for (unsigned int a = 0; a < r[i].nargs; a++)
				free((char *)r[i].args[a].comment);
		}
		free(r);
	}
	memset(p, 0, sizeof(*p));
}

/* ---- policy → JSON ----------------------------------------------------------- */

static json_t *action_json(uint32_t action)
{
	for (size_t i = 0; i < sizeof(simple_actions) / sizeof(simple_actions[0]); i++)
		if (simple_actions[i].action == action)
			return json_string(simple_actions[i].name);
	return json_pack("{sI}", (action & 0xffff0000U) == SANDBOX_ERRNO(0) ? "errno" : "trace",
			 (json_int_t)(action & 0xffffU));
}

static json_t *rule_json(const struct sandbox_rule *r)
{
	json_t *j = json_pack("{ss}", "syscall", r->syscall), *args = json_array();

	for (unsigned int i = 0; i < r->nargs; i++) {
		const struct sandbox_arg *a = &r->args[i];
		json_t *ja = json_pack("{sIss}", "index", (json_int_t)a->index, "type",
				       a->qword ? "qword" : "dword");

		json_object_set_new(ja, "op", a->op == SANDBOX_MASKED_EQ
				    ? json_pack("{sI}", "masked_eq", (json_int_t)a->mask)
				    : json_string(op_names[a->op]));
		json_object_set_new(ja, "val", json_integer((json_int_t)a->val));
		if (a->comment)
			json_object_set_new(ja, "comment", json_string(a->comment));
		json_array_append_new(args, ja);
	}
	if (r->nargs)
		json_object_set_new(j, "args", args);
	else
		json_decref(args);
	if (r->comment)
		json_object_set_new(j, "comment", json_string(r->comment));
	return j;
}

static bool rule_same(const struct sandbox_rule *a, const struct sandbox_rule *b)
{
	if (strcmp(a->syscall, b->syscall) || a->nargs != b->nargs)
		return false;
	for (unsigned int i = 0; i < a->nargs; i++)
		if (a->args[i].index != b->args[i].index || a->args[i].qword != b->args[i].qword ||
		    a->args[i].op != b->args[i].op || a->args[i].mask != b->args[i].mask ||
		    a->args[i].val != b->args[i].val)
			return false;
	return true;
}

/* Walk a filter's rules, each once (a later part may repeat an earlier one). */
#define FOR_EACH_RULE(f, r)                                                          \
	for (unsigned int p_ = 0; p_ < (f)->nparts; p_++)                            \
		for (size_t i_ = 0; i_ < (f)->parts[p_].n; i_++)                     \
			if (!rule_seen((f), p_, (r) = &(f)->parts[p_].rules[i_]))

static bool rule_seen(const struct sandbox_filter *f, unsigned int part,
		      const struct sandbox_rule *r)
{
	for (unsigned int p = 0; p < part; p++)
		for (size_t i = 0; i < f->parts[p].n; i++)
			if (rule_same(&f->parts[p].rules[i], r))
				return true;
	return false;
}

size_t sandbox_filter_count(const struct sandbox_filter *f)
{
	const struct sandbox_rule *r;
	size_t n = 0;

	FOR_EACH_RULE(f, r)
		n++;
	return n;
}

size_t sandbox_filter_syscalls(const struct sandbox_filter *f)
{
	const struct sandbox_rule *r;
	const char **names = calloc(sandbox_filter_count(f) + 1, sizeof(*names));
	size_t n = 0, i;

	if (!names)
		return 0;
	FOR_EACH_RULE(f, r) {
		for (i = 0; i < n && strcmp(names[i], r->syscall); i++)
			;
		if (i == n)
			names[n++] = r->syscall;
	}
	free(names);
	return n;
}

char *sandbox_policy_print(const struct sandbox_policy *p)
{
	json_t *root = json_object();
	char *text;

	for (int c = 0; c < SANDBOX_NR; c++) {
		const struct sandbox_filter *f = &p->f[c];
		const struct sandbox_rule *r;
		json_t *rules = json_array();

		if (!f->present) {
			json_decref(rules);
			continue;
		}
		FOR_EACH_RULE(f, r)
			json_array_append_new(rules, rule_json(r));
		json_object_set_new(root, sandbox_class_names[c],
				    json_pack("{soso}", "default_action",
					      action_json(f->default_action), "filter_action",
					      action_json(f->filter_action)));
		json_object_set_new(json_object_get(root, sandbox_class_names[c]), "filter", rules);
	}
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return text;
}

/* ---- compile and install ----------------------------------------------------- */

static struct sock_fprog progs[SANDBOX_NR];

_Static_assert(sizeof(struct sandbox_insn) == sizeof(struct sock_filter) &&
	       offsetof(struct sandbox_insn, k) == offsetof(struct sock_filter, k),
	       "struct sandbox_insn is struct sock_filter");

static struct scmp_arg_cmp arg_cmp(const struct sandbox_arg *a)
{
	static const enum scmp_compare ops[] = {
		[SANDBOX_EQ] = SCMP_CMP_EQ, [SANDBOX_NE] = SCMP_CMP_NE, [SANDBOX_LT] = SCMP_CMP_LT,
		[SANDBOX_LE] = SCMP_CMP_LE, [SANDBOX_GT] = SCMP_CMP_GT, [SANDBOX_GE] = SCMP_CMP_GE,
		[SANDBOX_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
	};

	/* A dword compares the low 32 bits: an equality ignores the upper half
	 * (as the kernel does for an int argument). */
	if (a->op == SANDBOX_MASKED_EQ)
		return SCMP_CMP64(a->index, SCMP_CMP_MASKED_EQ,
				  a->qword ? a->mask : a->mask & UINT32_MAX, a->val);
	if (a->op == SANDBOX_EQ && !a->qword)
		return SCMP_CMP64(a->index, SCMP_CMP_MASKED_EQ, UINT32_MAX, a->val);
	return SCMP_CMP64(a->index, ops[a->op], a->val, 0);
}

/* libseccomp's BPF for ctx, read back through a memfd. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	int fd = memfd_create("ember-seccomp", MFD_CLOEXEC), ret;
	struct stat st;

	if (fd < 0)
		return -errno;
	ret = seccomp_export_bpf(ctx, fd);
	if (!ret && fstat(fd, &st))
		ret = -errno;
	if (!ret && (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
		     st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS))
		ret = -E2BIG;
	if (!ret) {
		prog->filter = malloc((size_t)st.st_size);
		prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
		if (!prog->filter)
			ret = -ENOMEM;
		else if (pread(fd, prog->filter, (size_t)st.st_size, 0) != st.st_size)
			ret = -EIO;
	}
	close(fd);
	return ret;
}

static int compile_filter(const struct sandbox_filter *f, const char *thread,
			  struct sock_fprog *prog, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(f->default_action);
	const struct sandbox_rule *r;
	int ret = 0;

	if (!ctx)
		return fail(err, errlen, "seccomp %s: libseccomp cannot start a filter", thread);
	seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);  /* a binary tree of calls */
	FOR_EACH_RULE(f, r) {
		struct scmp_arg_cmp cmp[SANDBOX_MAX_ARGS];

		for (unsigned int i = 0; i < r->nargs; i++)
			cmp[i] = arg_cmp(&r->args[i]);
		ret = seccomp_rule_add_array(ctx, f->filter_action,
					     seccomp_syscall_resolve_name(r->syscall), r->nargs, cmp);
		if (ret) {
			ret = fail(err, errlen, "seccomp %s: rule for %s: %s", thread, r->syscall,
				   strerror(-ret));
			goto out;
		}
	}
	ret = export_bpf(ctx, prog);
	if (ret)
		fail(err, errlen, "seccomp %s: cannot export the filter: %s", thread,
		     strerror(-ret));
out:
	seccomp_release(ctx);
	return ret;
}

/* What every confined thread relies on, done once before any filter. */
static int sandbox_prepare(char *err, size_t errlen)
{
	uint32_t seed = 0;

	/* What jansson would otherwise open on first use, in whichever thread
	 * that is: /dev/urandom for its hash seed.  getrandom is one system
	 * call where jansson's own read takes three; without it (before
	 * Linux 3.17) jansson reads the file now.  (The log needs no time
	 * zone: log_utc_from_epoch.) */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = 0;
	json_object_seed(seed);
	/* One malloc arena for all threads.  glibc trims a thread's own arena
	 * (not the main one) through shrink_heap, which opens
	 * /proc/sys/vm/overcommit_memory on first use: an API thread freeing a
	 * burst of connections was killed for that openat.  The main arena
	 * trims with brk, which every filter allows.  (Under ASan mallopt
	 * fails: its allocator has no glibc arenas to limit.) */
	mallopt(M_ARENA_MAX, 1);
	/* Every thread started from here on inherits it: the filters can then be
	 * installed without CAP_SYS_ADMIN, and no exec can gain privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(err, errlen, "seccomp: no_new_privs: %s", strerror(errno));
	return 0;
}

int sandbox_compile(const struct sandbox_policy *p, char *err, size_t errlen)
{
	int ret;

	for (int c = 0; c < SANDBOX_NR; c++) {
		if (!p->f[c].present)
			continue;
		ret = compile_filter(&p->f[c], sandbox_class_names[c], &progs[c], err, errlen);
		if (ret)
			return ret;
	}
	return sandbox_prepare(err, errlen);
}

int sandbox_use_bpf(const struct sandbox_bpf *bpf, char *err, size_t errlen)
{
	for (int c = 0; c < SANDBOX_NR; c++)
		progs[c] = (struct sock_fprog){ .len = bpf[c].len,
						.filter = (struct sock_filter *)bpf[c].insns };
	return sandbox_prepare(err, errlen);
}

int sandbox_write_bpf(const struct sandbox_policy *p, FILE *out, char *err, size_t errlen)
{
	unsigned int lens[SANDBOX_NR] = { 0 };
	int ret;

	fprintf(out, "/* Generated at build time by tools/sandbox_bpf.c from vmm/sandbox_policy.c:\n"
		" * the built-in seccomp filters, compiled by libseccomp. Do not edit. */\n"
		"#include \"vmm/core/sandbox.h\"\n\n");
	for (int c = 0; c < SANDBOX_NR; c++) {
		struct sock_fprog prog = { 0 };

		if (p->f[c].present) {
			ret = compile_filter(&p->f[c], sandbox_class_names[c], &prog, err, errlen);
			if (ret)
				return ret;
		}
		fprintf(out, "static const struct sandbox_insn %s_insns[%u] = {\n",
			sandbox_class_names[c], prog.len ? prog.len : 1);
		for (unsigned int i = 0; i < prog.len; i++)
			fprintf(out, "\t{ 0x%04x, %u, %u, 0x%08x },\n", prog.filter[i].code,
				prog.filter[i].jt, prog.filter[i].jf, prog.filter[i].k);
		fprintf(out, "};\n\n");
		lens[c] = prog.len;
		free(prog.filter);
	}
	fprintf(out, "const struct sandbox_bpf sandbox_builtin_bpf[SANDBOX_NR] = {\n");
	for (int c = 0; c < SANDBOX_NR; c++)
		fprintf(out, "\t[%d] = { .insns = %s_insns, .len = %u },\n", c,
			sandbox_class_names[c], lens[c]);
	fprintf(out, "};\n");
	return ferror(out) ? fail(err, errlen, "cannot write the filters") : 0;
}

bool sandbox_has(enum sandbox_class c)
{
	return progs[c].filter != NULL;
}

#ifdef EMBER_TEST_HOOKS
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>

/* Tests only: EMBER_TEST_SECCOMP=CLASS:CALL makes a thread of that class issue
 * a call its filter forbids right after it is confined.  CALL: execve,
 * socket_inet, ptrace, open_new (a file created in /tmp), ioctl:NUMBER. */
static void test_hook(enum sandbox_class c)
{
	const char *h = getenv("EMBER_TEST_SECCOMP");
	size_t n = strlen(sandbox_class_names[c]);
	char path[64];
	long ret = 0;

	if (!h || strncmp(h, sandbox_class_names[c], n) || h[n] != ':')
		return;
	h += n + 1;
	log_warn("test hook: %s thread issues %s", sandbox_class_names[c], h);
	if (!strcmp(h, "execve")) {
		char *argv[] = { "/bin/true", NULL };

		ret = execve(argv[0], argv, environ);
	} else if (!strcmp(h, "socket_inet")) {
		ret = socket(AF_INET, SOCK_STREAM, 0);
	} else if (!strcmp(h, "ptrace")) {
		ret = ptrace(PTRACE_PEEKUSER, 1, 0, 0);  /* no other call first */
	} else if (!strcmp(h, "open_new")) {
		snprintf(path, sizeof(path), "/tmp/ember-seccomp-hook-%d", getpid());
		ret = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	} else if (!strncmp(h, "ioctl:", 6)) {
		ret = ioctl(-1, strtoul(h + 6, NULL, 0), 0);
	}
	log_error("test hook: %s was not stopped (returned %ld)", h, ret);
}
#else
static void test_hook(enum sandbox_class c)
{
	(void)c;
}
#endif

int sandbox_enter(enum sandbox_class c)
{
	if (!progs[c].filter) {
		test_hook(c);  /* the tests' control: nothing stops the call */
		return 0;
	}
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &progs[c])) {
		log_error("seccomp: cannot install the %s filter: %s", sandbox_class_names[c],
			  strerror(errno));
		return -errno;
	}
	test_hook(c);
	return 0;
}
