/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm.h - the KVM system and VM file descriptors.
 *
 * kvm_init opens /dev/kvm, checks the API version and every capability
 * ember relies on (naming the first one missing), creates the VM with an
 * in-kernel irqchip and PIT, and reads the supported CPUID.  Called once
 * from main before any vCPU exists.
 */
#ifndef EMBER_KVM_H
#define EMBER_KVM_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "vmm/core/memory.h"

struct kvm {
	int sys_fd;
	int vm_fd;
	int run_size;                     /* mmap size of struct kvm_run */
	struct kvm_cpuid2 *cpuid;         /* KVM_GET_SUPPORTED_CPUID */
	bool tsc_deadline;                /* KVM_CAP_TSC_DEADLINE_TIMER */
};

int kvm_init(struct kvm *kvm, const char *dev_path);
/* Register every RAM region of `gm` as a KVM memory slot. */
int kvm_set_memory(struct kvm *kvm, const struct guest_mem *gm);
/* Route eventfd `efd` to GSI `gsi` (edge: one interrupt per write). */
int kvm_irqfd(struct kvm *kvm, int efd, unsigned int gsi);
/* Signal eventfd `efd` (instead of exiting to userspace) when a vCPU writes
 * the `len`-byte value `datamatch` at MMIO address `addr`. */
int kvm_ioeventfd(struct kvm *kvm, int efd, uint64_t addr, uint32_t len, uint64_t datamatch);
void kvm_close(struct kvm *kvm);

#endif
