// SPDX-License-Identifier: Apache-2.0
/* builder.c - see builder.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder.h"
#include "snapfile.h"
#include "vmm/core/log.h"
#include "vmm/core/stages.h"
#include "vmm/core/uffd.h"
#include "vmm/core/uffd_msg.h"
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
	serial_set_budget(&m->serial, config_console_budget(cfg));
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
	if (!ret && cfg->boot_timer) {
		m->boot_timer_mapped = true;
		ret = bus_add(&m->vm.mmio, &(struct bus_dev){
			.name = "boot-timer", .base = MMIO_BOOT_TIMER_ADDR,
			.len = MMIO_BOOT_TIMER_SIZE, .ops = &boot_timer_ops,
			.dev = &m->boot_timer });
	}
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

/* Open a kernel or initrd for boot_src reads (src->len is 0 for an empty
 * file).  Opened non-blocking and checked to be a regular file before
 * anything is read: a FIFO's open would otherwise wait for a writer for ever.
 * The caller closes src->fd. */
static int open_image(const char *what, const char *path, struct boot_src *src)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), ret;

	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		log_error("%s: cannot open %s: %s", what, path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		log_error("%s: %s is not a regular file", what, path);
		goto fail;
	}
	*src = boot_src_fd(fd, (size_t)st.st_size);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int load_initrd(struct machine *m, const char *path, struct boot_initrd *initrd)
{
	struct boot_src src;
	int ret;

	memset(initrd, 0, sizeof(*initrd));
	if (!path)
		return 0;
	ret = open_image("initrd", path, &src);
	if (ret)
		return ret;
	ret = boot_load_initrd(&m->vm.mem, &m->boot, &src, initrd);
	close(src.fd);
	return ret;
}

/* The kernel and initrd into RAM, then what the kernel reads at entry:
 * command line, ACPI tables, boot parameters (pointing at the RSDP), MP
 * table, the boot vCPU's registers. */
