// SPDX-License-Identifier: Apache-2.0
/*
 * test_acpi.c - the ACPI tables (vmm/x86/acpi.c, aml.c): every table's
 * length and checksum, the RSDP -> XSDT -> FADT/MADT -> DSDT chain, the MADT
 * for 1, 2 and 32 vCPUs, the DSDT for 0, 1 and 8 virtio devices decompiled
 * by iasl (acpica-tools) and compared with what was asked, the RSDP found by
 * a BIOS-area scan, the tables' place against the kernel, initrd, command
 * line and zero page for guests of 128 MiB to 5 GiB, and the limits.
 */
#include <elf.h>
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/x86/acpi.h"
#include "vmm/x86/aml.h"
#include "vmm/x86/boot.h"
#include "vmm/x86/layout.h"
#include "vmm/core/memory.h"

#define SRC(b, l) (&(struct boot_src){ .buf = (b), .fd = -1, .len = (l) })

#define AREA (LAYOUT_ACPI_END - LAYOUT_ACPI_START)

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* A machine with `n` virtio devices where the builder puts them. */
static struct acpi_machine machine(unsigned int vcpus, unsigned int n)
{
	struct acpi_machine m = { .nr_vcpus = vcpus, .nr_virtio = n };

	for (unsigned int i = 0; i < n && i < ACPI_MAX_VIRTIO; i++)
		m.virtio[i] = (struct acpi_mmio_dev){ MMIO_VIRTIO_START + i * MMIO_VIRTIO_SLOT,
						      MMIO_VIRTIO_SLOT, IRQ_VIRTIO_FIRST + i };
	return m;
}

/* A whole table: its signature, its length field = `len`, sum 0. */
static void check_table(const uint8_t *t, const char *sig, size_t len)
{
	if (memcmp(t, sig, 4))
		fail_msg("expected %s, found %.4s", sig, (const char *)t);
	assert_int_equal(rd32(t + 4), len);
	assert_int_equal(acpi_sum(t, len), 0);
	assert_memory_equal(t + 10, "EMBER ", 6);
}

static void check_rsdp(const uint8_t *r)
{
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(acpi_sum(r, 20), 0);
	assert_int_equal(r[15], 2);
	assert_int_equal(rd32(r + 20), ACPI_RSDP_LEN);
	assert_int_equal(acpi_sum(r, ACPI_RSDP_LEN), 0);
	assert_int_equal(rd32(r + 16), 0);  /* no RSDT: the XSDT only */
}

/* ---- the chain ------------------------------------------------------------ */

struct chain {
	uint64_t xsdt, fadt, madt, dsdt;  /* guest addresses */
	uint64_t end;                     /* first byte past the last table */
};

/* Follow RSDP -> XSDT -> FADT, MADT -> DSDT in `buf`, which sits at `base`;
 * check each table on the way. */
static struct chain follow(const uint8_t *buf, uint64_t base, size_t len)
{
	struct chain c = { 0 };
	const uint8_t *x, *f;

	check_rsdp(buf);
	c.xsdt = rd64(buf + 24);
	assert_true(c.xsdt >= base + ACPI_RSDP_LEN && c.xsdt - base < len);
	x = buf + (c.xsdt - base);
	check_table(x, "XSDT", rd32(x + 4));
	assert_int_equal(rd32(x + 4), ACPI_HEADER_LEN + 2 * 8);
	c.fadt = rd64(x + ACPI_HEADER_LEN);
	c.madt = rd64(x + ACPI_HEADER_LEN + 8);
	assert_true(c.fadt > c.xsdt && c.fadt - base + 276 <= len);
	f = buf + (c.fadt - base);
	check_table(f, "FACP", 276);
	assert_int_equal(f[8], 6);                   /* revision */
	c.dsdt = rd64(f + 140);                      /* X_DSDT */
	assert_true(c.madt >= c.fadt + 276 && c.madt - base < len);
	check_table(buf + (c.madt - base), "APIC", rd32(buf + (c.madt - base) + 4));
	assert_true(c.dsdt >= c.madt + rd32(buf + (c.madt - base) + 4));
	assert_true(c.dsdt - base + ACPI_HEADER_LEN <= len);
	check_table(buf + (c.dsdt - base), "DSDT", rd32(buf + (c.dsdt - base) + 4));
	c.end = c.dsdt + rd32(buf + (c.dsdt - base) + 4);
	assert_true(c.end - base <= len);
	return c;
}

