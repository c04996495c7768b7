/*
 * Block I/O for ever, for the snapshot tests: step N writes N into every
 * word of sector N % 16 of the drive at the first virtio-mmio slot, reads
 * the sector back and prints "blkloop 0xN ok" (or "BAD" with what it
 * read).  Paused, snapshotted and restored anywhere in the loop, the guest
 * must go on with N+1, every step ok, and the image must hold, in each
 * sector, the last step written there.  EVENT_IDX is negotiated (its ring
 * words are state too); completions are polled, not interrupted.
 */
#include "virtio_guest.h"

#define QBASE       0x400000ull      /* desc, avail, used: one page each */
#define HDR         0x403000ull
#define STATUS      0x403100ull
#define NEXT_AVAIL  0x403200ull
#define LAST_USED   0x403202ull
#define STEP        0x403208ull
#define DATA        0x404000ull
#define SECTORS     16

static volatile struct desc *const desc = (volatile struct desc *)QBASE;
#define next_avail ((volatile uint16_t *)NEXT_AVAIL)
#define last_used ((volatile uint16_t *)LAST_USED)
#define step (*(volatile uint64_t *)STEP)

/* One request (header, 512 bytes of data, status) on head 0; its status
 * byte once used (polled without a time limit: a paused guest does not
 * count time). */
static uint32_t request(uint32_t type, uint64_t sector)
{
	volatile uint32_t *hdr = (volatile uint32_t *)HDR;

	hdr[0] = type;
	hdr[1] = 0;
	*(volatile uint64_t *)(HDR + 8) = sector;
	desc[0] = (struct desc){ HDR, 16, 1, 1 };
	desc[1] = (struct desc){ DATA, 512, (uint16_t)(1 | (type ? 0 : 2)), 2 };
	desc[2] = (struct desc){ STATUS, 1, 2, 0 };
	*(volatile uint8_t *)STATUS = 0xff;
	vq_publish(0, QBASE, next_avail, 0);
	while (vq_next_used(QBASE, last_used) < 0)
		;
	return *(volatile uint8_t *)STATUS;
}

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	volatile uint64_t *data = (volatile uint64_t *)DATA;

	(void)zp;
	*next_avail = *last_used = 0;
	if (rd(REG_DEVICE_ID) != 2 || virtio_negotiate(1u << 29) ||  /* EVENT_IDX */
	    (vq_setup(0, QBASE), virtio_go())) {
		puts_("blkloop: no device\n");
		reset();
	}
	puts_("blkloop: start\n");
	for (step = 1;; step++) {
		uint64_t n = step, bad = 0;
		uint32_t st;

		for (int i = 0; i < 64; i++)
			data[i] = n;
		st = request(1, n % SECTORS);
		for (int i = 0; i < 64; i++)
			data[i] = 0;
		st |= request(0, n % SECTORS);
		for (int i = 0; i < 64; i++)
			if (data[i] != n)
				bad = data[i] | 1ull << 63;
		puts_("blkloop ");
		puthex(n);
		if (st || bad) {
			puts_(" BAD ");
			puthex(bad | st);
		} else {
			puts_(" ok");
		}
		putc_('\n');
	}
}
