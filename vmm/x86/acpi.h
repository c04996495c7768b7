/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi.h - the ACPI tables ember gives a guest (ACPI 6.5): RSDP (revision 2)
 * → XSDT → FADT (hardware-reduced), MADT and DSDT.  They describe every vCPU,
 * the IOAPIC, COM1, the i8042 and each virtio-mmio device, so a kernel
 * without MP-table parsing or virtio_mmio.device= finds its hardware.
 *
 * Each builder is a pure function over a byte buffer: it writes one whole
 * table (header and checksum) and returns its length, or -errno:
 *   -ENOSPC  the buffer is too small
 *   -E2BIG   more vCPUs or devices than the tables can describe (logged)
 *   -EINVAL  a machine the tables cannot describe (logged)
 * acpi_write places them all in guest RAM at LAYOUT_ACPI_START, which the
 * e820 map reserves as ACPI; the RSDP comes first, inside the BIOS area
 * (0xe0000-0xfffff) kernels scan.  Called by the builder on the vmm thread
 * before the vCPUs start; tests call the builders directly.
 *
 * The FADT's sleep control/status and reset registers are ember's port-I/O
 * registers at PORT_ACPI_PM (vmm/devices/acpi_pm.c): the guest's S5 (poweroff)
 * and reset (reboot=acpi) end the VM.
 */
#ifndef EMBER_ACPI_H
#define EMBER_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "vmm/core/memory.h"

/* ember's registers at PORT_ACPI_PM (offsets), as the FADT names them. */
#define ACPI_PM_SLEEP_CTL   0      /* write SLP_EN | SLP_TYP << 2 */
#define ACPI_PM_SLEEP_STS   1      /* reads 0 */
#define ACPI_PM_RESET       2      /* write ACPI_RESET_VALUE */
#define ACPI_RESET_VALUE    0x01
#define ACPI_SLP_EN         0x20
#define ACPI_SLP_TYP_SHIFT  2
#define ACPI_SLP_TYP_MASK   0x07
#define ACPI_S5_SLP_TYP     5      /* the \_S5 package's value */

#define ACPI_MAX_VIRTIO     (IOAPIC_PINS - IRQ_VIRTIO_FIRST)
#define ACPI_MAX_VCPUS      EMBER_MAX_VCPUS
#define ACPI_HEADER_LEN     36
#define ACPI_RSDP_LEN       36

struct acpi_mmio_dev {
	uint64_t addr;   /* 4 KiB window, below 4 GiB */
	uint32_t size;
	uint32_t gsi;
};

struct acpi_machine {
	unsigned int nr_vcpus;
	unsigned int nr_virtio;
	struct acpi_mmio_dev virtio[ACPI_MAX_VIRTIO];
};

int acpi_build_rsdp(uint64_t xsdt_gpa, uint8_t *buf, size_t cap);
int acpi_build_xsdt(const uint64_t *tables, unsigned int n, uint8_t *buf, size_t cap);
int acpi_build_fadt(uint64_t dsdt_gpa, uint8_t *buf, size_t cap);
int acpi_build_madt(unsigned int nr_vcpus, uint8_t *buf, size_t cap);
int acpi_build_dsdt(const struct acpi_machine *m, uint8_t *buf, size_t cap);

/* Every table for `m` as it will sit at guest-physical `base` (16-byte
 * aligned): the RSDP at offset 0, then XSDT, FADT, MADT, DSDT.  The total
 * length, or -errno. */
int acpi_build_all(const struct acpi_machine *m, uint64_t base, uint8_t *buf, size_t cap);

/* Build the tables into guest RAM at LAYOUT_ACPI_START; *rsdp_gpa is where
 * the RSDP went.  0 or -errno (logged). */
int acpi_write(const struct guest_mem *gm, const struct acpi_machine *m, uint64_t *rsdp_gpa);

/* The sum of `len` bytes (0 for a valid table). */
uint8_t acpi_sum(const uint8_t *p, size_t len);

#endif
