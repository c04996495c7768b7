// SPDX-License-Identifier: Apache-2.0
/* vm.c - see vm.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/x86/layout.h"
#include "vmm/core/log.h"
#include "vmm/core/stages.h"
#include "vcpu.h"
#include "vm.h"

static int vm_create_common(struct vm *vm, unsigned int nr_vcpus, bool smt, uint64_t mem_bytes,
			    enum gm_pages pages, const struct cpu_template *tmpl, int mem_fd,
			    bool track_dirty)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->pio.name = "pio";
	vm->mmio.name = "mmio";
	vm->kvm.sys_fd = vm->kvm.vm_fd = -1;
	ret = vcpu_shared_init(&vm->shared, &vm->kvm, &vm->pio, &vm->mmio, nr_vcpus);
	if (ret)
		return ret;
	vm->shared.smt = smt;
	vm->shared.tmpl = tmpl;
	ret = kvm_init(&vm->kvm, "/dev/kvm", tmpl, vm->shared.why, sizeof(vm->shared.why));
	if (ret)
		return ret;
	if (mem_fd >= 0)
		ret = gm_init_file(&vm->mem, mem_bytes, mem_fd, MMIO_GAP_START, MMIO_GAP_END);
	else
		ret = gm_init(&vm->mem, mem_bytes, pages, MMIO_GAP_START, MMIO_GAP_END);
	if (ret) {
		log_error("cannot map %llu MiB of guest memory%s: %s",
			  (unsigned long long)(mem_bytes / MiB),
			  mem_fd >= 0 ? " from the snapshot's memory file" :
			  pages == GM_PAGES_HUGETLB ? " in huge pages" :
			  pages == GM_PAGES_THP ? " for transparent huge pages" : "",
			  strerror(-ret));
		return ret;
	}
	stage_mark("guest RAM: mmap, madvise");
	if (track_dirty && (ret = gm_dirty_init(&vm->mem))) {
		log_error("cannot track the dirty pages of guest memory: %s", strerror(-ret));
		return ret;
	}
	ret = kvm_set_memory(&vm->kvm, &vm->mem);
	if (ret)
		return ret;
	stage_mark("KVM_SET_USER_MEMORY_REGION");
	vm->vcpus = calloc(nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned int i = 0; i < nr_vcpus; i++) {
		ret = vcpu_init(&vm->vcpus[i], &vm->shared, i);
		if (ret)
			return ret;
	}
	return 0;
}

int vm_create(struct vm *vm, unsigned int nr_vcpus, bool smt, uint64_t mem_bytes,
	      enum gm_pages pages, const struct cpu_template *tmpl, bool track_dirty)
{
	return vm_create_common(vm, nr_vcpus, smt, mem_bytes, pages, tmpl, -1, track_dirty);
}

int vm_create_from_file(struct vm *vm, unsigned int nr_vcpus, uint64_t mem_bytes, int mem_fd,
			bool track_dirty)
{
	return vm_create_common(vm, nr_vcpus, false, mem_bytes, GM_PAGES_NORMAL, NULL, mem_fd,
				track_dirty);
}

/* ---- snapshots (vmm thread) ------------------------------------------------ */

static int vm_ioctl(struct vm *vm, unsigned long req, void *arg, const char *name)
{
	if (ioctl(vm->kvm.vm_fd, req, arg) < 0) {
		int err = errno;

		log_error("%s: %s", name, strerror(err));
		return -err;
	}
	return 0;
}

int vm_save_state(struct vm *vm, struct vm_state *st)
{
	int ret = 0;

	memset(st, 0, sizeof(*st));
	for (uint32_t i = 0; !ret && i < 3; i++) {
		st->irqchip[i].chip_id = i;
		ret = vm_ioctl(vm, KVM_GET_IRQCHIP, &st->irqchip[i], "KVM_GET_IRQCHIP");
	}
	if (!ret)
		ret = vm_ioctl(vm, KVM_GET_PIT2, &st->pit, "KVM_GET_PIT2");
	if (!ret)
		ret = vm_ioctl(vm, KVM_GET_CLOCK, &st->clock, "KVM_GET_CLOCK");
	return ret;
}

static int vm_set(struct vm *vm, unsigned long req, void *arg, const char *name, char *err,
		  size_t errlen)
{
	if (ioctl(vm->kvm.vm_fd, req, arg) < 0) {
		int e = errno;

		snprintf(err, errlen, "KVM refused the snapshot's state (%s: %s)", name, strerror(e));
		return -e;
	}
	return 0;
}

