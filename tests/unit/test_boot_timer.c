// SPDX-License-Identifier: Apache-2.0
/*
 * test_boot_timer.c - the boot-timer device (vmm/devices/boot_timer.c): the
 * guest's first write of 123 is the boot time, kept and logged once; the
 * guest writing it again and again neither moves the measurement nor floods
 * the log.
 */
#include "unit.h"

#include <unistd.h>

#include "vmm/core/log.h"
#include "vmm/devices/boot_timer.h"

/* Lines in `path` that carry the boot-time message. */
static unsigned int count_boot_lines(const char *path)
{
	char line[1200];
	unsigned int n = 0;
	FILE *fp = fopen(path, "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (strstr(line, "Guest-boot-time"))
			n++;
	fclose(fp);
	return n;
}

static void write_byte(struct boot_timer *bt, uint64_t off, uint8_t v)
{
	boot_timer_ops.write(bt, off, &v, 1);
}

/* 5000 writes of 123 once logged 5000 lines and kept the last time. */
static void test_many_writes_one_measurement_one_line(void **state)
{
	struct boot_timer bt = { .start_us = time_mono_us(), .start_cpu_us = time_cpu_us() };
	char path[] = "/tmp/ember-boot-timer-XXXXXX", err[128];
	uint64_t first_us, first_cpu_us;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(log_configure(path, LOG_INFO, true, false, err, sizeof(err)), 0);

	write_byte(&bt, 1, BOOT_TIMER_MAGIC);   /* wrong offset: nothing */
	write_byte(&bt, 0, 7);                  /* wrong value: nothing */
	assert_int_equal(bt.boot_us, 0);
	assert_int_equal(bt.boot_cpu_us, 0);

	/* Start far enough in the past that the first measurement is non-zero. */
	bt.start_us -= 1000;
	write_byte(&bt, 0, BOOT_TIMER_MAGIC);
	first_us = bt.boot_us;
	first_cpu_us = bt.boot_cpu_us;
	assert_true(first_us >= 1000);
	usleep(2000);
	for (int i = 0; i < 5000; i++)
		write_byte(&bt, 0, BOOT_TIMER_MAGIC);
	assert_int_equal(bt.boot_us, first_us);
	assert_int_equal(bt.boot_cpu_us, first_cpu_us);

	assert_int_equal(log_configure("/dev/stderr", LOG_INFO, true, false, err, sizeof(err)), 0);
	/* The boot time once; later writes at most a rate-limited note. */
	assert_int_equal(count_boot_lines(path), 1);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_writes_one_measurement_one_line),
	};

	unit_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
