/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serial.h - a 16550A UART on COM1 (port 0x3f8, IRQ 4).
 *
 * Register accesses come from vCPU threads (serial_ops on the PIO bus);
 * host input arrives from the vmm thread through serial_input.  A mutex
 * orders the two.  Interrupts are edges written to irq_efd (an irqfd).
 * When the receive FIFO is full the vmm thread stops reading its input;
 * the guest draining the FIFO writes rx_ready_efd so it starts again, so
 * no input byte is ever dropped.
 *
 * Output never waits: each byte the guest sends is offered once to the
 * output callback (vmm/core/conout.h, which never blocks), under a byte
 * budget (a token bucket, so that a guest cannot fill the host's disk
 * through a console redirected to a file).  A byte the budget refuses or
 * the output cannot take now (-EAGAIN) or at all (an error) is dropped and
 * counted; the guest sees a transmitter that is always ready, as before.
 * The counters are Firecracker's "uart" metrics, written under the lock on
 * vCPU threads and read with relaxed atomic loads by the vmm thread.
 */
#ifndef EMBER_SERIAL_H
#define EMBER_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include "vmm/core/bus.h"
#include "vmm/core/ratelimit.h"

#define SERIAL_FIFO_SIZE 64
#define SERIAL_PORT_LEN  8

/* Writes at most `len` bytes without blocking: bytes taken or -errno. */
typedef ssize_t (*serial_out_fn)(void *opaque, const void *buf, size_t len);

/* Firecracker's SerialDeviceMetrics, plus the budget's share of the misses. */
struct serial_stats {
	uint64_t write_count;         /* bytes written to the output */
	uint64_t missed_write_count;  /* bytes dropped: budget, EAGAIN, error, no output */
	uint64_t flush_count;         /* output system calls that wrote */
	uint64_t error_count;         /* output errors other than EAGAIN */
	uint64_t read_count;          /* bytes the guest read from the FIFO */
	uint64_t missed_read_count;   /* guest reads of RBR with the FIFO empty */
	uint64_t budget_dropped;      /* of missed_write_count: over the budget */
};

struct serial {
	pthread_mutex_t lock;
	serial_out_fn out;   /* guest output goes here (conout_write) */
	void *out_opaque;
	struct rate_limiter budget;   /* bytes only; disabled: no cap */
	uint64_t (*clock_ns)(void);   /* the budget's clock (tests replace it) */
	int irq_efd;         /* eventfd bound to the UART's GSI */
	int rx_ready_efd;    /* written when the FIFO drains after being full */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre_pending;   /* THR-empty interrupt not yet acknowledged */
	bool rx_blocked;     /* the vmm thread paused input: FIFO was full */
	uint8_t rx[SERIAL_FIFO_SIZE];
	unsigned int rx_head, rx_len;
	struct serial_stats stats;
};

/* The guest-visible UART state a snapshot carries (fixed layout, 8-byte
 * multiple).  Only the registers and the receive FIFO: the output, budget,
 * counters and eventfds belong to the host side. */
struct serial_state {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint8_t thre_pending;
	uint8_t rx[SERIAL_FIFO_SIZE];
	uint32_t rx_head, rx_len;
};

extern const struct bus_ops serial_ops;

/* Builder (vmm thread, before vCPUs start): create the eventfds, send
 * output to `out` (NULL: discard, counted as missed); no budget yet.  0 or
 * -errno. */
int serial_init(struct serial *s, serial_out_fn out, void *out_opaque);
/* Builder (vmm thread, before vCPUs start): cap the output at `cfg`'s
 * bucket (size bytes, full again after refill_time_ms; unset or size 0:
 * no cap).  The bucket starts full. */
void serial_set_budget(struct serial *s, const struct token_bucket_cfg *cfg);
/* The counters now (vmm thread: metrics; any thread). */
void serial_get_stats(struct serial *s, struct serial_stats *out);
/* Builder (vmm thread, vCPUs stopped): close the eventfds. */
void serial_destroy(struct serial *s);
/* Snapshots (vmm thread, vCPUs paused or not yet started): copy the state
 * out; check a state from a file (0, or -EINVAL with the reason in err);
 * put a checked state back (-EINVAL as the check; the interrupt lines'
 * state travels with the irqchip's). */
void serial_save(struct serial *s, struct serial_state *st);
int serial_state_check(const struct serial_state *st, char *err, size_t errlen);
int serial_restore(struct serial *s, const struct serial_state *st, char *err, size_t errlen);
/* Queue host input for the guest; returns the bytes taken (the rest must be
 * offered again after rx_ready_efd fires).  vmm thread. */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);
/* Bytes the FIFO can take now.  vmm thread. */
size_t serial_rx_space(struct serial *s);

#endif
