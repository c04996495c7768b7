// SPDX-License-Identifier: Apache-2.0
/*
 * test_acpi_pm.c - the FADT's sleep and reset registers (vmm/devices/acpi_pm.c):
 * what Linux writes for poweroff (SLP_EN with the \_S5 type) and for
 * reboot=acpi (the reset value) raise the event once; everything else is
 * ignored; reads give 0.
 */
#include <errno.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/devices/acpi_pm.h"
#include "vmm/x86/acpi.h"

static void wr(struct acpi_pm *pm, uint64_t off, uint8_t v)
{
	acpi_pm_ops.write(pm, off, &v, 1);
}

/* Events waiting on the eventfd (0 when none). */
static uint64_t pending(struct acpi_pm *pm)
{
	uint64_t n = 0;

	if (read(pm->event_efd, &n, sizeof(n)) < 0)
		assert_int_equal(errno, EAGAIN);
	return n;
}

static void test_poweroff(void **state)
{
	struct acpi_pm pm;

	(void)state;
	assert_ret(acpi_pm_init(&pm), 0);
	/* What acpi_hw_extended_sleep writes first: WAK_STS to the status. */
	wr(&pm, ACPI_PM_SLEEP_STS, 0x80);
	/* Other sleep types, and S5 without SLP_EN, do nothing. */
	for (uint8_t typ = 0; typ < 8; typ++)
		if (typ != ACPI_S5_SLP_TYP)
			wr(&pm, ACPI_PM_SLEEP_CTL, (uint8_t)(ACPI_SLP_EN | typ << ACPI_SLP_TYP_SHIFT));
	wr(&pm, ACPI_PM_SLEEP_CTL, ACPI_S5_SLP_TYP << ACPI_SLP_TYP_SHIFT);
	assert_int_equal(pending(&pm), 0);
	assert_int_equal(acpi_pm_event(&pm), ACPI_PM_NONE);

	wr(&pm, ACPI_PM_SLEEP_CTL, ACPI_SLP_EN | ACPI_S5_SLP_TYP << ACPI_SLP_TYP_SHIFT);
	assert_int_equal(pending(&pm), 1);
	assert_int_equal(acpi_pm_event(&pm), ACPI_PM_POWEROFF);
	/* The first request wins; a later reset neither changes nor re-signals it. */
	wr(&pm, ACPI_PM_RESET, ACPI_RESET_VALUE);
	assert_int_equal(pending(&pm), 0);
	assert_int_equal(acpi_pm_event(&pm), ACPI_PM_POWEROFF);
	acpi_pm_destroy(&pm);
}

static void test_reset(void **state)
{
	struct acpi_pm pm;
	uint8_t v = 0xff;

	(void)state;
	assert_ret(acpi_pm_init(&pm), 0);
	wr(&pm, ACPI_PM_RESET, ACPI_RESET_VALUE + 1);
	wr(&pm, ACPI_PM_SLEEP_STS, ACPI_RESET_VALUE);
	assert_int_equal(pending(&pm), 0);
	for (uint64_t off = 0; off < PORT_ACPI_PM_LEN; off++) {
		acpi_pm_ops.read(&pm, off, &v, 1);
		assert_int_equal(v, 0);
	}
	wr(&pm, ACPI_PM_RESET, ACPI_RESET_VALUE);
	assert_int_equal(pending(&pm), 1);
	assert_int_equal(acpi_pm_event(&pm), ACPI_PM_REBOOT);
	acpi_pm_destroy(&pm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poweroff),
		cmocka_unit_test(test_reset),
	};

	unit_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
