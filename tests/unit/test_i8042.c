// SPDX-License-Identifier: Apache-2.0
/*
 * test_i8042.c - the PS/2 controller state machine: self-tests, the
 * configuration byte, keyboard commands and their acknowledgements,
 * SendCtrlAltDel's scancodes, the output queue bound, and IRQ 1 edges.
 */
#include "unit.h"

#include <errno.h>
#include <unistd.h>

#include "vmm/devices/i8042.h"

static uint8_t rd(struct i8042 *k, uint64_t off)
{
	uint8_t v = 0xee;

	i8042_ops.read(k, off, &v, 1);
	return v;
}

static void wr(struct i8042 *k, uint64_t off, uint8_t v)
{
	i8042_ops.write(k, off, &v, 1);
}

static uint64_t irqs(struct i8042 *k)
{
	uint64_t n = 0;

	if (read(k->irq_efd, &n, sizeof(n)) < 0)
		return 0;
	return n;
}

static uint64_t resets(struct i8042 *k)
{
	uint64_t n = 0;

	if (read(k->reset_efd, &n, sizeof(n)) < 0)
		return 0;
	return n;
}

static int setup(void **state)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	assert_int_equal(i8042_init(k), 0);
	*state = k;
	return 0;
}

static int teardown(void **state)
{
	i8042_destroy(*state);
	free(*state);
	return 0;
}

static void test_selftests_and_status(void **state)
{
	struct i8042 *k = *state;

	assert_int_equal(rd(k, 4) & 0x01, 0);      /* nothing to read */
	wr(k, 4, 0xaa);
	assert_int_equal(rd(k, 4) & 0x1d, 0x1d);   /* OBF, SYS, command, not key-locked */
	assert_int_equal(rd(k, 0), 0x55);
	assert_int_equal(rd(k, 4) & 0x01, 0);
	wr(k, 4, 0xab);
	assert_int_equal(rd(k, 0), 0x00);
	wr(k, 4, 0xa9);                             /* no aux device */
	assert_int_equal(rd(k, 0), 0xff);
	assert_int_equal(rd(k, 0), 0x00);           /* empty queue reads 0 */
}

static void test_ctr_read_write(void **state)
{
	struct i8042 *k = *state;

	wr(k, 4, 0x60);
	wr(k, 0, 0x45);
	wr(k, 4, 0x20);
	assert_int_equal(rd(k, 0), 0x45);
	wr(k, 4, 0xad);                             /* disable keyboard: CTR bit 4 */
	wr(k, 4, 0x20);
	assert_int_equal(rd(k, 0), 0x55);
	wr(k, 4, 0xd2);                             /* echo through the kbd buffer */
	wr(k, 0, 0x77);
	assert_int_equal(rd(k, 0), 0x77);
}

static void test_keyboard_commands(void **state)
{
	struct i8042 *k = *state;

	wr(k, 0, 0xff);                             /* reset */
	assert_int_equal(rd(k, 0), 0xfa);
	assert_int_equal(rd(k, 0), 0xaa);
	wr(k, 0, 0xf2);                             /* identify */
	assert_int_equal(rd(k, 0), 0xfa);
	assert_int_equal(rd(k, 0), 0xab);
	assert_int_equal(rd(k, 0), 0x83);
	wr(k, 0, 0xed);                             /* LEDs + argument: two ACKs */
	wr(k, 0, 0x07);
	assert_int_equal(rd(k, 0), 0xfa);
	assert_int_equal(rd(k, 0), 0xfa);
	assert_int_equal(rd(k, 4) & 0x01, 0);
}

static void test_ctrl_alt_del(void **state)
{
	static const uint8_t want[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	struct i8042 *k = *state;

	irqs(k);
	assert_int_equal(i8042_send_ctrl_alt_del(k), 0);
	assert_true(irqs(k) >= 1);                  /* keyboard interrupts on by default */
	assert_int_equal(i8042_send_ctrl_alt_del(k), 0);
	assert_int_equal(i8042_send_ctrl_alt_del(k), -ENOSPC);  /* 16-byte queue full */
	for (int r = 0; r < 2; r++)
		for (size_t i = 0; i < sizeof(want); i++) {
			assert_int_equal(rd(k, 4) & 0x01, 1);
			assert_int_equal(rd(k, 0), want[i]);
		}
	assert_int_equal(rd(k, 4) & 0x01, 0);
}

/* The guest's reset command reaches the owner through reset_efd, once per
 * command; other commands, and the same byte on the data port, do not. */
static void test_reset_command_signals_reset_efd(void **state)
{
	struct i8042 *k = *state;

	wr(k, 4, 0xaa);
	wr(k, 0, 0xfe);             /* data port: a keyboard byte, not the command */
	assert_int_equal(resets(k), 0);
	wr(k, 4, 0xfe);
	assert_int_equal(resets(k), 1);
	wr(k, 4, 0xfe);
	wr(k, 4, 0xfe);
	assert_int_equal(resets(k), 2);
	assert_int_equal(resets(k), 0);
}

static void test_no_irq_when_disabled(void **state)
{
	struct i8042 *k = *state;

	wr(k, 4, 0x60);
	wr(k, 0, 0x00);                             /* CTR: keyboard interrupt off */
	irqs(k);
	assert_int_equal(i8042_send_ctrl_alt_del(k), 0);
	assert_int_equal(irqs(k), 0);
	assert_int_equal(rd(k, 0), 0x1d);           /* still readable by polling */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_selftests_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctr_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_alt_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_irq_when_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_command_signals_reset_efd, setup, teardown),
	};

	unit_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