static void test_chain(void **state)
{
	static uint8_t buf[AREA];
	static const unsigned int shapes[][2] = { { 1, 0 }, { 2, 3 }, { 32, ACPI_MAX_VIRTIO } };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(shapes); i++) {
		struct acpi_machine m = machine(shapes[i][0], shapes[i][1]);
		int len = acpi_build_all(&m, LAYOUT_ACPI_START, buf, sizeof(buf));
		struct chain c;

		assert_true(len > 0);
		c = follow(buf, LAYOUT_ACPI_START, (size_t)len);
		assert_int_equal(c.end, LAYOUT_ACPI_START + (uint64_t)len);
		/* 16-byte aligned, as Linux's scan and the spec want the RSDP. */
		assert_int_equal(c.xsdt % 16, 0);
		assert_int_equal(c.fadt % 16, 0);
	}
}

/* FADT: hardware-reduced, reset register and sleep registers on ember's
 * ports, boot flags that tell the truth. */
static void test_fadt(void **state)
{
	uint8_t f[276];
	uint32_t flags;

	(void)state;
	assert_ret(acpi_build_fadt(0x12345678, f, sizeof(f)), 276);
	check_table(f, "FACP", 276);
	flags = rd32(f + 112);
	assert_true(flags & (1U << 20));             /* HW_REDUCED_ACPI */
	assert_true(flags & (1U << 10));             /* RESET_REG_SUP */
	assert_int_equal(rd16(f + 109) & 0x27, 0x27); /* legacy, 8042, no VGA, no RTC */
	assert_int_equal(f[116], 1);                 /* reset register: system I/O */
	assert_int_equal(f[117], 8);
	assert_int_equal(rd64(f + 120), PORT_ACPI_PM + ACPI_PM_RESET);
	assert_int_equal(f[128], ACPI_RESET_VALUE);
	assert_int_equal(rd64(f + 140), 0x12345678);
	assert_int_equal(f[244], 1);
	assert_int_equal(rd64(f + 248), PORT_ACPI_PM + ACPI_PM_SLEEP_CTL);
	assert_int_equal(f[256], 1);
	assert_int_equal(rd64(f + 260), PORT_ACPI_PM + ACPI_PM_SLEEP_STS);
}

/* ---- MADT ------------------------------------------------------------------- */

static void check_madt(unsigned int n)
{
	uint8_t t[1024];
	int len = acpi_build_madt(n, t, sizeof(t));
	unsigned int cpus = 0, ioapics = 0, overrides = 0, nmis = 0;
	size_t off = ACPI_HEADER_LEN + 8;

	assert_true(len > 0);
	check_table(t, "APIC", (size_t)len);
	assert_int_equal(rd32(t + 36), LAPIC_ADDR);
	while (off < (size_t)len) {
		const uint8_t *e = t + off;

		assert_true(e[1] >= 2 && off + e[1] <= (size_t)len);
		switch (e[0]) {
		case 0:  /* local APIC: UID, APIC id = CPUID's, enabled */
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], cpus);
			assert_int_equal(e[3], cpus);
			assert_int_equal(rd32(e + 4), 1);
			cpus++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], n);           /* the MP table's IOAPIC id */
			assert_int_equal(rd32(e + 4), IOAPIC_ADDR);
			assert_int_equal(rd32(e + 8), 0);
			ioapics++;
			break;
		case 2:  /* ISA IRQ 0 -> GSI 0, edge, active high */
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);
			assert_int_equal(e[3], 0);
			assert_int_equal(rd32(e + 4), 0);
			assert_int_equal(rd16(e + 8), 5);
			overrides++;
			break;
		case 4:  /* LINT1 of every CPU is the NMI */
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(off, (size_t)len);
	assert_int_equal(cpus, n);
	assert_int_equal(ioapics, 1);
	assert_int_equal(overrides, 1);
	assert_int_equal(nmis, 1);
}

static void test_madt_1(void **state) { (void)state; check_madt(1); }
static void test_madt_2(void **state) { (void)state; check_madt(2); }
static void test_madt_32(void **state) { (void)state; check_madt(32); }

