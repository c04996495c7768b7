// SPDX-License-Identifier: Apache-2.0
/* acpi.c - see acpi.h.  Field offsets: ACPI 6.5 sections 5.2.5 (RSDP),
 * 5.2.6 (header), 5.2.8 (XSDT), 5.2.9 (FADT), 5.2.12 (MADT), 5.2.11.1 (DSDT). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "acpi.h"
#include "aml.h"
#include "vmm/core/log.h"

#define ACPI_OEM_ID        "EMBER "
#define ACPI_OEM_TABLE_ID  "EMBERVM "
#define ACPI_CREATOR_ID    "EMBR"
#define ACPI_ALIGN         16
#define ACPI_AREA_SIZE     (LAYOUT_ACPI_END - LAYOUT_ACPI_START)

/* FADT (revision 6, minor 5: ACPI 6.5). */
#define FADT_LEN           276
#define FADT_REVISION      6
#define FADT_MINOR         5
#define FADT_SCI_INT       46
#define FADT_IAPC_BOOT     109
#define FADT_FLAGS         112
#define FADT_RESET_REG     116
#define FADT_RESET_VALUE   128
#define FADT_MINOR_VERSION 131
#define FADT_X_DSDT        140
#define FADT_SLEEP_CTL     244
#define FADT_SLEEP_STS     256
#define FADT_HYPERVISOR_ID 268
#define FADT_SCI_IRQ       9          /* unused: hardware-reduced, no SCI */
#define IAPC_LEGACY_DEVICES (1U << 0)  /* COM1 on the ISA ports */
#define IAPC_8042          (1U << 1)
#define IAPC_NO_VGA        (1U << 2)
#define IAPC_NO_MSI        (1U << 3)  /* no PCI at all */
#define IAPC_NO_ASPM       (1U << 4)
#define IAPC_NO_CMOS_RTC   (1U << 5)
#define FLAG_WBINVD        (1U << 0)
#define FLAG_PWR_BUTTON    (1U << 4)  /* no fixed-feature power button */
#define FLAG_SLP_BUTTON    (1U << 5)  /* nor sleep button */
#define FLAG_RESET_REG_SUP (1U << 10)
#define FLAG_HW_REDUCED    (1U << 20)
#define GAS_SYSTEM_IO      1
#define GAS_ACCESS_BYTE    1

/* MADT (revision 5). */
#define MADT_REVISION      5
#define MADT_LAPIC         0
#define MADT_IOAPIC        1
#define MADT_INT_OVERRIDE  2
#define MADT_LAPIC_NMI     4
#define MADT_X2APIC        9
#define MADT_ENABLED       1
#define MADT_EDGE_HIGH     0x5        /* polarity 01 high, trigger 01 edge */
#define MADT_XAPIC_MAX_ID  0xfe       /* 0xff is the broadcast id */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

uint8_t acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return sum;
}

/* The common header over `len` bytes of `buf`, checksum last. */
static void acpi_finish(uint8_t *buf, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(buf, sig, 4);
	put32(buf + 4, len);
	buf[8] = rev;
	buf[9] = 0;
	memcpy(buf + 10, ACPI_OEM_ID, 6);
	memcpy(buf + 16, ACPI_OEM_TABLE_ID, 8);
	put32(buf + 24, 1);                   /* OEM revision */
	memcpy(buf + 28, ACPI_CREATOR_ID, 4);
	put32(buf + 32, 1);                   /* creator revision */
	buf[9] = (uint8_t)-acpi_sum(buf, len);
}

/* A Generic Address Structure for one byte-wide I/O port. */
static void put_gas_port(uint8_t *p, uint16_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = 8;                             /* bit width */
	p[2] = 0;                             /* bit offset */
	p[3] = GAS_ACCESS_BYTE;
	put64(p + 4, port);
}

