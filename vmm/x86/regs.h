/* SPDX-License-Identifier: Apache-2.0 */
/*
 * regs.h - the x86 register state a vCPU starts with: the boot CPU's
 * general and segment registers for a loaded kernel (64-bit long-mode entry
 * or 32-bit PVH entry), the MSRs, FPU and local-APIC LVT set-up every vCPU
 * gets.  Pure functions over <linux/kvm.h> structures, no ioctl: the vmm
 * thread calls them from vcpu.c (vcpu_init, vcpu_setup_boot), which moves
 * the result in and out of KVM.
 */
#ifndef EMBER_X86_REGS_H
#define EMBER_X86_REGS_H

#include <stdint.h>
#include <linux/kvm.h>

#define X86_CR0_PE  0x1ULL
#define X86_CR0_ET  0x10ULL
#define X86_CR0_NE  0x20ULL
#define X86_CR0_PG  0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME    0x100ULL
#define EFER_LMA    0x400ULL

/* Local-APIC registers (offsets into kvm_lapic_state.regs) and the
 * delivery modes (bits 8-10 of an LVT entry) ember programs. */
#define APIC_LVT0        0x350
#define APIC_LVT1        0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

struct boot_image;

/* Fill the boot CPU's registers to enter `bi`: `regs` is overwritten,
 * `sregs` (as KVM_GET_SREGS returned it) gets flat segments, the GDT/IDT
 * from layout.h and the mode: long mode with paging, rsi = zero page for
 * BOOT_PROTO_LINUX64; protected mode without paging, rbx = start info for
 * BOOT_PROTO_PVH. */
void x86_boot_regs(const struct boot_image *bi, struct kvm_regs *regs,
		   struct kvm_sregs *sregs);
/* A new list (free() it) of the MSRs every vCPU starts with, or NULL. */
struct kvm_msrs *x86_boot_msrs(void);
/* The FPU state at reset (x87 control word, MXCSR). */
void x86_boot_fpu(struct kvm_fpu *fpu);
/* Set LVT0 to ExtINT (the PIC's interrupts) and LVT1 to NMI, keeping the
 * other bits of both registers. */
void x86_lapic_boot_lvt(struct kvm_lapic_state *lapic);

#endif
