// SPDX-License-Identifier: Apache-2.0
/* bus.c - see bus.h. */
#include <errno.h>
#include <string.h>

#include "bus.h"

int bus_add(struct bus *bus, const struct bus_dev *dev)
{
	if (!dev->len || dev->base + dev->len < dev->base)
		return -EINVAL;
	for (int i = 0; i < bus->nr; i++) {
		const struct bus_dev *d = &bus->devs[i];

		if (dev->base < d->base + d->len && d->base < dev->base + dev->len)
			return -EEXIST;
	}
	if (bus->nr == BUS_MAX_DEVS)
		return -ENOSPC;
	bus->devs[bus->nr++] = *dev;
	return 0;
}

/* The device whose range holds all of [addr, addr+size), or NULL. */
static const struct bus_dev *bus_find(const struct bus *bus, uint64_t addr, unsigned int size)
{
	for (int i = 0; i < bus->nr; i++) {
		const struct bus_dev *d = &bus->devs[i];

		if (addr >= d->base && addr - d->base < d->len &&
		    size <= d->len - (addr - d->base))
			return d;
	}
	return NULL;
}

bool bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, unsigned int size)
{
	const struct bus_dev *d = bus_find(bus, addr, size);

	if (!d || !d->ops->read) {
		memset(data, 0, size);
		return false;
	}
	d->ops->read(d->dev, addr - d->base, data, size);
	return true;
}

bool bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, unsigned int size)
{
	const struct bus_dev *d = bus_find(bus, addr, size);

	if (!d || !d->ops->write)
		return false;
	d->ops->write(d->dev, addr - d->base, data, size);
	return true;
}
