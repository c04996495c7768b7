/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builder.h - assembles a machine from a configuration: the KVM VM and its
 * RAM, the legacy devices (serial on COM1, i8042, the ACPI sleep/reset
 * registers, the boot timer), every device of the device table on its
 * virtio-mmio slot (bus entry, KVM ioeventfds and irqfd, command-line
 * entry), then the kernel, initrd, command line, ACPI tables (every vCPU
 * and device), boot parameters, MP table and the boot vCPU's registers.
 *
 * machine_build and machine_destroy run on the vmm thread, before the vCPUs
 * start and after they stopped.  On failure machine_destroy releases
 * whatever was made.
 */
#ifndef EMBER_BUILDER_H
#define EMBER_BUILDER_H

#include <stdint.h>

#include "device_table.h"
#include "vmm/config/config.h"
#include "vmm/core/conout.h"
#include "vmm/core/event.h"
#include "vmm/devices/acpi_pm.h"
#include "vmm/devices/boot_timer.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/serial.h"
#include "vmm/kvm/vm.h"
#include "vmm/x86/acpi.h"
#include "vmm/x86/boot.h"
#include "vmm/x86/layout.h"

#define MACHINE_MAX_DEVICES (CONFIG_MAX_DRIVES + CONFIG_MAX_NETS + 1)

struct machine {
	struct vm vm;                        /* KVM, guest RAM, buses, vCPUs */
	struct boot_image boot;
	struct serial serial;
	struct i8042 i8042;
	struct boot_timer boot_timer;
	/* vCPU exits up to the boot timer's first write ("to init"); written
	 * once by that vCPU thread, read by the vmm thread after it is set. */
	uint64_t boot_exits;
	uint64_t boot_exits_by_kind[VCPU_EXIT_KINDS];
	bool boot_exits_set;
	struct acpi_pm acpi_pm;              /* FADT sleep and reset registers */
	bool legacy_up;                      /* serial, i8042, acpi_pm initialised */
	bool boot_timer_mapped;
	struct vm_device devs[MACHINE_MAX_DEVICES];
	unsigned int nr_devs;
	unsigned int nr_virtio;              /* virtio-mmio slots used */
	struct acpi_machine acpi;            /* what the ACPI tables describe */
	char cmdline[LAYOUT_CMDLINE_MAX];    /* the user's plus what the devices need */
	bool uffd_on;                        /* loaded with the "Uffd" backend: */
	int uffd;                            /* its userfaultfd, kept open till the end */
};

/* Build everything `cfg` describes, every vCPU with the CPU template
 * `tmpl` (or NULL; config_cpu_template); device I/O is served by `loop`,
 * the guest console writes to `console` (opened at start-up, outlives the
 * machine).  The boot timer measures from start_us/start_cpu_us.  0 or
 * -errno (logged; m->vm.shared.why says why a template did not fit). */
int machine_build(struct machine *m, const struct vm_config *cfg,
		  const struct cpu_template *tmpl, struct ev_loop *loop,
		  struct conout *console, uint64_t start_us, uint64_t start_cpu_us);
struct snap;
/* Where a restored microVM's RAM comes from. */
struct restore_mem {
	int fd;                 /* "File": the memory file, mapped private; or -1 */
	const char *uffd_path;  /* "Uffd" (fd -1): the page-fault handler's socket */
	enum gm_pages pages;    /* "Uffd": GM_PAGES_NORMAL or GM_PAGES_HUGETLB */
};
/* PUT /snapshot/load: build the machine a checked snapshot `s` describes
 * (its vCPU count, RAM from `mem`, its legacy devices, and the virtio
 * devices of cfg->devs, which the caller filled from the snapshot's
 * configuration; `cfg` gives the rest: console budget, track_dirty_pages)
 * and put every saved state back, the virtio queues running again without
 * the driver's help.  With "Uffd", RAM is anonymous, registered with a new
 * userfaultfd and handed to the handler (vmm/core/uffd.h) before any state
 * is restored: every page the restore or the guest touches comes from the
 * handler.  The vCPUs are not started.  0 or -errno with the reason in
 * err; machine_destroy releases what was made. */
int machine_restore(struct machine *m, const struct vm_config *cfg, struct ev_loop *loop,
		    struct conout *console, const struct snap *s, const struct restore_mem *mem,
		    char *err, size_t errlen);
/* Teardown, after vm_kick_stop and before the vCPUs are joined: with the
 * "Uffd" backend, wake every vCPU waiting for a page the handler never
 * served (the range is unregistered), so it can see it must stop.  vmm
 * thread. */
void machine_unblock_faults(struct machine *m);
/* PUT /snapshot/create, vCPUs parked: drain every device's I/O in flight
 * (each request completed into its used ring, at most 5 s), then save the
 * state of every part into a state file being written (`w`, started with
 * the RAM layout; the devices' configuration is the caller's to add).  0
 * or -errno with the reason in err. */
struct snap_writer;
int machine_save(struct machine *m, struct snap_writer *w, char *err, size_t errlen);

/* The device of `type` called `id`, or NULL. */
struct vm_device *machine_find_device(struct machine *m, const struct device_type *type,
				      const char *id);
/* After vm_stop_vcpus (or a failed build): release everything. */
void machine_destroy(struct machine *m);

#endif
