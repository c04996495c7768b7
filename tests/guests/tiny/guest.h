/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guest.h - the runtime of ember's tiny test guests: freestanding 64-bit
 * code entered by ember's 64-bit boot protocol (rsi = zero page), reporting
 * through COM1 and ending through the i8042 reset command.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	*(volatile uint8_t *)addr = v;
}

static inline void putc_(char c)
{
	while (!(inb(0x3f8 + 5) & 0x20))
		;
	outb(0x3f8, (uint8_t)c);
}

static inline void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

static inline void puthex(uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char buf[19];
	int i = 18;

	buf[i] = 0;
	do {
		buf[--i] = digits[v & 15];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	puts_(&buf[i]);
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline __attribute__((noreturn)) void reset(void)
{
	outb(0x64, 0xfe);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Entry: ember jumps here in long mode with rsi = boot_params. */
#define GUEST_MAIN(fn)                                                    \
	void fn(uint64_t zero_page);                                      \
	__attribute__((section(".text.start"), naked)) void _start(void) \
	{                                                                 \
		__asm__ volatile("mov %rsi, %rdi\n"                       \
				 "call " #fn "\n"                         \
				 "1: cli; hlt; jmp 1b\n");                \
	}

#endif
