// SPDX-License-Identifier: Apache-2.0
/* vm.c - see vm.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio/blk/blk.h"
#include "virtio/net/net.h"
#include "virtio/vsock/vsock.h"
#include "vmm/devices/boot_timer.h"
#include "vmm/devices/i8042.h"
#include "vmm/x86/layout.h"
#include "vmm/core/log.h"
#include "vmm/devices/serial.h"
#include "vcpu.h"
#include "vm.h"

struct vm_devices {
	struct serial serial;
	struct i8042 i8042;
	struct boot_timer boot_timer;
};

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	uint64_t start_us = vm->start_us, start_cpu_us = vm->start_cpu_us;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->start_us = start_us;
	vm->start_cpu_us = start_cpu_us;
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
	ret = gm_init(&vm->mem, cfg->mem_mib * MiB, cfg->hugepages);
	if (ret) {
		log_error("cannot map %llu MiB of guest memory%s: %s",
			  (unsigned long long)cfg->mem_mib, cfg->hugepages ? " in huge pages" : "",
			  strerror(-ret));
		return ret;
	}
	ret = kvm_set_memory(&vm->kvm, &vm->mem);
	if (ret)
		return ret;
	vm->vcpus = calloc(cfg->vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	vm->nr_vcpus = cfg->vcpus;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_init(&vm->vcpus[i], vm, i);
		if (ret)
			return ret;
	}
	return 0;
}

/* Map a whole host file read-only; *len = 0 for an empty file. */
static int map_file(const char *what, const char *path, uint8_t **data, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	*data = NULL;
	*len = 0;
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		log_error("%s: cannot open %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		log_error("%s: %s is not a regular file", what, path);
		goto out;
	}
	if (!st.st_size)
		goto out;
	*data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*data == MAP_FAILED) {
		ret = -errno;
		*data = NULL;
		log_error("%s: cannot map %s: %s", what, path, strerror(errno));
		goto out;
	}
	*len = (size_t)st.st_size;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int vm_load_initrd(struct vm *vm, struct boot_initrd *initrd)
{
	uint8_t *data;
	size_t len;
	int ret;

	memset(initrd, 0, sizeof(*initrd));
	if (!vm->cfg->initrd_path)
		return 0;
	ret = map_file("initrd", vm->cfg->initrd_path, &data, &len);
	if (ret)
		return ret;
	ret = boot_load_initrd(&vm->mem, &vm->boot, data, len, initrd);
	if (data)
		munmap(data, len);
	return ret;
}

int vm_load_kernel(struct vm *vm)
{
	struct boot_initrd initrd;
	uint8_t *img;
	size_t len;
	int ret = map_file("kernel", vm->cfg->kernel_path, &img, &len);

	if (ret)
		return ret;
	ret = boot_load_kernel(&vm->mem, img, len, &vm->boot);
	if (img)
		munmap(img, len);
	if (ret)
		return ret;
	ret = vm_load_initrd(vm, &initrd);
	if (!ret)
		ret = boot_write_cmdline(&vm->mem, &vm->boot, vm->cmdline);
	if (!ret)
		ret = boot_write_params(&vm->mem, &vm->boot, &initrd);
	if (!ret)
		ret = mptable_write(&vm->mem, vm->nr_vcpus);
	if (!ret)
		ret = vcpu_setup_boot(&vm->vcpus[0], &vm->boot);
	return ret;
}

