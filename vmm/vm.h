/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.h - one microVM: KVM handles, guest RAM, buses, vCPUs and devices.
 *
 * main builds it step by step (vm_create, vm_load_kernel, vm_add_devices,
 * vm_run) and tears it down with vm_destroy.  vm_run turns the calling
 * thread into the "vmm" event loop until the guest or a signal ends the VM.
 */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot.h"
#include "bus.h"
#include "config.h"
#include "kvm.h"
#include "memory.h"

struct vcpu;
struct serial;
struct boot_timer;

struct vm {
	const struct vm_config *cfg;
	struct kvm kvm;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	struct boot_image boot;
	struct serial *serial;
	struct boot_timer *boot_timer;

	int exit_efd;              /* written once when the VM must end */
	atomic_bool stopping;      /* vCPUs leave KVM_RUN when set */
	atomic_int exit_claimed;
	int exit_code;
	uint64_t start_us;         /* boot-timer reference: the start request */
	uint64_t start_cpu_us;
};

int vm_create(struct vm *vm, const struct vm_config *cfg);
int vm_load_kernel(struct vm *vm);
int vm_add_devices(struct vm *vm);
/* Start the vCPUs and run the event loop; returns the exit status. */
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Ask the VM to end with `code` (first caller wins).  Any thread. */
void vm_request_exit(struct vm *vm, int code, const char *why);

#endif