static void test_madt_limits(void **state)
{
	uint8_t t[1024];

	(void)state;
	assert_ret(acpi_build_madt(0, t, sizeof(t)), -EINVAL);
	assert_ret(acpi_build_madt(ACPI_MAX_VCPUS + 1, t, sizeof(t)), -E2BIG);
}

/* ---- DSDT through iasl ------------------------------------------------------ */

/* The DSL text iasl -d makes of `table`, in a heap block (unit_keep). */
static char *decompile(const uint8_t *table, size_t len)
{
	char dir[] = "/tmp/ember-acpi-XXXXXX", path[64], cmd[160];
	FILE *f;
	char *text;
	long size;
	int status;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(table, 1, len, f), len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.dat >iasl.log 2>&1", dir);
	status = system(cmd);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("iasl -d failed (is acpica-tools installed? see %s/iasl.log)", dir);
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	text = unit_keep(calloc(1, (size_t)size + 1));
	assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return text;
}

/* The text of `Device (name)` up to the next device or the end. */
static char *device_block(const char *dsl, const char *name)
{
	char head[32];
	const char *p, *end;
	char *block;

	snprintf(head, sizeof(head), "Device (%s)", name);
	p = strstr(dsl, head);
	if (!p) {
		fail_msg("no %s in the decompiled DSDT", head);
		return NULL;
	}
	end = strstr(p + strlen(head), "Device (");
	if (!end)
		end = p + strlen(p);
	block = unit_keep(strndup(p, (size_t)(end - p)));
	return block;
}

/* The first number after `what` in `text`: 0x hex, or Zero / One. */
static unsigned long long number_after(const char *text, const char *what)
{
	const char *p = strstr(text, what);

	if (!p)
		fail_msg("'%s' not found in:\n%s", what, text);
	p += strlen(what);
	while (*p && *p != '0' && strncmp(p, "Zero", 4) && strncmp(p, "One", 3))
		p++;
	if (!strncmp(p, "Zero", 4))
		return 0;
	if (!strncmp(p, "One", 3))
		return 1;
	return strtoull(p, NULL, 0);
}

