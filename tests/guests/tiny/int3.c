/* Raises #BP with an empty IDT: a triple fault where KVM can deliver it, an emulation failure (KVM internal error) under kvm_pvm. */
#include "guest.h"

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	static const struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idt = { 0, 0 };

	(void)zp;
	puts_("tiny: about to triple fault\n");
	__asm__ volatile("lidt %0; int3" : : "m"(idt));
	puts_("tiny: still alive?\n");
	reset();
}
