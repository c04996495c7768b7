// SPDX-License-Identifier: Apache-2.0
/* i8042.c - see i8042.h.  Registered at port 0x60, length 5 (0x60..0x64). */
#include <string.h>

#include "i8042.h"
#include "layout.h"
#include "vm.h"

#define I8042_CMD_OFFSET (PORT_I8042_CMD - PORT_I8042_DATA)

static void i8042_read(void *dev, uint64_t off, uint8_t *data, unsigned int size)
{
	(void)dev;
	(void)off;
	memset(data, 0, size);  /* no data, status: both buffers empty */
}

static void i8042_write(void *dev, uint64_t off, const uint8_t *data, unsigned int size)
{
	struct i8042 *kbd = dev;

	(void)size;
	if (off == I8042_CMD_OFFSET && data[0] == I8042_CMD_RESET)
		vm_request_exit(kbd->vm, 0, "guest requested a reset (i8042)");
}

const struct bus_ops i8042_ops = {
	.read = i8042_read,
	.write = i8042_write,
};