static int load_kernel(struct machine *m, const struct vm_config *cfg)
{
	struct boot_initrd initrd;
	struct boot_src src;
	uint64_t rsdp = 0;
	int ret = open_image("kernel", cfg->kernel_path, &src);

	if (ret)
		return ret;
	ret = boot_load_kernel(&m->vm.mem, &src, &m->boot);
	close(src.fd);
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

/* Boot timer hook, on the vCPU that wrote it: the exits "to init". */
static void machine_snapshot_boot_exits(void *opaque)
{
	struct machine *m = opaque;

	vcpu_count_exits(m->vm.vcpus, m->vm.shared.nr_vcpus, &m->boot_exits,
			 m->boot_exits_by_kind);
	__atomic_store_n(&m->boot_exits_set, true, __ATOMIC_RELEASE);
}

int machine_build(struct machine *m, const struct vm_config *cfg,
		  const struct cpu_template *tmpl, struct ev_loop *loop,
		  struct conout *console, uint64_t start_us, uint64_t start_cpu_us)
{
	int ret;

	memset(m, 0, sizeof(*m));
	m->boot_timer.start_us = start_us;
	m->boot_timer.start_cpu_us = start_cpu_us;
	m->boot_timer.on_measured = machine_snapshot_boot_exits;
	m->boot_timer.opaque = m;
	ret = vm_create(&m->vm, cfg->vcpus, cfg->smt, cfg->mem_mib * MiB, cfg->hugepages, tmpl,
			cfg->track_dirty_pages);
	if (!ret)
		ret = add_legacy(m, cfg, console);
	if (!ret)
		ret = cmdline_add(m, config_cmdline(cfg));
	if (!ret)
		ret = add_devices(m, cfg, loop);
	stage_mark("legacy and virtio devices");
	if (!ret)
		ret = load_kernel(m, cfg);
	stage_mark("kernel, boot structures into guest RAM, boot registers");
	return ret;
}

/* ---- snapshots ----------------------------------------------------------------- */

#define SNAP_DRAIN_NS (5 * 1000000000ULL)  /* how long a device may take to drain */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Every device can be saved, and has finished its I/O in flight. */
static int quiesce_devices(struct machine *m, char *err, size_t errlen)
{
	uint64_t end = mono_ns() + SNAP_DRAIN_NS;
	int ret = 0;

	for (unsigned int i = 0; i < m->nr_devs; i++)
		if (!m->devs[i].type->save) {
			snprintf(err, errlen, "snapshots of a microVM with %s are not supported yet",
				 m->devs[i].type->section);
			return -EOPNOTSUPP;
		}
	for (unsigned int i = 0; !ret && i < m->nr_devs; i++)
		if (m->devs[i].type->quiesce)
			ret = m->devs[i].type->quiesce(m->devs[i].dev, end, err, errlen);
	return ret;
}

/* Each device's transport and own state, one section per slot. */
static int save_devices(struct machine *m, struct snap_writer *w, char *err, size_t errlen)
{
	struct snap_virtio *sv = calloc(1, sizeof(*sv));

	if (!sv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < m->nr_devs; i++) {
		struct vm_device *d = &m->devs[i];

		memset(sv, 0, sizeof(*sv));
		if (virtio_mmio_save(d->t, &sv->t)) {
			snprintf(err, errlen, "%s: requests are still in flight after the drain",
				 d->t->name);
			free(sv);
			return -EBUSY;
		}
		d->type->save(d->dev, &sv->dev);
		snap_writer_section(w, SNAP_SEC_VIRTIO, i, sv, sizeof(*sv));
	}
	free(sv);
	return 0;
}

int machine_save(struct machine *m, struct snap_writer *w, char *err, size_t errlen)
{
	struct snap_machine sm = { .nr_vcpus = m->vm.shared.nr_vcpus };
	struct snap_boot_timer bt = {
		.boot_us = m->boot_timer.boot_us, .boot_cpu_us = m->boot_timer.boot_cpu_us,
		.measured = __atomic_load_n(&m->boot_timer.measured, __ATOMIC_ACQUIRE),
	};
	struct snap_acpi_pm pm = { .event = (uint32_t)m->acpi_pm.event };
	struct serial_state ss;
	struct i8042_state ks;
	struct vcpu_cpuid *vc;
	struct vcpu_state *vs;
	struct vm_state vm;
	int ret;

	/* First: the devices' last interrupts reach KVM before its state is read. */
	ret = quiesce_devices(m, err, errlen);
	if (ret)
		return ret;
	sm.nr_devices = m->nr_devs;
	sm.flags = (m->boot_timer_mapped ? SNAP_MACHINE_BOOT_TIMER : 0) |
		   (m->vm.shared.smt ? SNAP_MACHINE_SMT : 0);
	ret = kvm_msr_list(&m->vm.kvm);
	vs = malloc(sizeof(*vs));
	vc = malloc(sizeof(*vc));
	if (!ret && (!vs || !vc))
		ret = -ENOMEM;
	snap_writer_section(w, SNAP_SEC_MACHINE, 0, &sm, sizeof(sm));
	for (unsigned int i = 0; !ret && i < sm.nr_vcpus; i++) {
		ret = vcpu_save(&m->vm.vcpus[i], m->vm.kvm.msr_list, vs);
		if (!ret)
			ret = vcpu_save_cpuid(&m->vm.vcpus[i], vc);
		if (ret)
			break;
		snap_writer_section(w, SNAP_SEC_VCPU, i, vs,
				    VCPU_STATE_FIXED_LEN + vs->nr_msrs * sizeof(vs->msrs[0]));
		snap_writer_section(w, SNAP_SEC_CPUID, i, vc,
				    VCPU_CPUID_FIXED_LEN + vc->nent * sizeof(vc->entries[0]));
	}
	free(vc);
	free(vs);
	if (!ret)
		ret = vm_save_state(&m->vm, &vm);
	if (ret) {
		snprintf(err, errlen, "cannot read the microVM's state from KVM: %s (see the log)",
			 strerror(-ret));
		return ret;
	}
	snap_writer_section(w, SNAP_SEC_VM, 0, &vm, sizeof(vm));
	serial_save(&m->serial, &ss);
	snap_writer_section(w, SNAP_SEC_SERIAL, 0, &ss, sizeof(ss));
	i8042_save(&m->i8042, &ks);
	snap_writer_section(w, SNAP_SEC_I8042, 0, &ks, sizeof(ks));
	snap_writer_section(w, SNAP_SEC_BOOT_TIMER, 0, &bt, sizeof(bt));
	snap_writer_section(w, SNAP_SEC_ACPI_PM, 0, &pm, sizeof(pm));
	return save_devices(m, w, err, errlen);
}

/* Each device's transport and own state into the instance just built
 * from the snapshot's configuration, on the same slot. */
static int restore_devices(struct machine *m, const struct snap *s, char *err, size_t errlen)
{
	int ret = 0;

	if (m->nr_devs != s->machine->nr_devices) {
		snprintf(err, errlen, "the snapshot has %u virtio devices but its configuration "
			 "makes %u", s->machine->nr_devices, m->nr_devs);
		return -EINVAL;
	}
	for (unsigned int i = 0; !ret && i < m->nr_devs; i++) {
		struct vm_device *d = &m->devs[i];

		if (!d->type->restore) {
			snprintf(err, errlen, "snapshots of a microVM with %s are not supported yet",
				 d->type->section);
			return -EOPNOTSUPP;
		}
		ret = virtio_mmio_restore(d->t, &s->virtio[i]->t, err, errlen);
		if (!ret)
			ret = d->type->restore(d->dev, &s->virtio[i]->dev, err, errlen);
	}
	return ret;
}

/* The saved states into a machine whose parts exist, vCPUs not started. */
static int restore_states(struct machine *m, const struct snap *s, char *err, size_t errlen)
{
	struct vcpu_state *vs = malloc(sizeof(*vs));
	struct vcpu_cpuid *vc = malloc(sizeof(*vc));
	int ret = vs && vc ? 0 : -ENOMEM;

	if (ret)
		snprintf(err, errlen, "out of memory");
	for (unsigned int i = 0; !ret && i < s->machine->nr_vcpus; i++) {
		/* CPUID first: KVM checks the registers and MSRs against it. */
		memcpy(vc, s->cpuid[i], VCPU_CPUID_FIXED_LEN +
		       s->cpuid[i]->nent * sizeof(vc->entries[0]));
		ret = vcpu_restore_cpuid(&m->vm.vcpus[i], vc, err, errlen);
		if (ret)
			break;
		memcpy(vs, s->vcpu[i], VCPU_STATE_FIXED_LEN +
		       s->vcpu[i]->nr_msrs * sizeof(vs->msrs[0]));
		ret = vcpu_restore(&m->vm.vcpus[i], vs, err, errlen);
	}
	free(vc);
	free(vs);
	if (!ret)
		ret = restore_devices(m, s, err, errlen);
	if (!ret)
		ret = serial_restore(&m->serial, s->serial, err, errlen);
	if (!ret)
		ret = i8042_restore(&m->i8042, s->i8042, err, errlen);
	if (ret)
		return ret;
	m->boot_timer.boot_us = s->boot_timer->boot_us;
	m->boot_timer.boot_cpu_us = s->boot_timer->boot_cpu_us;
	m->boot_timer.measured = s->boot_timer->measured;
	m->acpi_pm.event = (int)s->acpi_pm->event;
	/* Last: the interrupt controllers and the clock, as the vCPUs left them;
	 * then the devices look at their queues and interrupt again. */
	ret = vm_restore_state(&m->vm, s->vm, err, errlen);
	for (unsigned int i = 0; !ret && i < m->nr_devs; i++)
		virtio_mmio_restart(m->devs[i].t);
	return ret;
}

/* "Uffd": a userfaultfd over every RAM region, and the handler told where
 * they are (base address in ember, offset in the memory file: the regions
 * lie back to back in both). */
static int serve_faults(struct machine *m, const char *path, char *err, size_t errlen)
{
	const struct guest_mem *gm = &m->vm.mem;
	struct uffd_region r[GM_MAX_REGIONS];
	uint64_t page = gm->pages == GM_PAGES_HUGETLB ? 2 * MiB : (uint64_t)sysconf(_SC_PAGESIZE);
	char *msg;
	int ret, fd = uffd_create(err, errlen);

	if (fd < 0)
		return fd;
	m->uffd = fd;
	m->uffd_on = true;
	for (int i = 0; i < gm->nr_regions; i++) {
		r[i] = (struct uffd_region){
			.base = (uintptr_t)gm->region[i].host, .size = gm->region[i].size,
			.offset = (uint64_t)(gm->region[i].host - (uint8_t *)gm->map),
			.page_size = page,
		};
		ret = uffd_register(fd, gm->region[i].host, gm->region[i].size);
		if (ret) {
			snprintf(err, errlen, "userfaultfd: cannot register guest RAM: %s",
				 strerror(-ret));
			return ret;
		}
	}
	msg = uffd_msg_build(r, (unsigned int)gm->nr_regions);
	if (!msg) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = uffd_send(path, fd, msg, err, errlen);
	free(msg);
	return ret;
}

int machine_restore(struct machine *m, const struct vm_config *cfg, struct ev_loop *loop,
		    struct conout *console, const struct snap *s, const struct restore_mem *mem,
		    char *err, size_t errlen)
{
	struct vm_config c = *cfg;
	int ret;

	memset(m, 0, sizeof(*m));
	c.vcpus = s->machine->nr_vcpus;
	c.boot_timer = s->machine->flags & SNAP_MACHINE_BOOT_TIMER;
	if (mem->fd >= 0)
		ret = vm_create_from_file(&m->vm, c.vcpus, s->mem_size, mem->fd,
					  c.track_dirty_pages);
	else
		ret = vm_create(&m->vm, c.vcpus, false, s->mem_size, mem->pages, NULL,
				c.track_dirty_pages);
	m->vm.shared.smt = s->machine->flags & SNAP_MACHINE_SMT;  /* the CPUID is restored */
	if (!ret)
		ret = add_legacy(m, &c, console);
	if (!ret)
		ret = add_devices(m, &c, loop);  /* cfg->devs: the snapshot's */
	if (ret) {
		snprintf(err, errlen, "cannot build the microVM: %s (see the log)", strerror(-ret));
		return ret;
	}
	/* Before any state: KVM may read guest RAM while it takes some in. */
	if (mem->fd < 0) {
		ret = serve_faults(m, mem->uffd_path, err, errlen);
		if (ret)
			return ret;
	}
	return restore_states(m, s, err, errlen);
}

void machine_unblock_faults(struct machine *m)
{
	for (int i = 0; m->uffd_on && i < m->vm.mem.nr_regions; i++) {
		const struct gm_region *r = &m->vm.mem.region[i];
		int ret = uffd_unregister(m->uffd, r->host, r->size);

		if (ret)
			log_warn("userfaultfd: cannot unregister guest RAM: %s", strerror(-ret));
	}
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
	if (m->uffd_on)
		close(m->uffd);
	m->uffd_on = false;
}
