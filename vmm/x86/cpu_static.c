// SPDX-License-Identifier: Apache-2.0
/*
 * cpu_static.c - Firecracker's deprecated static CPU templates as CPU
 * templates (cpu_template.h): the same CPUID and MSR masks, one row per
 * register, each row shared by the templates that use it.  C3, T2 and T2S
 * mimic AWS instance types on Intel hosts, T2CL is Cascade Lake (Intel,
 * Cascade Lake or newer) and T2A its AMD Milan counterpart.
 */
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_template.h"

#define C3   (1U << CPU_STATIC_C3)
#define T2   (1U << CPU_STATIC_T2)
#define T2S  (1U << CPU_STATIC_T2S)
#define T2CL (1U << CPU_STATIC_T2CL)
#define T2A  (1U << CPU_STATIC_T2A)
#define T2_ALL (T2 | T2S | T2CL | T2A)

struct static_row {
	unsigned int which;          /* the templates the row belongs to */
	uint32_t leaf, subleaf, flags;
	enum cpuid_reg reg;
	uint32_t mask, value;
};

static const struct static_row rows[] = {
	/* leaf 1 EAX: the signature (stepping, model, family, type, extended
	 * model and family) of the instance's CPU. */
	{ T2_ALL, 0x1, 0, 0, CPUID_EAX, 0x0fff3fff, 0x000306f2 },
	{ C3, 0x1, 0, 0, CPUID_EAX, 0x0fff3fff, 0x000306e4 },
	/* leaf 1 ECX off: DTES64, MONITOR, DS-CPL, VMX, SMX, EIST, TM2, CNXT-ID,
	 * SDBG, xTPR, PDCM, DCA (C3: FMA and MOVBE instead of SMX, EIST, DCA). */
	{ T2_ALL, 0x1, 0, 0, CPUID_ECX, 0x0004cdfc, 0 },
	{ C3, 0x1, 0, 0, CPUID_ECX, 0x0040dd3c, 0 },
	/* leaf 1 EDX: MCE and MTRR on; PSN, DS, ACPI, SS, TM, PBE off (T2s:
	 * also bit 30). */
	{ T2_ALL, 0x1, 0, 0, CPUID_EDX, 0xe8641080, 0x00001080 },
	{ C3, 0x1, 0, 0, CPUID_EDX, 0xa8641080, 0x00001080 },
	/* leaf 7 EBX: ERMS on; SGX, HLE, RTM, RDT, MPX, AVX-512, RDSEED, ADX,
	 * CLFLUSHOPT, CLWB, PT, SHA off (C3: also BMI1/2, AVX2, INVPCID, ERMS). */
	{ T2_ALL, 0x7, 0, 1, CPUID_EBX, 0xffefda14, 0x00000200 },
	{ C3, 0x7, 0, 1, CPUID_EBX, 0xffafdd3c, 0 },
	/* leaf 7 ECX off: AVX-512 extensions, UMIP, PKU, OSPKE, GFNI, VAES,
	 * VPCLMULQDQ, LA57, RDPID, SGX_LC (C3: a subset). */
	{ T2_ALL, 0x7, 0, 1, CPUID_ECX, 0x40415f5e, 0 },
	{ C3, 0x7, 0, 1, CPUID_ECX, 0x4041481e, 0 },
	/* leaf 7 EDX off: AVX512_4VNNIW/4FMAPS, FSRM, VP2INTERSECT (C3: the
	 * first two). */
	{ T2_ALL, 0x7, 0, 1, CPUID_EDX, 0x0000011c, 0 },
	{ C3, 0x7, 0, 1, CPUID_EDX, 0x0000000c, 0 },
	/* leaf 0xd: no MPX, AVX-512 or PKRU state; no XSAVEC, XGETBV1, XSAVES. */
	{ T2_ALL | C3, 0xd, 0, 1, CPUID_EAX, 0x000002f8, 0 },
	{ T2_ALL | C3, 0xd, 1, 1, CPUID_EAX, 0x0000000e, 0 },
	/* leaf 0x80000001 ECX off: PREFETCHW and MONITORX; T2CL and T2A also
	 * SSE4A and MisAlignSse, T2A also SVM; C3: LZCNT and PREFETCHW. */
	{ T2 | T2S, 0x80000001, 0, 0, CPUID_ECX, 0x20000100, 0 },
	{ T2CL, 0x80000001, 0, 0, CPUID_ECX, 0x200001c0, 0 },
	{ T2A, 0x80000001, 0, 0, CPUID_ECX, 0x200001c4, 0 },
	{ C3, 0x80000001, 0, 0, CPUID_ECX, 0x00000120, 0 },
	/* leaf 0x80000001 EDX off: 1 GiB pages; T2CL also MmxExt, MMX, FXSR
	 * optimisations; T2A MmxExt and FFXSR. */
	{ T2 | T2S | C3, 0x80000001, 0, 0, CPUID_EDX, 0x04000000, 0 },
	{ T2CL, 0x80000001, 0, 0, CPUID_EDX, 0x07c00000, 0 },
	{ T2A, 0x80000001, 0, 0, CPUID_EDX, 0x06400000, 0 },
	/* leaf 0x80000008 EBX: WBNOINVD off; T2A also CLZERO off and
	 * RstrFpErrPtrs, IbrsPreferred, IbrsSameMode, EferLmsleUnsupported on. */
	{ T2 | T2S | T2CL, 0x80000008, 0, 0, CPUID_EBX, 0x00000200, 0 },
	{ T2A, 0x80000008, 0, 0, CPUID_EBX, 0x001c0205, 0x001c0004 },
};

