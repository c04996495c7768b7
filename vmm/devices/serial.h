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
 */
#ifndef EMBER_SERIAL_H
#define EMBER_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/core/bus.h"

#define SERIAL_FIFO_SIZE 64
#define SERIAL_PORT_LEN  8

struct serial {
	pthread_mutex_t lock;
	int out_fd;          /* guest output goes here (stdout) */
	int irq_efd;         /* eventfd bound to the UART's GSI */
	int rx_ready_efd;    /* written when the FIFO drains after being full */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre_pending;   /* THR-empty interrupt not yet acknowledged */
	bool rx_blocked;     /* the vmm thread paused input: FIFO was full */
	uint8_t rx[SERIAL_FIFO_SIZE];
	unsigned int rx_head, rx_len;
	uint64_t tx_bytes, rx_bytes;
};

extern const struct bus_ops serial_ops;

/* Builder (vmm thread, before vCPUs start): create the eventfds; 0 or
 * -errno. */
int serial_init(struct serial *s, int out_fd);
/* Builder (vmm thread, vCPUs stopped): close the eventfds. */
void serial_destroy(struct serial *s);
/* Queue host input for the guest; returns the bytes taken (the rest must be
 * offered again after rx_ready_efd fires).  vmm thread. */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);
/* Bytes the FIFO can take now.  vmm thread. */
size_t serial_rx_space(struct serial *s);

#endif
