// SPDX-License-Identifier: Apache-2.0
/* serial.c - see serial.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/core/log.h"
#include "serial.h"

enum { REG_DATA, REG_IER, REG_IIR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };

#define LCR_DLAB       0x80
#define IER_RDA        0x01
#define IER_THRE       0x02
#define IER_MASK       0x0f
#define IIR_NONE       0x01
#define IIR_THRE       0x02
#define IIR_RDA        0x04
#define IIR_FIFO       0xc0
#define FCR_ENABLE     0x01
#define FCR_CLEAR_RX   0x02
#define LSR_DR         0x01
#define LSR_THRE_TEMT  0x60
#define MCR_LOOP       0x10
#define MCR_MASK       0x1f
#define MSR_DEFAULT    0xb0  /* DCD | DSR | CTS */

/* Counters are read by the vmm thread while vCPUs write them (under the
 * lock): relaxed atomics keep both sides well defined. */
static void count(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static uint64_t serial_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void serial_pulse(struct serial *s)
{
	uint64_t one = 1;

	if (write(s->irq_efd, &one, sizeof(one)) < 0)
		log_ratelimited(LOG_WARN, "serial: irq eventfd write: %s", strerror(errno));
}

static uint8_t serial_iir(const struct serial *s)
{
	if ((s->ier & IER_RDA) && s->rx_len)
		return IIR_RDA;
	if ((s->ier & IER_THRE) && s->thre_pending)
		return IIR_THRE;
	return IIR_NONE;
}

/* Raise an edge if an interrupt is pending after an event. */
static void serial_event(struct serial *s)
{
	if (serial_iir(s) != IIR_NONE)
		serial_pulse(s);
}

static bool serial_rx_push(struct serial *s, uint8_t byte)
{
	if (s->rx_len == SERIAL_FIFO_SIZE)
		return false;
	s->rx[(s->rx_head + s->rx_len) % SERIAL_FIFO_SIZE] = byte;
	s->rx_len++;
	return true;
}

static uint8_t serial_rx_pop(struct serial *s)
{
	uint8_t byte;
	uint64_t one = 1;

	if (!s->rx_len)
		return 0;
	byte = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
	s->rx_len--;
	if (!s->rx_len && s->rx_blocked) {
		s->rx_blocked = false;
		if (write(s->rx_ready_efd, &one, sizeof(one)) < 0)
			log_ratelimited(LOG_WARN, "serial: rx eventfd write: %s", strerror(errno));
	}
	return byte;
}

/* One guest byte out, never waiting: over the budget, or not taken by the
 * output at once, it is dropped and counted.  Nothing is logged here: the
 * log may sit on the same stalled pipe, and the metrics say it all. */
static void serial_out_byte(struct serial *s, uint8_t byte)
{
	ssize_t n;

	if (rate_limiter_active(&s->budget) &&
	    rate_limiter_consume(&s->budget, 1, s->clock_ns())) {
		count(&s->stats.budget_dropped);
		count(&s->stats.missed_write_count);
		return;
	}
	n = s->out ? s->out(s->out_opaque, &byte, 1) : -EBADF;
	if (n == 1) {
		count(&s->stats.write_count);
		count(&s->stats.flush_count);
		return;
	}
	count(&s->stats.missed_write_count);
	if (n != 0 && n != -EAGAIN && n != -EWOULDBLOCK && n != -EINTR)
		count(&s->stats.error_count);
}

static void serial_tx(struct serial *s, uint8_t byte)
{
	if (s->mcr & MCR_LOOP)
		serial_rx_push(s, byte);
	else
		serial_out_byte(s, byte);
	s->thre_pending = true;
}

static uint8_t serial_msr(const struct serial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_DEFAULT;
	/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	return (uint8_t)(((s->mcr & 0x1) << 5) | ((s->mcr & 0x2) << 3) |
			 ((s->mcr & 0x4) << 4) | ((s->mcr & 0x8) << 4));
}

static uint8_t serial_read_reg(struct serial *s, uint64_t off)
{
	uint8_t iir;

	switch (off) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		count(s->rx_len ? &s->stats.read_count : &s->stats.missed_read_count);
		return serial_rx_pop(s);
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case REG_IIR:
		iir = serial_iir(s);
		if (iir == IIR_THRE)
			s->thre_pending = false;  /* reading IIR acknowledges THRE */
		return iir | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		return LSR_THRE_TEMT | (s->rx_len ? LSR_DR : 0);
	case REG_MSR:
		return serial_msr(s);
	default:
		return s->scr;
	}
}

static void serial_write_reg(struct serial *s, uint64_t off, uint8_t v)
{
	switch (off) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return;
		}
		serial_tx(s, v);
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return;
		}
		if ((v & IER_THRE) && !(s->ier & IER_THRE))
			s->thre_pending = true;  /* THR is always empty */
		s->ier = v & IER_MASK;
		break;
	case REG_IIR:
		s->fcr = v;
		if (v & FCR_CLEAR_RX)
			while (s->rx_len)
				serial_rx_pop(s);
		return;
	case REG_LCR:
		s->lcr = v;
		return;
	case REG_MCR:
		s->mcr = v & MCR_MASK;
		return;
	case REG_SCR:
		s->scr = v;
		return;
	default:
		return;  /* LSR and MSR are read-only */
	}
	serial_event(s);
}

