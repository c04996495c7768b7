// SPDX-License-Identifier: Apache-2.0
/* boot_timer.c - see boot_timer.h. */
#include <string.h>

#include "boot_timer.h"
#include "vmm/core/log.h"

static void boot_timer_read(void *dev, uint64_t off, uint8_t *data, unsigned int size)
{
	(void)dev;
	(void)off;
	memset(data, 0, size);
}

static void boot_timer_write(void *dev, uint64_t off, const uint8_t *data, unsigned int size)
{
	struct boot_timer *bt = dev;

	(void)size;
	if (off != 0 || data[0] != BOOT_TIMER_MAGIC)
		return;
	/* The first write is the boot time (metrics report it); the guest may
	 * write again at will, which must neither move it nor flood the log.
	 * Atomic: two vCPUs writing at once still measure once. */
	if (__atomic_exchange_n(&bt->measured, true, __ATOMIC_ACQ_REL)) {
		log_ratelimited(LOG_DEBUG, "boot timer: guest wrote %u again, boot time kept",
				BOOT_TIMER_MAGIC);
		return;
	}
	bt->boot_us = time_mono_us() - bt->start_us;
	bt->boot_cpu_us = time_cpu_us() - bt->start_cpu_us;
	log_info("Guest-boot-time = %6llu us %llu ms, %6llu CPU us %llu CPU ms",
		 (unsigned long long)bt->boot_us, (unsigned long long)bt->boot_us / 1000,
		 (unsigned long long)bt->boot_cpu_us, (unsigned long long)bt->boot_cpu_us / 1000);
	if (bt->on_measured)
		bt->on_measured(bt->opaque);
}

const struct bus_ops boot_timer_ops = {
	.read = boot_timer_read,
	.write = boot_timer_write,
};
