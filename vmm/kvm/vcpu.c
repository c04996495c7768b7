// SPDX-License-Identifier: Apache-2.0
/* vcpu.c - see vcpu.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vmm/x86/cpu_template.h"
#include "vmm/x86/cpuid.h"
#include "vmm/x86/regs.h"
#include "vmm/core/log.h"
#include "vmm/core/thread.h"
#include "vmm/core/bus.h"
#include "vmm/core/sandbox.h"
#include "vmm/core/stages.h"
#include "kvm.h"
#include "vcpu.h"

#define VCPU_KICK_SIGNAL SIGUSR1

/* ---- shared state ---------------------------------------------------------- */

int vcpu_shared_init(struct vcpu_shared *s, const struct kvm *kvm, const struct bus *pio,
		     const struct bus *mmio, unsigned int nr_vcpus)
{
	memset(s, 0, sizeof(*s));
	s->kvm = kvm;
	s->pio = pio;
	s->mmio = mmio;
	s->nr_vcpus = nr_vcpus;
	pthread_mutex_init(&s->pause_lock, NULL);
	pthread_cond_init(&s->pause_cond, NULL);
	pthread_cond_init(&s->parked_cond, NULL);
	s->exit_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return s->exit_efd < 0 ? -errno : 0;
}

void vcpu_shared_destroy(struct vcpu_shared *s)
{
	if (s->exit_efd >= 0)
		close(s->exit_efd);
	s->exit_efd = -1;
}

void vcpu_request_exit(struct vcpu_shared *s, int code, const char *why)
{
	uint64_t one = 1;
	int expected = 0;

	if (!atomic_compare_exchange_strong(&s->exit_claimed, &expected, 1))
		return;
	s->exit_code = code;
	if (code)
		log_error("stopping the microVM: %s", why);
	else
		log_info("stopping the microVM: %s", why);
	if (write(s->exit_efd, &one, sizeof(one)) < 0)
		log_error("exit eventfd: %s", strerror(errno));
}

/* ---- one vCPU -------------------------------------------------------------- */

static int vcpu_ioctl(struct vcpu *vcpu, unsigned long req, void *arg, const char *name)
{
	if (ioctl(vcpu->fd, req, arg) < 0) {
		int err = errno;

		log_error("vcpu %u: %s: %s", vcpu->id, name, strerror(err));
		return -err;
	}
	return 0;
}

static int vcpu_set_cpuid(struct vcpu *vcpu)
{
	const struct kvm_cpuid2 *sup = vcpu->shared->kvm->cpuid;
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct cpuid_opts opts = {
		.vcpu_id = vcpu->id, .nr_vcpus = vcpu->shared->nr_vcpus,
		.smt = vcpu->shared->smt,
		.tsc_deadline = vcpu->shared->kvm->tsc_deadline,
	};
	struct kvm_cpuid2 *c = malloc(sz);
	int ret;

	if (!c)
		return -ENOMEM;
	memcpy(c, sup, sz);
	cpuid_normalise(c->entries, c->nent, &opts);
	ret = vcpu->shared->tmpl ? cpu_template_apply_cpuid(vcpu->shared->tmpl, c->entries, c->nent,
							    vcpu->shared->why,
							    sizeof(vcpu->shared->why)) : 0;
	if (ret)
		log_error("vcpu %u: %s", vcpu->id, vcpu->shared->why);
	else
		ret = vcpu_ioctl(vcpu, KVM_SET_CPUID2, c, "KVM_SET_CPUID2");
	free(c);
	return ret;
}

/* The template's MSRs: read what KVM gives this vCPU (with its CPUID set),
 * apply the modifiers, write them back.  An MSR KVM cannot read or will
 * not take that value is refused, with the reason in shared->why. */
