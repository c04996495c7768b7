// SPDX-License-Identifier: Apache-2.0
/* regs.c - see regs.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "regs.h"

static void seg_flat(struct kvm_segment *s, uint16_t gdt_index, uint8_t type, bool long_mode)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = (uint16_t)(gdt_index * 8),
		.type = type, .present = 1, .dpl = 0, .s = 1, .g = 1,
		.l = long_mode, .db = !long_mode,
	};
}

/* Flat code/data segments, the TSS and the descriptor tables the loaders
 * wrote (layout.h). */
static void boot_segments(struct kvm_sregs *sregs, bool long_mode)
{
	seg_flat(&sregs->cs, BOOT_GDT_CODE, 0xb, long_mode);
	seg_flat(&sregs->ds, BOOT_GDT_DATA, 0x3, false);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	seg_flat(&sregs->tr, BOOT_GDT_TSS, 0xb, false);
	sregs->tr.s = 0;
	sregs->tr.limit = 0xfffff;
	sregs->tr.g = 0;
	sregs->gdt.base = LAYOUT_GDT_START;
	sregs->gdt.limit = 4 * 8 - 1;
	sregs->idt.base = LAYOUT_IDT_START;
	sregs->idt.limit = 7;
}

void x86_boot_regs(const struct boot_image *bi, struct kvm_regs *regs,
		   struct kvm_sregs *sregs)
{
	bool lm = bi->proto == BOOT_PROTO_LINUX64;

	*regs = (struct kvm_regs){ .rflags = 0x2, .rip = bi->entry };
	boot_segments(sregs, lm);
	if (lm) {
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
		sregs->cr3 = LAYOUT_PML4_START;
		sregs->cr4 = X86_CR4_PAE;
		sregs->efer = EFER_LME | EFER_LMA;
		regs->rsp = regs->rbp = LAYOUT_BOOT_STACK;
		regs->rsi = LAYOUT_ZERO_PAGE_START;
	} else {
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs->cr3 = sregs->cr4 = sregs->efer = 0;
		regs->rbx = LAYOUT_PVH_INFO_START;
	}
}

struct kvm_msrs *x86_boot_msrs(void)
{
	static const struct { uint32_t index; uint64_t value; } boot_msrs[] = {
		{ 0x174, 0 }, { 0x175, 0 }, { 0x176, 0 },   /* SYSENTER_CS/ESP/EIP */
		{ 0xc0000081, 0 }, { 0xc0000082, 0 },       /* STAR, LSTAR */
		{ 0xc0000083, 0 }, { 0xc0000084, 0 },       /* CSTAR, SYSCALL_MASK */
		{ 0xc0000102, 0 },                          /* KERNEL_GS_BASE */
		{ 0x1a0, 1 },                               /* MISC_ENABLE: fast strings */
		{ 0x2ff, (1 << 11) | 6 },                   /* MTRRdefType: on, WB */
	};
	enum { N = sizeof(boot_msrs) / sizeof(boot_msrs[0]) };
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + N * sizeof(struct kvm_msr_entry));

	if (!msrs)
		return NULL;
	msrs->nmsrs = N;
	for (int i = 0; i < N; i++) {
		msrs->entries[i].index = boot_msrs[i].index;
		msrs->entries[i].data = boot_msrs[i].value;
	}
	return msrs;
}

void x86_boot_fpu(struct kvm_fpu *fpu)
{
	*fpu = (struct kvm_fpu){ .fcw = 0x37f, .mxcsr = 0x1f80 };
}

/* Set the delivery mode (bits 8-10) of the LVT entry at `reg`. */
static void lapic_set_lvt(struct kvm_lapic_state *l, int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700U) | (mode << 8);
	memcpy(&l->regs[reg], &v, 4);
}

void x86_lapic_boot_lvt(struct kvm_lapic_state *lapic)
{
	lapic_set_lvt(lapic, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_lvt(lapic, APIC_LVT1, APIC_MODE_NMI);
}
