// SPDX-License-Identifier: MIT
/*
 * touchmem.c - a bench guest test (/tests/touch in the initramfs, run by the
 * test init with ember.test=touch): says "touch: idle" and waits for a line
 * on the console, then writes one byte in every 4 KiB page of a tenth of the
 * guest's RAM, says "touch: touched N KiB" and waits for another line.  The
 * host reads the VMM's RSS and the KVM statistics at each pause
 * (tests/bench/hugepages-l1.sh).
 * Built static (gcc -static -Os) by tests/bench/hugepages.sh.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

static void wait_line(void)
{
	char line[64];

	if (!fgets(line, sizeof(line), stdin))
		printf("touch: no input\n");
}

int main(void)
{
	struct sysinfo si;
	size_t len;
	char *p;

	printf("touch: idle\n");
	fflush(stdout);
	wait_line();
	if (sysinfo(&si)) {
		perror("touch: sysinfo");
		return 1;
	}
	len = (size_t)si.totalram * si.mem_unit / 10;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("touch: mmap");
		return 1;
	}
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	printf("touch: touched %zu KiB\n", len / 1024);
	fflush(stdout);
	wait_line();
	return 0;
}
