// SPDX-License-Identifier: Apache-2.0
/* builder.c - see builder.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder.h"
#include "vmm/core/log.h"
#include "vmm/kvm/vcpu.h"

/* ---- the guest command line ------------------------------------------- */

/* Append `text` to the guest command line. */
static int cmdline_add(struct machine *m, const char *text)
{
	size_t used = strlen(m->cmdline), n = strlen(text);

	if (n >= sizeof(m->cmdline) - used) {
		log_error("the kernel command line is longer than %llu bytes with the devices' parameters",
			  (unsigned long long)LAYOUT_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	memcpy(m->cmdline + used, text, n + 1);
	return 0;
}

/* ---- legacy devices ----------------------------------------------------- */

static int add_serial(struct machine *m)
{
	int ret = kvm_irqfd(&m->vm.kvm, m->serial.irq_efd, IRQ_SERIAL_COM1);

	return ret ? ret : bus_add(&m->vm.pio, &(struct bus_dev){
		.name = "serial", .base = PORT_COM1, .len = SERIAL_PORT_LEN,
		.ops = &serial_ops, .dev = &m->serial });
}

static int add_i8042(struct machine *m)
{
	int ret = kvm_irqfd(&m->vm.kvm, m->i8042.irq_efd, IRQ_I8042_KBD);

	return ret ? ret : bus_add(&m->vm.pio, &(struct bus_dev){
		.name = "i8042", .base = PORT_I8042_DATA,
		.len = PORT_I8042_CMD - PORT_I8042_DATA + 1,
		.ops = &i8042_ops, .dev = &m->i8042 });
}

static int add_legacy(struct machine *m, const struct vm_config *cfg, struct conout *console)
{
	int ret = serial_init(&m->serial, conout_write, console);

	if (ret)
		return ret;
	serial_set_budget(&m->serial, &cfg->console_budget);
	ret = i8042_init(&m->i8042);
	if (ret)
		goto err_serial;
	ret = acpi_pm_init(&m->acpi_pm);
	if (ret)
		goto err_i8042;
	m->legacy_up = true;
	ret = add_serial(m);
	if (!ret)
		ret = add_i8042(m);
	if (!ret)
		ret = bus_add(&m->vm.pio, &(struct bus_dev){
			.name = "acpi-pm", .base = PORT_ACPI_PM, .len = PORT_ACPI_PM_LEN,
			.ops = &acpi_pm_ops, .dev = &m->acpi_pm });
	if (!ret && cfg->boot_timer)
		ret = bus_add(&m->vm.mmio, &(struct bus_dev){
			.name = "boot-timer", .base = MMIO_BOOT_TIMER_ADDR,
			.len = MMIO_BOOT_TIMER_SIZE, .ops = &boot_timer_ops,
			.dev = &m->boot_timer });
	return ret;

err_i8042:
	i8042_destroy(&m->i8042);
err_serial:
	serial_destroy(&m->serial);
	return ret;
}

/* ---- virtio devices ------------------------------------------------------ */

/* Put a transport on the next virtio-mmio slot: the bus entry, an
 * ioeventfd per queue on QueueNotify, the irqfd on the slot's GSI, the
 * notifications watched by `loop`, and its virtio_mmio.device= entry. */
static int virtio_attach(struct machine *m, struct virtio_mmio *t, struct ev_loop *loop)
{
	uint64_t addr = MMIO_VIRTIO_START + m->nr_virtio * MMIO_VIRTIO_SLOT;
	unsigned int irq = IRQ_VIRTIO_FIRST + m->nr_virtio;
	char entry[64] = " ";
	int ret;

	if (irq >= IOAPIC_PINS) {
		log_error("too many virtio devices: at most %d", IOAPIC_PINS - IRQ_VIRTIO_FIRST);
		return -ENOSPC;
	}
	m->acpi.virtio[m->nr_virtio] = (struct acpi_mmio_dev){
		.addr = addr, .size = MMIO_VIRTIO_SLOT, .gsi = irq };
	m->nr_virtio++;
	m->acpi.nr_virtio = m->nr_virtio;
	ret = bus_add(&m->vm.mmio, &(struct bus_dev){
		.name = t->name, .base = addr, .len = MMIO_VIRTIO_SLOT,
		.ops = &virtio_mmio_ops, .dev = t });
	if (!ret)
		ret = kvm_irqfd(&m->vm.kvm, t->irq_efd, irq);
	for (unsigned int q = 0; !ret && q < t->ops->num_queues; q++)
		ret = kvm_ioeventfd(&m->vm.kvm, t->notify_efd[q], addr + VIRTIO_MMIO_QUEUE_NOTIFY,
				    4, q);
	if (!ret)
		ret = virtio_mmio_attach(t, loop);
	if (!ret && virtio_mmio_cmdline(entry + 1, sizeof(entry) - 1, addr, irq) < 0)
		ret = -E2BIG;
	return ret ? ret : cmdline_add(m, entry);
}

/* Every device of the table, type by type, in the table's order. */
static int add_devices(struct machine *m, const struct vm_config *cfg, struct ev_loop *loop)
{
	const struct device_env env = { .gm = &m->vm.mem, .loop = loop };
	char words[160];

	for (size_t k = 0; k < device_table_len; k++) {
		const struct device_type *dt = device_table[k];
		unsigned int n = dt->count(cfg);

		for (unsigned int i = 0; i < n; i++) {
			struct vm_device *d = &m->devs[m->nr_devs];
			int ret;

			if (m->nr_devs == MACHINE_MAX_DEVICES)
				return -ENOSPC;
			m->nr_devs++;
			d->type = dt;
			ret = dt->create(cfg, i, &env, d, words, sizeof(words));
			if (!ret)
				ret = virtio_attach(m, d->t, loop);
			if (!ret)
				ret = cmdline_add(m, words);
			if (ret)
				return ret;
		}
	}
	return 0;
}

struct vm_device *machine_find_device(struct machine *m, const struct device_type *type,
				      const char *id)
{
	for (unsigned int i = 0; i < m->nr_devs; i++)
		if (m->devs[i].type == type && m->devs[i].id && !strcmp(m->devs[i].id, id))
			return &m->devs[i];
	return NULL;
}

/* ---- kernel, initrd and the boot CPU --------------------------------------- */

/* Map a whole host file read-only; *len = 0 for an empty file.  Opened
 * non-blocking and checked to be a regular file before anything is read: a
 * FIFO's open would otherwise wait for a writer for ever. */
static int map_file(const char *what, const char *path, uint8_t **data, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), ret = 0;

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

static int load_initrd(struct machine *m, const char *path, struct boot_initrd *initrd)
{
	uint8_t *data;
	size_t len;
	int ret;

	memset(initrd, 0, sizeof(*initrd));
	if (!path)
		return 0;
	ret = map_file("initrd", path, &data, &len);
	if (ret)
		return ret;
	ret = boot_load_initrd(&m->vm.mem, &m->boot, data, len, initrd);
	if (data)
		munmap(data, len);
	return ret;
}

/* The kernel and initrd into RAM, then what the kernel reads at entry:
 * command line, ACPI tables, boot parameters (pointing at the RSDP), MP
 * table, the boot vCPU's registers. */
static int load_kernel(struct machine *m, const struct vm_config *cfg)
{
	struct boot_initrd initrd;
	uint64_t rsdp = 0;
	uint8_t *img;
	size_t len;
	int ret = map_file("kernel", cfg->kernel_path, &img, &len);

	if (ret)
		return ret;
	ret = boot_load_kernel(&m->vm.mem, img, len, &m->boot);
	if (img)
		munmap(img, len);
	if (!ret)
		ret = load_initrd(m, cfg->initrd_path, &initrd);
	if (!ret)
		ret = boot_write_cmdline(&m->vm.mem, &m->boot, m->cmdline);
	if (!ret) {
		m->acpi.nr_vcpus = m->vm.shared.nr_vcpus;
		ret = acpi_write(&m->vm.mem, &m->acpi, &rsdp);
	}
	if (!ret)
		ret = boot_write_params(&m->vm.mem, &m->boot, &initrd, rsdp);
	if (!ret)
		ret = mptable_write(&m->vm.mem, m->vm.shared.nr_vcpus);
	if (!ret)
		ret = vcpu_setup_boot(&m->vm.vcpus[0], &m->boot);
	return ret;
}

/* ---- the whole machine ---------------------------------------------------- */

int machine_build(struct machine *m, const struct vm_config *cfg,
		  const struct cpu_template *tmpl, struct ev_loop *loop,
		  struct conout *console, uint64_t start_us, uint64_t start_cpu_us)
{
	int ret;

	memset(m, 0, sizeof(*m));
	m->boot_timer.start_us = start_us;
	m->boot_timer.start_cpu_us = start_cpu_us;
	ret = vm_create(&m->vm, cfg->vcpus, cfg->smt, cfg->mem_mib * MiB, cfg->hugepages, tmpl);
	if (!ret)
		ret = add_legacy(m, cfg, console);
	if (!ret)
		ret = cmdline_add(m, config_cmdline(cfg));
	if (!ret)
		ret = add_devices(m, cfg, loop);
	if (!ret)
		ret = load_kernel(m, cfg);
	return ret;
}

/* Devices first: each reaps its I/O in flight before guest RAM goes. */
void machine_destroy(struct machine *m)
{
	for (unsigned int i = 0; i < m->nr_devs; i++)
		if (m->devs[i].dev)
			m->devs[i].type->destroy(m->devs[i].dev);
	m->nr_devs = 0;
	if (m->legacy_up) {
		acpi_pm_destroy(&m->acpi_pm);
		i8042_destroy(&m->i8042);
		serial_destroy(&m->serial);
		m->legacy_up = false;
	}
	vm_destroy(&m->vm);
}
