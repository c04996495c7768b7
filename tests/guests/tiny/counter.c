/* Counts in memory for ever and reports every 4096th step on the serial
 * port ("count 0x..", with a running sum that only continues right if
 * every earlier step's memory survived), for the snapshot tests: a guest
 * restored from a snapshot must go on from where it was paused. */
#include "guest.h"

static volatile uint64_t counter, sum;

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	(void)zp;
	puts_("tiny: counting\n");
	for (;;) {
		counter++;
		sum += counter;
		if (counter % 4096)
			continue;
		puts_("count ");
		puthex(counter >> 12);
		puts_(" sum ");
		puthex(sum);
		puts_("\n");
	}
}
