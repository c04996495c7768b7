/* Drives the i8042 like a driver: self-test, then polls for the eight
 * scancodes of Ctrl+Alt+Del (SendCtrlAltDel), prints them, resets. */
#include "guest.h"

static uint8_t kbd_read(void)
{
	while (!(inb(0x64) & 0x01))
		;
	return inb(0x60);
}

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	(void)zp;
	outb(0x64, 0xaa);
	puts_("kbd: selftest ");
	puthex(kbd_read());
	outb(0x60, 0xf2);  /* identify: ACK, 0xab, 0x83 */
	puts_(" id ");
	puthex(kbd_read());
	puthex(kbd_read());
	puthex(kbd_read());
	puts_(" ready\n");
	puts_("kbd: keys");
	for (int i = 0; i < 8; i++) {
		puts_(" ");
		puthex(kbd_read());
	}
	puts_("\n");
	reset();
}
