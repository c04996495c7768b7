// SPDX-License-Identifier: Apache-2.0
/*
 * sandbox_bpf.c - a build tool: compiles ember's built-in seccomp policy
 * (vmm/sandbox_policy.c) with libseccomp once, at build time, and writes the
 * BPF programs as C (build/gen/sandbox_bpf.c) for build/ember to link, so
 * ember installs them at start without compiling anything (libseccomp takes
 * most of a millisecond of CPU for the four filters: docs/seccomp.md).
 * usage: sandbox_bpf > build/gen/sandbox_bpf.c
 */
#include <stdio.h>

#include "vmm/sandbox_policy.h"

int main(void)
{
	struct sandbox_policy p;
	char err[256];

	sandbox_policy_builtin(&p);
	if (sandbox_write_bpf(&p, stdout, err, sizeof(err)) || fflush(stdout)) {
		fprintf(stderr, "sandbox_bpf: %s\n", err);
		return 1;
	}
	return 0;
}
