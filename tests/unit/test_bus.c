// SPDX-License-Identifier: Apache-2.0
/*
 * test_bus.c - port-I/O / MMIO dispatch (vmm/bus.c): registration rules
 * and which accesses reach a device, at which offset.
 */
#include <errno.h>

#include "unit.h"
#include "vmm/core/bus.h"

/* A device that records its last access. */
struct rec_dev {
	int reads, writes;
	uint64_t off;
	unsigned int size;
	uint8_t data[8];
};

static void rec_read(void *dev, uint64_t off, uint8_t *data, unsigned int size)
{
	struct rec_dev *d = dev;

	d->reads++;
	d->off = off;
	d->size = size;
	for (unsigned int i = 0; i < size; i++)
		data[i] = (uint8_t)(0x10 + off + i);
}

static void rec_write(void *dev, uint64_t off, const uint8_t *data, unsigned int size)
{
	struct rec_dev *d = dev;

	d->writes++;
	d->off = off;
	d->size = size;
	memcpy(d->data, data, size);
}

static const struct bus_ops rec_ops = { .read = rec_read, .write = rec_write };
static const struct bus_ops write_only_ops = { .write = rec_write };

static struct bus_dev dev_at(uint64_t base, uint64_t len, void *dev)
{
	return (struct bus_dev){ .name = "rec", .base = base, .len = len,
				 .ops = &rec_ops, .dev = dev };
}

static void test_add_overlap(void **state)
{
	struct bus bus = { .name = "pio" };
	static const struct {
		const char *name;
		uint64_t base, len;
		int want;
	} cases[] = {
		/* Against one device at [0x100, 0x108). */
		{ "adjacent below",       0x0f8, 8, 0 },
		{ "adjacent above",       0x108, 8, 0 },
		{ "same range",           0x100, 8, -EEXIST },
		{ "last byte",            0x107, 1, -EEXIST },
		{ "first byte",           0x100, 1, -EEXIST },
		{ "inside",               0x102, 2, -EEXIST },
		{ "covering",             0x0f0, 0x40, -EEXIST },
		{ "overlapping the start", 0x0fc, 8, -EEXIST },
		{ "overlapping the end",  0x104, 8, -EEXIST },
		{ "zero length",          0x200, 0, -EINVAL },
		{ "zero length inside",   0x104, 0, -EINVAL },
		{ "wrapping the top",     UINT64_MAX - 3, 8, -EINVAL },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct bus_dev d;

		memset(&bus, 0, sizeof(bus));
		d = dev_at(0x100, 8, NULL);
		assert_ret(bus_add(&bus, &d), 0);
		d = dev_at(cases[i].base, cases[i].len, NULL);
		assert_ret_case(cases[i].name, bus_add(&bus, &d), cases[i].want);
		assert_int_equal(bus.nr, cases[i].want ? 1 : 2);
	}
}

static void test_add_full(void **state)
{
	static struct bus bus;
	struct bus_dev d;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	for (int i = 0; i < BUS_MAX_DEVS; i++) {
		d = dev_at(0x1000 + (uint64_t)i * 0x10, 0x10, NULL);
		assert_ret(bus_add(&bus, &d), 0);
	}
	assert_int_equal(bus.nr, BUS_MAX_DEVS);
	d = dev_at(0x9000, 0x10, NULL);
	assert_ret(bus_add(&bus, &d), -ENOSPC);
	assert_int_equal(bus.nr, BUS_MAX_DEVS);
}

static void test_dispatch_offsets(void **state)
{
	struct bus bus = { .name = "mmio" };
	struct rec_dev a = { 0 }, b = { 0 };
	struct bus_dev d;
	uint8_t data[8];
	const uint8_t w[4] = { 1, 2, 3, 4 };

	(void)state;
	d = dev_at(0xd0000000, 0x1000, &a);
	assert_ret(bus_add(&bus, &d), 0);
	d = dev_at(0xd0001000, 0x1000, &b);  /* adjacent */
	assert_ret(bus_add(&bus, &d), 0);

	assert_true(bus_read(&bus, 0xd0000010, data, 4));
	assert_int_equal(a.reads, 1);
	assert_int_equal(a.off, 0x10);
	assert_int_equal(a.size, 4);
	assert_int_equal(data[0], 0x20);
	assert_int_equal(data[3], 0x23);

	assert_true(bus_write(&bus, 0xd0001ffc, w, 4));  /* touching b's end */
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.off, 0xffc);
	assert_int_equal(b.size, 4);
	assert_memory_equal(b.data, w, 4);

	assert_true(bus_read(&bus, 0xd0000fff, data, 1));  /* a's last byte */
	assert_int_equal(a.off, 0xfff);
	assert_true(bus_read(&bus, 0xd0001000, data, 8));  /* b's first bytes */
	assert_int_equal(b.reads, 1);
	assert_int_equal(b.off, 0);
	assert_int_equal(a.reads, 2);
}

