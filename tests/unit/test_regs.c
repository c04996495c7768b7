// SPDX-License-Identifier: Apache-2.0
/*
 * test_regs.c - the vCPU start state (vmm/x86/regs.c): the boot CPU enters
 * a 64-bit kernel in long mode with paging and rsi = zero page, a PVH kernel
 * in flat 32-bit protected mode with rbx = start info; the LAPIC's LVT0 and
 * LVT1 get ExtINT and NMI without losing their other bits; the boot MSR
 * list and FPU state are what the kernel expects.
 */
#include "unit.h"
#include "vmm/x86/boot.h"
#include "vmm/x86/layout.h"
#include "vmm/x86/regs.h"

/* sregs as KVM_GET_SREGS might return them: garbage the set-up must
 * overwrite, and fields it must keep (apic_base). */
static struct kvm_sregs kvm_sregs_after_reset(void)
{
	struct kvm_sregs s;

	memset(&s, 0xa5, sizeof(s));
	s.apic_base = 0xfee00900;
	return s;
}

static void test_long_mode_entry(void **state)
{
	struct boot_image bi = { .proto = BOOT_PROTO_LINUX64, .entry = 0x1000200 };
	struct kvm_sregs s = kvm_sregs_after_reset();
	struct kvm_regs r;

	(void)state;
	memset(&r, 0xa5, sizeof(r));
	x86_boot_regs(&bi, &r, &s);
	assert_int_equal(s.cr0 & (X86_CR0_PG | X86_CR0_PE), X86_CR0_PG | X86_CR0_PE);
	assert_int_equal(s.cr4 & X86_CR4_PAE, X86_CR4_PAE);
	assert_int_equal(s.cr3, LAYOUT_PML4_START);
	assert_int_equal(s.efer, EFER_LME | EFER_LMA);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_int_equal(s.cs.selector, BOOT_GDT_CODE * 8);
	assert_int_equal(s.ds.selector, BOOT_GDT_DATA * 8);
	assert_int_equal(s.ss.selector, BOOT_GDT_DATA * 8);
	assert_int_equal(s.tr.selector, BOOT_GDT_TSS * 8);
	assert_int_equal(s.gdt.base, LAYOUT_GDT_START);
	assert_int_equal(s.idt.base, LAYOUT_IDT_START);
	assert_int_equal(s.apic_base, 0xfee00900);
	assert_int_equal(r.rip, 0x1000200);
	assert_int_equal(r.rsi, LAYOUT_ZERO_PAGE_START);
	assert_int_equal(r.rsp, LAYOUT_BOOT_STACK);
	assert_int_equal(r.rflags, 0x2);
	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rbx, 0);
}

static void test_pvh_entry(void **state)
{
	struct boot_image bi = { .proto = BOOT_PROTO_PVH, .entry = 0x1000000 };
	struct kvm_sregs s = kvm_sregs_after_reset();
	struct kvm_regs r;

	(void)state;
	x86_boot_regs(&bi, &r, &s);
	assert_int_equal(s.cr0 & X86_CR0_PE, X86_CR0_PE);
	assert_int_equal(s.cr0 & X86_CR0_PG, 0);
	assert_int_equal(s.cr3, 0);
	assert_int_equal(s.cr4, 0);
	assert_int_equal(s.efer, 0);
	assert_int_equal(s.cs.l, 0);
	assert_int_equal(s.cs.db, 1);
	assert_int_equal(s.cs.base, 0);
	assert_int_equal(s.cs.limit, 0xffffffff);
	assert_int_equal(s.ds.db, 1);
	assert_int_equal(r.rbx, LAYOUT_PVH_INFO_START);
	assert_int_equal(r.rip, 0x1000000);
	assert_int_equal(r.rsi, 0);
	assert_int_equal(r.rflags, 0x2);
}

static uint32_t lapic_reg(const struct kvm_lapic_state *l, int reg)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	return v;
}

static void test_lapic_lvt_modes(void **state)
{
	struct kvm_lapic_state l;
	uint32_t masked_high = 0x00010000, all_ones = 0xffffffff;

	(void)state;
	memset(&l, 0x5a, sizeof(l));
	memcpy(&l.regs[APIC_LVT0], &masked_high, 4);
	memcpy(&l.regs[APIC_LVT1], &all_ones, 4);
	x86_lapic_boot_lvt(&l);
	assert_int_equal(lapic_reg(&l, APIC_LVT0), 0x00010000 | APIC_MODE_EXTINT << 8);
	assert_int_equal(lapic_reg(&l, APIC_LVT1), (0xffffffffU & ~0x700U) | APIC_MODE_NMI << 8);
	/* Neighbouring registers are untouched. */
	assert_int_equal(lapic_reg(&l, APIC_LVT0 - 0x10), 0x5a5a5a5a);
	assert_int_equal(lapic_reg(&l, APIC_LVT1 + 0x10), 0x5a5a5a5a);
}

static void test_boot_msrs(void **state)
{
	struct kvm_msrs *m = x86_boot_msrs();
	bool misc = false, mtrr = false;

	(void)state;
	assert_non_null(m);
	assert_true(m->nmsrs > 0);
	for (unsigned int i = 0; i < m->nmsrs; i++) {
		if (m->entries[i].index == 0x1a0)
			misc = m->entries[i].data == 1;
		if (m->entries[i].index == 0x2ff)
			mtrr = m->entries[i].data == ((1 << 11) | 6);
	}
	assert_true(misc);
	assert_true(mtrr);
	free(m);
}

static void test_boot_fpu(void **state)
{
	struct kvm_fpu f;

	(void)state;
	memset(&f, 0xa5, sizeof(f));
	x86_boot_fpu(&f);
	assert_int_equal(f.fcw, 0x37f);
	assert_int_equal(f.mxcsr, 0x1f80);
	assert_int_equal(f.fsw, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_mode_entry),
		cmocka_unit_test(test_pvh_entry),
		cmocka_unit_test(test_lapic_lvt_modes),
		cmocka_unit_test(test_boot_msrs),
		cmocka_unit_test(test_boot_fpu),
	};

	unit_init();
	return cmocka_run_group_tests_name("regs", tests, NULL, NULL);
}
