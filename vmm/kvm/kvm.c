// SPDX-License-Identifier: Apache-2.0
/* kvm.c - see kvm.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm.h"
#include "vmm/x86/layout.h"
#include "vmm/core/log.h"
#include "vmm/core/stages.h"

#define KVM_MAX_CPUID_ENTRIES 256

static const struct {
	int cap;
	const char *name;
} kvm_required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_HLT, "KVM_CAP_HLT" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
};

static int kvm_check_caps(int fd, const struct cpu_template *tmpl, char *why, size_t whylen)
{
	int version = ioctl(fd, KVM_GET_API_VERSION, 0);

	if (version != KVM_API_VERSION) {
		log_error("kvm: API version %d, ember needs %d", version, KVM_API_VERSION);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(kvm_required_caps) / sizeof(kvm_required_caps[0]); i++) {
		if (cpu_template_cap_removed(tmpl, (uint32_t)kvm_required_caps[i].cap))
			continue;
		if (ioctl(fd, KVM_CHECK_EXTENSION, kvm_required_caps[i].cap) <= 0) {
			log_error("kvm: missing capability %s", kvm_required_caps[i].name);
			return -ENOTSUP;
		}
	}
	for (unsigned int i = 0; tmpl && i < tmpl->nr_caps; i++) {
		uint32_t cap = tmpl->caps[i].cap;

		if (cpu_template_cap_removed(tmpl, cap) ||
		    ioctl(fd, KVM_CHECK_EXTENSION, (unsigned long)cap) > 0)
			continue;
		snprintf(why, whylen, "the CPU template needs KVM capability %u, which this host's KVM does not offer",
			 cap);
		log_error("kvm: %s", why);
		return -ENOTSUP;
	}
	return 0;
}

static int kvm_get_cpuid(struct kvm *kvm)
{
	size_t sz = sizeof(struct kvm_cpuid2) +
		    KVM_MAX_CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2);

	kvm->cpuid = calloc(1, sz);
	if (!kvm->cpuid)
		return -ENOMEM;
	kvm->cpuid->nent = KVM_MAX_CPUID_ENTRIES;
	if (ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, kvm->cpuid) < 0) {
		log_error("kvm: KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int kvm_vm_ioctl(struct kvm *kvm, unsigned long req, unsigned long arg,
			const char *name)
{
	if (ioctl(kvm->vm_fd, req, arg) < 0) {
		int err = errno;

		log_error("kvm: %s: %s", name, strerror(err));
		return -err;
	}
	return 0;
}

static int kvm_create_vm(struct kvm *kvm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	int ret;

	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		log_error("kvm: KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	stage_mark("KVM_CREATE_VM");
	ret = kvm_vm_ioctl(kvm, KVM_SET_TSS_ADDR, KVM_TSS_ADDR, "KVM_SET_TSS_ADDR");
	if (!ret && ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0)
		ret = kvm_vm_ioctl(kvm, KVM_SET_IDENTITY_MAP_ADDR, (unsigned long)&idmap,
				   "KVM_SET_IDENTITY_MAP_ADDR");
	if (!ret)
		ret = kvm_vm_ioctl(kvm, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
	if (!ret)
		ret = kvm_vm_ioctl(kvm, KVM_CREATE_PIT2, (unsigned long)&pit, "KVM_CREATE_PIT2");
	stage_mark("TSS, identity map, KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2");
	return ret;
}

int kvm_init(struct kvm *kvm, const char *dev_path, const struct cpu_template *tmpl,
	     char *why, size_t whylen)
{
	int ret;

	memset(kvm, 0, sizeof(*kvm));
	kvm->vm_fd = -1;
	kvm->sys_fd = open(dev_path, O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		ret = -errno;
		log_error("kvm: cannot open %s: %s", dev_path, strerror(errno));
		return ret;
	}
	ret = kvm_check_caps(kvm->sys_fd, tmpl, why, whylen);
	if (ret)
		goto err_close;
	kvm->run_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_size < (int)sizeof(struct kvm_run)) {
		ret = -ENOTSUP;
		log_error("kvm: bad KVM_GET_VCPU_MMAP_SIZE %d", kvm->run_size);
		goto err_close;
	}
	kvm->tsc_deadline = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION,
				  KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	stage_mark("config checks, open /dev/kvm, capabilities");
	ret = kvm_get_cpuid(kvm);
	if (ret)
		goto err_close;
	stage_mark("KVM_GET_SUPPORTED_CPUID");
	ret = kvm_create_vm(kvm);
	if (ret)
		goto err_close;
	return 0;

err_close:
	kvm_close(kvm);
	return ret;
}

int kvm_set_memory(struct kvm *kvm, const struct guest_mem *gm)
{
	for (int i = 0; i < gm->nr_regions; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = (uint32_t)i,
			.guest_phys_addr = gm->region[i].gpa,
			.memory_size = gm->region[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)gm->region[i].host,
			.flags = gm->dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		};
		int ret = kvm_vm_ioctl(kvm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r,
				       "KVM_SET_USER_MEMORY_REGION");

		if (ret)
			return ret;
	}
	return 0;
}

int kvm_get_dirty_log(struct kvm *kvm, uint32_t slot, uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return kvm_vm_ioctl(kvm, KVM_GET_DIRTY_LOG, (unsigned long)&log, "KVM_GET_DIRTY_LOG");
}

int kvm_irqfd(struct kvm *kvm, int efd, unsigned int gsi)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)efd, .gsi = gsi };

	return kvm_vm_ioctl(kvm, KVM_IRQFD, (unsigned long)&irqfd, "KVM_IRQFD");
}

int kvm_ioeventfd(struct kvm *kvm, int efd, uint64_t addr, uint32_t len, uint64_t datamatch)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch, .addr = addr, .len = len, .fd = efd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	return kvm_vm_ioctl(kvm, KVM_IOEVENTFD, (unsigned long)&io, "KVM_IOEVENTFD");
}

int kvm_msr_list(struct kvm *kvm)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	struct kvm_msr_list *l;

	if (kvm->msr_list)
		return 0;
	/* The first call fails with E2BIG and says how many there are. */
	if (ioctl(kvm->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		goto err;
	if (probe.nmsrs > 4096) {
		errno = E2BIG;
		goto err;
	}
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	if (!l)
		return -ENOMEM;
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm->sys_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		goto err;
	}
	kvm->msr_list = l;
	return 0;
err:
	log_error("KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
	return -errno;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	free(kvm->cpuid);
	free(kvm->msr_list);
	kvm->cpuid = NULL;
	kvm->msr_list = NULL;
	kvm->vm_fd = kvm->sys_fd = -1;
}
