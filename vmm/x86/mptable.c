// SPDX-License-Identifier: Apache-2.0
/*
 * mptable.c - Intel MultiProcessor Specification 1.4 tables, so a guest
 * without ACPI finds every vCPU, the IOAPIC and the ISA interrupt wiring.
 * The floating pointer and the table live in the EBDA at 0x9fc00, where
 * Linux scans for them.  IRQ n is wired to IOAPIC pin n, as KVM's default
 * routing does.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "boot.h"
#include "layout.h"

#define MP_SPEC_REV     4
#define MP_APIC_VERSION 0x14
#define MP_IOAPIC_VER   0x11
#define MP_CPU_ENABLED  1
#define MP_CPU_BSP      2
#define MP_INT_INT      0
#define MP_INT_NMI      1
#define MP_INT_EXTINT   3

struct __attribute__((packed)) mp_floating {
	char signature[4];
	uint32_t table;
	uint8_t length, spec, checksum, feature[5];
};

struct __attribute__((packed)) mp_config {
	char signature[4];
	uint16_t length;
	uint8_t spec, checksum;
	char oem[8], product[12];
	uint32_t oem_table;
	uint16_t oem_size, entries;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
};

struct __attribute__((packed)) mp_cpu {
	uint8_t type, apic_id, apic_ver, flags;
	uint32_t signature, features, reserved[2];
};

struct __attribute__((packed)) mp_small {  /* bus, IOAPIC, interrupt entries */
	uint8_t bytes[8];
};

#define MP_MAX_SIZE (sizeof(struct mp_config) + EMBER_MAX_VCPUS * sizeof(struct mp_cpu) + \
		     (2 + IOAPIC_PINS + 2) * sizeof(struct mp_small))

static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

static size_t mp_put_small(uint8_t *buf, size_t off, uint8_t b0, uint8_t b1, uint8_t b2,
			   uint8_t b3, uint8_t b4, uint8_t b5, uint8_t b6, uint8_t b7)
{
	const struct mp_small e = { { b0, b1, b2, b3, b4, b5, b6, b7 } };

	memcpy(buf + off, &e, sizeof(e));
	return off + sizeof(e);
}

int mptable_write(const struct guest_mem *gm, unsigned int nr_vcpus)
{
	uint8_t buf[MP_MAX_SIZE];
	struct mp_config cfg = { .signature = "PCMP", .spec = MP_SPEC_REV,
				 .oem = "EMBER   ", .product = "MICROVM     ",
				 .lapic = (uint32_t)LAPIC_ADDR };
	struct mp_floating fp = { .signature = "_MP_", .length = 1, .spec = MP_SPEC_REV };
	uint64_t table_gpa = LAYOUT_EBDA_START + sizeof(fp);
	uint8_t ioapic_id = (uint8_t)nr_vcpus;
	size_t off = sizeof(cfg);
	uint16_t entries = 0;

	if (!nr_vcpus || nr_vcpus > EMBER_MAX_VCPUS)
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	for (unsigned int i = 0; i < nr_vcpus; i++, entries++) {
		struct mp_cpu cpu = {
			.type = 0, .apic_id = (uint8_t)i, .apic_ver = MP_APIC_VERSION,
			.flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.signature = 0x600, .features = 0x201, /* FPU, APIC */
		};
		memcpy(buf + off, &cpu, sizeof(cpu));
		off += sizeof(cpu);
	}
	off = mp_put_small(buf, off, 1, 0, 'I', 'S', 'A', ' ', ' ', ' ');   /* bus 0 */
	off = mp_put_small(buf, off, 2, ioapic_id, MP_IOAPIC_VER, 1,
			   (uint8_t)IOAPIC_ADDR, (uint8_t)(IOAPIC_ADDR >> 8),
			   (uint8_t)(IOAPIC_ADDR >> 16), (uint8_t)(IOAPIC_ADDR >> 24));
	entries += 2;
	for (uint8_t irq = 0; irq < IOAPIC_PINS; irq++, entries++)
		off = mp_put_small(buf, off, 3, MP_INT_INT, 0, 0, 0, irq, ioapic_id, irq);
	/* LINT0 is ExtINT (the PIC), LINT1 is NMI, on every local APIC. */
	off = mp_put_small(buf, off, 4, MP_INT_EXTINT, 0, 0, 0, 0, 0xff, 0);
	off = mp_put_small(buf, off, 4, MP_INT_NMI, 0, 0, 0, 0, 0xff, 1);
	entries += 2;

	cfg.length = (uint16_t)off;
	cfg.entries = entries;
	memcpy(buf, &cfg, sizeof(cfg));
	buf[offsetof(struct mp_config, checksum)] = mp_checksum(buf, off);
	if (table_gpa + off > LAYOUT_EBDA_END)
		return -ENOSPC;

	fp.table = (uint32_t)table_gpa;
	fp.checksum = mp_checksum((const uint8_t *)&fp, sizeof(fp));
	if (gm_write(gm, LAYOUT_EBDA_START, &fp, sizeof(fp)) ||
	    gm_write(gm, table_gpa, buf, off))
		return -EFAULT;
	return 0;
}
