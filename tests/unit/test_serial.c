// SPDX-License-Identifier: Apache-2.0
/*
 * test_serial.c - the 16550A UART (vmm/devices/serial.c), driven through
 * its bus ops exactly as a vCPU exit would, with guest output going to a
 * pipe through an output callback the tests can stall or break, and the
 * interrupt and rx-ready eventfds read back as counters; and the console
 * output behind it (vmm/core/conout.c) on real pipes, sockets and files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/core/conout.h"
#include "vmm/devices/serial.h"

/* Register offsets from COM1's base. */
enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
       LSR = 5, MSR = 6, SCR = 7 };

#define IER_RDA     0x01
#define IER_THRE    0x02
#define IIR_NONE    0x01
#define IIR_THRE    0x02
#define IIR_RDA     0x04
#define IIR_FIFO    0xc0
#define LCR_DLAB    0x80
#define LSR_DR      0x01
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define MCR_LOOP    0x10

struct fx {
	struct serial s;
	int pipe[2];       /* [0]: what the guest wrote; [1]: the output */
	int out_errno;     /* 0: write to the pipe; else fail with -out_errno */
	unsigned int out_calls;
};

/* The UART's output: the pipe, or a stalled/broken output on demand. */
static ssize_t fx_out(void *opaque, const void *buf, size_t len)
{
	struct fx *f = opaque;
	ssize_t n;

	f->out_calls++;
	if (f->out_errno)
		return -f->out_errno;
	n = write(f->pipe[1], buf, len);
	return n < 0 ? -errno : n;
}

/* The budget's clock, moved by hand. */
static uint64_t fake_now_ns;

static uint64_t fake_clock(void)
{
	return fake_now_ns;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC))
		return -1;
	if (serial_init(&f->s, fx_out, f))
		return -1;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	serial_destroy(&f->s);
	close(f->pipe[0]);
	close(f->pipe[1]);
	free(f);
	return 0;
}

static uint8_t rd(struct fx *f, unsigned int reg)
{
	uint8_t v = 0xee;

	serial_ops.read(&f->s, reg, &v, 1);
	return v;
}

static void wr(struct fx *f, unsigned int reg, uint8_t v)
{
	serial_ops.write(&f->s, reg, &v, 1);
}

/* An eventfd's counter (reading it resets it); 0 when nothing was written. */
static uint64_t efd_take(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return n;
}

static uint64_t irqs(struct fx *f)
{
	return efd_take(f->s.irq_efd);
}

/* Everything the guest has written so far. */
static size_t output(struct fx *f, char *buf, size_t cap)
{
	ssize_t n = read(f->pipe[0], buf, cap);

	if (n < 0) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return (size_t)n;
}

static void test_reset_state(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, IER), 0);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	assert_int_equal(rd(f, LSR), LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(f, RBR), 0);  /* empty FIFO reads 0 */
	assert_int_equal(rd(f, MSR) & 0xb0, 0xb0);  /* DCD, DSR, CTS */
	assert_int_equal(irqs(f), 0);
	assert_int_equal(serial_rx_space(&f->s), SERIAL_FIFO_SIZE);
}

