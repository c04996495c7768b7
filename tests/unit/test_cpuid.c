// SPDX-License-Identifier: Apache-2.0
/*
 * test_cpuid.c - CPUID normalisation (vmm/cpuid.c) on a synthetic array
 * shaped like KVM_GET_SUPPORTED_CPUID output: the guest must see its own
 * APIC id, one socket of nr_vcpus single-thread cores, the hypervisor bit,
 * the KVM signature, no PMU and ember's brand string.
 */
#include "unit.h"
#include "vmm/x86/cpuid.h"

#define ECX_TSC_DEADLINE (1U << 24)
#define ECX_HYPERVISOR   (1U << 31)
#define EDX_HTT          (1U << 28)
#define EXT_ECX_CMP_LEGACY (1U << 1)

/* Host-like raw values; every register distinct so "untouched" is visible. */
static const struct kvm_cpuid_entry2 host_cpuid[] = {
	{ .function = 0x0, .eax = 0x1f, .ebx = 0x68747541, .ecx = 0x444d4163, .edx = 0x69746e65 },
	{ .function = 0x1, .eax = 0x00a00f11, .ebx = 0x1f800b42, .ecx = 0x76f8320b,
	  .edx = 0x078bfbff },
	/* Deterministic cache parameters: L1d, L1i, L2, L3, then none. */
	{ .function = 0x4, .index = 0, .eax = 0xfc004121, .ebx = 0x01c0003f, .ecx = 0x3f },
	{ .function = 0x4, .index = 1, .eax = 0xfc004122, .ebx = 0x01c0003f, .ecx = 0x3f },
	{ .function = 0x4, .index = 2, .eax = 0xfc004143, .ebx = 0x01c0003f, .ecx = 0x3ff },
	{ .function = 0x4, .index = 3, .eax = 0xfc07c163, .ebx = 0x03c0003f, .ecx = 0x3fff },
	{ .function = 0x4, .index = 4, .eax = 0xfc000000 },
	{ .function = 0x6, .eax = 0x77, .ebx = 0x2, .ecx = 0x9, .edx = 0x1 },
	{ .function = 0x7, .eax = 0x1, .ebx = 0x219c97a9, .ecx = 0x0040069c, .edx = 0x10 },
	{ .function = 0xa, .eax = 0x07300403, .ebx = 0x0, .ecx = 0x0, .edx = 0x603 },
	{ .function = 0xb, .index = 0, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 0x33 },
	{ .function = 0xb, .index = 1, .eax = 7, .ebx = 64, .ecx = 0x201, .edx = 0x33 },
	{ .function = 0xb, .index = 2, .eax = 9, .ebx = 9, .ecx = 0x302, .edx = 0x33 },
	{ .function = 0x1f, .index = 0, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 0x33 },
	{ .function = 0x1f, .index = 1, .eax = 7, .ebx = 64, .ecx = 0x201, .edx = 0x33 },
	{ .function = 0x1f, .index = 2, .eax = 9, .ebx = 9, .ecx = 0x302, .edx = 0x33 },
	{ .function = 0x40000000, .eax = 0x40000001, .ebx = 1, .ecx = 2, .edx = 3 },
	{ .function = 0x40000001, .eax = 0x01007afb },
	{ .function = 0x80000000, .eax = 0x80000021, .ebx = 0x68747541 },
	{ .function = 0x80000001, .eax = 0x00a00f11, .ecx = 0x75c237ff, .edx = 0x2fd3fbff },
	{ .function = 0x80000002, .eax = 0x20444d41, .ebx = 0x43595045, .ecx = 0x34373720,
	  .edx = 0x36312033 },
	{ .function = 0x80000003, .eax = 0x726f432d, .ebx = 0x72502065, .ecx = 0x7365636f,
	  .edx = 0x20726f73 },
	{ .function = 0x80000004, .eax = 0x20202020, .ebx = 0x20202020, .ecx = 0x20202020,
	  .edx = 0x00202020 },
	{ .function = 0x80000008, .eax = 0x3030, .ebx = 0x111ef657, .ecx = 0xffffffff,
	  .edx = 0x10007 },
	{ .function = 0x8000001e, .eax = 0x55, .ebx = 0x0155, .ecx = 0x0303, .edx = 0x99 },
};

