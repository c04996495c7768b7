// SPDX-License-Identifier: Apache-2.0
/* term.c - see term.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

static struct termios saved;
static int saved_fd = -1;

void term_restore(void)
{
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSANOW, &saved);
	saved_fd = -1;
}

void term_raw(int fd)
{
	static bool registered;
	struct termios raw;

	if (!isatty(fd) || tcgetattr(fd, &saved))
		return;
	raw = saved;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw))
		return;
	saved_fd = fd;
	if (!registered && !atexit(term_restore))
		registered = true;
}