/* IA32_ARCH_CAPABILITIES: T2S presents the most vulnerable of the hosts it
 * migrates between (every bit fixed); T2CL clears the control and reserved
 * bits and passes the mitigation bits KVM offers through. */
#define MSR_ARCH_CAPABILITIES 0x10a
static const struct { unsigned int which; struct cpu_tmpl_msr msr; } msr_rows[] = {
	{ T2S, { MSR_ARCH_CAPABILITIES, ~0ULL, 0x04080c4cULL } },
	{ T2CL, { MSR_ARCH_CAPABILITIES, 0xffffffffe2f51e00ULL, 0 } },
};

static const char *const static_names[] = {
	[CPU_STATIC_NONE] = "None", [CPU_STATIC_C3] = "C3", [CPU_STATIC_T2] = "T2",
	[CPU_STATIC_T2S] = "T2S", [CPU_STATIC_T2CL] = "T2CL", [CPU_STATIC_T2A] = "T2A",
};

int cpu_static_from_name(const char *name)
{
	for (int i = 0; i < (int)(sizeof(static_names) / sizeof(static_names[0])); i++)
		if (!strcmp(name, static_names[i]))
			return i;
	return -1;
}

const char *cpu_static_name(enum cpu_static_tmpl s)
{
	return static_names[s];
}

enum cpu_vendor cpu_vendor_of(uint32_t ebx, uint32_t edx, uint32_t ecx)
{
	char v[13];

	memcpy(v, &ebx, 4);
	memcpy(v + 4, &edx, 4);
	memcpy(v + 8, &ecx, 4);
	v[12] = 0;
	return !strcmp(v, "GenuineIntel") ? CPU_VENDOR_INTEL :
	       !strcmp(v, "AuthenticAMD") ? CPU_VENDOR_AMD : CPU_VENDOR_OTHER;
}

void cpu_host_id(enum cpu_vendor *vendor, uint32_t *signature)
{
	unsigned int a, b, c, d;

	__cpuid(0, a, b, c, d);
	*vendor = cpu_vendor_of(b, d, c);
	__cpuid(1, a, b, c, d);
	*signature = a;
}

/* Cascade Lake is family 6, model 0x55, stepping 7; Firecracker compares
 * (extended family, extended model, family, model, stepping) in that order. */
static bool at_least_cascade_lake(uint32_t sig)
{
	const uint32_t key = ((sig >> 20) & 0xff) << 16 | ((sig >> 16) & 0xf) << 12 |
			     ((sig >> 8) & 0xf) << 8 | ((sig >> 4) & 0xf) << 4 | (sig & 0xf);

	return key >= (0U << 16 | 5U << 12 | 6U << 8 | 5U << 4 | 7U);
}

static struct cpu_tmpl_leaf *leaf_get(struct cpu_template *t, uint32_t leaf, uint32_t sub,
				      uint32_t flags)
{
	for (unsigned int i = 0; i < t->nr_leaves; i++)
		if (t->leaves[i].leaf == leaf && t->leaves[i].subleaf == sub)
			return &t->leaves[i];
	t->leaves[t->nr_leaves] = (struct cpu_tmpl_leaf){ .leaf = leaf, .subleaf = sub,
							  .flags = flags };
	return &t->leaves[t->nr_leaves++];
}

int cpu_static_template(enum cpu_static_tmpl s, enum cpu_vendor vendor, uint32_t signature,
			struct cpu_template **out, char *err, size_t errlen)
{
	const enum cpu_vendor want = s == CPU_STATIC_T2A ? CPU_VENDOR_AMD : CPU_VENDOR_INTEL;
	const size_t nrows = sizeof(rows) / sizeof(rows[0]);
	struct cpu_template *t;

	if (s == CPU_STATIC_NONE || (unsigned int)s >= sizeof(static_names) / sizeof(static_names[0])) {
		snprintf(err, errlen, "invalid static CPU template");
		return -EINVAL;
	}
	if (vendor != want) {
		snprintf(err, errlen, "CPU template %s: the CPU vendor of this host does not match the template's (%s)",
			 static_names[s], want == CPU_VENDOR_AMD ? "AMD" : "Intel");
		return -EINVAL;
	}
	if (s == CPU_STATIC_T2CL && !at_least_cascade_lake(signature)) {
		snprintf(err, errlen, "CPU template T2CL: this host's CPU (signature 0x%x) is older than Intel Cascade Lake",
			 signature);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (t) {
		t->leaves = calloc(nrows, sizeof(*t->leaves));
		t->msrs = calloc(2, sizeof(*t->msrs));
		t->caps = calloc(1, sizeof(*t->caps));
	}
	if (!t || !t->leaves || !t->msrs || !t->caps) {
		cpu_template_free(t);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < nrows; i++) {
		struct cpu_tmpl_leaf *l;

		if (!(rows[i].which & (1U << s)))
			continue;
		l = leaf_get(t, rows[i].leaf, rows[i].subleaf, rows[i].flags);
		l->regs[l->nr_regs++] = (struct cpu_tmpl_reg){ .reg = rows[i].reg,
			.mask = rows[i].mask, .value = rows[i].value };
	}
	for (size_t i = 0; i < sizeof(msr_rows) / sizeof(msr_rows[0]); i++)
		if (msr_rows[i].which & (1U << s))
			t->msrs[t->nr_msrs++] = msr_rows[i].msr;
	*out = t;
	return 0;
}
