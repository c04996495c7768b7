// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_serial.c - libFuzzer target over the 16550A UART
 * (vmm/devices/serial.c) and its console output: the input is a script of
 * guest port reads and writes (any register, any width), host input bytes,
 * changes of the output's behaviour (takes the byte, stalled with EAGAIN,
 * broken, takes nothing), clock steps and byte budgets.  After every step
 * the UART is checked against a shadow count of what the guest did:
 *
 *  - every byte the guest sent (THR outside loopback) is written or counted
 *    missed, never both, never lost; errors are counted as errors;
 *  - the output is offered no more bytes than the budget's bucket allows
 *    since it was set (size + elapsed x size / refill time);
 *  - every data read is a read or a missed read; the FIFO never holds more
 *    than its size; LSR always shows an empty transmitter, DR iff data;
 *    IIR is one of the three causes.
 *
 *   make build/fuzz/fuzz_serial && build/fuzz/fuzz_serial tests/fuzz/corpus-serial
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "vmm/devices/serial.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

enum { REG_DATA, REG_IER, REG_IIR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };
enum op { OP_WRITE, OP_READ, OP_INPUT, OP_OUT_MODE, OP_CLOCK, OP_BUDGET, OP_RX_SPACE,
	  OP_WIDE, OP_DRAIN, OP_COUNT };
enum out_mode { OUT_OK, OUT_EAGAIN, OUT_EPIPE, OUT_ZERO, OUT_EINTR, OUT_MODES };

struct fuzz {
	struct serial s;
	enum out_mode mode;
	uint64_t now_ns;
	/* shadow counts */
	uint64_t sent, offered, taken, errors, data_reads, empty_reads;
	/* the budget since it was last set */
	bool budget_on;
	uint64_t budget_size, budget_refill_ns, budget_set_ns, budget_offered;
};

static struct fuzz fz;

static uint64_t fuzz_clock(void)
{
	return fz.now_ns;
}

/* The console output, behaving as the script says. */
static ssize_t fuzz_out(void *opaque, const void *buf, size_t len)
{
	struct fuzz *f = opaque;

	(void)buf;
	CHECK(len == 1);
	f->offered++;
	f->budget_offered++;
	switch (f->mode) {
	case OUT_OK:
		f->taken++;
		return 1;
	case OUT_EAGAIN:
		return -EAGAIN;
	case OUT_EINTR:
		return -EINTR;
	case OUT_ZERO:
		return 0;
	default:
		f->errors++;
		return -EPIPE;
	}
}

/* A cursor over the input: zeros past its end. */
struct cursor {
	const uint8_t *p;
	size_t left;
};

static uint8_t next(struct cursor *c)
{
	if (!c->left)
		return 0;
	c->left--;
	return *c->p++;
}

static void check_state(struct fuzz *f)
{
	struct serial_stats st;
	uint8_t lsr;

	serial_get_stats(&f->s, &st);
	CHECK(st.write_count == f->taken);
	CHECK(st.write_count + st.missed_write_count == f->sent);
	CHECK(st.flush_count == st.write_count);
	CHECK(st.error_count == f->errors);
	CHECK(st.budget_dropped + f->offered == f->sent);
	CHECK(st.read_count == f->data_reads && st.missed_read_count == f->empty_reads);
	CHECK(f->s.rx_len <= SERIAL_FIFO_SIZE && f->s.rx_head < SERIAL_FIFO_SIZE);
	if (f->budget_on) {
		unsigned __int128 earned = (unsigned __int128)(f->now_ns - f->budget_set_ns) *
					   f->budget_size / f->budget_refill_ns;

		CHECK(f->budget_offered <= f->budget_size + earned);
	}
	/* LSR has no side effect: read it as a guest would. */
	serial_ops.read(&f->s, REG_LSR, &lsr, 1);
	CHECK((lsr & 0x60) == 0x60);
	CHECK(!!(lsr & 0x01) == !!f->s.rx_len);
}

static void do_write(struct fuzz *f, uint64_t reg, const uint8_t *data, unsigned int size)
{
	bool tx = reg == REG_DATA && !(f->s.lcr & 0x80) && !(f->s.mcr & 0x10);

	serial_ops.write(&f->s, reg, data, size);
	if (tx)
		f->sent++;
}

static void do_read(struct fuzz *f, uint64_t reg, uint8_t *data, unsigned int size)
{
	bool rx = reg == REG_DATA && !(f->s.lcr & 0x80);

	if (rx) {
		if (f->s.rx_len)
			f->data_reads++;
		else
			f->empty_reads++;
	}
	serial_ops.read(&f->s, reg, data, size);
	for (unsigned int i = 1; i < size; i++)
		CHECK(data[i] == 0);  /* wider reads: the register in the low byte */
	if (reg == REG_IIR) {
		uint8_t cause = data[0] & 0x0f;

		CHECK(cause == 0x01 || cause == 0x02 || cause == 0x04);
	}
}

static void set_budget(struct fuzz *f, uint8_t size, uint16_t refill_ms)
{
	const struct token_bucket_cfg cfg = { .set = true, .size = size,
					      .refill_time_ms = (uint64_t)refill_ms + 1 };

	serial_set_budget(&f->s, &cfg);
	f->budget_on = size != 0;
	f->budget_size = size;
	f->budget_refill_ns = cfg.refill_time_ms * 1000000ULL;
	f->budget_set_ns = f->now_ns;
	f->budget_offered = 0;
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0)
		CHECK(errno == EAGAIN);
}

static void step(struct fuzz *f, struct cursor *c)
{
	uint8_t op = next(c) % OP_COUNT, buf[8], in[80];
	unsigned int n;

	switch (op) {
	case OP_WRITE:
		n = next(c) & 7;
		buf[0] = next(c);
		do_write(f, n, buf, 1);
		break;
	case OP_READ:
		do_read(f, next(c) & 7, buf, 1);
		break;
	case OP_INPUT:
		n = next(c) % sizeof(in);
		for (unsigned int i = 0; i < n; i++)
			in[i] = next(c);
		CHECK(serial_input(&f->s, in, n) <= n);
		break;
	case OP_OUT_MODE:
		f->mode = next(c) % OUT_MODES;
		break;
	case OP_CLOCK:
		f->now_ns += ((uint64_t)next(c) << 8 | next(c)) * 1000000ULL;
		break;
	case OP_BUDGET:
		n = next(c);
		set_budget(f, (uint8_t)n, (uint16_t)(next(c) << 8 | next(c)));
		break;
	case OP_RX_SPACE:
		CHECK(serial_rx_space(&f->s) == SERIAL_FIFO_SIZE - f->s.rx_len);
		break;
	case OP_WIDE:
		n = next(c);
		memset(buf, next(c), sizeof(buf));
		if (n & 0x80)
			do_write(f, n & 7, buf, (n & 0x10) ? 4 : 2);
		else
			do_read(f, n & 7, buf, (n & 0x10) ? 4 : 2);
		break;
	default:
		drain(f->s.irq_efd);
		drain(f->s.rx_ready_efd);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };

	memset(&fz, 0, sizeof(fz));
	fz.now_ns = 1000000000ULL;
	if (serial_init(&fz.s, fuzz_out, &fz))
		return 0;
	fz.s.clock_ns = fuzz_clock;
	while (c.left) {
		step(&fz, &c);
		check_state(&fz);
	}
	serial_destroy(&fz.s);
	return 0;
}