static void test_thr_output(void **state)
{
	struct fx *f = *state;
	const char *msg = "Linux version 6.1\r\n";
	char buf[64];

	for (const char *p = msg; *p; p++) {
		wr(f, THR, (uint8_t)*p);
		/* The transmitter is always ready again at once. */
		assert_int_equal(rd(f, LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
	}
	assert_int_equal(output(f, buf, sizeof(buf)), strlen(msg));
	assert_memory_equal(buf, msg, strlen(msg));
	assert_int_equal(f->s.stats.write_count, strlen(msg));
	assert_int_equal(f->s.stats.missed_write_count, 0);
	assert_int_equal(irqs(f), 0);  /* no interrupts enabled */
	/* Wider accesses use the low byte; the rest reads as zero. */
	{
		uint8_t w[4] = { 'A', 'B', 'C', 'D' }, r[4];

		serial_ops.write(&f->s, THR, w, 4);
		assert_int_equal(output(f, buf, sizeof(buf)), 1);
		assert_int_equal(buf[0], 'A');
		memset(r, 0xee, sizeof(r));
		serial_ops.read(&f->s, LSR, r, 4);
		assert_int_equal(r[0], LSR_THRE | LSR_TEMT);
		assert_int_equal(r[1] | r[2] | r[3], 0);
	}
}

/* Enabling the THRE interrupt raises it at once (THR is empty); reading
 * IIR while it is the top interrupt acknowledges it. */
static void test_thre_interrupt(void **state)
{
	struct fx *f = *state;
	char buf[8];

	wr(f, IER, IER_THRE);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, IER), IER_THRE);
	assert_int_equal(rd(f, IIR), IIR_THRE);
	assert_int_equal(rd(f, IIR), IIR_NONE);

	/* Each byte sent empties THR again: a new THRE interrupt. */
	wr(f, THR, 'x');
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, IIR), IIR_THRE);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	assert_int_equal(output(f, buf, sizeof(buf)), 1);

	/* Re-writing the same IER does not re-raise; off then on does
	 * (Linux's 8250 driver probes THRE behaviour exactly this way). */
	wr(f, IER, IER_THRE);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	wr(f, IER, 0);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	wr(f, IER, IER_THRE);
	assert_int_equal(rd(f, IIR), IIR_THRE);
	/* Masked: pending but not reported, and no edge. */
	wr(f, THR, 'y');
	irqs(f);
	wr(f, IER, 0);
	assert_int_equal(irqs(f), 0);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	/* Only the low four IER bits exist. */
	wr(f, IER, 0xf0);
	assert_int_equal(rd(f, IER), 0);
}

/* With DLAB set, offsets 0 and 1 are the divisor latch; clearing DLAB
 * brings back the data and IER registers untouched. */
static void test_dlab(void **state)
{
	struct fx *f = *state;
	char buf[8];

	wr(f, IER, IER_RDA);
	wr(f, LCR, LCR_DLAB | 0x03);
	assert_int_equal(rd(f, LCR), LCR_DLAB | 0x03);
	wr(f, DLL, 0x01);  /* 115200 baud */
	wr(f, DLM, 0x00);
	assert_int_equal(rd(f, DLL), 0x01);
	assert_int_equal(rd(f, DLM), 0x00);
	wr(f, DLL, 0x0c);
	wr(f, DLM, 0x34);
	assert_int_equal(rd(f, DLL), 0x0c);
	assert_int_equal(rd(f, DLM), 0x34);
	assert_int_equal(output(f, buf, sizeof(buf)), 0);  /* nothing sent */
	assert_int_equal(irqs(f), 0);

	/* Input arriving meanwhile is not consumed by DLL reads. */
	assert_int_equal(serial_input(&f->s, (const uint8_t *)"k", 1), 1);
	irqs(f);
	assert_int_equal(rd(f, DLL), 0x0c);
	assert_int_equal(rd(f, LSR) & LSR_DR, LSR_DR);

	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, IER), IER_RDA);
	assert_int_equal(rd(f, RBR), 'k');
	wr(f, THR, 'z');
	assert_int_equal(output(f, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'z');
	/* The latch keeps its value across DLAB toggles. */
	wr(f, LCR, LCR_DLAB);
	assert_int_equal(rd(f, DLL), 0x0c);
	assert_int_equal(rd(f, DLM), 0x34);
}

static void test_fcr_and_scratch(void **state)
{
	struct fx *f = *state;

	wr(f, FCR, 0x01);  /* FIFO enable */
	assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_NONE);
	wr(f, IER, IER_THRE);
	assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_THRE);
	assert_int_equal(rd(f, IIR), IIR_FIFO | IIR_NONE);
	wr(f, FCR, 0x00);
	assert_int_equal(rd(f, IIR), IIR_NONE);

	wr(f, SCR, 0x5a);
	assert_int_equal(rd(f, SCR), 0x5a);
	/* LSR and MSR are read-only. */
	wr(f, LSR, 0x00);
	wr(f, MSR, 0x00);
	assert_int_equal(rd(f, LSR), LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(f, MSR) & 0xb0, 0xb0);
}

