/*
 * Block I/O for ever, for the snapshot tests: step N writes N into every
 * word of sector N % 16 of the drive at the first virtio-mmio slot, reads
 * the sector back and prints "blkloop 0xN ok" (or "BAD" with what it
 * read).  Paused, snapshotted and restored anywhere in the loop, the guest
 * must go on with N+1, every step ok, and the image must hold, in each
 * sector, the last step written there.  EVENT_IDX is negotiated (its ring
 * words are state too); completions are polled, not interrupted.
 */
#include "guest.h"

#define VIRTIO_BASE 0xc0001000ull
#define QSIZE       8
#define DESC        0x400000ull
#define AVAIL       0x401000ull
#define USED        0x402000ull
#define HDR         0x403000ull
#define STATUS      0x403100ull
#define NEXT_AVAIL  0x403200ull
#define STEP        0x403208ull
#define DATA        0x404000ull
#define SECTORS     16

enum {
	REG_DEVICE_ID = 0x008, REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM = 0x038, REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050, REG_STATUS = 0x070, REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DRIVER_LOW = 0x090, REG_QUEUE_DEVICE_LOW = 0x0a0,
};

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

static volatile struct desc *const desc = (volatile struct desc *)DESC;
static volatile uint16_t *const avail = (volatile uint16_t *)AVAIL;  /* flags, idx, ring[] */
static volatile uint16_t *const used_idx = (volatile uint16_t *)(USED + 2);
/* no .data: the image stays R+X */
#define next_avail (*(volatile uint16_t *)NEXT_AVAIL)
#define step (*(volatile uint64_t *)STEP)

static uint32_t rd(uint64_t off) { return *(volatile uint32_t *)(VIRTIO_BASE + off); }
static void wr(uint64_t off, uint32_t v) { *(volatile uint32_t *)(VIRTIO_BASE + off) = v; }

static int dev_init(void)
{
	for (uint64_t i = 0; i < 0x3000; i++)
		((volatile uint8_t *)DESC)[i] = 0;
	next_avail = 0;
	wr(REG_STATUS, 0);
	wr(REG_STATUS, 1);
	wr(REG_STATUS, 3);
	wr(REG_DEVICE_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, rd(REG_DEVICE_FEATURES) & (1u << 29));  /* EVENT_IDX */
	wr(REG_DRIVER_FEATURES_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1);                                     /* VERSION_1 */
	wr(REG_STATUS, 11);
	if (!(rd(REG_STATUS) & 8))
		return -2;
	wr(REG_QUEUE_SEL, 0);
	wr(REG_QUEUE_NUM, QSIZE);
	wr(REG_QUEUE_DESC_LOW, (uint32_t)DESC);
	wr(REG_QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
	wr(REG_QUEUE_DEVICE_LOW, (uint32_t)USED);
	wr(REG_QUEUE_READY, 1);
	wr(REG_STATUS, 15);
	return rd(REG_STATUS) == 15 ? 0 : -3;
}

/* One request (header, 512 bytes of data, status) on head 0; its status
 * byte once used (polled without a time limit: a paused guest does not
 * count time). */
static uint32_t request(uint32_t type, uint64_t sector)
{
	uint16_t want = (uint16_t)(*used_idx + 1);
	volatile uint32_t *hdr = (volatile uint32_t *)HDR;

	hdr[0] = type;
	hdr[1] = 0;
	*(volatile uint64_t *)(HDR + 8) = sector;
	desc[0] = (struct desc){ HDR, 16, 1, 1 };
	desc[1] = (struct desc){ DATA, 512, (uint16_t)(1 | (type ? 0 : 2)), 2 };
	desc[2] = (struct desc){ STATUS, 1, 2, 0 };
	*(volatile uint8_t *)STATUS = 0xff;
	avail[2 + next_avail % QSIZE] = 0;
	__asm__ volatile("" ::: "memory");
	next_avail = (uint16_t)(next_avail + 1);
	avail[1] = next_avail;
	wr(REG_QUEUE_NOTIFY, 0);
	while (*used_idx != want)
		;
	return *(volatile uint8_t *)STATUS;
}

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	volatile uint64_t *data = (volatile uint64_t *)DATA;

	(void)zp;
	if (rd(REG_DEVICE_ID) != 2 || dev_init()) {
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
