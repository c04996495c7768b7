/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_timer.h - Firecracker's boot-timer device: the guest writes the byte
 * 123 at offset 0 of its MMIO page (0xc0000000) when it reaches init; ember
 * logs the wall and CPU time since the start request, once: the first write
 * is kept, later ones only reach a rate-limited debug line.  vCPU threads.
 */
#ifndef EMBER_BOOT_TIMER_H
#define EMBER_BOOT_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/core/bus.h"

#define BOOT_TIMER_MAGIC 123

struct boot_timer {
	uint64_t start_us;
	uint64_t start_cpu_us;
	uint64_t boot_us;      /* the first measurement, 0 until the guest writes */
	uint64_t boot_cpu_us;
	bool measured;         /* the guest has written 123 */
	/* Optional, set before the vCPUs start: called once, on the writing
	 * vCPU's thread, right after the first measurement (the orchestrator
	 * snapshots the VM exit counters "to init" there). */
	void (*on_measured)(void *opaque);
	void *opaque;
};

extern const struct bus_ops boot_timer_ops;

#endif
