/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.h - one KVM virtual machine: the KVM handles, guest RAM, the two
 * buses devices are mapped on, and the vCPUs.  It knows no device: the
 * builder (vmm/builder.h) puts them on the buses.
 *
 * The vmm thread creates it (vm_create), starts the vCPUs (vm_start_vcpus),
 * may pause and resume them, and tears it down with vm_stop_vcpus and
 * vm_destroy.  exit_efd becomes readable when the guest (or anyone) asked
 * the VM to end.
 */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvm.h"
#include "vmm/core/bus.h"
#include "vmm/core/memory.h"

struct vcpu;

struct vm {
	struct kvm kvm;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;

	int exit_efd;              /* written once when the VM must end */
	atomic_bool stopping;      /* vCPUs leave KVM_RUN when set */
	atomic_bool pause_requested;
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;    /* vCPUs wait here while paused */
	pthread_cond_t parked_cond;   /* signalled as each vCPU parks */
	unsigned int parked;          /* vCPUs waiting in pause */
	atomic_int exit_claimed;
	int exit_code;
};

/* vmm thread: open KVM, map `mem_bytes` of guest RAM (in 2 MiB huge pages
 * with `hugepages`) and create `nr_vcpus` vCPUs (not yet running).  On
 * failure vm_destroy releases what was made.  0 or -errno. */
int vm_create(struct vm *vm, unsigned int nr_vcpus, uint64_t mem_bytes, bool hugepages);
/* vmm thread: start every vCPU thread; stop and join them all. */
int vm_start_vcpus(struct vm *vm);
void vm_stop_vcpus(struct vm *vm);
/* vmm thread: park every vCPU outside KVM_RUN (returns once all are
 * parked), and let them run again. */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Ask the VM to end with `code` (first caller wins).  Any thread. */
void vm_request_exit(struct vm *vm, int code, const char *why);

#endif
