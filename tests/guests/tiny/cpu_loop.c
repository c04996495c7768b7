/* Prints, over and over, what a CPU template and smt change (leaf 1 ECX,
 * the brand's first word, the threads per core of leaf 0xb, the PAT MSR)
 * with a line number, for the snapshot tests: a guest restored from a
 * snapshot must go on seeing the CPUID and MSRs it was built with. */
#include "guest.h"

static volatile uint64_t spin;

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	uint32_t r[4];

	(void)zp;
	puts_("tiny: cpu loop\n");
	for (uint64_t n = 1;; n++) {
		for (spin = 0; spin < (1u << 12); spin++)
			;
		puts_("cpu: n ");
		puthex(n);
		cpuid(1, 0, r);
		puts_(" ecx ");
		puthex(r[2]);
		cpuid(0x80000002, 0, r);
		puts_(" brand ");
		puthex(r[0]);
		cpuid(0xb, 0, r);
		puts_(" threads ");
		puthex(r[1] & 0xffff);
		puts_(" pat ");
		puthex(rdmsr(0x277));
		puts_("\n");
	}
}
