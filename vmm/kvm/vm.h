/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.h - one microVM: KVM handles, guest RAM, buses, vCPUs and devices.
 *
 * The vmm thread builds it step by step (vm_create, vm_load_kernel,
 * vm_add_devices, vm_start_vcpus), may pause and resume it, and tears it
 * down with vm_stop_vcpus and vm_destroy.  exit_efd becomes readable when
 * the guest (or anyone) asked the VM to end.
 */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/x86/boot.h"
#include "vmm/core/bus.h"
#include "vmm/config/config.h"
#include "kvm.h"
#include "vmm/x86/layout.h"
#include "vmm/core/memory.h"

struct vcpu;
struct serial;
struct boot_timer;
struct i8042;
struct blk_dev;
struct net_dev;
struct vsock_dev;
struct ev_loop;

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
	struct i8042 *i8042;
	struct ev_loop *loop;      /* the vmm thread's: device completions, notifications */
	struct blk_dev *blks[CONFIG_MAX_DRIVES];
	unsigned int nr_blks;
	struct net_dev *nets[CONFIG_MAX_NETS];
	unsigned int nr_nets;
	struct vsock_dev *vsock;   /* NULL without a vsock section */
	unsigned int nr_virtio;    /* virtio-mmio slots used */
	char cmdline[LAYOUT_CMDLINE_MAX];  /* the user's plus what the devices need */

	int exit_efd;              /* written once when the VM must end */
	atomic_bool stopping;      /* vCPUs leave KVM_RUN when set */
	atomic_bool pause_requested;
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;    /* vCPUs wait here while paused */
	pthread_cond_t parked_cond;   /* signalled as each vCPU parks */
	unsigned int parked;          /* vCPUs waiting in pause */
	atomic_int exit_claimed;
	int exit_code;
	uint64_t start_us;         /* boot-timer reference: the start request */
	uint64_t start_cpu_us;
};

/* vmm thread, in this order: vm_create, then (with vm->loop set)
 * vm_add_devices, which also completes the guest command line, then
 * vm_load_kernel. */
int vm_create(struct vm *vm, const struct vm_config *cfg);
int vm_add_devices(struct vm *vm);
int vm_load_kernel(struct vm *vm);
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
