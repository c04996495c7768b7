/* Echoes one line of serial input back with a prefix (polled), resets. */
#include "guest.h"

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	char line[128];
	unsigned int n = 0;

	(void)zp;
	puts_("tiny: ready\n");
	for (;;) {
		char c;

		while (!(inb(0x3f8 + 5) & 0x01))
			;
		c = (char)inb(0x3f8);
		if (c == '\n' || c == '\r' || n == sizeof(line) - 1)
			break;
		line[n++] = c;
	}
	line[n] = 0;
	puts_("tiny: got '");
	puts_(line);
	puts_("'\n");
	reset();
}
