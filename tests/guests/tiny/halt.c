/* Says it is ready and halts forever with interrupts off (SIGTERM test). */
#include "guest.h"

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	(void)zp;
	puts_("tiny: halting\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}
