/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vcpu.h - one thread per vCPU running the KVM_RUN loop, and the state all
 * vCPUs of one VM share (struct vcpu_shared).
 *
 * The vmm thread builds the VM: it initialises the shared state
 * (vcpu_shared_init), creates each vCPU (vcpu_init) and sets up the boot
 * CPU (vcpu_setup_boot, from the builder) before any thread starts.  Each
 * thread ("vcpu N") dispatches PIO/MMIO exits to the shared buses, parks
 * while a pause is requested and asks the VM to end (vcpu_request_exit) on
 * shutdown, reset or an internal error.  The vmm thread forces a vCPU out
 * of KVM_RUN with vcpu_kick.  vcpu.h knows nothing of struct vm.
 */
#ifndef EMBER_VCPU_H
#define EMBER_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

struct boot_image;
struct bus;
struct kvm;
struct cpu_template;

#define VCPU_WHY_LEN 256

/* What every vCPU of one VM shares.  The pause protocol: the vmm thread sets
 * pause_requested and kicks; each vCPU counts itself in `parked` (under
 * pause_lock, signalling parked_cond) and waits on pause_cond; a vCPU that
 * left its loop stays counted as parked. */
struct vcpu_shared {
	const struct kvm *kvm;        /* the VM's KVM handle (vm_fd, CPUID, run size) */
	const struct bus *pio;        /* port I/O exits go here */
	const struct bus *mmio;       /* MMIO exits go here */
	unsigned int nr_vcpus;
	bool smt;                     /* two threads per core (CPUID topology) */
	const struct cpu_template *tmpl;  /* applied by vcpu_init, or NULL */
	char why[VCPU_WHY_LEN];       /* why the template did not fit (vmm thread) */

	atomic_bool stopping;         /* vCPUs leave KVM_RUN when set */
	atomic_bool pause_requested;
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;    /* vCPUs wait here while paused */
	pthread_cond_t parked_cond;   /* signalled as each vCPU parks */
	unsigned int parked;          /* vCPUs waiting in pause or gone */

	int exit_efd;                 /* written once when the VM must end */
	atomic_int exit_claimed;
	int exit_code;
};

/* What a KVM_RUN that returned to ember was for (metrics "vcpu.exit_*"). */
enum vcpu_exit_kind {
	VCPU_EXIT_IO_IN,
	VCPU_EXIT_IO_OUT,
	VCPU_EXIT_MMIO_READ,
	VCPU_EXIT_MMIO_WRITE,
	VCPU_EXIT_HLT,
	VCPU_EXIT_OTHER,          /* interrupted by a kick, shutdown, system event, errors */
	VCPU_EXIT_KINDS
};

struct vcpu {
	struct vcpu_shared *shared;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits;               /* KVM_RUN returns; written by the vCPU thread only */
	uint64_t exits_by_kind[VCPU_EXIT_KINDS];
};

/* Everything KVM holds of one vCPU that a snapshot carries.  Its layout is
 * the snapshot file's vCPU section (vmm/snapfile.h): the fixed part, then
 * nr_msrs entries of msrs[] (a multiple of 8 bytes throughout). */
#define VCPU_STATE_MAX_MSRS 512
struct vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint32_t xsave[1024];         /* struct kvm_xsave (its legacy 4 KiB form) */
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	uint32_t tsc_khz;             /* 0: KVM could not say */
	uint32_t nr_msrs;
	uint32_t reserved;            /* 0 */
	struct kvm_msr_entry msrs[VCPU_STATE_MAX_MSRS];
};
#define VCPU_STATE_FIXED_LEN offsetof(struct vcpu_state, msrs)

/* A vCPU's CPUID as ember set it (KVM_GET_CPUID2): struct kvm_cpuid2 with
 * room for KVM's most entries.  The snapshot's CPUID section is its first
 * nent entries (a multiple of 8 bytes throughout). */
#define VCPU_CPUID_MAX 256            /* KVM_MAX_CPUID_ENTRIES */
struct vcpu_cpuid {
	uint32_t nent;
	uint32_t padding;             /* 0 */
	struct kvm_cpuid_entry2 entries[VCPU_CPUID_MAX];
};
#define VCPU_CPUID_FIXED_LEN offsetof(struct vcpu_cpuid, entries)