static void test_input(void **state)
{
	struct fx *f = *state;
	const char *in = "root\n";

	assert_int_equal(serial_input(&f->s, (const uint8_t *)in, 5), 5);
	assert_int_equal(irqs(f), 0);  /* RDA not enabled */
	assert_int_equal(serial_rx_space(&f->s), SERIAL_FIFO_SIZE - 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(rd(f, LSR) & LSR_DR, LSR_DR);
		assert_int_equal(rd(f, RBR), (uint8_t)in[i]);
	}
	assert_int_equal(rd(f, LSR) & LSR_DR, 0);
	assert_int_equal(rd(f, RBR), 0);
	assert_int_equal(f->s.stats.read_count, 5);
	assert_int_equal(f->s.stats.missed_read_count, 1);  /* the read of an empty FIFO */
	assert_int_equal(serial_input(&f->s, (const uint8_t *)in, 0), 0);
	assert_int_equal(irqs(f), 0);
}

/* Received data outranks THRE in IIR, and is not acknowledged by reading
 * IIR - only by emptying the FIFO. */
static void test_rda_priority(void **state)
{
	struct fx *f = *state;

	wr(f, IER, IER_RDA | IER_THRE);
	assert_int_equal(irqs(f), 1);  /* THRE */
	assert_int_equal(serial_input(&f->s, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(irqs(f), 1);  /* RDA */
	assert_int_equal(rd(f, IIR), IIR_RDA);
	assert_int_equal(rd(f, IIR), IIR_RDA);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(rd(f, IIR), IIR_RDA);
	assert_int_equal(rd(f, RBR), 'b');
	/* FIFO empty: the THRE interrupt that was waiting shows now. */
	assert_int_equal(rd(f, IIR), IIR_THRE);
	assert_int_equal(rd(f, IIR), IIR_NONE);
}

/* A full FIFO takes only what fits; the rest must be offered again after
 * the guest drains the FIFO, which writes rx_ready_efd. */
static void test_fifo_full(void **state)
{
	struct fx *f = *state;
	uint8_t in[SERIAL_FIFO_SIZE + 10];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)('A' + i % 26);
	assert_int_equal(serial_input(&f->s, in, sizeof(in)), SERIAL_FIFO_SIZE);
	assert_int_equal(serial_rx_space(&f->s), 0);
	assert_int_equal(serial_input(&f->s, in + SERIAL_FIFO_SIZE, 10), 0);
	assert_int_equal(efd_take(f->s.rx_ready_efd), 0);

	for (int i = 0; i < SERIAL_FIFO_SIZE; i++) {
		assert_int_equal(rd(f, RBR), in[i]);
		if (i < SERIAL_FIFO_SIZE - 1)
			assert_int_equal(efd_take(f->s.rx_ready_efd), 0);
	}
	assert_int_equal(efd_take(f->s.rx_ready_efd), 1);
	assert_int_equal(serial_rx_space(&f->s), SERIAL_FIFO_SIZE);
	/* The rest arrives, in order, with nothing dropped. */
	assert_int_equal(serial_input(&f->s, in + SERIAL_FIFO_SIZE, 10), 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(rd(f, RBR), in[SERIAL_FIFO_SIZE + i]);
	/* Draining a FIFO that was never full does not signal. */
	assert_int_equal(efd_take(f->s.rx_ready_efd), 0);
}

/* serial_rx_space() reporting 0 also arms the rx-ready signal, and so
 * does clearing the FIFO through FCR. */
static void test_rx_ready_paths(void **state)
{
	struct fx *f = *state;
	uint8_t in[SERIAL_FIFO_SIZE];

	memset(in, 'q', sizeof(in));
	assert_int_equal(serial_input(&f->s, in, sizeof(in)), SERIAL_FIFO_SIZE);
	assert_int_equal(serial_rx_space(&f->s), 0);
	wr(f, FCR, 0x01 | 0x02);  /* enable + clear RX */
	assert_int_equal(rd(f, LSR) & LSR_DR, 0);
	assert_int_equal(efd_take(f->s.rx_ready_efd), 1);
	assert_int_equal(serial_rx_space(&f->s), SERIAL_FIFO_SIZE);

	/* Wrap-around of the ring: fill, drain half, fill again. */
	assert_int_equal(serial_input(&f->s, (const uint8_t *)"0123456789", 10), 10);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rd(f, RBR), '0' + i);
	memset(in, 'w', sizeof(in));
	assert_int_equal(serial_input(&f->s, in, sizeof(in)), SERIAL_FIFO_SIZE - 5);
	for (int i = 5; i < 10; i++)
		assert_int_equal(rd(f, RBR), '0' + i);
	for (int i = 0; i < SERIAL_FIFO_SIZE - 5; i++)
		assert_int_equal(rd(f, RBR), 'w');
	assert_int_equal(efd_take(f->s.rx_ready_efd), 1);
}

/* Loopback: THR goes to RBR instead of out_fd, MSR mirrors MCR. */
static void test_loopback(void **state)
{
	struct fx *f = *state;
	static const struct {
		uint8_t mcr, msr;
	} mirror[] = {
		{ 0x00, 0x00 },
		{ 0x01, 0x20 },  /* DTR  -> DSR */
		{ 0x02, 0x10 },  /* RTS  -> CTS */
		{ 0x04, 0x40 },  /* OUT1 -> RI */
		{ 0x08, 0x80 },  /* OUT2 -> DCD */
		{ 0x0f, 0xf0 },
		{ 0x0b, 0xb0 },
	};
	char buf[8];

	for (size_t i = 0; i < ARRAY_SIZE(mirror); i++) {
		wr(f, MCR, MCR_LOOP | mirror[i].mcr);
		if (rd(f, MSR) != mirror[i].msr)
			fail_msg("MCR 0x%02x: MSR 0x%02x, expected 0x%02x", mirror[i].mcr,
				 rd(f, MSR), mirror[i].msr);
	}
	assert_int_equal(rd(f, MCR), MCR_LOOP | 0x0b);
	wr(f, MCR, 0xff);
	assert_int_equal(rd(f, MCR), 0x1f);  /* only five MCR bits */

	wr(f, IER, IER_RDA);
	wr(f, THR, 0x55);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, IIR), IIR_RDA);
	assert_int_equal(rd(f, LSR) & LSR_DR, LSR_DR);
	assert_int_equal(rd(f, RBR), 0x55);
	assert_int_equal(output(f, buf, sizeof(buf)), 0);
	assert_int_equal(f->s.stats.write_count, 0);
	assert_int_equal(f->out_calls, 0);

	wr(f, MCR, 0x0b);  /* loopback off: output resumes */
	wr(f, THR, 'o');
	assert_int_equal(output(f, buf, sizeof(buf)), 1);
	assert_int_equal(rd(f, LSR) & LSR_DR, 0);
	assert_int_equal(rd(f, MSR) & 0xb0, 0xb0);
}

