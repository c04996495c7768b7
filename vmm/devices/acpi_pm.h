/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi_pm.h - the registers the FADT names for a hardware-reduced guest
 * (vmm/x86/acpi.h): sleep control, sleep status and reset, three bytes of
 * port I/O at PORT_ACPI_PM.  Writing SLP_EN with the \_S5 sleep type
 * (poweroff) or the reset value (reboot=acpi) records what the guest asked
 * for and makes event_efd readable; the owner watches it and ends the VM
 * with status 0, as for the i8042's reset line.  Other sleep states are not
 * offered (no \_S1-\_S4) and their writes are ignored.  Register accesses
 * come from vCPU threads; event_efd is read on the vmm thread.
 */
#ifndef EMBER_ACPI_PM_H
#define EMBER_ACPI_PM_H

#include "vmm/core/bus.h"

enum acpi_pm_event {
	ACPI_PM_NONE,
	ACPI_PM_POWEROFF,
	ACPI_PM_REBOOT,
};

struct acpi_pm {
	int event_efd;
	int event;                /* enum acpi_pm_event, the first one wins */
};

extern const struct bus_ops acpi_pm_ops;

/* vmm thread, before vCPUs run: create event_efd.  0 or -errno. */
int acpi_pm_init(struct acpi_pm *pm);
/* vmm thread, vCPUs stopped: close it. */
void acpi_pm_destroy(struct acpi_pm *pm);
/* vmm thread, once event_efd was readable: what the guest asked for. */
enum acpi_pm_event acpi_pm_event(struct acpi_pm *pm);

#endif