static unsigned int count(const char *text, const char *what)
{
	unsigned int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

static void check_dsdt(unsigned int n)
{
	static uint8_t t[8192];
	struct acpi_machine m = machine(1, n);
	int len = acpi_build_dsdt(&m, t, sizeof(t));
	char *dsl, *b;

	assert_true(len > 0);
	check_table(t, "DSDT", (size_t)len);
	dsl = decompile(t, (size_t)len);

	assert_int_equal(count(dsl, "\"LNRO0005\""), n);
	for (unsigned int i = 0; i < n; i++) {
		char name[16];

		snprintf(name, sizeof(name), "VR%02X", i);
		b = device_block(dsl, name);
		assert_non_null(strstr(b, "Name (_HID, \"LNRO0005\")"));
		assert_int_equal(number_after(b, "Name (_UID,"), i);
		assert_int_equal(number_after(b, "Memory32Fixed (ReadWrite,"), m.virtio[i].addr);
		assert_int_equal(number_after(b, "// Address Base"), MMIO_VIRTIO_SLOT);
		assert_non_null(strstr(b, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive"));
		assert_int_equal(number_after(b, "Interrupt (ResourceConsumer"), m.virtio[i].gsi);
	}
	b = device_block(dsl, "COM1");
	assert_non_null(strstr(b, "EisaId (\"PNP0501\")"));
	assert_int_equal(number_after(b, "IO (Decode16,"), PORT_COM1);
	assert_int_equal(number_after(b, "// Alignment"), 8);
	assert_non_null(strstr(b, "{4}"));
	b = device_block(dsl, "PS2K");
	assert_non_null(strstr(b, "EisaId (\"PNP0303\")"));
	assert_int_equal(number_after(b, "IO (Decode16,"), PORT_I8042_DATA);
	assert_int_equal(number_after(strstr(b, "// Length") + 1, "IO (Decode16,"), PORT_I8042_CMD);
	assert_non_null(strstr(b, "{1}"));
	assert_int_equal(number_after(dsl, "Name (\\_S5, Package ("), 2);
	assert_int_equal(number_after(strstr(dsl, "Name (\\_S5"), "{"), ACPI_S5_SLP_TYP);
	assert_int_equal(count(dsl, "Device ("), n + 2);
}

static void test_dsdt_0(void **state) { (void)state; check_dsdt(0); }
static void test_dsdt_1(void **state) { (void)state; check_dsdt(1); }
static void test_dsdt_8(void **state) { (void)state; check_dsdt(8); }

static void test_dsdt_limits(void **state)
{
	static uint8_t t[8192];
	struct acpi_machine m = machine(1, ACPI_MAX_VIRTIO);

	(void)state;
	assert_true(acpi_build_dsdt(&m, t, sizeof(t)) > 0);
	m.nr_virtio = ACPI_MAX_VIRTIO + 1;
	assert_ret(acpi_build_dsdt(&m, t, sizeof(t)), -E2BIG);
	m = machine(1, 1);
	m.virtio[0].addr = 4 * GiB;
	assert_ret(acpi_build_dsdt(&m, t, sizeof(t)), -EINVAL);
	m = machine(1, 1);
	m.virtio[0].gsi = IOAPIC_PINS;
	assert_ret(acpi_build_dsdt(&m, t, sizeof(t)), -EINVAL);
	m = machine(ACPI_MAX_VCPUS + 1, 1);
	assert_ret(acpi_build_all(&m, LAYOUT_ACPI_START, t, sizeof(t)), -E2BIG);
}

/* Every builder, given each buffer size short of what it needs, says
 * -ENOSPC and (ASan) writes nothing past the buffer. */
static void test_short_buffers(void **state)
{
	struct acpi_machine m = machine(32, 8);
	static const uint64_t tables[2] = { 1, 2 };
	int need[6];

	(void)state;
	uint8_t *big = unit_keep(malloc(AREA));
	need[0] = acpi_build_rsdp(1, big, AREA);
	need[1] = acpi_build_xsdt(tables, 2, big, AREA);
	need[2] = acpi_build_fadt(1, big, AREA);
	need[3] = acpi_build_madt(m.nr_vcpus, big, AREA);
	need[4] = acpi_build_dsdt(&m, big, AREA);
	need[5] = acpi_build_all(&m, LAYOUT_ACPI_START, big, AREA);
	for (int k = 0; k < 6; k++) {
		assert_true(need[k] > 0);
		for (int cap = 0; cap < need[k]; cap++) {
			uint8_t *b = malloc((size_t)cap + 1);  /* exact size for ASan */
			int r;

			assert_non_null(b);
			switch (k) {
			case 0: r = acpi_build_rsdp(1, b, (size_t)cap); break;
			case 1: r = acpi_build_xsdt(tables, 2, b, (size_t)cap); break;
			case 2: r = acpi_build_fadt(1, b, (size_t)cap); break;
			case 3: r = acpi_build_madt(m.nr_vcpus, b, (size_t)cap); break;
			case 4: r = acpi_build_dsdt(&m, b, (size_t)cap); break;
			default: r = acpi_build_all(&m, LAYOUT_ACPI_START, b, (size_t)cap); break;
			}
			free(b);
			if (r != -ENOSPC)
				fail_msg("builder %d with %d of %d bytes returned %d", k, cap,
					 need[k], r);
		}
	}
}

/* ---- AML encoding details ----------------------------------------------------- */

/* PkgLength: one byte below 64, then 2, 3 bytes with the low nibble first. */
static void test_aml_pkglength(void **state)
{
	static const size_t bodies[] = { 0, 61, 62, 63, 4000, 4093, 4094, 70000 };
	static uint8_t buf[80000], data[75000];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		struct aml a;
		size_t tok, total, got, nbytes;

		aml_init(&a, buf, sizeof(buf));
		tok = aml_scope_open(&a, "\\_SB_");
		aml_bytes(&a, data, bodies[i]);
		aml_close(&a, tok);
		assert_int_equal(a.err, 0);
		assert_int_equal(buf[0], 0x10);
		nbytes = (size_t)(buf[1] >> 6) + 1;
		got = nbytes == 1 ? buf[1] & 0x3f : buf[1] & 0x0f;
		for (size_t k = 1; k < nbytes; k++)
			got |= (size_t)buf[1 + k] << (4 + 8 * (k - 1));
		total = bodies[i] + 5 + nbytes;          /* name + body + the length bytes */
		assert_int_equal(got, total);
		assert_int_equal(a.len, 1 + total);
		assert_int_equal(buf[1 + nbytes], '\\');
		assert_memory_equal(buf + 2 + nbytes, "_SB_", 4);
		if (total < 64)
			assert_int_equal(nbytes, 1);
		else if (total < 4096)
			assert_int_equal(nbytes, 2);
		else
			assert_int_equal(nbytes, 3);
	}
}

static void test_aml_values(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x01, 0x0a, 0x02, 0x0b, 0x00, 0x01, 0x0c, 0x00, 0x00, 0x01, 0x00,
		0x0e, 0, 0, 0, 0, 1, 0, 0, 0,
		0x0c, 0x41, 0xd0, 0x05, 0x01,               /* EisaId ("PNP0501") */
		0x0d, 'a', 'b', 0x00,
	};
	uint8_t buf[64];
	struct aml a;

	(void)state;
	aml_init(&a, buf, sizeof(buf));
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 1ULL << 32);
	aml_eisaid(&a, "PNP0501");
	aml_string(&a, "ab");
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));

	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "com1");
	assert_int_equal(a.err, -EINVAL);
	aml_init(&a, buf, sizeof(buf));
	aml_eisaid(&a, "PNP05");
	assert_int_equal(a.err, -EINVAL);
	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "TOOLONG");
	assert_int_equal(a.err, -EINVAL);
}