#define N_HOST ARRAY_SIZE(host_cpuid)

struct topo {
	unsigned int vcpu_id, nr_vcpus;
	unsigned int bits;  /* APIC id bits for nr_vcpus: ceil(log2(nr)) */
};

static const struct topo topos[] = {
	{ 0, 1, 0 }, { 0, 2, 1 }, { 1, 2, 1 }, { 2, 3, 2 }, { 4, 5, 3 },
	{ 7, 8, 3 }, { 3, 8, 3 }, { 8, 9, 4 }, { 31, 32, 5 }, { 0, 32, 5 },
};

static struct kvm_cpuid_entry2 *normalised(const struct topo *t, bool tsc_deadline)
{
	static struct kvm_cpuid_entry2 e[N_HOST];
	const struct cpuid_opts o = {
		.vcpu_id = t->vcpu_id, .nr_vcpus = t->nr_vcpus, .tsc_deadline = tsc_deadline,
	};

	memcpy(e, host_cpuid, sizeof(e));
	cpuid_normalise(e, N_HOST, &o);
	return e;
}

static struct kvm_cpuid_entry2 *leaf(struct kvm_cpuid_entry2 *e, unsigned int fn,
				     unsigned int idx)
{
	struct kvm_cpuid_entry2 *l = cpuid_find(e, N_HOST, fn, idx);

	if (!l)
		fail_msg("leaf 0x%x.%u missing", fn, idx);
	return l;
}

static const struct kvm_cpuid_entry2 *host_leaf(unsigned int fn, unsigned int idx)
{
	return leaf((struct kvm_cpuid_entry2 *)host_cpuid, fn, idx);
}

#define FOR_EACH_TOPO(t) for (const struct topo *t = topos; t < topos + ARRAY_SIZE(topos); t++)

static void test_leaf1(void **state)
{
	const struct kvm_cpuid_entry2 *h = host_leaf(0x1, 0);

	(void)state;
	FOR_EACH_TOPO(t) {
		struct kvm_cpuid_entry2 *l = leaf(normalised(t, false), 0x1, 0);

		if (l->ebx >> 24 != t->vcpu_id)
			fail_msg("vcpu %u/%u: APIC id %u", t->vcpu_id, t->nr_vcpus, l->ebx >> 24);
		if (((l->ebx >> 16) & 0xff) != t->nr_vcpus)
			fail_msg("vcpu %u/%u: logical count %u", t->vcpu_id, t->nr_vcpus,
				 (l->ebx >> 16) & 0xff);
		assert_int_equal((l->ebx >> 8) & 0xff, 8);        /* CLFLUSH 64 bytes */
		assert_int_equal(l->ebx & 0xff, h->ebx & 0xff);   /* brand index kept */
		assert_true(l->ecx & ECX_HYPERVISOR);
		if (!!(l->edx & EDX_HTT) != (t->nr_vcpus > 1))
			fail_msg("vcpu %u/%u: HTT is %d", t->vcpu_id, t->nr_vcpus,
				 !!(l->edx & EDX_HTT));
		/* Everything else is the host's. */
		assert_int_equal(l->eax, h->eax);
		assert_int_equal(l->ecx & ~(ECX_HYPERVISOR | ECX_TSC_DEADLINE),
				 h->ecx & ~(ECX_HYPERVISOR | ECX_TSC_DEADLINE));
		assert_int_equal(l->edx & ~EDX_HTT, h->edx & ~EDX_HTT);
	}
}

