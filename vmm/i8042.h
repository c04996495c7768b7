/* SPDX-License-Identifier: Apache-2.0 */
/*
 * i8042.h - just enough of the PS/2 controller for a guest's reset request:
 * command 0xfe on port 0x64 ends the VM with status 0.  The status port
 * always reads "buffers empty" so the guest's wait loops finish.
 * Ops run on vCPU threads.
 */
#ifndef EMBER_I8042_H
#define EMBER_I8042_H

#include "bus.h"

struct vm;

struct i8042 {
	struct vm *vm;
};

#define I8042_CMD_RESET 0xfe

extern const struct bus_ops i8042_ops;

#endif
