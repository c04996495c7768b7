/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit_virtio.h - the fake virtio driver shared by the device tests
 * (test_blk.c, test_net.c, test_vsock.c, test_virtq.c, test_mmio.c): guest
 * RAM accessors, split-ring descriptors and the virtio-mmio registers.
 *
 * The helpers take the test's own fixture, so this is included after it is
 * defined, with these defined first:
 *
 *   UNIT_FX       the fixture type (e.g. struct fx)
 *   UNIT_GM(f)    its struct guest_mem *; without it, no RAM/ring helpers
 *   UNIT_MMIO(f)  its struct virtio_mmio *; without it, no register helpers
 *
 * Everything is static inline: a test pays only for what it calls.
 */
#ifndef EMBER_UNIT_VIRTIO_H
#define EMBER_UNIT_VIRTIO_H

#include <unistd.h>

#include "unit.h"
#include "vmm/core/memory.h"
#include "virtio/virtq.h"

#ifndef UNIT_FX
#error "define UNIT_FX (and UNIT_GM and/or UNIT_MMIO) before including unit_virtio.h"
#endif

#define BIT(n) (1ULL << (n))

#define F_NEXT  VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_IND   VIRTQ_DESC_F_INDIRECT

/* ---- guest RAM and ring descriptors ------------------------------------ */

#ifdef UNIT_GM
static inline void put(UNIT_FX *f, uint64_t gpa, const void *p, uint64_t len)
{
	assert_int_equal(gm_write(UNIT_GM(f), gpa, p, len), 0);
}

static inline void get(UNIT_FX *f, uint64_t gpa, void *p, uint64_t len)
{
	assert_int_equal(gm_read(UNIT_GM(f), gpa, p, len), 0);
}

static inline void put16(UNIT_FX *f, uint64_t gpa, uint16_t v) { put(f, gpa, &v, 2); }

static inline uint16_t get16(UNIT_FX *f, uint64_t gpa)
{
	uint16_t v;

	get(f, gpa, &v, 2);
	return v;
}

static inline uint32_t get32(UNIT_FX *f, uint64_t gpa)
{
	uint32_t v;

	get(f, gpa, &v, 4);
	return v;
}

/* A split-ring descriptor at any address (a queue's table or an indirect
 * one; virtio 1.2 §2.7.5). */
static inline void desc_at(UNIT_FX *f, uint64_t gpa, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	put(f, gpa, d, sizeof(d));
}
#endif

/* ---- the transport, as the driver sees it ------------------------------- */

#ifdef UNIT_MMIO
#include "virtio/mmio.h"

/* virtio-mmio version 2 registers (virtio 1.2 §4.2.2) */
enum {
	REG_DEVICE_ID = 0x008,
	REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044, REG_INTERRUPT_STATUS = 0x060, REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090, REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0, REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_CONFIG = 0x100,
};

#define ACK         VIRTIO_STATUS_ACKNOWLEDGE
#define DRIVER      VIRTIO_STATUS_DRIVER
#define FEAT_OK     VIRTIO_STATUS_FEATURES_OK
#define DRIVER_OK   VIRTIO_STATUS_DRIVER_OK
#define NEEDS_RESET VIRTIO_STATUS_DEVICE_NEEDS_RESET
#define LIVE        (ACK | DRIVER | FEAT_OK | DRIVER_OK)

static inline void wr(UNIT_FX *f, uint64_t off, uint32_t v)
{
	virtio_mmio_ops.write(UNIT_MMIO(f), off, (const uint8_t *)&v, 4);
}

static inline uint32_t rd(UNIT_FX *f, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_ops.read(UNIT_MMIO(f), off, (uint8_t *)&v, 4);
	return v;
}

static inline uint64_t device_features(UNIT_FX *f)
{
	uint64_t lo, hi;

	wr(f, REG_DEVICE_FEATURES_SEL, 0);
	lo = rd(f, REG_DEVICE_FEATURES);
	wr(f, REG_DEVICE_FEATURES_SEL, 1);
	hi = rd(f, REG_DEVICE_FEATURES);
	return lo | hi << 32;
}

/* The driver's steps up to FEATURES_OK (virtio 1.2 §3.1.1), accepting
 * `features`; whether the device took them is the caller's to check. */
static inline void driver_negotiate(UNIT_FX *f, uint64_t features)
{
	wr(f, REG_STATUS, ACK);
	wr(f, REG_STATUS, ACK | DRIVER);
	wr(f, REG_DRIVER_FEATURES_SEL, 0);
	wr(f, REG_DRIVER_FEATURES, (uint32_t)features);
	wr(f, REG_DRIVER_FEATURES_SEL, 1);
	wr(f, REG_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(f, REG_STATUS, ACK | DRIVER | FEAT_OK);
}

/* Interrupts signalled through the irq eventfd since the last call. */
static inline uint64_t irqs(UNIT_FX *f)
{
	uint64_t n = 0;

	if (read(UNIT_MMIO(f)->irq_efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}
#endif

#endif
