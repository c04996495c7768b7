/* Floods the console: "flood=N" on the command line sends N bytes (lines of
 * 63 letters and a newline) then "flood: done" and resets; without it, or
 * with N = 0, it sends for ever.  One port write per byte: THR is always
 * empty on ember's UART, so it does not poll LSR. */
#include "guest.h"

/* The number after "flood=" in the command line, 0 when absent. */
static uint64_t flood_count(const char *cmdline)
{
	static const char key[] = "flood=";
	uint64_t n = 0;

	for (const char *p = cmdline; *p; p++) {
		unsigned int i = 0;

		while (key[i] && p[i] == key[i])
			i++;
		if (key[i])
			continue;
		for (p += i; *p >= '0' && *p <= '9'; p++)
			n = n * 10 + (uint64_t)(*p - '0');
		return n;
	}
	return 0;
}

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	uint32_t cmdline = *(const volatile uint32_t *)(zp + 0x228);
	uint64_t n = flood_count((const char *)(uint64_t)cmdline);

	puts_("flood: start\n");
	for (uint64_t i = 0; !n || i < n; i++)
		outb(0x3f8, i % 64 == 63 ? '\n' : (uint8_t)('a' + i % 26));
	puts_("flood: done\n");
	reset();
}