int acpi_build_rsdp(uint64_t xsdt_gpa, uint8_t *buf, size_t cap)
{
	if (cap < ACPI_RSDP_LEN)
		return -ENOSPC;
	memset(buf, 0, ACPI_RSDP_LEN);
	memcpy(buf, "RSD PTR ", 8);
	memcpy(buf + 9, ACPI_OEM_ID, 6);
	buf[15] = 2;                          /* revision: XSDT */
	put32(buf + 20, ACPI_RSDP_LEN);
	put64(buf + 24, xsdt_gpa);
	buf[8] = (uint8_t)-acpi_sum(buf, 20);
	buf[32] = (uint8_t)-acpi_sum(buf, ACPI_RSDP_LEN);
	return ACPI_RSDP_LEN;
}

int acpi_build_xsdt(const uint64_t *tables, unsigned int n, uint8_t *buf, size_t cap)
{
	size_t len = ACPI_HEADER_LEN + (size_t)n * 8;

	if (cap < len)
		return -ENOSPC;
	memset(buf, 0, len);
	for (unsigned int i = 0; i < n; i++)
		put64(buf + ACPI_HEADER_LEN + i * 8, tables[i]);
	acpi_finish(buf, "XSDT", (uint32_t)len, 1);
	return (int)len;
}

