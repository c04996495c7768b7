/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_template.h - CPU templates in Firecracker's x86 format: CPUID and MSR
 * bit modifiers and KVM capability checks, from a custom template (PUT
 * /cpu-config, the config file's "cpu-config") or one of the deprecated
 * static templates (machine-config "cpu_template": C3, T2, T2S, T2CL, T2A).
 *
 * A bitmap gives each bit of a register: '0' clear, '1' set, 'x' keep; it is
 * read from its right end (bit 0), an optional "0b" prefix and '_'
 * separators are skipped, and a short bitmap keeps the bits it does not
 * reach.  Leaf, subleaf and MSR addresses are strings with a "0x" or "0b"
 * prefix; kvm_capabilities entries are "N" (also check KVM capability N)
 * or "!N" (do not check capability N).
 *
 * Pure functions over arrays, no ioctl: the config parsers (vmm thread)
 * build templates; vcpu.c and kvm.c (vmm thread, while the microVM is
 * built) apply them to what KVM offers.
 */
#ifndef EMBER_X86_CPU_TEMPLATE_H
#define EMBER_X86_CPU_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <linux/kvm.h>

#define CPU_TMPL_MAX_REGS 32  /* register modifiers in one leaf */

enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

/* One modifier: the bits in `mask` become those of `value`. */
struct cpu_tmpl_reg {
	enum cpuid_reg reg;
	uint32_t mask, value;
};

struct cpu_tmpl_leaf {
	uint32_t leaf, subleaf;
	uint32_t flags;              /* written to the entry's KVM flags */
	unsigned int nr_regs;
	struct cpu_tmpl_reg regs[CPU_TMPL_MAX_REGS];
};

struct cpu_tmpl_msr {
	uint32_t addr;
	uint64_t mask, value;
};

struct cpu_tmpl_cap {
	uint32_t cap;
	bool remove;                 /* "!N": drop N from ember's own checks */
};

struct cpu_template {
	unsigned int nr_leaves, nr_msrs, nr_caps;
	struct cpu_tmpl_leaf *leaves;
	struct cpu_tmpl_msr *msrs;
	struct cpu_tmpl_cap *caps;
};

/* The deprecated static templates (machine-config "cpu_template"). */
enum cpu_static_tmpl {
	CPU_STATIC_NONE, CPU_STATIC_C3, CPU_STATIC_T2, CPU_STATIC_T2S, CPU_STATIC_T2CL,
	CPU_STATIC_T2A,
};

enum cpu_vendor { CPU_VENDOR_OTHER, CPU_VENDOR_INTEL, CPU_VENDOR_AMD };

/* A bitmap of `bits` (32 or 64) bits: *mask gets the bits it sets or
 * clears, *value the ones it sets.  0 or -EINVAL with the reason in `err`. */
int cpu_bitmap_parse(const char *s, unsigned int bits, uint64_t *mask, uint64_t *value,
		     char *err, size_t errlen);
/* A "0x..." or "0b..." 32-bit number.  0 or -EINVAL with the reason. */
int cpu_number_parse(const char *s, uint32_t *out, char *err, size_t errlen);
/* A template from its JSON object (Firecracker's CustomCpuTemplate for
 * x86: kvm_capabilities, cpuid_modifiers, msr_modifiers).  0 and a new
 * template in *out, or -EINVAL with the reason (naming the entry) in err. */
int cpu_template_from_json(json_t *obj, struct cpu_template **out, char *err, size_t errlen);
void cpu_template_free(struct cpu_template *t);

/* Apply the CPUID modifiers to the `n` entries of one vCPU (after
 * cpuid_normalise).  0, or -ENOENT when a modified leaf/subleaf is not
 * among the entries (nothing changed; the reason in err). */
int cpu_template_apply_cpuid(const struct cpu_template *t, struct kvm_cpuid_entry2 *e,
			     unsigned int n, char *err, size_t errlen);
/* The distinct MSR addresses the template modifies, in a new kvm_msrs
 * (free() it; NULL when out of memory), for KVM_GET_MSRS. */
struct kvm_msrs *cpu_template_msr_list(const struct cpu_template *t);
/* Apply every MSR modifier, in order, to the values KVM returned in `m`
 * (the list cpu_template_msr_list made). */
void cpu_template_apply_msrs(const struct cpu_template *t, struct kvm_msrs *m);
/* Whether the template drops capability `cap` from ember's checks. */
bool cpu_template_cap_removed(const struct cpu_template *t, uint32_t cap);

/* "None", "C3", ... <-> enum; -1 for a name that is not a static template. */
int cpu_static_from_name(const char *name);
const char *cpu_static_name(enum cpu_static_tmpl s);
/* The static template `s` for a host of `vendor` whose CPUID leaf 1 EAX is
 * `signature`: 0 and a new template, or -EINVAL with Firecracker's reason
 * (the template is for the other vendor; T2CL needs Cascade Lake or newer). */
int cpu_static_template(enum cpu_static_tmpl s, enum cpu_vendor vendor, uint32_t signature,
			struct cpu_template **out, char *err, size_t errlen);
/* The vendor of the vendor string in leaf 0's EBX, EDX, ECX. */
enum cpu_vendor cpu_vendor_of(uint32_t ebx, uint32_t edx, uint32_t ecx);
/* This host's vendor and signature (the CPUID instruction, no syscall). */
void cpu_host_id(enum cpu_vendor *vendor, uint32_t *signature);

#endif
