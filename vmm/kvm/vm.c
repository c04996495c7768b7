// SPDX-License-Identifier: Apache-2.0
/* vm.c - see vm.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/x86/layout.h"
#include "vmm/core/log.h"
#include "vcpu.h"
#include "vm.h"

int vm_create(struct vm *vm, unsigned int nr_vcpus, uint64_t mem_bytes, bool hugepages)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	pthread_cond_init(&vm->parked_cond, NULL);
	vm->pio.name = "pio";
	vm->mmio.name = "mmio";
	vm->kvm.sys_fd = vm->kvm.vm_fd = -1;
	vm->exit_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->exit_efd < 0)
		return -errno;
	ret = kvm_init(&vm->kvm, "/dev/kvm");
	if (ret)
		return ret;
	ret = gm_init(&vm->mem, mem_bytes, hugepages, MMIO_GAP_START, MMIO_GAP_END);
	if (ret) {
		log_error("cannot map %llu MiB of guest memory%s: %s",
			  (unsigned long long)(mem_bytes / MiB), hugepages ? " in huge pages" : "",
			  strerror(-ret));
		return ret;
	}
	ret = kvm_set_memory(&vm->kvm, &vm->mem);
	if (ret)
		return ret;
	vm->vcpus = calloc(nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	vm->nr_vcpus = nr_vcpus;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_init(&vm->vcpus[i], vm, i);
		if (ret)
			return ret;
	}
	return 0;
}

void vm_request_exit(struct vm *vm, int code, const char *why)
{
	uint64_t one = 1;
	int expected = 0;

	if (!atomic_compare_exchange_strong(&vm->exit_claimed, &expected, 1))
		return;
	vm->exit_code = code;
	if (code)
		log_error("stopping the microVM: %s", why);
	else
		log_info("stopping the microVM: %s", why);
	if (write(vm->exit_efd, &one, sizeof(one)) < 0)
		log_error("exit eventfd: %s", strerror(errno));
}

/* ---- vCPU lifecycle (vmm thread) ----------------------------------------- */

int vm_start_vcpus(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		int ret = vcpu_start(&vm->vcpus[i]);

		if (ret) {
			log_error("cannot start vcpu %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void vm_stop_vcpus(struct vm *vm)
{
	atomic_store(&vm->stopping, true);
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
}

int vm_pause(struct vm *vm)
{
	unsigned int running = 0;

	atomic_store(&vm->pause_requested, true);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		running += vm->vcpus[i].started;
		vcpu_kick(&vm->vcpus[i]);
	}
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->parked < running && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->parked_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
	return atomic_load(&vm->stopping) ? -ESHUTDOWN : 0;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_requested, false);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	gm_free(&vm->mem);
	kvm_close(&vm->kvm);
	if (vm->exit_efd >= 0)
		close(vm->exit_efd);
	vm->exit_efd = -1;
}