int acpi_build_fadt(uint64_t dsdt_gpa, uint8_t *buf, size_t cap)
{
	if (cap < FADT_LEN)
		return -ENOSPC;
	memset(buf, 0, FADT_LEN);
	put16(buf + FADT_SCI_INT, FADT_SCI_IRQ);
	put16(buf + FADT_IAPC_BOOT, IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_NO_VGA |
				    IAPC_NO_MSI | IAPC_NO_ASPM | IAPC_NO_CMOS_RTC);
	put32(buf + FADT_FLAGS, FLAG_WBINVD | FLAG_PWR_BUTTON | FLAG_SLP_BUTTON |
				FLAG_RESET_REG_SUP | FLAG_HW_REDUCED);
	put_gas_port(buf + FADT_RESET_REG, PORT_ACPI_PM + ACPI_PM_RESET);
	buf[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
	buf[FADT_MINOR_VERSION] = FADT_MINOR;
	put64(buf + FADT_X_DSDT, dsdt_gpa);
	put_gas_port(buf + FADT_SLEEP_CTL, PORT_ACPI_PM + ACPI_PM_SLEEP_CTL);
	put_gas_port(buf + FADT_SLEEP_STS, PORT_ACPI_PM + ACPI_PM_SLEEP_STS);
	memcpy(buf + FADT_HYPERVISOR_ID, "EMBER\0\0\0", 8);
	acpi_finish(buf, "FACP", FADT_LEN, FADT_REVISION);
	return FADT_LEN;
}

/* One entry: type, length, then the body. */
static int madt_put(struct aml *a, uint8_t type, const uint8_t *body, uint8_t len)
{
	aml_byte(a, type);
	aml_byte(a, (uint8_t)(len + 2));
	aml_bytes(a, body, len);
	return a->err;
}

int acpi_build_madt(unsigned int nr_vcpus, uint8_t *buf, size_t cap)
{
	static const uint8_t header[ACPI_HEADER_LEN];
	uint8_t e[16] = { 0 };
	struct aml a;

	if (!nr_vcpus || nr_vcpus > ACPI_MAX_VCPUS) {
		log_error("ACPI: cannot describe %u vCPUs in the MADT (1 to %u)", nr_vcpus,
			  ACPI_MAX_VCPUS);
		return nr_vcpus ? -E2BIG : -EINVAL;
	}
	aml_init(&a, buf, cap);
	aml_bytes(&a, header, sizeof(header));  /* filled last */
	put32(e, (uint32_t)LAPIC_ADDR);
	put32(e + 4, 0);                      /* flags: no 8259 pair described */
	aml_bytes(&a, e, 8);
	for (unsigned int i = 0; i < nr_vcpus; i++) {
		memset(e, 0, sizeof(e));
		if (i <= MADT_XAPIC_MAX_ID) {
			e[0] = (uint8_t)i;            /* ACPI processor UID */
			e[1] = (uint8_t)i;            /* APIC id (cpuid.c: id = index) */
			put32(e + 2, MADT_ENABLED);
			madt_put(&a, MADT_LAPIC, e, 6);
		} else {
			put32(e + 2, i);              /* x2APIC id */
			put32(e + 6, MADT_ENABLED);
			put32(e + 10, i);             /* ACPI processor UID */
			madt_put(&a, MADT_X2APIC, e, 14);
		}
	}
	memset(e, 0, sizeof(e));
	e[0] = (uint8_t)nr_vcpus;             /* IOAPIC id, as in the MP table */
	put32(e + 2, (uint32_t)IOAPIC_ADDR);
	put32(e + 6, 0);                      /* GSI base */
	madt_put(&a, MADT_IOAPIC, e, 10);
	/* KVM's default routing wires ISA IRQ n to IOAPIC pin n, the timer
	 * included (a PC's firmware says 0 -> 2): say so rather than leave
	 * the guest to assume. */
	memset(e, 0, sizeof(e));
	put32(e + 2, 0);
	put16(e + 6, MADT_EDGE_HIGH);
	madt_put(&a, MADT_INT_OVERRIDE, e, 8);
	/* LINT1 of every local APIC is the NMI (regs.c). */
	memset(e, 0, sizeof(e));
	e[0] = 0xff;
	put16(e + 1, MADT_EDGE_HIGH);
	e[3] = 1;
	madt_put(&a, MADT_LAPIC_NMI, e, 4);
	if (a.err)
		return a.err;
	acpi_finish(buf, "APIC", (uint32_t)a.len, MADT_REVISION);
	return (int)a.len;
}

/* Name (_CRS, ResourceTemplate () {...}) from a finished template. */
static void dsdt_crs(struct aml *a, struct aml *res)
{
	aml_res_end(res);
	if (res->err && !a->err)
		a->err = res->err;
	aml_name(a, "_CRS");
	aml_buffer(a, res->buf, res->len);
}

static void dsdt_com1(struct aml *a)
{
	uint8_t crs[32];
	struct aml res;
	size_t dev = aml_device_open(a, "COM1");

	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_init(&res, crs, sizeof(crs));
	aml_res_io(&res, PORT_COM1, 8);
	aml_res_irq(&res, IRQ_SERIAL_COM1);
	dsdt_crs(a, &res);
	aml_close(a, dev);
}

static void dsdt_i8042(struct aml *a)
{
	uint8_t crs[32];
	struct aml res;
	size_t dev = aml_device_open(a, "PS2K");

	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0303");
	aml_init(&res, crs, sizeof(crs));
	aml_res_io(&res, PORT_I8042_DATA, 1);
	aml_res_io(&res, PORT_I8042_CMD, 1);
	aml_res_irq(&res, IRQ_I8042_KBD);
	dsdt_crs(a, &res);
	aml_close(a, dev);
}

/* Linux's virtio_mmio binds "LNRO0005" devices: one 4 KiB window, one
 * interrupt each. */
static void dsdt_virtio(struct aml *a, unsigned int i, const struct acpi_mmio_dev *d)
{
	uint8_t crs[32];
	char name[8];
	struct aml res;
	size_t dev;

	snprintf(name, sizeof(name), "VR%02X", i & 0xff);
	dev = aml_device_open(a, name);
	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name(a, "_UID");
	aml_integer(a, i);
	aml_init(&res, crs, sizeof(crs));
	aml_res_mem32(&res, (uint32_t)d->addr, d->size);
	aml_res_ext_irq(&res, d->gsi);
	dsdt_crs(a, &res);
	aml_close(a, dev);
}

static int dsdt_check(const struct acpi_machine *m)
{
	if (m->nr_virtio > ACPI_MAX_VIRTIO) {
		log_error("ACPI: cannot describe %u virtio devices in the DSDT (at most %u)",
			  m->nr_virtio, ACPI_MAX_VIRTIO);
		return -E2BIG;
	}
	for (unsigned int i = 0; i < m->nr_virtio; i++) {
		const struct acpi_mmio_dev *d = &m->virtio[i];

		if (d->addr > UINT32_MAX || d->size > UINT32_MAX - d->addr ||
		    d->gsi >= IOAPIC_PINS) {
			log_error("ACPI: virtio device %u (0x%llx, %u bytes, GSI %u) is not below 4 GiB on the IOAPIC",
				  i, (unsigned long long)d->addr, d->size, d->gsi);
			return -EINVAL;
		}
	}
	return 0;
}

int acpi_build_dsdt(const struct acpi_machine *m, uint8_t *buf, size_t cap)
{
	static const uint8_t header[ACPI_HEADER_LEN];
	struct aml a;
	size_t sb, pkg;
	int ret = dsdt_check(m);

	if (ret)
		return ret;
	aml_init(&a, buf, cap);
	aml_bytes(&a, header, sizeof(header));  /* filled last */
	sb = aml_scope_open(&a, "\\_SB_");
	dsdt_com1(&a);
	dsdt_i8042(&a);
	for (unsigned int i = 0; i < m->nr_virtio; i++)
		dsdt_virtio(&a, i, &m->virtio[i]);
	aml_close(&a, sb);
	/* S5 (soft off) for the sleep control register; Linux offers
	 * poweroff through ACPI only when \_S5 exists. */
	aml_name(&a, "\\_S5_");
	pkg = aml_package_open(&a, 2);
	aml_integer(&a, ACPI_S5_SLP_TYP);
	aml_integer(&a, 0);
	aml_close(&a, pkg);
	if (a.err)
		return a.err;
	acpi_finish(buf, "DSDT", (uint32_t)a.len, 2);
	return (int)a.len;
}

static size_t acpi_align(size_t off)
{
	return (off + ACPI_ALIGN - 1) & ~(size_t)(ACPI_ALIGN - 1);
}

int acpi_build_all(const struct acpi_machine *m, uint64_t base, uint8_t *buf, size_t cap)
{
	uint64_t tables[2];                   /* in the XSDT: FADT, MADT */
	size_t xsdt = acpi_align(ACPI_RSDP_LEN);
	size_t fadt = acpi_align(xsdt + ACPI_HEADER_LEN + sizeof(tables));
	size_t madt = acpi_align(fadt + FADT_LEN), dsdt;
	int ret;

	if (base % ACPI_ALIGN)
		return -EINVAL;
	if (madt > cap)
		return -ENOSPC;
	memset(buf, 0, madt);                 /* the gaps between tables too */
	ret = acpi_build_madt(m->nr_vcpus, buf + madt, cap - madt);
	if (ret < 0)
		return ret;
	dsdt = acpi_align(madt + (size_t)ret);
	if (dsdt > cap)
		return -ENOSPC;
	memset(buf + madt + ret, 0, dsdt - madt - (size_t)ret);
	ret = acpi_build_dsdt(m, buf + dsdt, cap - dsdt);
	if (ret < 0)
		return ret;
	tables[0] = base + fadt;
	tables[1] = base + madt;
	acpi_build_rsdp(base + xsdt, buf, xsdt);
	acpi_build_xsdt(tables, 2, buf + xsdt, fadt - xsdt);
	acpi_build_fadt(base + dsdt, buf + fadt, madt - fadt);
	return (int)(dsdt + (size_t)ret);
}

int acpi_write(const struct guest_mem *gm, const struct acpi_machine *m, uint64_t *rsdp_gpa)
{
	static uint8_t buf[ACPI_AREA_SIZE];
	int len = acpi_build_all(m, LAYOUT_ACPI_START, buf, sizeof(buf));

	if (len < 0) {
		if (len == -ENOSPC)
			log_error("ACPI: the tables do not fit in %llu KiB",
				  (unsigned long long)ACPI_AREA_SIZE / KiB);
		return len;
	}
	if (gm_write(gm, LAYOUT_ACPI_START, buf, (uint64_t)len)) {
		log_error("ACPI: guest RAM does not hold 0x%llx-0x%llx",
			  (unsigned long long)LAYOUT_ACPI_START, (unsigned long long)LAYOUT_ACPI_END);
		return -EFAULT;
	}
	*rsdp_gpa = LAYOUT_ACPI_START;
	return 0;
}