/* HTT is cleared for one vCPU even if the host reports it. */
static void test_leaf1_htt_cleared(void **state)
{
	struct kvm_cpuid_entry2 e = { .function = 1, .edx = EDX_HTT | 0x1 };
	const struct cpuid_opts o = { .vcpu_id = 0, .nr_vcpus = 1 };

	(void)state;
	cpuid_normalise(&e, 1, &o);
	assert_int_equal(e.edx, 0x1);
}

/* TSC-deadline only when asked, whatever KVM reports: newer kernels list
 * it in KVM_GET_SUPPORTED_CPUID as always emulated, but it needs the
 * in-kernel LAPIC (KVM_CAP_TSC_DEADLINE_TIMER), which is what "asked" means. */
static void test_leaf1_tsc_deadline(void **state)
{
	static const struct {
		const char *name;
		uint32_t host_ecx;
		bool ask;
		bool want;
	} cases[] = {
		{ "host without, not asked", 0x0, false, false },
		{ "host without, asked", 0x0, true, true },
		{ "host with, asked", ECX_TSC_DEADLINE, true, true },
		{ "host with, not asked", ECX_TSC_DEADLINE, false, false },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kvm_cpuid_entry2 e = { .function = 1, .ecx = cases[i].host_ecx | 0x5 };
		const struct cpuid_opts o = { .vcpu_id = 0, .nr_vcpus = 2,
					      .tsc_deadline = cases[i].ask };

		cpuid_normalise(&e, 1, &o);
		if (!!(e.ecx & ECX_TSC_DEADLINE) != cases[i].want)
			fail_msg("case '%s': TSC-deadline bit is %d", cases[i].name,
				 !!(e.ecx & ECX_TSC_DEADLINE));
		assert_int_equal(e.ecx & 0x5, 0x5);
		assert_true(e.ecx & ECX_HYPERVISOR);
	}
}

/* Extended topology, leaf 0xb and its v2 0x1f: SMT level of one thread,
 * core level of nr_vcpus, then an invalid level; EDX is the x2APIC id. */
static void test_topology_leaves(void **state)
{
	static const unsigned int fns[] = { 0xb, 0x1f };

	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(fns); f++) {
		FOR_EACH_TOPO(t) {
			struct kvm_cpuid_entry2 *e = normalised(t, false);
			struct kvm_cpuid_entry2 *smt = leaf(e, fns[f], 0);
			struct kvm_cpuid_entry2 *core = leaf(e, fns[f], 1);
			struct kvm_cpuid_entry2 *end = leaf(e, fns[f], 2);

			assert_int_equal(smt->eax, 0);            /* 1 thread: no shift */
			assert_int_equal(smt->ebx, 1);
			assert_int_equal(smt->ecx, (1 << 8) | 0);  /* SMT, level 0 */
			if (core->eax != t->bits || core->ebx != t->nr_vcpus)
				fail_msg("leaf 0x%x vcpu %u/%u: core shift %u count %u", fns[f],
					 t->vcpu_id, t->nr_vcpus, core->eax, core->ebx);
			assert_true((1U << core->eax) >= t->nr_vcpus);
			assert_int_equal(core->ecx, (2 << 8) | 1);  /* core, level 1 */
			assert_int_equal(end->eax, 0);
			assert_int_equal(end->ebx, 0);
			assert_int_equal(end->ecx, 2);              /* invalid, level 2 */
			assert_int_equal(smt->edx, t->vcpu_id);
			assert_int_equal(core->edx, t->vcpu_id);
			assert_int_equal(end->edx, t->vcpu_id);
		}
	}
}

/* Leaf 4: caches up to L2 are per core, L3 is shared by all; EAX[31:26]
 * holds the package's core-id space. */