/* Every event that leaves an enabled interrupt pending writes one edge
 * to irq_efd; register writes that raise nothing write none. */
static void test_irq_edges(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *name;
		int op;       /* 0: register write, 1: host input */
		uint8_t reg, val;
		uint64_t edges;
	} steps[] = {
		{ "LCR write", 0, LCR, 0x03, 0 },
		{ "SCR write", 0, SCR, 0x11, 0 },
		{ "MCR write", 0, MCR, 0x0b, 0 },
		{ "THR, nothing enabled", 0, THR, 'a', 0 },
		{ "input, nothing enabled", 1, 0, 'b', 0 },
		{ "enable RDA with data waiting", 0, IER, IER_RDA, 1 },
		{ "more input", 1, 0, 'c', 1 },
		{ "THR while RDA pending", 0, THR, 'd', 1 },
		{ "enable THRE too", 0, IER, IER_RDA | IER_THRE, 1 },
		{ "FCR write", 0, FCR, 0x01, 0 },
		{ "disable all", 0, IER, 0, 0 },
		{ "input, all disabled", 1, 0, 'e', 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		uint64_t n;

		if (steps[i].op)
			assert_int_equal(serial_input(&f->s, &steps[i].val, 1), 1);
		else
			wr(f, steps[i].reg, steps[i].val);
		n = irqs(f);
		if (n != steps[i].edges)
			fail_msg("step '%s': %llu interrupt edges, expected %llu", steps[i].name,
				 (unsigned long long)n, (unsigned long long)steps[i].edges);
	}
}

