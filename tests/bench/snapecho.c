// SPDX-License-Identifier: Apache-2.0
/*
 * snapecho.c - the snapshot benchmark's guest program (/tests/snapecho in
 * the initramfs, run by the test init with ember.test=snapecho): puts the
 * console in raw mode (no echo of its own), prints "ember: snap ready", then
 * answers every read of the console with "ember: pong N", for ever.  A guest
 * restored from a snapshot taken while it waits in read() answers the
 * first byte it gets: tests/bench/snapwatch.c times that answer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int main(void)
{
	struct termios t;
	unsigned long n = 0;
	char in[256], out[64];

	if (tcgetattr(0, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(0, TCSANOW, &t);
	}
	printf("ember: snap ready\n");
	fflush(stdout);
	for (;;) {
		ssize_t got = read(0, in, sizeof(in));
		int len;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			sleep(1);
			continue;
		}
		len = snprintf(out, sizeof(out), "ember: pong %lu\n", ++n);
		if (write(1, out, (size_t)len) < 0)
			return 1;
	}
}
