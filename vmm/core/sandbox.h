/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox.h - seccomp filters per thread class: the policy as data, its
 * Firecracker seccompiler JSON form (read and written), its compilation with
 * libseccomp, and the install on each thread.  The mechanism only: the
 * built-in lists live in vmm/sandbox_policy.c.
 *
 * A policy holds one filter per thread class.  A filter is a default action,
 * a filter action (for a rule that matches, normally allow) and rules; a rule
 * names a system call and up to six argument conditions (all must hold);
 * several rules for one call are alternatives.  A built-in filter is a few
 * lists of rules (parts) so one list can serve two classes: the printer and
 * the compiler walk the same parts.
 *
 * Threads: sandbox_policy_parse/print/compile run on the process's first
 * thread before any other thread starts (main); sandbox_enter runs on the
 * thread it confines, once its class is known.
 */
#ifndef EMBER_CORE_SANDBOX_H
#define EMBER_CORE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The thread classes, in the JSON's names. */
enum sandbox_class {
	SANDBOX_VMM,       /* "vmm": the vmm thread once the microVM runs */
	SANDBOX_API,       /* "api": the API server thread */
	SANDBOX_VCPU,      /* "vcpu": every vCPU thread */
	SANDBOX_VMM_BOOT,  /* "vmm_boot": the vmm thread's event loop before the
			    * microVM starts (it builds it on InstanceStart);
			    * optional in a custom file */
	SANDBOX_NR,
};

enum sandbox_op { SANDBOX_EQ, SANDBOX_NE, SANDBOX_LT, SANDBOX_LE, SANDBOX_GT, SANDBOX_GE,
		  SANDBOX_MASKED_EQ };

/* Actions (seccomp return values as libseccomp spells them). */
#define SANDBOX_KILL_PROCESS 0x80000000U
#define SANDBOX_KILL_THREAD  0x00000000U
#define SANDBOX_TRAP         0x00030000U
#define SANDBOX_ERRNO(e)     (0x00050000U | ((e) & 0xffffU))
#define SANDBOX_TRACE(m)     (0x7ff00000U | ((m) & 0xffffU))
#define SANDBOX_LOG          0x7ffc0000U
#define SANDBOX_ALLOW        0x7fff0000U

#define SANDBOX_MAX_ARGS 6

struct sandbox_arg {
	unsigned int index;      /* 0..5 */
	bool qword;              /* false: "dword", the low 32 bits */
	enum sandbox_op op;
	uint64_t mask;           /* SANDBOX_MASKED_EQ only */
	uint64_t val;
	const char *comment;
};

struct sandbox_rule {
	const char *syscall;
	unsigned int nargs;
	struct sandbox_arg args[SANDBOX_MAX_ARGS];
	const char *comment;
};

struct sandbox_list {
	const struct sandbox_rule *rules;
	size_t n;
};

#define SANDBOX_MAX_PARTS 4

struct sandbox_filter {
	bool present;
	uint32_t default_action;
	uint32_t filter_action;
	struct sandbox_list parts[SANDBOX_MAX_PARTS];
	unsigned int nparts;
};

struct sandbox_policy {
	struct sandbox_filter f[SANDBOX_NR];
	bool owned;              /* parsed: its rules and strings are malloc'd */
};

extern const char *const sandbox_class_names[SANDBOX_NR];

/* A Firecracker seccompiler JSON text → *p.  Every thread but "vmm_boot"
 * must be present; unknown threads, keys, syscall names, actions, argument
 * indexes, types and operators are refused with the reason in err
 * (-EINVAL).  Free with sandbox_policy_free. */
int sandbox_policy_parse(struct sandbox_policy *p, const char *text, char *err, size_t errlen);
/* The same from the file at path (its errors name the file). */
int sandbox_policy_load(struct sandbox_policy *p, const char *path, char *err, size_t errlen);
void sandbox_policy_free(struct sandbox_policy *p);
/* The policy in the same JSON (malloc'd, NUL-terminated), or NULL. */
char *sandbox_policy_print(const struct sandbox_policy *p);
/* Rules of a filter once duplicates across its parts are dropped. */
size_t sandbox_filter_count(const struct sandbox_filter *f);
/* The distinct system calls a filter names. */
size_t sandbox_filter_syscalls(const struct sandbox_filter *f);

/* Compile every present filter to BPF with libseccomp (once; the programs
 * are kept for sandbox_enter) and set no_new_privs for the process.  Call
 * before any thread starts.  0 or -errno with the reason in err. */
int sandbox_compile(const struct sandbox_policy *p, char *err, size_t errlen);
/* A compiled filter: classic BPF instructions (struct sock_filter's layout). */
struct sandbox_insn {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};
struct sandbox_bpf {
	const struct sandbox_insn *insns;
	unsigned short len;                /* 0: no filter for the class */
};
/* The built-in policy compiled at build time (build/gen/sandbox_bpf.c, written
 * by tools/sandbox_bpf.c with sandbox_write_bpf); weak: absent from builds
 * that compile the built-in policy at start instead (tests, sanitizers). */
extern const struct sandbox_bpf sandbox_builtin_bpf[SANDBOX_NR] __attribute__((weak));
/* Like sandbox_compile, with filters compiled before (sandbox_builtin_bpf). */
int sandbox_use_bpf(const struct sandbox_bpf *bpf, char *err, size_t errlen);
/* Compile every present filter and write them as C (sandbox_builtin_bpf).
 * The build tool's only call. */
int sandbox_write_bpf(const struct sandbox_policy *p, FILE *out, char *err, size_t errlen);

/* Confine the calling thread with its class's filter (stacked on any it
 * inherited); no-op when nothing was compiled for the class.  0 or -errno. */
int sandbox_enter(enum sandbox_class c);
/* A filter of that class was compiled (seccomp is on and it is present). */
bool sandbox_has(enum sandbox_class c);

#endif