int vm_restore_state(struct vm *vm, const struct vm_state *st, char *err, size_t errlen)
{
	struct vm_state s = *st;
	int ret = 0;

	for (uint32_t i = 0; !ret && i < 3; i++) {
		if (s.irqchip[i].chip_id != i) {
			snprintf(err, errlen, "irqchip %u: chip id %u", i, s.irqchip[i].chip_id);
			return -EINVAL;
		}
		ret = vm_set(vm, KVM_SET_IRQCHIP, &s.irqchip[i], "KVM_SET_IRQCHIP", err, errlen);
	}
	if (!ret)
		ret = vm_set(vm, KVM_SET_PIT2, &s.pit, "KVM_SET_PIT2", err, errlen);
	/* The guest's clock goes on from where it stopped: only the value. */
	s.clock.flags = 0;
	memset(s.clock.pad, 0, sizeof(s.clock.pad));
	s.clock.realtime = s.clock.host_tsc = 0;
	if (!ret)
		ret = vm_set(vm, KVM_SET_CLOCK, &s.clock, "KVM_SET_CLOCK", err, errlen);
	return ret;
}

int vm_dirty_take(struct vm *vm, uint64_t *bits)
{
	const struct guest_mem *gm = &vm->mem;
	size_t words = gm_dirty_words(gm);
	uint64_t *slot = calloc(words, sizeof(*slot));
	int ret = slot ? 0 : -ENOMEM;

	/* Each slot's log into a scratch map first, then ORed in: KVM copies
	 * whole words, and its bits must not overwrite marks already there. */
	for (int i = 0; !ret && i < gm->nr_regions; i++) {
		size_t first = gm_dirty_region_word(gm, i);
		size_t n = (size_t)(gm->region[i].size / GM_PAGE_SIZE / 64);

		ret = kvm_get_dirty_log(&vm->kvm, (uint32_t)i, slot + first);
		for (size_t w = first; !ret && w < first + n; w++)
			bits[w] |= slot[w];
	}
	gm_dirty_take(gm, bits);
	if (ret)
		gm_dirty_merge(gm, bits);
	free(slot);
	return ret;
}

void vm_request_exit(struct vm *vm, int code, const char *why)
{
	vcpu_request_exit(&vm->shared, code, why);
}

/* ---- vCPU lifecycle (vmm thread) ----------------------------------------- */

int vm_start_vcpus(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->shared.nr_vcpus; i++) {
		int ret = vcpu_start(&vm->vcpus[i]);

		if (ret) {
			log_error("cannot start vcpu %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void vm_kick_stop(struct vm *vm)
{
	struct vcpu_shared *s = &vm->shared;

	atomic_store(&s->stopping, true);
	pthread_mutex_lock(&s->pause_lock);
	pthread_cond_broadcast(&s->pause_cond);
	pthread_mutex_unlock(&s->pause_lock);
	for (unsigned int i = 0; i < s->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
}

void vm_stop_vcpus(struct vm *vm)
{
	struct vcpu_shared *s = &vm->shared;

	vm_kick_stop(vm);
	for (unsigned int i = 0; i < s->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
}

int vm_pause(struct vm *vm)
{
	struct vcpu_shared *s = &vm->shared;
	unsigned int running = 0;

	atomic_store(&s->pause_requested, true);
	for (unsigned int i = 0; i < s->nr_vcpus; i++) {
		running += vm->vcpus[i].started;
		vcpu_kick(&vm->vcpus[i]);
	}
	pthread_mutex_lock(&s->pause_lock);
	while (s->parked < running && !atomic_load(&s->stopping))
		pthread_cond_wait(&s->parked_cond, &s->pause_lock);
	pthread_mutex_unlock(&s->pause_lock);
	return atomic_load(&s->stopping) ? -ESHUTDOWN : 0;
}

void vm_resume(struct vm *vm)
{
	struct vcpu_shared *s = &vm->shared;

	pthread_mutex_lock(&s->pause_lock);
	atomic_store(&s->pause_requested, false);
	pthread_cond_broadcast(&s->pause_cond);
	pthread_mutex_unlock(&s->pause_lock);
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = 0; vm->vcpus && i < vm->shared.nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	gm_free(&vm->mem);
	kvm_close(&vm->kvm);
	vcpu_shared_destroy(&vm->shared);
}