static int vcpu_set_template_msrs(struct vcpu *vcpu)
{
	const struct cpu_template *t = vcpu->shared->tmpl;
	struct kvm_msrs *m;
	int n, got = 0, ret = 0;

	if (!t || !t->nr_msrs)
		return 0;
	m = cpu_template_msr_list(t);
	if (!m)
		return -ENOMEM;
	n = (int)m->nmsrs;
	got = ioctl(vcpu->fd, KVM_GET_MSRS, m);
	if (got != n) {
		snprintf(vcpu->shared->why, sizeof(vcpu->shared->why),
			 "the CPU template changes MSR 0x%x, which KVM does not support",
			 got >= 0 && got < n ? m->entries[got].index : m->entries[0].index);
		ret = -EINVAL;
		goto out;
	}
	cpu_template_apply_msrs(t, m);
	got = ioctl(vcpu->fd, KVM_SET_MSRS, m);
	if (got != n) {
		snprintf(vcpu->shared->why, sizeof(vcpu->shared->why),
			 "KVM refused the CPU template's value 0x%llx for MSR 0x%x",
			 got >= 0 && got < n ? (unsigned long long)m->entries[got].data : 0ULL,
			 got >= 0 && got < n ? m->entries[got].index : m->entries[0].index);
		ret = -EINVAL;
	}
out:
	if (ret)
		log_error("vcpu %u: %s", vcpu->id, vcpu->shared->why);
	free(m);
	return ret;
}

static int vcpu_set_msrs(struct vcpu *vcpu)
{
	struct kvm_msrs *msrs = x86_boot_msrs();
	int n, ret;

	if (!msrs)
		return -ENOMEM;
	n = (int)msrs->nmsrs;
	ret = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
	if (ret != n)
		log_error("vcpu %u: KVM_SET_MSRS: MSR 0x%x refused", vcpu->id,
			  ret >= 0 && ret < n ? msrs->entries[ret].index : 0);
	free(msrs);
	return ret == n ? 0 : -EINVAL;
}

static int vcpu_set_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state l;
	int ret = vcpu_ioctl(vcpu, KVM_GET_LAPIC, &l, "KVM_GET_LAPIC");

	if (ret)
		return ret;
	x86_lapic_boot_lvt(&l);
	return vcpu_ioctl(vcpu, KVM_SET_LAPIC, &l, "KVM_SET_LAPIC");
}

static int vcpu_set_fpu(struct vcpu *vcpu)
{
	struct kvm_fpu fpu;

	x86_boot_fpu(&fpu);
	return vcpu_ioctl(vcpu, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
}

int vcpu_init(struct vcpu *vcpu, struct vcpu_shared *shared, unsigned int id)
{
	const struct kvm *kvm = shared->kvm;
	int ret;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->shared = shared;
	vcpu->id = id;
	vcpu->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		log_error("vcpu %u: KVM_CREATE_VCPU: %s", id, strerror(errno));
		return -errno;
	}
	stage_mark("KVM_CREATE_VCPU");
	vcpu->run = mmap(NULL, (size_t)kvm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		vcpu->run = NULL;
		goto err_close;
	}
	ret = vcpu_set_cpuid(vcpu);
	if (!ret)
		ret = vcpu_set_template_msrs(vcpu);
	if (!ret)
		ret = vcpu_set_msrs(vcpu);
	if (!ret)
		ret = vcpu_set_fpu(vcpu);
	if (!ret)
		ret = vcpu_set_lapic(vcpu);
	if (ret)
		goto err_unmap;
	stage_mark("vCPU: kvm_run mmap, CPUID, MSRs, FPU, LAPIC");
	return 0;

err_unmap:
	munmap(vcpu->run, (size_t)kvm->run_size);
	vcpu->run = NULL;
err_close:
	close(vcpu->fd);
	vcpu->fd = -1;
	return ret;
}

