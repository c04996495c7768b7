// SPDX-License-Identifier: Apache-2.0
/* acpi_pm.c - see acpi_pm.h. */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "acpi_pm.h"
#include "vmm/core/log.h"
#include "vmm/x86/acpi.h"

static void acpi_pm_read(void *dev, uint64_t off, uint8_t *data, unsigned int size)
{
	(void)dev;
	(void)off;
	memset(data, 0, size);  /* WAK_STS never set: nothing sleeps and wakes */
}

static void acpi_pm_raise(struct acpi_pm *pm, enum acpi_pm_event ev)
{
	int none = ACPI_PM_NONE;

	if (!__atomic_compare_exchange_n(&pm->event, &none, (int)ev, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	if (eventfd_write(pm->event_efd, 1))
		log_ratelimited(LOG_WARN, "acpi: event eventfd: %s", strerror(errno));
}

static void acpi_pm_write(void *dev, uint64_t off, const uint8_t *data, unsigned int size)
{
	struct acpi_pm *pm = dev;
	uint8_t v = data[0];

	(void)size;
	if (off == ACPI_PM_SLEEP_CTL && (v & ACPI_SLP_EN) &&
	    ((v >> ACPI_SLP_TYP_SHIFT) & ACPI_SLP_TYP_MASK) == ACPI_S5_SLP_TYP)
		acpi_pm_raise(pm, ACPI_PM_POWEROFF);
	else if (off == ACPI_PM_RESET && v == ACPI_RESET_VALUE)
		acpi_pm_raise(pm, ACPI_PM_REBOOT);
	else
		log_ratelimited(LOG_DEBUG, "acpi: ignored write of 0x%x at offset %llu", v,
				(unsigned long long)off);
}

const struct bus_ops acpi_pm_ops = {
	.read = acpi_pm_read,
	.write = acpi_pm_write,
};

int acpi_pm_init(struct acpi_pm *pm)
{
	memset(pm, 0, sizeof(*pm));
	pm->event_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return pm->event_efd < 0 ? -errno : 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (pm->event_efd >= 0)
		close(pm->event_efd);
	pm->event_efd = -1;
}

enum acpi_pm_event acpi_pm_event(struct acpi_pm *pm)
{
	return (enum acpi_pm_event)__atomic_load_n(&pm->event, __ATOMIC_ACQUIRE);
}