/* ---- in guest memory ------------------------------------------------------------ */

/* Linux's scan: "RSD PTR " on a 16-byte boundary with a good checksum. */
static uint64_t scan_bios_area(const struct guest_mem *gm)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		uint8_t r[ACPI_RSDP_LEN];

		assert_ret(gm_read(gm, a, r, sizeof(r)), 0);
		if (!memcmp(r, "RSD PTR ", 8) && !acpi_sum(r, 20))
			return a;
	}
	return 0;
}

static void test_rsdp_scan(void **state)
{
	struct guest_mem gm;
	struct acpi_machine m = machine(2, 3);
	uint8_t *ram = unit_keep(calloc(1, 2 * MiB));
	uint64_t rsdp = 0;
	uint8_t *area;

	(void)state;
	gm_init_fake(&gm, ram, 2 * MiB);
	assert_ret(acpi_write(&gm, &m, &rsdp), 0);
	assert_int_equal(scan_bios_area(&gm), rsdp);
	area = gm_ptr(&gm, LAYOUT_ACPI_START, AREA);
	follow(area, LAYOUT_ACPI_START, AREA);
	/* Too little guest RAM to hold the area: an error, not a crash. */
	gm_init_fake(&gm, ram, LAYOUT_ACPI_START + 64);
	assert_ret(acpi_write(&gm, &m, &rsdp), -EFAULT);
}

struct range {
	const char *what;
	uint64_t start, end;
};

static void assert_apart(const struct range *a, const struct range *b)
{
	if (a->start < b->end && b->start < a->end)
		fail_msg("%s [0x%llx, 0x%llx) overlaps %s [0x%llx, 0x%llx)", a->what,
			 (unsigned long long)a->start, (unsigned long long)a->end, b->what,
			 (unsigned long long)b->start, (unsigned long long)b->end);
}

/* A 64-bit ELF with one 2 MiB segment at 16 MiB. */
static uint8_t *tiny_elf(size_t *len)
{
	size_t total = 0x1000 + 0x100;
	uint8_t *img = unit_keep(calloc(1, total));
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 16 * MiB;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	*ph = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0x1000,
			    .p_vaddr = 0xffffffff81000000ULL, .p_paddr = 16 * MiB,
			    .p_filesz = 0x100, .p_memsz = 2 * MiB, .p_align = 0x1000 };
	*len = total;
	return img;
}

