/* Unclaimed ports and MMIO read as 0 and do not stop the VM. */
#include "guest.h"

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	uint8_t a = inb(0x2f8), b = inb(0x80);
	uint32_t m = *(volatile uint32_t *)0xc0005000;

	(void)zp;
	outb(0x80, 0x12);
	*(volatile uint32_t *)0xc0005000 = 7;
	puts_("tiny: ports ");
	puthex(a);
	puts_(" ");
	puthex(b);
	puts_(" mmio ");
	puthex(m);
	puts_("\n");
	reset();
}
