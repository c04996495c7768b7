/* Writes the boot-timer magic to the MMIO page, then resets. */
#include "guest.h"

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	(void)zp;
	mmio_write8(0xc0000000, 123);
	puts_("tiny: boot timer written\n");
	reset();
}
