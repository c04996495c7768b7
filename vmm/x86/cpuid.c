// SPDX-License-Identifier: Apache-2.0
/* cpuid.c - see cpuid.h. */
#include <string.h>

#include "cpuid.h"

#define LEAF1_ECX_TSC_DEADLINE (1U << 24)
#define LEAF1_ECX_HYPERVISOR   (1U << 31)
#define LEAF1_EDX_HTT          (1U << 28)
#define EXT1_ECX_CMP_LEGACY    (1U << 1)
#define TOPO_LEVEL_SMT  1
#define TOPO_LEVEL_CORE 2

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *e, unsigned int n,
				    unsigned int function, unsigned int index)
{
	for (unsigned int i = 0; i < n; i++)
		if (e[i].function == function && e[i].index == index)
			return &e[i];
	return NULL;
}

/* Threads per core: 2 with SMT (Firecracker pairs vCPUs only when there
 * are two or more), else 1. */
static unsigned int threads_per_core(const struct cpuid_opts *o)
{
	return o->smt && o->nr_vcpus > 1 ? 2 : 1;
}

/* Bits needed to hold n distinct ids. */
static unsigned int id_bits(unsigned int n)
{
	unsigned int bits = 0;

	while ((1U << bits) < n)
		bits++;
	return bits;
}

static void cpuid_leaf1(struct kvm_cpuid_entry2 *e, const struct cpuid_opts *o)
{
	e->ebx = (o->vcpu_id << 24) | (o->nr_vcpus << 16) | (8U << 8) | (e->ebx & 0xff);
	e->ecx |= LEAF1_ECX_HYPERVISOR;
	if (o->tsc_deadline)
		e->ecx |= LEAF1_ECX_TSC_DEADLINE;
	else
		e->ecx &= ~LEAF1_ECX_TSC_DEADLINE;
	if (o->nr_vcpus > 1)
		e->edx |= LEAF1_EDX_HTT;
	else
		e->edx &= ~LEAF1_EDX_HTT;
}

/* Intel deterministic cache parameters: cores per package, threads per
 * cache (L1 and L2 belong to a core, L3 to the package). */
static void cpuid_leaf4(struct kvm_cpuid_entry2 *e, const struct cpuid_opts *o)
{
	unsigned int level = (e->eax >> 5) & 7;
	unsigned int tpc = threads_per_core(o);
	unsigned int sharing = level >= 3 ? o->nr_vcpus : tpc;

	if (!(e->eax & 0x1f))
		return;  /* no cache at this index */
	e->eax &= 0x3ff;
	e->eax |= ((sharing - 1) << 14) | (((1U << id_bits(o->nr_vcpus / tpc)) - 1) << 26);
}

/* Extended topology (0xb and 0x1f): threads_per_core threads per core,
 * nr_vcpus threads in the package; the APIC id is the vCPU index, so with
 * SMT its low bit is the thread. */
static void cpuid_topology(struct kvm_cpuid_entry2 *e, const struct cpuid_opts *o)
{
	unsigned int tpc = threads_per_core(o);

	switch (e->index) {
	case 0:
		e->eax = id_bits(tpc);
		e->ebx = tpc;
		e->ecx = (TOPO_LEVEL_SMT << 8) | 0;
		break;
	case 1:
		e->eax = id_bits(o->nr_vcpus);
		e->ebx = o->nr_vcpus;
		e->ecx = (TOPO_LEVEL_CORE << 8) | 1;
		break;
	default:
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index;
		break;
	}
	e->edx = o->vcpu_id;
}

static void cpuid_brand(struct kvm_cpuid_entry2 *e)
{
	char brand[48] = CPUID_BRAND;
	unsigned int part = e->function - 0x80000002;

	memcpy(&e->eax, brand + part * 16, 4);
	memcpy(&e->ebx, brand + part * 16 + 4, 4);
	memcpy(&e->ecx, brand + part * 16 + 8, 4);
	memcpy(&e->edx, brand + part * 16 + 12, 4);
}

static void cpuid_one(struct kvm_cpuid_entry2 *e, const struct cpuid_opts *o)
{
	switch (e->function) {
	case 0x1:
		cpuid_leaf1(e, o);
		break;
	case 0x4:
		cpuid_leaf4(e, o);
		break;
	case 0x6:   /* thermal and power management: nothing to offer */
	case 0xa:   /* architectural PMU: not offered */
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0xb:
	case 0x1f:
		cpuid_topology(e, o);
		break;
	case 0x40000000:  /* KVM signature */
		if (e->eax < 0x40000001)
			e->eax = 0x40000001;
		memcpy(&e->ebx, "KVMKVMKVM\0\0\0", 12);
		break;
	case 0x80000001:
		if (o->nr_vcpus > 1)
			e->ecx |= EXT1_ECX_CMP_LEGACY;
		else
			e->ecx &= ~EXT1_ECX_CMP_LEGACY;
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		cpuid_brand(e);
		break;
	case 0x80000008:  /* AMD: cores per package */
		e->ecx = (e->ecx & ~0xf0ffU) | (id_bits(o->nr_vcpus) << 12) | (o->nr_vcpus - 1);
		break;
	case 0x8000001e:  /* AMD: extended APIC id, core id, threads per core - 1 */
		e->eax = o->vcpu_id;
		e->ebx = ((threads_per_core(o) - 1) << 8) | ((o->vcpu_id / threads_per_core(o)) & 0xff);
		e->ecx = 0;
		break;
	default:
		break;
	}
}

void cpuid_normalise(struct kvm_cpuid_entry2 *e, unsigned int n,
		     const struct cpuid_opts *opts)
{
	for (unsigned int i = 0; i < n; i++)
		cpuid_one(&e[i], opts);
}