static void check_placement(uint64_t mem)
{
	struct guest_mem gm;
	struct acpi_machine m = machine(4, 8);
	struct boot_image bi;
	struct boot_initrd rd;
	struct boot_params bp;
	struct boot_e820_entry e820[BOOT_E820_MAX];
	uint8_t initrd[8192];
	uint64_t rsdp = 0;
	size_t len;
	uint8_t *img = tiny_elf(&len);
	struct chain c;
	int n, ret, acpi_entries = 0;

	ret = gm_init(&gm, mem, false, MMIO_GAP_START, MMIO_GAP_END);
	if (ret == -ENOMEM)
		skip();
	assert_ret(ret, 0);
	memset(initrd, 0x5a, sizeof(initrd));
	assert_ret(boot_load_kernel(&gm, SRC(img, len), &bi), 0);
	assert_ret(boot_load_initrd(&gm, &bi, SRC(initrd, sizeof(initrd)), &rd), 0);
	assert_ret(boot_write_cmdline(&gm, &bi, "console=ttyS0"), 0);
	assert_ret(acpi_write(&gm, &m, &rsdp), 0);
	assert_ret(boot_write_params(&gm, &bi, &rd, rsdp), 0);
	assert_ret(mptable_write(&gm, m.nr_vcpus), 0);

	assert_ret(gm_read(&gm, LAYOUT_ZERO_PAGE_START, &bp, sizeof(bp)), 0);
	assert_int_equal(bp.acpi_rsdp_addr, rsdp);
	assert_int_equal(scan_bios_area(&gm), rsdp);
	c = follow(gm_ptr(&gm, rsdp, AREA), rsdp, AREA);
	{
		const struct range tables = { "ACPI tables", rsdp, c.end };
		const struct range others[] = {
			{ "kernel", 16 * MiB, bi.kernel_end },
			{ "initrd", rd.gpa, rd.gpa + rd.size },
			{ "command line", LAYOUT_CMDLINE_START, LAYOUT_CMDLINE_START + LAYOUT_CMDLINE_MAX },
			{ "zero page", LAYOUT_ZERO_PAGE_START, LAYOUT_ZERO_PAGE_START + 4096 },
			{ "PVH start info", LAYOUT_PVH_INFO_START, LAYOUT_ZERO_PAGE_START },
			{ "page tables", LAYOUT_PML4_START, LAYOUT_PDE_START + 4 * 4096 },
			{ "MP table", LAYOUT_EBDA_START, LAYOUT_EBDA_END },
		};

		for (size_t i = 0; i < ARRAY_SIZE(others); i++)
			assert_apart(&tables, &others[i]);
		/* Reserved as ACPI in the e820 map, and no RAM entry over it. */
		n = boot_e820(&gm, e820, BOOT_E820_MAX);
		assert_true(n > 0);
		for (int i = 0; i < n; i++) {
			const struct range r = { "e820 RAM", e820[i].addr,
						 e820[i].addr + e820[i].size };

			if (e820[i].type == 3) {
				assert_true(e820[i].addr <= tables.start && tables.end <= r.end);
				acpi_entries++;
			} else {
				assert_apart(&tables, &r);
			}
		}
		assert_int_equal(acpi_entries, 1);
	}
	gm_free(&gm);
}

static void test_placement_128m(void **state) { (void)state; check_placement(128 * MiB); }
static void test_placement_1g(void **state) { (void)state; check_placement(1 * GiB); }
static void test_placement_3g(void **state) { (void)state; check_placement(MMIO_GAP_START); }
static void test_placement_5g(void **state) { (void)state; check_placement(5 * GiB); }

static int teardown(void **state)
{
	(void)state;
	unit_drop_all();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_chain, teardown),
		cmocka_unit_test_teardown(test_fadt, teardown),
		cmocka_unit_test_teardown(test_madt_1, teardown),
		cmocka_unit_test_teardown(test_madt_2, teardown),
		cmocka_unit_test_teardown(test_madt_32, teardown),
		cmocka_unit_test_teardown(test_madt_limits, teardown),
		cmocka_unit_test_teardown(test_dsdt_0, teardown),
		cmocka_unit_test_teardown(test_dsdt_1, teardown),
		cmocka_unit_test_teardown(test_dsdt_8, teardown),
		cmocka_unit_test_teardown(test_dsdt_limits, teardown),
		cmocka_unit_test_teardown(test_short_buffers, teardown),
		cmocka_unit_test_teardown(test_aml_pkglength, teardown),
		cmocka_unit_test_teardown(test_aml_values, teardown),
		cmocka_unit_test_teardown(test_rsdp_scan, teardown),
		cmocka_unit_test_teardown(test_placement_128m, teardown),
		cmocka_unit_test_teardown(test_placement_1g, teardown),
		cmocka_unit_test_teardown(test_placement_3g, teardown),
		cmocka_unit_test_teardown(test_placement_5g, teardown),
	};

	unit_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