static void test_leaf4_caches(void **state)
{
	(void)state;
	FOR_EACH_TOPO(t) {
		struct kvm_cpuid_entry2 *e = normalised(t, false);

		for (unsigned int idx = 0; idx < 4; idx++) {
			struct kvm_cpuid_entry2 *c = leaf(e, 4, idx);
			const struct kvm_cpuid_entry2 *h = host_leaf(4, idx);
			unsigned int level = (h->eax >> 5) & 7;
			unsigned int sharing = ((c->eax >> 14) & 0xfff) + 1;
			unsigned int cores = (c->eax >> 26) + 1;

			assert_int_equal(c->eax & 0x3ff, h->eax & 0x3ff);
			if (sharing != (level == 3 ? t->nr_vcpus : 1))
				fail_msg("vcpu %u/%u: L%u shared by %u", t->vcpu_id, t->nr_vcpus,
					 level, sharing);
			assert_int_equal(cores, 1U << t->bits);
			assert_int_equal(c->ebx, h->ebx);
			assert_int_equal(c->ecx, h->ecx);
		}
		/* The terminating "no cache" entry is left alone. */
		assert_int_equal(leaf(e, 4, 4)->eax, host_leaf(4, 4)->eax);
	}
}

static void test_pm_and_pmu_zeroed(void **state)
{
	static const unsigned int fns[] = { 0x6, 0xa };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fns); i++) {
		struct kvm_cpuid_entry2 *l = leaf(normalised(&topos[3], true), fns[i], 0);

		if (l->eax | l->ebx | l->ecx | l->edx)
			fail_msg("leaf 0x%x is not zeroed", fns[i]);
	}
}

static void test_kvm_signature(void **state)
{
	static const uint32_t host_eax[] = { 0, 0x40000000, 0x40000001, 0x40000010 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(host_eax); i++) {
		struct kvm_cpuid_entry2 e = { .function = 0x40000000, .eax = host_eax[i],
					      .ebx = 0xdead, .ecx = 0xbeef, .edx = 0xf00d };
		const struct cpuid_opts o = { .vcpu_id = 0, .nr_vcpus = 1 };
		char sig[13] = { 0 };

		cpuid_normalise(&e, 1, &o);
		memcpy(sig, &e.ebx, 4);
		memcpy(sig + 4, &e.ecx, 4);
		memcpy(sig + 8, &e.edx, 4);
		assert_memory_equal(sig, "KVMKVMKVM\0\0\0", 12);
		/* Max hypervisor leaf: at least the features leaf, never lowered. */
		assert_true(e.eax >= 0x40000001);
		if (host_eax[i] >= 0x40000001)
			assert_int_equal(e.eax, host_eax[i]);
	}
}

static void test_brand_string(void **state)
{
	char brand[49] = { 0 }, want[48] = CPUID_BRAND;

	(void)state;
	FOR_EACH_TOPO(t) {
		struct kvm_cpuid_entry2 *e = normalised(t, false);

		for (unsigned int i = 0; i < 3; i++) {
			struct kvm_cpuid_entry2 *l = leaf(e, 0x80000002 + i, 0);

			memcpy(brand + 16 * i, &l->eax, 4);
			memcpy(brand + 16 * i + 4, &l->ebx, 4);
			memcpy(brand + 16 * i + 8, &l->ecx, 4);
			memcpy(brand + 16 * i + 12, &l->edx, 4);
		}
		assert_string_equal(brand, CPUID_BRAND);
		assert_memory_equal(brand, want, 48);  /* NUL-padded, no host tail */
	}
}

