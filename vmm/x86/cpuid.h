/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpuid.h - the CPUID a vCPU sees: KVM's supported set, normalised so the
 * guest sees a consistent topology (one socket of nr_vcpus single-thread
 * cores, or with smt nr_vcpus / 2 cores of two threads each), its own
 * APIC id, the hypervisor bit and KVM signature, no PMU, and a fixed brand.
 * Pure functions over an entry array; called by vcpu_init (vcpu.c) on the
 * vmm thread, before the vCPU threads start.
 */
#ifndef EMBER_CPUID_H
#define EMBER_CPUID_H

#include <stdbool.h>
#include <linux/kvm.h>

#define CPUID_BRAND "ember microVM vCPU"

struct cpuid_opts {
	unsigned int vcpu_id;
	unsigned int nr_vcpus;
	bool smt;            /* vCPUs 2k and 2k+1 are the threads of core k
			      * (machine-config "smt"; only with nr_vcpus > 1) */
	bool tsc_deadline;
};

/* Rewrite `n` entries in place for one vCPU. */
void cpuid_normalise(struct kvm_cpuid_entry2 *e, unsigned int n,
		     const struct cpuid_opts *opts);
/* Find function/index in the array, or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *e, unsigned int n,
				    unsigned int function, unsigned int index);

#endif
