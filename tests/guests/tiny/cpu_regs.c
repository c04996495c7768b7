/* Prints the CPUID and MSR values a CPU template changes (tier 2): leaf 1
 * EAX, ECX and EDX, leaf 7 EBX, the first word of the brand string (leaf
 * 0x80000002 EAX) and the PAT MSR, each as hex on its own line. */
#include "guest.h"

static void show(const char *name, uint64_t v)
{
	puts_(name);
	puthex(v);
	puts_("\n");
}

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	uint32_t r[4];

	(void)zp;
	cpuid(1, 0, r);
	show("cpu: leaf1.eax ", r[0]);
	show("cpu: leaf1.ecx ", r[2]);
	show("cpu: leaf1.edx ", r[3]);
	cpuid(7, 0, r);
	show("cpu: leaf7.ebx ", r[1]);
	cpuid(0x80000002, 0, r);
	show("cpu: brand.eax ", r[0]);
	show("cpu: pat ", rdmsr(0x277));
	reset();
}
