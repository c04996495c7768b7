/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm.h - the KVM system and VM file descriptors.
 *
 * kvm_init opens /dev/kvm, checks the API version and every capability
 * ember relies on (naming the first one missing), creates the VM with an
 * in-kernel irqchip and PIT, and reads the supported CPUID.  Everything here
 * runs on the vmm thread while the microVM is built (vm_create, the
 * builder), before any vCPU thread starts; the vCPU threads only read the
 * struct (vm_fd, run_size, cpuid) afterwards.
 */
#ifndef EMBER_KVM_H
#define EMBER_KVM_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "vmm/core/memory.h"
#include "vmm/x86/cpu_template.h"

struct kvm {
	int sys_fd;
	int vm_fd;
	int run_size;                     /* mmap size of struct kvm_run */
	struct kvm_cpuid2 *cpuid;         /* KVM_GET_SUPPORTED_CPUID */
	bool tsc_deadline;                /* KVM_CAP_TSC_DEADLINE_TIMER */
	struct kvm_msr_list *msr_list;    /* kvm_msr_list, or NULL */
};

/* vm_create: open `dev_path` and create the VM as above.  A CPU template
 * `tmpl` (or NULL) drops capabilities from the checks ("!N") or adds its
 * own ("N"); a missing one of those is described in `why`.  0 or -errno
 * (the reason logged); kvm_close releases what was made. */
int kvm_init(struct kvm *kvm, const char *dev_path, const struct cpu_template *tmpl,
	     char *why, size_t whylen);
/* vm_create: register every RAM region of `gm` as a KVM memory slot (slot
 * i = region i), with KVM_MEM_LOG_DIRTY_PAGES when gm tracks dirty pages. */
int kvm_set_memory(struct kvm *kvm, const struct guest_mem *gm);
/* Snapshot create (vmm thread, vCPUs parked): KVM_GET_DIRTY_LOG of `slot`
 * into `bitmap` (one bit per page of the slot, rounded up to 64), which
 * also clears KVM's log.  0 or -errno (logged). */
int kvm_get_dirty_log(struct kvm *kvm, uint32_t slot, uint64_t *bitmap);
/* Builder, for each device: route eventfd `efd` to GSI `gsi` (edge: one
 * interrupt per write). */
int kvm_irqfd(struct kvm *kvm, int efd, unsigned int gsi);
/* Builder, for each virtio queue: signal eventfd `efd` (instead of exiting
 * to userspace) when a vCPU writes the `len`-byte value `datamatch` at MMIO
 * address `addr`. */
int kvm_ioeventfd(struct kvm *kvm, int efd, uint64_t addr, uint32_t len, uint64_t datamatch);
/* vmm thread (snapshot create): the MSRs KVM saves and restores
 * (KVM_GET_MSR_INDEX_LIST), read once and kept in kvm->msr_list.  0 or -errno. */
int kvm_msr_list(struct kvm *kvm);
/* vm_destroy, after the vCPUs are gone: close the fds, free the CPUID. */
void kvm_close(struct kvm *kvm);

#endif
