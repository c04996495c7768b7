/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vcpu.h - one thread per vCPU running the KVM_RUN loop.
 *
 * vcpu_init/vcpu_setup_boot run in main before the threads start.  The
 * thread ("vcpu N") dispatches PIO/MMIO exits to the buses and asks the VM
 * to end on shutdown, reset or an internal error.  vcpu_kick is called by
 * the vmm thread to force a vCPU out of KVM_RUN.
 */
#ifndef EMBER_VCPU_H
#define EMBER_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

struct vm;
struct boot_image;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits;
};

int vcpu_init(struct vcpu *vcpu, struct vm *vm, unsigned int id);
/* Registers for the boot CPU's entry into the kernel. */
int vcpu_setup_boot(struct vcpu *vcpu, const struct boot_image *bi);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
/* Print the register state to stderr (after an unexpected exit). */
void vcpu_dump(struct vcpu *vcpu);

#endif
