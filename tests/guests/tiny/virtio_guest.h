/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio_guest.h - the driver side shared by the snapshot tests' tiny
 * virtio guests (blk_loop, net_loop, vsock_loop): the device at the first
 * virtio-mmio slot, its registers, feature negotiation and split rings of
 * QSIZE entries laid out by the guest (descriptor table, available ring,
 * used ring: one page each from a base address).  No .data anywhere: a
 * guest's mutable state lives at fixed addresses it picks.
 */
#ifndef VIRTIO_GUEST_H
#define VIRTIO_GUEST_H

#include "guest.h"

#define VIRTIO_BASE 0xc0001000ull
#define QSIZE       8

enum {
	REG_DEVICE_ID = 0x008, REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM = 0x038, REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050, REG_STATUS = 0x070, REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DRIVER_LOW = 0x090, REG_QUEUE_DEVICE_LOW = 0x0a0, REG_CONFIG = 0x100,
};

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

static inline uint32_t rd(uint64_t off) { return *(volatile uint32_t *)(VIRTIO_BASE + off); }
static inline void wr(uint64_t off, uint32_t v) { *(volatile uint32_t *)(VIRTIO_BASE + off) = v; }

static inline void zero(uint64_t addr, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		((volatile uint8_t *)addr)[i] = 0;
}

/* Queue q of QSIZE entries, its rings at base (zeroed), +0x1000, +0x2000. */
static inline void vq_setup(uint32_t q, uint64_t base)
{
	zero(base, 0x3000);
	wr(REG_QUEUE_SEL, q);
	wr(REG_QUEUE_NUM, QSIZE);
	wr(REG_QUEUE_DESC_LOW, (uint32_t)base);
	wr(REG_QUEUE_DRIVER_LOW, (uint32_t)base + 0x1000);
	wr(REG_QUEUE_DEVICE_LOW, (uint32_t)base + 0x2000);
	wr(REG_QUEUE_READY, 1);
}

/* Reset, then ACKNOWLEDGE, DRIVER and the feature bits `lo` (those the
 * device offers) plus VERSION_1; 0 once FEATURES_OK holds, else -1.  The
 * caller sets its queues up, then virtio_go. */
static inline int virtio_negotiate(uint32_t lo)
{
	wr(REG_STATUS, 0);
	wr(REG_STATUS, 1);
	wr(REG_STATUS, 3);
	wr(REG_DEVICE_FEATURES_SEL, 1);
	if (!(rd(REG_DEVICE_FEATURES) & 1))
		return -1;
	wr(REG_DEVICE_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, rd(REG_DEVICE_FEATURES) & lo);
	wr(REG_DRIVER_FEATURES_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1);
	wr(REG_STATUS, 11);
	return rd(REG_STATUS) & 8 ? 0 : -1;
}

/* DRIVER_OK: 0 if the device took it. */
static inline int virtio_go(void)
{
	wr(REG_STATUS, 15);
	return rd(REG_STATUS) == 15 ? 0 : -1;
}

/* Make `head` available on queue q (rings at base; *next_avail is the
 * driver's own copy of avail->idx) and notify. */
static inline void vq_publish(uint32_t q, uint64_t base, volatile uint16_t *next_avail,
			      uint16_t head)
{
	volatile uint16_t *avail = (volatile uint16_t *)(base + 0x1000);

	avail[2 + *next_avail % QSIZE] = head;
	__asm__ volatile("" ::: "memory");
	*next_avail = (uint16_t)(*next_avail + 1);
	avail[1] = *next_avail;
	wr(REG_QUEUE_NOTIFY, q);
}

/* The head of queue q's next used entry (*last_used: the driver's place in
 * the used ring), or -1 when there is none yet. */
static inline int vq_next_used(uint64_t base, volatile uint16_t *last_used)
{
	uint16_t slot = *last_used;

	if (*(volatile uint16_t *)(base + 0x2002) == slot)
		return -1;
	*last_used = (uint16_t)(slot + 1);
	return (int)*(volatile uint32_t *)(base + 0x2000 + 4 + 8 * (slot % QSIZE));
}

#endif
