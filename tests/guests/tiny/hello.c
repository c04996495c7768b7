/* Prints from long mode, checks it really is long mode, resets. */
#include "guest.h"

GUEST_MAIN(guest_main)
void guest_main(uint64_t zero_page)
{
	uint64_t cr0, cr4, cs;

	(void)zero_page;
	__asm__ volatile("mov %%cr0, %0; mov %%cr4, %1; mov %%cs, %2"
			 : "=r"(cr0), "=r"(cr4), "=r"(cs));
	puts_("tiny: hello from long mode\n");
	puts_("tiny: cr0 ");
	puthex(cr0);
	puts_(" cr4 ");
	puthex(cr4);
	puts_(" cs ");
	puthex(cs);
	puts_("\n");
	reset();
}
