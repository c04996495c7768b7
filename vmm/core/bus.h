/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bus.h - port-I/O and MMIO dispatch for vCPU exits.
 *
 * The builder registers devices on the vmm thread before the vCPUs start;
 * after that the bus is read-only and vCPU threads look devices up
 * concurrently.  A device's ops
 * run on the vCPU thread that exited and must not block on I/O.
 */
#ifndef EMBER_BUS_H
#define EMBER_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	/* `off` is relative to the device base; `size` is 1, 2, 4 or 8. */
	void (*read)(void *dev, uint64_t off, uint8_t *data, unsigned int size);
	void (*write)(void *dev, uint64_t off, const uint8_t *data, unsigned int size);
};

struct bus_dev {
	const char *name;
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *dev;
};

#define BUS_MAX_DEVS 40

struct bus {
	const char *name;  /* "pio" or "mmio" */
	struct bus_dev devs[BUS_MAX_DEVS];
	int nr;
};

/* Builder (vmm thread, before vCPUs start): add a device; -EEXIST if it
 * overlaps one, -ENOSPC if the bus is full. */
int bus_add(struct bus *bus, const struct bus_dev *dev);
/* vCPU threads, on an I/O or MMIO exit: dispatch an access; false when no
 * device claims it (reads then give 0). */
bool bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, unsigned int size);
bool bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, unsigned int size);

#endif
