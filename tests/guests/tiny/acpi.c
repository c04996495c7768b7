/* Finds ember's ACPI tables from inside the guest, as a kernel does: the
 * RSDP from boot_params.acpi_rsdp_addr and by a scan of 0xe0000-0xfffff,
 * then XSDT, FADT, MADT and DSDT, each signature and checksum checked; the
 * MADT's local APICs counted.  Then leaves through the FADT's registers:
 * the reset register when the command line says "acpi-reset", otherwise
 * S5 through the sleep control register (what Linux's poweroff writes).
 * Without a FADT it resets through the i8042, so the test sees the miss. */
#include "guest.h"

typedef const volatile uint8_t *ptr;

static uint8_t sum(ptr p, uint32_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static uint32_t rd32(ptr p) { return *(const volatile uint32_t *)p; }
static uint64_t rd64(ptr p) { return *(const volatile uint64_t *)p; }

static int sig_is(ptr p, const char *sig)
{
	for (int i = 0; i < 4; i++)
		if (p[i] != (uint8_t)sig[i])
			return 0;
	return 1;
}

/* Prints "SIG ok" or "SIG bad"; returns the table when it is good. */
static ptr table(uint64_t addr, const char *sig)
{
	ptr t = (ptr)addr;
	int good = addr && sig_is(t, sig) && sum(t, rd32(t + 4)) == 0;

	puts_(" ");
	puts_(sig);
	puts_(good ? " ok" : " bad");
	return good ? t : 0;
}

static uint64_t scan(void)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		ptr p = (ptr)a;

		if (sig_is(p, "RSD ") && sig_is(p + 4, "PTR ") && sum(p, 20) == 0)
			return a;
	}
	return 0;
}

static int has_word(const char *s, const char *w)
{
	for (; *s; s++) {
		int i = 0;

		while (w[i] && s[i] == w[i])
			i++;
		if (!w[i])
			return 1;
	}
	return 0;
}

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	ptr bp = (ptr)zp, rsdp, xsdt, fadt = 0, madt = 0;
	const char *cmdline = (const char *)(uint64_t)rd32(bp + 0x228);
	uint64_t addr = rd64(bp + 0x70);
	unsigned int cpus = 0;

	puts_("acpi: rsdp ");
	puthex(addr);
	puts_(" scan ");
	puthex(scan());
	rsdp = (ptr)addr;
	puts_(addr && sig_is(rsdp, "RSD ") && sum(rsdp, 20) == 0 && rsdp[15] == 2 &&
	      sum(rsdp, rd32(rsdp + 20)) == 0 ? " RSDP ok" : " RSDP bad");
	xsdt = table(addr ? rd64(rsdp + 24) : 0, "XSDT");
	for (uint32_t off = 36; xsdt && off < rd32(xsdt + 4); off += 8) {
		ptr t = (ptr)rd64(xsdt + off);

		if (sig_is(t, "FACP"))
			fadt = table((uint64_t)t, "FACP");
		else if (sig_is(t, "APIC"))
			madt = table((uint64_t)t, "APIC");
	}
	if (fadt)
		table(rd64(fadt + 140), "DSDT");
	for (uint32_t off = 44; madt && off < rd32(madt + 4); off += madt[off + 1])
		if (madt[off] == 0 && (rd32(madt + off + 4) & 1))
			cpus++;
	puts_("\nacpi: madt cpus ");
	puthex(cpus);
	puts_("\n");
	if (!fadt)
		reset();
	if (has_word(cmdline, "acpi-reset"))
		outb((uint16_t)rd64(fadt + 120), fadt[128]);   /* RESET_REG, RESET_VALUE */
	else
		outb((uint16_t)rd64(fadt + 248), 0x20 | 5 << 2); /* SLEEP_CONTROL: SLP_EN | S5 */
	for (;;)  /* no i8042 reset here: only the ACPI register may end the VM */
		__asm__ volatile("cli; hlt");
}
