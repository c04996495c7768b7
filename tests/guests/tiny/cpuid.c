/* Prints the CPUID fields ember normalises. */
#include "guest.h"

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	uint32_t r[4], brand[13] = { 0 };

	(void)zp;
	cpuid(1, 0, r);
	puts_("cpuid: apic ");
	puthex(r[1] >> 24);
	puts_(" hypervisor ");
	puthex(r[2] >> 31);
	cpuid(0x40000000, 0, r);
	puts_(" sig ");
	puts_((const char *)&r[1]);  /* ebx, ecx, edx: "KVMKVMKVM\0\0\0" */
	for (uint32_t i = 0; i < 3; i++)
		cpuid(0x80000002 + i, 0, &brand[i * 4]);
	puts_(" brand '");
	puts_((const char *)brand);
	/* Threads per core at the SMT level of the extended topology:
	 * 2 with machine-config "smt" and 2+ vCPUs, else 1. */
	cpuid(0xb, 0, r);
	puts_("' threads/core ");
	puthex(r[1] & 0xffff);
	puts_(" x2apic ");
	puthex(r[3]);
	puts_("\n");
	reset();
}
