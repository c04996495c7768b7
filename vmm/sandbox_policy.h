/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox_policy.h - ember's built-in seccomp policy (the lists, with a
 * comment per allowed call, are in sandbox_policy.c; the mechanism that
 * prints, parses, compiles and installs policies is vmm/core/sandbox.h).
 * main() calls it on the process's first thread at start.
 */
#ifndef EMBER_SANDBOX_POLICY_H
#define EMBER_SANDBOX_POLICY_H

#include "vmm/core/sandbox.h"

/* Fill *p with the built-in filters: "vmm", "api", "vcpu" and "vmm_boot"
 * ("vmm" + the build calls + "vcpu").  Static data: nothing to free. */
void sandbox_policy_builtin(struct sandbox_policy *p);

#endif