/* Accesses no single device holds entirely: unhandled, reads give 0. */
static void test_dispatch_unhandled(void **state)
{
	struct bus bus = { .name = "pio" };
	struct rec_dev a = { 0 }, b = { 0 }, top = { 0 }, wo = { 0 };
	struct bus_dev d;
	static const struct {
		const char *name;
		uint64_t addr;
		unsigned int size;
	} cases[] = {
		{ "straddling a's end",           0x3fe, 4 },
		{ "straddling a and b",           0x3ff, 2 },
		{ "straddling b's end",           0x40c, 8 },
		{ "below a",                      0x3f0, 1 },
		{ "straddling a's start",         0x3f7, 2 },
		{ "above everything",             0x500, 4 },
		{ "straddling the top device",    UINT64_MAX - 3, 8 },
		{ "write-only device read",       0x600, 1 },
	};
	uint8_t data[8];

	(void)state;
	d = dev_at(0x3f8, 8, &a);
	assert_ret(bus_add(&bus, &d), 0);
	d = dev_at(0x400, 0x10, &b);
	assert_ret(bus_add(&bus, &d), 0);
	d = dev_at(UINT64_MAX - 7, 7, &top);  /* ends at UINT64_MAX, exclusive */
	assert_ret(bus_add(&bus, &d), 0);
	d = dev_at(0x600, 4, &wo);
	d.ops = &write_only_ops;
	assert_ret(bus_add(&bus, &d), 0);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(data, 0xaa, sizeof(data));
		if (bus_read(&bus, cases[i].addr, data, cases[i].size))
			fail_msg("case '%s': read was dispatched", cases[i].name);
		for (unsigned int j = 0; j < cases[i].size; j++)
			if (data[j])
				fail_msg("case '%s': read byte %u is 0x%x, not 0", cases[i].name,
					 j, data[j]);
		for (unsigned int j = cases[i].size; j < sizeof(data); j++)
			if (data[j] != 0xaa)
				fail_msg("case '%s': read wrote past its size", cases[i].name);
		if (i + 1 < ARRAY_SIZE(cases) &&
		    bus_write(&bus, cases[i].addr, data, cases[i].size))
			fail_msg("case '%s': write was dispatched", cases[i].name);
	}
	assert_int_equal(a.reads + a.writes + b.reads + b.writes, 0);
	assert_int_equal(top.reads + top.writes, 0);
	assert_int_equal(wo.reads + wo.writes, 0);

	/* The top device still works for accesses it holds. */
	assert_true(bus_read(&bus, UINT64_MAX - 7, data, 4));
	assert_int_equal(top.off, 0);
	assert_true(bus_write(&bus, UINT64_MAX - 1, data, 1));
	assert_int_equal(top.off, 6);
	/* And the write-only one takes writes. */
	assert_true(bus_write(&bus, 0x602, data, 2));
	assert_int_equal(wo.off, 2);
}

static void test_empty_bus(void **state)
{
	struct bus bus = { .name = "pio" };
	uint8_t data[4] = { 1, 2, 3, 4 };

	(void)state;
	assert_false(bus_read(&bus, 0, data, 4));
	assert_int_equal(data[0] | data[1] | data[2] | data[3], 0);
	assert_false(bus_write(&bus, 0x3f8, data, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_overlap),
		cmocka_unit_test(test_add_full),
		cmocka_unit_test(test_dispatch_offsets),
		cmocka_unit_test(test_dispatch_unhandled),
		cmocka_unit_test(test_empty_bus),
	};

	unit_init();
	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
