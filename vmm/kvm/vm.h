/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.h - one KVM virtual machine: the KVM handles, guest RAM, the two
 * buses devices are mapped on, and the vCPUs.  It knows no device: the
 * builder (vmm/builder.h) puts them on the buses.
 *
 * The vmm thread creates it (vm_create), starts the vCPUs (vm_start_vcpus),
 * may pause and resume them, and tears it down with vm_stop_vcpus and
 * vm_destroy.  shared.exit_efd becomes readable when the guest (or anyone)
 * asked the VM to end; shared.exit_code then holds the code.  What the vCPU
 * threads need of the VM lives in `shared` (vcpu.h), so vcpu.c never sees
 * struct vm.
 */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm.h"
#include "vcpu.h"
#include "vmm/core/bus.h"
#include "vmm/core/memory.h"

struct vm {
	struct kvm kvm;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct vcpu *vcpus;           /* shared.nr_vcpus of them */
	struct vcpu_shared shared;    /* points at kvm, pio and mmio above */
};

/* vmm thread (builder): open KVM, map `mem_bytes` of guest RAM (backed as
 * `pages` says, gm_init) and create `nr_vcpus` vCPUs (not yet
 * running; with `smt` their CPUID pairs them as two threads per core) with
 * the CPU template `tmpl` (or NULL; it must outlive the build).  With
 * `track_dirty` the RAM's dirty pages are tracked (gm_dirty_init, KVM's
 * dirty log on every slot) for "Diff" snapshots.  On failure
 * vm_destroy releases what was made and, when a template does not fit this
 * host, shared.why says why.  0 or -errno. */
int vm_create(struct vm *vm, unsigned int nr_vcpus, bool smt, uint64_t mem_bytes,
	      enum gm_pages pages, const struct cpu_template *tmpl, bool track_dirty);
/* The same with guest RAM a private mapping of `mem_fd` (a snapshot's memory
 * file: pages come in from the page cache on first touch and stay shared
 * with every other mapping of the file until written), ember's own CPUID
 * (no SMT, no template). */
int vm_create_from_file(struct vm *vm, unsigned int nr_vcpus, uint64_t mem_bytes, int mem_fd,
			bool track_dirty);
/* vmm thread (vmm.c): start every vCPU thread (0 or -errno); stop, kick
 * and join them all (also those parked in a pause). */
int vm_start_vcpus(struct vm *vm);
void vm_stop_vcpus(struct vm *vm);
/* vm_stop_vcpus' first half: tell every vCPU to stop and kick it, without
 * waiting (a vCPU may need more help to get out, machine_unblock_faults). */
void vm_kick_stop(struct vm *vm);
/* vmm thread (API requests): park every vCPU outside KVM_RUN (returns once
 * all are parked, -ESHUTDOWN if the vCPUs are stopping), and let them run
 * again. */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
/* What KVM holds of the VM itself that a snapshot carries: the PIC master
 * and slave and the IOAPIC (KVM_IRQCHIP_* order), the PIT, the kvmclock. */
struct vm_state {
	struct kvm_irqchip irqchip[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

/* vmm thread, vCPUs parked: read it.  0 or -errno (logged). */
int vm_save_state(struct vm *vm, struct vm_state *st);
/* vmm thread, restoring a snapshot, after every vCPU's state and before the
 * vCPUs start.  0 or -errno with the reason in err. */
int vm_restore_state(struct vm *vm, const struct vm_state *st, char *err, size_t errlen);

/* vmm thread, vCPUs parked, dirty pages tracked: OR into `bits`
 * (gm_dirty_words of RAM) every page written since the last take, by the
 * guest (KVM's log of each slot, cleared by the read) or by ember (the
 * guest-memory bitmap, cleared).  On failure what was taken is given back
 * to the guest-memory bitmap, so no page is lost.  0 or -errno (logged). */
int vm_dirty_take(struct vm *vm, uint64_t *bits);

/* vmm thread, after vm_stop_vcpus: release vCPUs, RAM and KVM fds. */
void vm_destroy(struct vm *vm);

/* Ask the VM to end with `code` (first caller wins): vcpu_request_exit on
 * vm->shared.  Any thread; the vmm thread calls it on signals and resets. */
void vm_request_exit(struct vm *vm, int code, const char *why);

#endif