int vcpu_setup_boot(struct vcpu *vcpu, const struct boot_image *bi)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int ret = vcpu_ioctl(vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");

	if (ret)
		return ret;
	x86_boot_regs(bi, &regs, &sregs);
	ret = vcpu_ioctl(vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	return ret ? ret : vcpu_ioctl(vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	const struct bus *pio = vcpu->shared->pio;
	bool handled = true;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			handled = bus_write(pio, run->io.port, data, run->io.size);
		else
			handled = bus_read(pio, run->io.port, data, run->io.size);
	}
	if (!handled)
		log_ratelimited(LOG_DEBUG, "vcpu %u: unhandled %s port 0x%x size %u", vcpu->id,
				run->io.direction == KVM_EXIT_IO_OUT ? "write to" : "read from",
				run->io.port, run->io.size);
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	const struct bus *mmio = vcpu->shared->mmio;
	unsigned int len = run->mmio.len;
	bool handled;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (run->mmio.is_write)
		handled = bus_write(mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		handled = bus_read(mmio, run->mmio.phys_addr, run->mmio.data, len);
	if (!handled)
		log_ratelimited(LOG_DEBUG, "vcpu %u: unhandled MMIO %s 0x%llx size %u", vcpu->id,
				run->mmio.is_write ? "write" : "read",
				(unsigned long long)run->mmio.phys_addr, len);
}

/* Handle one exit; false when the vCPU must stop. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char why[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu_request_exit(vcpu->shared, 0, "guest shut down (triple fault)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_request_exit(vcpu->shared, 0, "guest requested a system reset/shutdown");
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "vcpu %u: entry failed (hardware reason 0x%llx)", vcpu->id,
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(why, sizeof(why), "vcpu %u: KVM internal error (suberror %u)", vcpu->id,
			 run->internal.suberror);
		break;
	default:
		snprintf(why, sizeof(why), "vcpu %u: unexpected exit reason %u", vcpu->id,
			 run->exit_reason);
		break;
	}
	log_error("%s", why);
	vcpu_dump(vcpu);
	vcpu_request_exit(vcpu->shared, 1, why);
	return false;
}

static enum vcpu_exit_kind vcpu_exit_kind(const struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return run->io.direction == KVM_EXIT_IO_OUT ? VCPU_EXIT_IO_OUT : VCPU_EXIT_IO_IN;
	case KVM_EXIT_MMIO:
		return run->mmio.is_write ? VCPU_EXIT_MMIO_WRITE : VCPU_EXIT_MMIO_READ;
	case KVM_EXIT_HLT:
		return VCPU_EXIT_HLT;
	default:
		return VCPU_EXIT_OTHER;
	}
}

/* Relaxed atomic stores: the vmm thread reads the counters while this
 * thread runs (metrics), and the boot timer from another vCPU. */
static void vcpu_count_exit(struct vcpu *vcpu)
{
	uint64_t *kind = &vcpu->exits_by_kind[vcpu_exit_kind(vcpu->run)];

	__atomic_store_n(&vcpu->exits, vcpu->exits + 1, __ATOMIC_RELAXED);
	__atomic_store_n(kind, *kind + 1, __ATOMIC_RELAXED);
}

const char *vcpu_exit_kind_name(enum vcpu_exit_kind kind)
{
	static const char *const names[VCPU_EXIT_KINDS] = {
		[VCPU_EXIT_IO_IN] = "exit_io_in",
		[VCPU_EXIT_IO_OUT] = "exit_io_out",
		[VCPU_EXIT_MMIO_READ] = "exit_mmio_read",
		[VCPU_EXIT_MMIO_WRITE] = "exit_mmio_write",
		[VCPU_EXIT_HLT] = "exit_hlt",
		[VCPU_EXIT_OTHER] = "exit_other",
	};

	return (unsigned int)kind < VCPU_EXIT_KINDS ? names[kind] : "exit_unknown";
}

void vcpu_count_exits(const struct vcpu *vcpus, unsigned int n, uint64_t *total,
		      uint64_t by_kind[VCPU_EXIT_KINDS])
{
	for (unsigned int i = 0; i < n; i++) {
		*total += __atomic_load_n(&vcpus[i].exits, __ATOMIC_RELAXED);
		for (unsigned int k = 0; k < VCPU_EXIT_KINDS; k++)
			by_kind[k] += __atomic_load_n(&vcpus[i].exits_by_kind[k], __ATOMIC_RELAXED);
	}
}

/* Wait outside KVM_RUN while the VM is paused.  First one KVM_RUN with
 * immediate_exit set: KVM completes the exit just handled (the value of a
 * port or MMIO read lands in the guest's register, the instruction is
 * retired) and returns without running guest code, so the state a snapshot
 * reads while the vCPU is parked is whole. */
static void vcpu_park(struct vcpu *vcpu)
{
	struct vcpu_shared *s = vcpu->shared;

	vcpu->run->immediate_exit = 1;
	if (ioctl(vcpu->fd, KVM_RUN, 0) < 0 && errno != EINTR && errno != EAGAIN)
		log_warn("vcpu %u: completing the last exit before a pause: %s", vcpu->id,
			 strerror(errno));
	vcpu->run->immediate_exit = 0;
	pthread_mutex_lock(&s->pause_lock);
	s->parked++;
	pthread_cond_broadcast(&s->parked_cond);
	while (atomic_load(&s->pause_requested) && !atomic_load(&s->stopping))
		pthread_cond_wait(&s->pause_cond, &s->pause_lock);
	s->parked--;
	pthread_mutex_unlock(&s->pause_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vcpu_shared *s = vcpu->shared;
	char name[16];
	sigset_t set;
	bool confined;

	if (vcpu->id == 0)
		stage_mark("vCPU thread creation");
	snprintf(name, sizeof(name), "vcpu %u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* seccomp "vcpu" before the guest runs a single instruction */
	confined = !sandbox_enter(SANDBOX_VCPU);
	if (!confined)
		vcpu_request_exit(s, 1, "a vCPU thread cannot install its seccomp filter");
	if (vcpu->id == 0) {  /* read by the start-up benchmark */
		struct rusage ru;

		stage_mark("vCPU 0's seccomp filter (the vmm thread's in parallel)");

		getrusage(RUSAGE_SELF, &ru);
		log_debug("vcpu 0: first KVM_RUN at monotonic %llu us, process CPU %llu us"
			  " (user %ld us, system %ld us)",
			  (unsigned long long)time_mono_us(), (unsigned long long)time_cpu_us(),
			  ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
			  ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec);
		stage_log();
	}
	while (confined && !atomic_load(&s->stopping)) {
		if (atomic_load(&s->pause_requested)) {
			vcpu_park(vcpu);
			continue;
		}
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				continue;
			}
			log_error("vcpu %u: KVM_RUN: %s", vcpu->id, strerror(errno));
			vcpu_request_exit(s, 1, "KVM_RUN failed");
			break;
		}
		vcpu_count_exit(vcpu);
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	/* A vCPU that has left its loop runs no guest code: count it as parked
	 * so a pause in progress does not wait for it. */
	pthread_mutex_lock(&s->pause_lock);
	s->parked++;
	pthread_cond_broadcast(&s->parked_cond);
	pthread_mutex_unlock(&s->pause_lock);
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

static void vcpu_install_kick_handler(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

int vcpu_start(struct vcpu *vcpu)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int ret;

	pthread_once(&once, vcpu_install_kick_handler);
	ret = thread_spawn(&vcpu->thread, vcpu_thread, vcpu);
	if (ret)
		return ret;
	vcpu->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	vcpu->run->immediate_exit = 1;
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *vcpu)
{
	if (vcpu->started)
		pthread_join(vcpu->thread, NULL);
	vcpu->started = false;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->shared->kvm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

void vcpu_dump(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return;
	fprintf(stderr,
		"vcpu %u registers:\n"
		" rip %016llx rsp %016llx rflags %016llx\n"
		" rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		" rsi %016llx rdi %016llx rbp %016llx\n"
		" r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		" r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		" cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %016llx\n"
		" cs %04x (base %llx l %u db %u) ss %04x gdt %llx/%x idt %llx/%x\n",
		vcpu->id, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi,
		r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15,
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector, s.cs.base, s.cs.l, s.cs.db,
		s.ss.selector, s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}