/* serial_init fills the struct; destroy closes both eventfds. */
static void test_init_destroy(void **state)
{
	struct serial s;
	int irq, rx;

	(void)state;
	memset(&s, 0xff, sizeof(s));
	assert_ret(serial_init(&s, NULL, NULL), 0);
	assert_null(s.out);
	assert_false(rate_limiter_active(&s.budget));
	assert_int_equal(s.stats.write_count, 0);
	assert_true(s.irq_efd >= 0 && s.rx_ready_efd >= 0);
	assert_int_not_equal(s.irq_efd, s.rx_ready_efd);
	assert_int_equal(s.rx_len, 0);
	assert_int_equal(s.ier, 0);
	irq = s.irq_efd;
	rx = s.rx_ready_efd;
	serial_destroy(&s);
	assert_int_equal(fcntl(irq, F_GETFD), -1);
	assert_int_equal(fcntl(rx, F_GETFD), -1);
	assert_int_equal(s.irq_efd, -1);
}

/* ---- output that never waits (issue 12 item 3) ---------------------------- */

static void send_bytes(struct fx *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		wr(f, THR, (uint8_t)('a' + i % 26));
		/* The guest always sees a transmitter ready for the next byte. */
		assert_int_equal(rd(f, LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
	}
}

/* An output that cannot take a byte now (EAGAIN): each byte is offered once,
 * dropped and counted, not retried; output resumes when it can take bytes. */
static void test_stalled_output_drops_and_counts(void **state)
{
	struct fx *f = *state;
	char buf[64];

	f->out_errno = EAGAIN;
	send_bytes(f, 100);
	assert_int_equal(f->out_calls, 100);
	assert_int_equal(f->s.stats.missed_write_count, 100);
	assert_int_equal(f->s.stats.write_count, 0);
	assert_int_equal(f->s.stats.flush_count, 0);
	assert_int_equal(f->s.stats.error_count, 0);
	assert_int_equal(output(f, buf, sizeof(buf)), 0);

	f->out_errno = EINTR;  /* not retried either */
	send_bytes(f, 3);
	assert_int_equal(f->out_calls, 103);
	assert_int_equal(f->s.stats.missed_write_count, 103);
	assert_int_equal(f->s.stats.error_count, 0);

	f->out_errno = 0;
	wr(f, THR, 'k');
	assert_int_equal(output(f, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'k');
	assert_int_equal(f->s.stats.write_count, 1);
	assert_int_equal(f->s.stats.flush_count, 1);
	assert_int_equal(f->s.stats.missed_write_count, 103);
}

/* A broken output (EPIPE, EIO) or none at all: dropped, counted as errors. */
static void test_output_errors_counted(void **state)
{
	struct fx *f = *state;
	struct serial_stats st;

	f->out_errno = EPIPE;
	send_bytes(f, 4);
	f->out_errno = EIO;
	send_bytes(f, 2);
	serial_get_stats(&f->s, &st);
	assert_int_equal(st.missed_write_count, 6);
	assert_int_equal(st.error_count, 6);
	assert_int_equal(st.write_count, 0);

	f->s.out = NULL;  /* no output at all */
	send_bytes(f, 1);
	assert_int_equal(f->out_calls, 6);
	serial_get_stats(&f->s, &st);
	assert_int_equal(st.missed_write_count, 7);
	assert_int_equal(st.error_count, 7);
}

/* The byte budget: a bucket of 10 bytes refilled in 1 s takes 10 bytes at
 * once, then 1 byte per 100 ms; whatever is over is dropped and counted
 * without reaching the output. */
static void test_budget_caps_output(void **state)
{
	struct fx *f = *state;
	const struct token_bucket_cfg cfg = { .set = true, .size = 10, .refill_time_ms = 1000 };
	struct serial_stats st;
	char buf[64];

	f->s.clock_ns = fake_clock;
	fake_now_ns = 5000000000ULL;
	serial_set_budget(&f->s, &cfg);
	send_bytes(f, 25);
	assert_int_equal(output(f, buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "abcdefghij", 10);
	assert_int_equal(f->out_calls, 10);
	serial_get_stats(&f->s, &st);
	assert_int_equal(st.write_count, 10);
	assert_int_equal(st.missed_write_count, 15);
	assert_int_equal(st.budget_dropped, 15);
	assert_int_equal(st.error_count, 0);

	fake_now_ns += 500000000ULL;  /* half the refill time: 5 bytes */
	send_bytes(f, 10);
	assert_int_equal(output(f, buf, sizeof(buf)), 5);
	fake_now_ns += 3600000000000ULL;  /* an hour: the bucket is full, no more */
	send_bytes(f, 30);
	assert_int_equal(output(f, buf, sizeof(buf)), 10);
	serial_get_stats(&f->s, &st);
	assert_int_equal(st.write_count, 25);
	assert_int_equal(st.budget_dropped, 40);
	assert_int_equal(st.missed_write_count, 40);

	/* Budget spent on a stalled output is not refunded: the bucket bounds
	 * what the guest may send, not what got through. */
	fake_now_ns += 1000000000ULL;
	f->out_errno = EAGAIN;
	send_bytes(f, 12);
	serial_get_stats(&f->s, &st);
	assert_int_equal(st.missed_write_count, 52);
	assert_int_equal(st.budget_dropped, 42);
}

/* No budget configured (size 0, or unset): nothing is capped. */
static void test_budget_off(void **state)
{
	struct fx *f = *state;
	const struct token_bucket_cfg off = { .set = true, .size = 0, .refill_time_ms = 1000 };
	char buf[4096];
	size_t got = 0, n;

	serial_set_budget(&f->s, &off);
	assert_false(rate_limiter_active(&f->s.budget));
	send_bytes(f, 3000);
	while ((n = output(f, buf, sizeof(buf))) > 0)
		got += n;
	assert_int_equal(got, 3000);
	assert_int_equal(f->s.stats.missed_write_count, 0);
}

/* Guest reads of RBR: with data (read_count) and without (missed). */
static void test_read_counts(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, RBR), 0);
	assert_int_equal(serial_input(&f->s, (const uint8_t *)"xy", 2), 2);
	assert_int_equal(rd(f, RBR), 'x');
	assert_int_equal(rd(f, RBR), 'y');
	assert_int_equal(rd(f, RBR), 0);
	wr(f, LCR, LCR_DLAB);  /* divisor latch reads are not data reads */
	rd(f, DLL);
	assert_int_equal(f->s.stats.read_count, 2);
	assert_int_equal(f->s.stats.missed_read_count, 2);
}

/* conout on a blocking pipe: a private non-blocking description, fd's own
 * flags untouched; a full pipe answers -EAGAIN instead of blocking, and the
 * UART over it drops and counts. */
static void test_conout_pipe(void **state)
{
	struct serial s;
	struct conout o;
	int p[2], flags, fd;
	char chunk[4096] = { 0 };
	ssize_t n;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	flags = fcntl(p[1], F_GETFL);
	assert_ret(conout_open(&o, p[1]), 0);
	assert_int_equal(o.mode, CONOUT_WRITE);
	assert_true(o.own_fd);
	assert_int_not_equal(o.fd, p[1]);
	assert_int_equal(fcntl(p[1], F_GETFL), flags);  /* the shared one is unchanged */
	assert_false(fcntl(p[1], F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(o.fd, F_GETFL) & O_NONBLOCK);
	do
		n = conout_write(&o, chunk, sizeof(chunk));
	while (n > 0);
	assert_int_equal(n, -EAGAIN);

	assert_ret(serial_init(&s, conout_write, &o), 0);
	chunk[0] = 'z';
	serial_ops.write(&s, THR, (const uint8_t *)chunk, 1);
	assert_int_equal(s.stats.missed_write_count, 1);
	assert_int_equal(s.stats.error_count, 0);
	serial_destroy(&s);

	fd = o.fd;
	conout_close(&o);
	assert_int_equal(fcntl(fd, F_GETFD), -1);  /* the private fd is closed */
	assert_int_not_equal(fcntl(p[1], F_GETFD), -1);
	assert_int_equal(o.mode, CONOUT_NONE);
	close(p[0]);
	close(p[1]);
}

/* conout on a socket: send(MSG_DONTWAIT) on fd itself; full → -EAGAIN. */
static void test_conout_socket(void **state)
{
	struct conout o;
	int sv[2];
	char chunk[4096] = { 0 };
	ssize_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_ret(conout_open(&o, sv[0]), 0);
	assert_int_equal(o.mode, CONOUT_SEND);
	assert_int_equal(o.fd, sv[0]);
	assert_false(o.own_fd);
	assert_false(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	do
		n = conout_write(&o, chunk, sizeof(chunk));
	while (n > 0);
	assert_int_equal(n, -EAGAIN);
	close(sv[1]);  /* the reader gone: an error, not a SIGPIPE */
	assert_int_equal(conout_write(&o, chunk, 1), -EPIPE);
	conout_close(&o);
	assert_int_not_equal(fcntl(sv[0], F_GETFD), -1);
	close(sv[0]);
}

/* conout on a regular file: plain writes on fd itself; a closed fd: none. */
static void test_conout_file_and_closed(void **state)
{
	struct conout o;
	FILE *tmp = tmpfile();
	int fd;

	(void)state;
	assert_non_null(tmp);
	assert_ret(conout_open(&o, fileno(tmp)), 0);
	assert_int_equal(o.mode, CONOUT_WRITE);
	assert_int_equal(o.fd, fileno(tmp));
	assert_false(o.own_fd);
	assert_int_equal(conout_write(&o, "abc", 3), 3);
	assert_int_equal(lseek(fileno(tmp), 0, SEEK_END), 3);
	conout_close(&o);
	fclose(tmp);

	fd = dup(0);
	close(fd);
	assert_ret(conout_open(&o, fd), -EBADF);
	assert_int_equal(o.mode, CONOUT_NONE);
	assert_int_equal(conout_write(&o, "abc", 3), -EBADF);
	conout_close(&o);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reset_state),
		T(test_thr_output),
		T(test_thre_interrupt),
		T(test_dlab),
		T(test_fcr_and_scratch),
		T(test_input),
		T(test_rda_priority),
		T(test_fifo_full),
		T(test_rx_ready_paths),
		T(test_loopback),
		T(test_irq_edges),
		T(test_stalled_output_drops_and_counts),
		T(test_output_errors_counted),
		T(test_budget_caps_output),
		T(test_budget_off),
		T(test_read_counts),
		cmocka_unit_test(test_init_destroy),
		cmocka_unit_test(test_conout_pipe),
		cmocka_unit_test(test_conout_socket),
		cmocka_unit_test(test_conout_file_and_closed),
	};

	unit_init();
	return cmocka_run_group_tests_name("serial", tests, NULL, NULL);
}