static void serial_read(void *dev, uint64_t off, uint8_t *data, unsigned int size)
{
	struct serial *s = dev;

	memset(data, 0, size);
	pthread_mutex_lock(&s->lock);
	data[0] = serial_read_reg(s, off);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *dev, uint64_t off, const uint8_t *data, unsigned int size)
{
	struct serial *s = dev;

	(void)size;
	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, off, data[0]);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_ops serial_ops = {
	.read = serial_read,
	.write = serial_write,
};

int serial_init(struct serial *s, serial_out_fn out, void *out_opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out = out;
	s->out_opaque = out_opaque;
	s->clock_ns = serial_clock_ns;
	s->rx_ready_efd = -1;
	s->irq_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->rx_ready_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->irq_efd < 0 || s->rx_ready_efd < 0) {
		int err = -errno;

		serial_destroy(s);
		return err;
	}
	return 0;
}

void serial_set_budget(struct serial *s, const struct token_bucket_cfg *cfg)
{
	const struct rate_limiter_cfg rl = { .bandwidth = *cfg };

	pthread_mutex_lock(&s->lock);
	rate_limiter_set(&s->budget, &rl, s->clock_ns());
	pthread_mutex_unlock(&s->lock);
}

void serial_get_stats(struct serial *s, struct serial_stats *out)
{
#define LOAD(f) (out->f = __atomic_load_n(&s->stats.f, __ATOMIC_RELAXED))
	LOAD(write_count);
	LOAD(missed_write_count);
	LOAD(flush_count);
	LOAD(error_count);
	LOAD(read_count);
	LOAD(missed_read_count);
	LOAD(budget_dropped);
#undef LOAD
}

void serial_destroy(struct serial *s)
{
	if (s->irq_efd >= 0)
		close(s->irq_efd);
	if (s->rx_ready_efd >= 0)
		close(s->rx_ready_efd);
	s->irq_efd = s->rx_ready_efd = -1;
	pthread_mutex_destroy(&s->lock);
}

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t taken = 0;

	pthread_mutex_lock(&s->lock);
	while (taken < len && serial_rx_push(s, buf[taken]))
		taken++;
	if (taken < len)
		s->rx_blocked = true;
	if (taken)
		serial_event(s);
	pthread_mutex_unlock(&s->lock);
	return taken;
}

size_t serial_rx_space(struct serial *s)
{
	size_t space;

	pthread_mutex_lock(&s->lock);
	space = SERIAL_FIFO_SIZE - s->rx_len;
	if (!space)
		s->rx_blocked = true;
	pthread_mutex_unlock(&s->lock);
	return space;
}

/* ---- snapshots ------------------------------------------------------------- */

void serial_save(struct serial *s, struct serial_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->lock);
	st->ier = s->ier;
	st->lcr = s->lcr;
	st->mcr = s->mcr;
	st->scr = s->scr;
	st->dll = s->dll;
	st->dlm = s->dlm;
	st->fcr = s->fcr;
	st->thre_pending = s->thre_pending;
	memcpy(st->rx, s->rx, sizeof(st->rx));
	st->rx_head = s->rx_head;
	st->rx_len = s->rx_len;
	pthread_mutex_unlock(&s->lock);
}

int serial_state_check(const struct serial_state *st, char *err, size_t errlen)
{
	if (st->rx_head >= SERIAL_FIFO_SIZE || st->rx_len > SERIAL_FIFO_SIZE) {
		snprintf(err, errlen, "serial: receive FIFO head %u / length %u out of range (%d)",
			 st->rx_head, st->rx_len, SERIAL_FIFO_SIZE);
		return -EINVAL;
	}
	if ((st->ier & ~IER_MASK) || (st->mcr & ~MCR_MASK) || st->thre_pending > 1) {
		snprintf(err, errlen, "serial: invalid register values (IER 0x%x, MCR 0x%x)",
			 st->ier, st->mcr);
		return -EINVAL;
	}
	return 0;
}

int serial_restore(struct serial *s, const struct serial_state *st, char *err, size_t errlen)
{
	int ret = serial_state_check(st, err, errlen);

	if (ret)
		return ret;
	pthread_mutex_lock(&s->lock);
	s->ier = st->ier;
	s->lcr = st->lcr;
	s->mcr = st->mcr;
	s->scr = st->scr;
	s->dll = st->dll;
	s->dlm = st->dlm;
	s->fcr = st->fcr;
	s->thre_pending = st->thre_pending;
	memcpy(s->rx, st->rx, sizeof(s->rx));
	s->rx_head = st->rx_head;
	s->rx_len = st->rx_len;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
