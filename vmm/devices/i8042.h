/* SPDX-License-Identifier: Apache-2.0 */
/*
 * i8042.h - the PS/2 controller with a keyboard that only ever sends what
 * the VMM injects.  Enough for Linux's i8042 and atkbd drivers to bind, for
 * the guest's reset request (command 0xfe on port 0x64: written to
 * reset_efd, and the VM ends with status 0), and for SendCtrlAltDel (the
 * scancodes of Ctrl+Alt+Del, then IRQ 1).  Register accesses come from vCPU threads, injections from the
 * vmm thread; a mutex orders them.
 */
#ifndef EMBER_I8042_H
#define EMBER_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/core/bus.h"

#define I8042_CMD_RESET  0xfe
#define I8042_QUEUE_SIZE 16

struct i8042 {
	pthread_mutex_t lock;
	int irq_efd;              /* eventfd bound to IRQ 1 */
	int reset_efd;            /* written on the guest's reset command */
	uint8_t ctr;              /* controller configuration ("command") byte */
	uint8_t outport;
	uint8_t status_flags;     /* SYS and CMD/DATA bits */
	uint8_t pending_cmd;      /* a command waiting for its data byte, or 0 */
	uint8_t kbd_pending;      /* a keyboard command waiting for its argument */
	uint8_t queue[I8042_QUEUE_SIZE];
	unsigned int head, len;
};

/* The controller state a snapshot carries (fixed layout, 8-byte multiple). */
struct i8042_state {
	uint8_t ctr, outport, status_flags, pending_cmd, kbd_pending, pad[3];
	uint8_t queue[I8042_QUEUE_SIZE];
	uint32_t head, len;
};

extern const struct bus_ops i8042_ops;

/* vmm thread, before vCPUs run: create the IRQ eventfd (to be bound to
 * IRQ 1) and the reset eventfd (the owner watches it and ends the VM, as
 * Firecracker's i8042 does).  0 or -errno. */
int i8042_init(struct i8042 *kbd);
/* Builder (vmm thread, vCPUs stopped): close the eventfds. */
void i8042_destroy(struct i8042 *kbd);
/* vmm thread: queue Ctrl+Alt+Del press and release; -ENOSPC if the guest
 * has not read earlier keys. */
int i8042_send_ctrl_alt_del(struct i8042 *kbd);
/* Snapshots (vmm thread, vCPUs paused or not yet started), as serial.h. */
void i8042_save(struct i8042 *kbd, struct i8042_state *st);
int i8042_state_check(const struct i8042_state *st, char *err, size_t errlen);
int i8042_restore(struct i8042 *kbd, const struct i8042_state *st, char *err, size_t errlen);

#endif