/* Append " text" to the guest command line. */
static int cmdline_add(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cmdline_add(struct vm *vm, const char *fmt, ...)
{
	size_t used = strlen(vm->cmdline);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(vm->cmdline + used, sizeof(vm->cmdline) - used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(vm->cmdline) - used) {
		log_error("the kernel command line is longer than %llu bytes with the devices' parameters",
			  (unsigned long long)LAYOUT_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	return 0;
}

/* The next virtio-mmio slot: its address, its IRQ and its command-line entry. */
static int virtio_slot(struct vm *vm, uint64_t *addr, unsigned int *irq)
{
	if (IRQ_VIRTIO_FIRST + vm->nr_virtio >= IOAPIC_PINS) {
		log_error("too many virtio devices: at most %d", IOAPIC_PINS - IRQ_VIRTIO_FIRST);
		return -ENOSPC;
	}
	*addr = MMIO_VIRTIO_START + vm->nr_virtio * MMIO_VIRTIO_SLOT;
	*irq = IRQ_VIRTIO_FIRST + vm->nr_virtio++;
	return cmdline_add(vm, " virtio_mmio.device=4K@0x%llx:%u", (unsigned long long)*addr, *irq);
}

/* Put a virtio device's transport on the MMIO bus and wire it to KVM. */
static int virtio_attach(struct vm *vm, struct virtio_mmio *t)
{
	uint64_t addr;
	unsigned int irq;
	int ret = virtio_slot(vm, &addr, &irq);

	if (!ret)
		ret = bus_add(&vm->mmio, &(struct bus_dev){
			.name = t->name, .base = addr, .len = MMIO_VIRTIO_SLOT,
			.ops = &virtio_mmio_ops, .dev = t });
	if (!ret)
		ret = virtio_mmio_attach(t, &vm->kvm, vm->loop, addr, irq);
	return ret;
}

static int vm_add_drive(struct vm *vm, const struct drive_cfg *dr)
{
	struct blk_dev *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return -ENOMEM;
	vm->blks[vm->nr_blks++] = b;
	ret = blk_create(b, dr, &vm->mem, vm->loop);
	if (!ret)
		ret = virtio_attach(vm, &b->t);
	if (ret || !dr->is_root)
		return ret;
	if (dr->partuuid)
		ret = cmdline_add(vm, " root=PARTUUID=%s", dr->partuuid);
	else
		ret = cmdline_add(vm, " root=/dev/vda");
	return ret ? ret : cmdline_add(vm, dr->read_only ? " ro" : " rw");
}

static int vm_add_net(struct vm *vm, const struct net_cfg *nc)
{
	struct net_dev *n = calloc(1, sizeof(*n));
	int ret;

	if (!n)
		return -ENOMEM;
	vm->nets[vm->nr_nets++] = n;
	ret = net_create(n, nc, &vm->mem, vm->loop);
	return ret ? ret : virtio_attach(vm, &n->t);
}

static int vm_add_vsock(struct vm *vm, const struct vsock_cfg *vc)
{
	int ret;

	vm->vsock = calloc(1, sizeof(*vm->vsock));
	if (!vm->vsock)
		return -ENOMEM;
	ret = vsock_create(vm->vsock, vc, &vm->mem, vm->loop);
	return ret ? ret : virtio_attach(vm, &vm->vsock->t);
}

/* Drives, the root drive first (it becomes /dev/vda), then the network
 * interfaces in the order given (eth0, eth1...), then vsock. */
static int vm_add_virtio(struct vm *vm)
{
	const struct devices_cfg *d = &vm->cfg->devs;
	int ret = 0;

	for (unsigned int i = 0; !ret && i < d->nr_drives; i++)
		if (d->drives[i].is_root)
			ret = vm_add_drive(vm, &d->drives[i]);
	for (unsigned int i = 0; !ret && i < d->nr_drives; i++)
		if (!d->drives[i].is_root)
			ret = vm_add_drive(vm, &d->drives[i]);
	for (unsigned int i = 0; !ret && i < d->nr_nets; i++)
		ret = vm_add_net(vm, &d->nets[i]);
	if (!ret && d->vsock.set)
		ret = vm_add_vsock(vm, &d->vsock);
	return ret;
}

int vm_add_devices(struct vm *vm)
{
	struct vm_devices *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	vm->serial = &d->serial;
	vm->boot_timer = &d->boot_timer;
	vm->i8042 = &d->i8042;
	d->i8042.irq_efd = -1;
	ret = serial_init(&d->serial, STDOUT_FILENO);
	if (ret)
		return ret;
	ret = kvm_irqfd(&vm->kvm, d->serial.irq_efd, IRQ_SERIAL_COM1);
	if (!ret)
		ret = bus_add(&vm->pio, &(struct bus_dev){
			.name = "serial", .base = PORT_COM1, .len = SERIAL_PORT_LEN,
			.ops = &serial_ops, .dev = &d->serial });
	if (!ret)
		ret = i8042_init(&d->i8042, vm);
	if (!ret)
		ret = kvm_irqfd(&vm->kvm, d->i8042.irq_efd, IRQ_I8042_KBD);
	if (!ret)
		ret = bus_add(&vm->pio, &(struct bus_dev){
			.name = "i8042", .base = PORT_I8042_DATA,
			.len = PORT_I8042_CMD - PORT_I8042_DATA + 1,
			.ops = &i8042_ops, .dev = &d->i8042 });
	d->boot_timer.start_us = vm->start_us;
	d->boot_timer.start_cpu_us = vm->start_cpu_us;
	if (!ret && vm->cfg->boot_timer)
		ret = bus_add(&vm->mmio, &(struct bus_dev){
			.name = "boot-timer", .base = MMIO_BOOT_TIMER_ADDR,
			.len = MMIO_BOOT_TIMER_SIZE, .ops = &boot_timer_ops,
			.dev = &d->boot_timer });
	if (!ret)
		ret = cmdline_add(vm, "%s", config_cmdline(vm->cfg));
	if (!ret)
		ret = vm_add_virtio(vm);
	return ret;
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
	for (unsigned int i = 0; i < vm->nr_blks; i++) {
		blk_destroy(vm->blks[i]);
		free(vm->blks[i]);
	}
	vm->nr_blks = 0;
	for (unsigned int i = 0; i < vm->nr_nets; i++) {
		net_destroy(vm->nets[i]);
		free(vm->nets[i]);
	}
	vm->nr_nets = 0;
	if (vm->vsock) {
		vsock_destroy(vm->vsock);
		free(vm->vsock);
		vm->vsock = NULL;
	}
	if (vm->serial) {
		i8042_destroy(vm->i8042);
		serial_destroy(vm->serial);
		free((struct vm_devices *)vm->serial);  /* serial is the first member */
		vm->serial = NULL;
	}
	gm_free(&vm->mem);
	kvm_close(&vm->kvm);
	if (vm->exit_efd >= 0)
		close(vm->exit_efd);
	vm->exit_efd = -1;
}
