/* Reads back the zero page ember built: header, loader, cmdline, e820. */
#include "guest.h"

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	const volatile uint8_t *p = (const volatile uint8_t *)zp;
	uint32_t cmdline = *(const volatile uint32_t *)(p + 0x228);
	uint8_t n = p[0x1e8];

	puts_("bp: zero_page ");
	puthex(zp);
	puts_(" header ");
	puthex(*(const volatile uint32_t *)(p + 0x202));
	puts_(" boot_flag ");
	puthex(*(const volatile uint16_t *)(p + 0x1fe));
	puts_(" loader ");
	puthex(p[0x210]);
	puts_("\nbp: ramdisk ");
	puthex(*(const volatile uint32_t *)(p + 0x218));
	puts_(" size ");
	puthex(*(const volatile uint32_t *)(p + 0x21c));
	puts_("\nbp: cmdline '");
	puts_((const char *)(uint64_t)cmdline);
	puts_("'\nbp: e820 entries ");
	puthex(n);
	puts_("\n");
	for (int i = 0; i < n; i++) {
		const volatile uint8_t *e = p + 0x2d0 + i * 20;

		puts_("bp: e820 ");
		puthex(*(const volatile uint64_t *)e);
		puts_(" ");
		puthex(*(const volatile uint64_t *)(e + 8));
		puts_(" ");
		puthex(*(const volatile uint32_t *)(e + 16));
		puts_("\n");
	}
	reset();
}
