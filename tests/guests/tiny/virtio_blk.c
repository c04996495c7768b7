/*
 * A tiny virtio-blk driver, partly hostile: it brings up the device at the
 * first virtio-mmio slot, reads sector 0, writes sector 1 and flushes,
 * reads past the end (IOERR expected), then hands the device a looping
 * descriptor chain, which must put the device in DEVICE_NEEDS_RESET with
 * a config interrupt pending; it resets the device, brings it up again and
 * reads once more.  Each step prints one "blk: ..." line.
 */
#include "guest.h"

#define VIRTIO_BASE 0xc0001000ull
#define QSIZE       8
#define DESC        0x400000ull
#define AVAIL       0x401000ull
#define USED        0x402000ull
#define HDR         0x403000ull
#define STATUS      0x403100ull
#define DATA        0x404000ull

enum {
	REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008,
	REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM = 0x038, REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050, REG_INTERRUPT_STATUS = 0x060, REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070, REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DEVICE_LOW = 0x0a0, REG_CONFIG = 0x100,
};

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

static volatile struct desc *const desc = (volatile struct desc *)DESC;
static volatile uint16_t *const avail = (volatile uint16_t *)AVAIL;  /* flags, idx, ring[] */
static volatile uint16_t *const used_idx = (volatile uint16_t *)(USED + 2);
#define next_avail (*(volatile uint16_t *)0x403200ull)  /* no .data: the image stays R+X */

static uint32_t rd(uint64_t off) { return *(volatile uint32_t *)(VIRTIO_BASE + off); }
static void wr(uint64_t off, uint32_t v) { *(volatile uint32_t *)(VIRTIO_BASE + off) = v; }

static void say(const char *what, uint64_t v)
{
	puts_("blk: ");
	puts_(what);
	putc_(' ');
	puthex(v);
	putc_('\n');
}

static void zero(uint64_t addr, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		((volatile uint8_t *)addr)[i] = 0;
}

/* Bring the device up with VERSION_1 (and FLUSH when offered). */
static int dev_init(void)
{
	uint32_t hi;

	wr(REG_STATUS, 0);
	zero(DESC, 0x3000);
	next_avail = 0;
	wr(REG_STATUS, 1);
	wr(REG_STATUS, 3);
	wr(REG_DEVICE_FEATURES_SEL, 1);
	hi = rd(REG_DEVICE_FEATURES);
	if (!(hi & 1))
		return -1;
	wr(REG_DEVICE_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, rd(REG_DEVICE_FEATURES) & (1u << 9));
	wr(REG_DRIVER_FEATURES_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1);
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

/* Publish head 0 and wait for the device to use it; the status byte, or
 * 0x100 on timeout. */
static uint32_t submit(void)
{
	uint16_t want = (uint16_t)(*used_idx + 1);

	*(volatile uint8_t *)STATUS = 0xff;
	avail[2 + next_avail % QSIZE] = 0;
	__asm__ volatile("" ::: "memory");
	next_avail = (uint16_t)(next_avail + 1);
	avail[1] = next_avail;
	wr(REG_QUEUE_NOTIFY, 0);
	for (unsigned long i = 0; i < 2000000; i++)
		if (*used_idx == want)
			return *(volatile uint8_t *)STATUS;
	return 0x100;
}

/* A three-descriptor request: header, data (len 0: none), status. */
static uint32_t request(uint32_t type, uint64_t sector, uint32_t len, int device_writes)
{
	volatile uint32_t *hdr = (volatile uint32_t *)HDR;

	hdr[0] = type;
	hdr[1] = 0;
	*(volatile uint64_t *)(HDR + 8) = sector;
	desc[0] = (struct desc){ HDR, 16, 1, 1 };
	desc[1] = (struct desc){ DATA, len, (uint16_t)(1 | (device_writes ? 2 : 0)), 2 };
	desc[2] = (struct desc){ STATUS, 1, 2, 0 };
	if (!len)
		desc[0].next = 2;
	return submit();
}

GUEST_MAIN(guest_main)
void guest_main(uint64_t zp)
{
	uint64_t capacity;

	(void)zp;
	if (rd(REG_MAGIC) != 0x74726976 || rd(REG_VERSION) != 2 || rd(REG_DEVICE_ID) != 2) {
		say("no virtio-blk at the first slot, id", rd(REG_DEVICE_ID));
		reset();
	}
	capacity = rd(REG_CONFIG) | (uint64_t)rd(REG_CONFIG + 4) << 32;
	say("capacity", capacity);
	say("init", (uint64_t)(int64_t)dev_init());
	say("read status", request(0, 0, 512, 1));
	puts_("blk: sector 0 says ");
	for (int i = 0; i < 8; i++)
		putc_(((volatile char *)DATA)[i]);
	putc_('\n');
	for (int i = 0; i < 512; i++)
		((volatile char *)DATA)[i] = "GUESTWRT"[i % 8];
	say("write status", request(1, 1, 512, 0));
	say("flush status", request(4, 0, 0, 0));
	say("read past end status", request(0, capacity, 512, 1));
	/* Hostile: a chain that loops back on itself. */
	desc[0] = (struct desc){ HDR, 16, 1, 1 };
	desc[1] = (struct desc){ DATA, 512, 1, 0 };
	avail[2 + next_avail % QSIZE] = 0;
	next_avail = (uint16_t)(next_avail + 1);
	avail[1] = next_avail;
	wr(REG_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 10000 && !(rd(REG_STATUS) & 0x40); i++)
		;
	say("device status", rd(REG_STATUS));
	say("interrupt status", rd(REG_INTERRUPT_STATUS));
	wr(REG_INTERRUPT_ACK, rd(REG_INTERRUPT_STATUS));
	say("re-init", (uint64_t)(int64_t)dev_init());
	zero(DATA, 512);
	say("read again status", request(0, 0, 512, 1));
	puts_("blk: sector 0 again says ");
	for (int i = 0; i < 8; i++)
		putc_(((volatile char *)DATA)[i]);
	putc_('\n');
	reset();
}
