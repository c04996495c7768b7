/* Loads an empty IDT and raises an exception: a triple fault (shutdown). */
#include "guest.h"

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	static const struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idt = { 0, 0 };

	(void)zp;
	puts_("tiny: about to triple fault\n");
	__asm__ volatile("lidt %0; ud2" : : "m"(idt));
	puts_("tiny: still alive?\n");
	reset();
}
