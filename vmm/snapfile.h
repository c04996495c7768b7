/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapfile.h - ember's snapshot state file: writing one, and reading one
 * back as the untrusted input it is.
 *
 * Layout (little-endian, every part a multiple of 8 bytes):
 *
 *   header   magic "EMBERSNP", version, region and section counts, RAM size
 *   regions  nr_regions x {gpa, size, file_offset}: where each guest RAM
 *            region lies in the memory file (written next to this one)
 *   sections nr_sections x {type, index, len, len bytes of payload}
 *   crc      CRC-64 (ECMA-182 polynomial, reflected, as xz) of all above
 *
 * snap_parse checks everything before anything is used: magic, version,
 * checksum, every count, length and index, that the regions are exactly
 * the RAM layout ember builds for that RAM size (none overlapping, none
 * leaving RAM), that each section has its type's exact length, appears
 * once and all required ones are there, and the device states' own
 * invariants; each vCPU's CPUID is bounded (entry count, leaf and subleaf
 * numbers, no entry twice) and the same on every vCPU apart from the APIC
 * and core ids.  What KVM checks itself (registers) it leaves to KVM.
 *
 * Pure code (no KVM, no files): the unit tests and the fuzzer drive it
 * directly.  Any thread; the vmm thread in ember.
 */
#ifndef EMBER_SNAPFILE_H
#define EMBER_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "device_table.h"
#include "vmm/config/config.h"
#include "vmm/core/memory.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/serial.h"
#include "vmm/kvm/vcpu.h"
#include "vmm/kvm/vm.h"
#include "vmm/x86/layout.h"

#define SNAP_MAGIC       "EMBERSNP"
#define SNAP_VERSION     2   /* 2: CPUID, virtio devices; 1 (without them) is refused */
#define SNAP_MAX_SECTIONS 128
#define SNAP_MAX_DEVICES (CONFIG_MAX_DRIVES + CONFIG_MAX_NETS + 1)
#define SNAP_MAX_DEVICES_JSON (256u << 10)  /* the devices' configuration, bytes */
#define SNAP_MAX_FILE    (64u << 20)   /* a state file larger than this is refused */

struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t nr_regions;
	uint32_t nr_sections;
	uint32_t reserved;        /* 0 */
	uint64_t mem_size;        /* guest RAM, bytes */
};

struct snap_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t file_offset;     /* in the memory file */
};

struct snap_section_hdr {
	uint32_t type;            /* enum snap_section */
	uint32_t index;           /* the vCPU's number; 0 for the others */
	uint64_t len;             /* payload bytes that follow */
};

enum snap_section {
	SNAP_SEC_MACHINE = 1,     /* struct snap_machine */
	SNAP_SEC_VCPU,            /* struct vcpu_state, nr_msrs entries long */
	SNAP_SEC_VM,              /* struct vm_state: irqchip, PIT, clock */
	SNAP_SEC_SERIAL,          /* struct serial_state */
	SNAP_SEC_I8042,           /* struct i8042_state */
	SNAP_SEC_BOOT_TIMER,      /* struct snap_boot_timer */
	SNAP_SEC_ACPI_PM,         /* struct snap_acpi_pm */
	SNAP_SEC_DEVICES,         /* the devices' configuration: JSON text, NUL-padded */
	SNAP_SEC_VIRTIO,          /* struct snap_virtio; index: the virtio-mmio slot */
	SNAP_SEC_CPUID,           /* struct vcpu_cpuid, nent entries long; index: the vCPU */
	SNAP_SEC_COUNT,
};

#define SNAP_MACHINE_BOOT_TIMER 0x1u   /* the boot-timer device is mapped */
#define SNAP_MACHINE_SMT        0x2u   /* machine-config "smt" (the CPUID says so too) */

struct snap_machine {
	uint32_t nr_vcpus;
	uint32_t nr_devices;      /* virtio devices: that many SNAP_SEC_VIRTIO */
	uint32_t flags;           /* SNAP_MACHINE_* */
	uint32_t reserved;
};

struct snap_boot_timer {
	uint64_t boot_us, boot_cpu_us;
	uint32_t measured;        /* 0 or 1 */
	uint32_t reserved;
};

struct snap_acpi_pm {
	uint32_t event;           /* enum acpi_pm_event */
	uint32_t reserved;
};

/* One virtio device on its virtio-mmio slot (the builder's order: drives,
 * root first, then network interfaces, then vsock). */
struct snap_virtio {
	struct virtio_mmio_state t;
	union device_snap_state dev;
};

/* A checked state file: pointers into the caller's buffer (8-byte aligned,
 * as malloc returns), valid while it lives. */
struct snap {
	uint32_t version;
	uint64_t mem_size;
	uint32_t nr_regions;
	struct snap_region regions[GM_MAX_REGIONS];
	uint64_t mem_file_min;    /* the memory file must be at least this long */
	const struct snap_machine *machine;
	const struct vcpu_state *vcpu[EMBER_MAX_VCPUS];
	const struct vcpu_cpuid *cpuid[EMBER_MAX_VCPUS];
	const struct vm_state *vm;
	const struct serial_state *serial;
	const struct i8042_state *i8042;
	const struct snap_boot_timer *boot_timer;
	const struct snap_acpi_pm *acpi_pm;
	/* The devices' configuration as the API gave it, a JSON object with
	 * "drives", "network-interfaces" and "vsock" as GET /vm/config shows
	 * them (NUL-terminated inside the section; NULL without devices), and
	 * each device's state, by slot. */
	const char *devices_json;
	const struct snap_virtio *virtio[SNAP_MAX_DEVICES];
	uint32_t nr_sections;
};

/* Check `len` bytes at `buf` (8-byte aligned) and fill `s`.  0, or -EINVAL
 * with a sentence saying what is wrong in err. */
int snap_parse(const void *buf, size_t len, struct snap *s, char *err, size_t errlen);

/* Building a state file in memory: init with the RAM layout, add the
 * sections (the machine section first is customary), finish (section
 * count and checksum; 0 or the first -ENOMEM), then write out w->buf,
 * w->len.  snap_writer_free releases the buffer. */
struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	uint32_t nr_sections;
	int error;                /* the first -errno, returned by finish */
};
void snap_writer_init(struct snap_writer *w, uint64_t mem_size,
		      const struct snap_region *regions, uint32_t nr_regions);
void snap_writer_section(struct snap_writer *w, uint32_t type, uint32_t index,
			 const void *data, size_t len);
int snap_writer_finish(struct snap_writer *w);
void snap_writer_free(struct snap_writer *w);

/* The checksum the file carries (exposed for the tests). */
uint64_t snap_crc64(const void *data, size_t len);

/* --describe-snapshot: version, layout, sections of a checked file. */
void snap_describe(const struct snap *s, FILE *out);

#endif