static void test_amd_leaves(void **state)
{
	(void)state;
	FOR_EACH_TOPO(t) {
		struct kvm_cpuid_entry2 *e = normalised(t, false);
		struct kvm_cpuid_entry2 *x1 = leaf(e, 0x80000001, 0);
		struct kvm_cpuid_entry2 *x8 = leaf(e, 0x80000008, 0);
		struct kvm_cpuid_entry2 *x1e = leaf(e, 0x8000001e, 0);
		const struct kvm_cpuid_entry2 *h8 = host_leaf(0x80000008, 0);

		/* CmpLegacy with more than one core. */
		if (!!(x1->ecx & EXT_ECX_CMP_LEGACY) != (t->nr_vcpus > 1))
			fail_msg("vcpu %u/%u: CmpLegacy %d", t->vcpu_id, t->nr_vcpus,
				 !!(x1->ecx & EXT_ECX_CMP_LEGACY));
		assert_int_equal(x1->ecx & ~EXT_ECX_CMP_LEGACY,
				 host_leaf(0x80000001, 0)->ecx & ~EXT_ECX_CMP_LEGACY);
		/* 0x80000008 ECX: NC = cores - 1, ApicIdCoreIdSize = id bits. */
		if ((x8->ecx & 0xff) != t->nr_vcpus - 1 || ((x8->ecx >> 12) & 0xf) != t->bits)
			fail_msg("vcpu %u/%u: 0x80000008 ecx 0x%x", t->vcpu_id, t->nr_vcpus,
				 x8->ecx);
		assert_int_equal(x8->ecx & ~0xf0ffU, h8->ecx & ~0xf0ffU);
		assert_int_equal(x8->eax, h8->eax);
		/* 0x8000001e: extended APIC id, one thread per core, node 0. */
		assert_int_equal(x1e->eax, t->vcpu_id);
		assert_int_equal(x1e->ebx & 0xff, t->vcpu_id);
		assert_int_equal((x1e->ebx >> 8) & 0xff, 0);
		assert_int_equal(x1e->ecx, 0);
	}
}

/* machine-config "smt": vCPUs 2k and 2k+1 are the two threads of core k in
 * every leaf that describes the topology (Firecracker's x86 rule: only with
 * more than one vCPU; one vCPU stays a single thread). */