/* vmm thread, vCPUs parked: the CPUID KVM holds for the vCPU (the
 * normalised one, with smt and the CPU template).  0 or -errno (logged). */
int vcpu_save_cpuid(struct vcpu *vcpu, struct vcpu_cpuid *c);
/* vmm thread, restoring a snapshot after vcpu_init and before
 * vcpu_restore (CPUID first: KVM checks registers and MSRs against it).
 * 0 or -errno with the reason in err. */
int vcpu_restore_cpuid(struct vcpu *vcpu, const struct vcpu_cpuid *c, char *err, size_t errlen);

/* vmm thread, vCPUs parked (vm_pause): read every piece of the state above;
 * `msr_list` is the MSRs to try (kvm_msr_list), those KVM cannot read are
 * left out.  0 or -errno (logged). */
int vcpu_save(struct vcpu *vcpu, const struct kvm_msr_list *msr_list, struct vcpu_state *st);
/* vmm thread, restoring a snapshot before the vCPU threads start: set it
 * all back (after vcpu_init).  0 or -errno with the reason in err. */
int vcpu_restore(struct vcpu *vcpu, const struct vcpu_state *st, char *err, size_t errlen);

/* vmm thread, from vm_create: zero `s`, make its exit eventfd and lock.
 * 0 or -errno; vcpu_shared_destroy releases what was made either way. */
int vcpu_shared_init(struct vcpu_shared *s, const struct kvm *kvm, const struct bus *pio,
		     const struct bus *mmio, unsigned int nr_vcpus);
/* vmm thread, from vm_destroy once every vCPU thread is joined. */
void vcpu_shared_destroy(struct vcpu_shared *s);
/* Ask the VM to end with `code` (the first caller wins; later calls do
 * nothing) and make exit_efd readable.  Any thread: vCPU threads on a guest
 * shutdown or error, the vmm thread on a signal or reset request. */
void vcpu_request_exit(struct vcpu_shared *s, int code, const char *why);

/* vmm thread, from vm_create: create vCPU `id` (KVM_CREATE_VCPU, map its
 * kvm_run) and give it CPUID, boot MSRs, FPU and LAPIC state; the shared
 * CPU template's CPUID modifiers go on top of the normalised CPUID, its
 * MSR modifiers on the values KVM_GET_MSRS reads once that CPUID is set
 * (then the boot MSRs, which win); a leaf or MSR KVM does not offer fails
 * with the reason in shared->why.  0 or -errno,
 * with nothing left open on failure. */
int vcpu_init(struct vcpu *vcpu, struct vcpu_shared *shared, unsigned int id);
/* vmm thread, from the builder before the vCPUs start: registers for the
 * boot CPU's entry into the kernel described by `bi`.  0 or -errno. */
int vcpu_setup_boot(struct vcpu *vcpu, const struct boot_image *bi);
/* vmm thread (vm_start_vcpus): start the "vcpu N" thread, which confines
 * itself with the seccomp "vcpu" filter (vmm/core/sandbox.h) before its first
 * KVM_RUN (a failure ends the VM with status 1).  0 or -errno. */
int vcpu_start(struct vcpu *vcpu);
/* vmm thread (vm_pause, vm_stop_vcpus): force a started vCPU out of
 * KVM_RUN; it then checks the pause and stop flags. */
void vcpu_kick(struct vcpu *vcpu);
/* vmm thread (vm_stop_vcpus): wait for a started vCPU thread to end. */
void vcpu_join(struct vcpu *vcpu);
/* vmm thread (vm_destroy): unmap kvm_run and close the vCPU fd. */
void vcpu_destroy(struct vcpu *vcpu);
/* The vCPU's own thread, after an unexpected exit: print the register
 * state to stderr. */
void vcpu_dump(struct vcpu *vcpu);
/* The metrics key of an exit kind ("exit_io_in"...). */
const char *vcpu_exit_kind_name(enum vcpu_exit_kind kind);
/* Any thread: add the exit counters of `n` vCPUs to `total` and `by_kind`
 * (read atomically; the vCPUs may be running). */
void vcpu_count_exits(const struct vcpu *vcpus, unsigned int n, uint64_t *total,
		      uint64_t by_kind[VCPU_EXIT_KINDS]);

#endif