static void test_smt_topology(void **state)
{
	static const struct topo smt_topos[] = {
		{ 0, 1, 0 }, { 0, 2, 1 }, { 1, 2, 1 }, { 2, 4, 2 }, { 3, 4, 2 },
		{ 5, 8, 3 }, { 31, 32, 5 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(smt_topos); i++) {
		const struct topo *t = &smt_topos[i];
		const struct cpuid_opts o = { .vcpu_id = t->vcpu_id, .nr_vcpus = t->nr_vcpus,
					      .smt = true };
		unsigned int tpc = t->nr_vcpus > 1 ? 2 : 1, fns[] = { 0xb, 0x1f };
		static struct kvm_cpuid_entry2 e[N_HOST];
		struct kvm_cpuid_entry2 *x1e;

		memcpy(e, host_cpuid, sizeof(e));
		cpuid_normalise(e, N_HOST, &o);
		for (size_t f = 0; f < ARRAY_SIZE(fns); f++) {
			struct kvm_cpuid_entry2 *thr = leaf(e, fns[f], 0), *core = leaf(e, fns[f], 1);

			if (thr->ebx != tpc || thr->eax != (tpc == 2 ? 1U : 0U))
				fail_msg("leaf 0x%x vcpu %u/%u: %u threads per core, shift %u",
					 fns[f], t->vcpu_id, t->nr_vcpus, thr->ebx, thr->eax);
			assert_int_equal(thr->ecx, (1 << 8) | 0);
			assert_int_equal(core->ebx, t->nr_vcpus);
			assert_true(core->eax >= thr->eax && (1U << core->eax) >= t->nr_vcpus);
			assert_int_equal(thr->edx, t->vcpu_id);
		}
		for (unsigned int idx = 0; idx < 4; idx++) {
			struct kvm_cpuid_entry2 *c = leaf(e, 4, idx);
			unsigned int level = (host_leaf(4, idx)->eax >> 5) & 7;
			unsigned int sharing = ((c->eax >> 14) & 0xfff) + 1;

			if (sharing != (level == 3 ? t->nr_vcpus : tpc))
				fail_msg("vcpu %u/%u: L%u shared by %u", t->vcpu_id, t->nr_vcpus,
					 level, sharing);
			assert_true(((c->eax >> 26) + 1) * tpc >= t->nr_vcpus);
		}
		x1e = leaf(e, 0x8000001e, 0);
		assert_int_equal(x1e->eax, t->vcpu_id);
		assert_int_equal(x1e->ebx & 0xff, t->vcpu_id / tpc);     /* core id */
		assert_int_equal((x1e->ebx >> 8) & 0xff, tpc - 1);        /* threads - 1 */
	}
}

/* Leaves ember has no opinion on pass through bit for bit. */
static void test_other_leaves_untouched(void **state)
{
	static const unsigned int fns[] = { 0x0, 0x7, 0x40000001, 0x80000000 };

	(void)state;
	FOR_EACH_TOPO(t) {
		struct kvm_cpuid_entry2 *e = normalised(t, true);

		for (size_t i = 0; i < ARRAY_SIZE(fns); i++)
			assert_memory_equal(leaf(e, fns[i], 0), host_leaf(fns[i], 0),
					    sizeof(struct kvm_cpuid_entry2));
	}
}

/* The same input normalises identically twice (idempotent), and differs
 * between vCPUs only in the per-vCPU fields. */
static void test_idempotent(void **state)
{
	struct kvm_cpuid_entry2 a[N_HOST], b[N_HOST];
	const struct cpuid_opts o = { .vcpu_id = 3, .nr_vcpus = 4, .tsc_deadline = true };

	(void)state;
	memcpy(a, host_cpuid, sizeof(a));
	cpuid_normalise(a, N_HOST, &o);
	memcpy(b, a, sizeof(b));
	cpuid_normalise(b, N_HOST, &o);
	assert_memory_equal(a, b, sizeof(a));
}

static void test_find(void **state)
{
	struct kvm_cpuid_entry2 e[N_HOST + 1];

	(void)state;
	memcpy(e, host_cpuid, sizeof(host_cpuid));
	assert_ptr_equal(cpuid_find(e, N_HOST, 0x0, 0), &e[0]);
	assert_ptr_equal(cpuid_find(e, N_HOST, 0x8000001e, 0), &e[N_HOST - 1]);
	assert_int_equal(cpuid_find(e, N_HOST, 0xb, 1)->ebx, 64);
	assert_int_equal(cpuid_find(e, N_HOST, 0x1f, 2)->ecx, 0x302);
	assert_int_equal(cpuid_find(e, N_HOST, 0x4, 3)->eax, 0xfc07c163);
	assert_null(cpuid_find(e, N_HOST, 0xb, 3));        /* index absent */
	assert_null(cpuid_find(e, N_HOST, 0x5, 0));        /* function absent */
	assert_null(cpuid_find(e, N_HOST, 0x4, 0x10000));
	assert_null(cpuid_find(e, 0, 0x0, 0));             /* empty array */
	assert_null(cpuid_find(e, 1, 0x1, 0));             /* only searches n */
	/* Duplicates: the first wins. */
	e[N_HOST] = e[0];
	e[N_HOST].eax = 0x1234;
	assert_ptr_equal(cpuid_find(e, N_HOST + 1, 0x0, 0), &e[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf1),
		cmocka_unit_test(test_leaf1_htt_cleared),
		cmocka_unit_test(test_leaf1_tsc_deadline),
		cmocka_unit_test(test_topology_leaves),
		cmocka_unit_test(test_leaf4_caches),
		cmocka_unit_test(test_pm_and_pmu_zeroed),
		cmocka_unit_test(test_kvm_signature),
		cmocka_unit_test(test_brand_string),
		cmocka_unit_test(test_amd_leaves),
		cmocka_unit_test(test_smt_topology),
		cmocka_unit_test(test_other_leaves_untouched),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_find),
	};

	unit_init();
	return cmocka_run_group_tests_name("cpuid", tests, NULL, NULL);
}
