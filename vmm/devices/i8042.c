// SPDX-License-Identifier: Apache-2.0
/* i8042.c - see i8042.h.  Registered at port 0x60, length 5 (0x60..0x64). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "i8042.h"
#include "vmm/x86/layout.h"
#include "vmm/core/log.h"

#define I8042_CMD_OFFSET (PORT_I8042_CMD - PORT_I8042_DATA)

#define STATUS_OBF   0x01  /* output buffer full: data for the guest */
#define STATUS_SYS   0x04  /* system flag, set by a passed self-test */
#define STATUS_CMD   0x08  /* last write went to the command port */
#define STATUS_UNLOCKED 0x10  /* keyboard not inhibited by the key lock */
#define CTR_KBD_INT  0x01
#define CTR_KBD_OFF  0x10
#define CTR_AUX_OFF  0x20
#define CTR_XLATE    0x40

#define KBD_ACK      0xfa

/* Controller commands that take a data byte on port 0x60. */
#define CMD_WRITE_CTR     0x60
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_WRITE_KBD_BUF 0xd2
#define CMD_WRITE_AUX_BUF 0xd3
#define CMD_WRITE_AUX     0xd4

static void i8042_irq(struct i8042 *kbd)
{
	uint64_t one = 1;

	if (!(kbd->ctr & CTR_KBD_INT) || !kbd->len)
		return;
	if (write(kbd->irq_efd, &one, sizeof(one)) < 0)
		log_ratelimited(LOG_WARN, "i8042: irq eventfd: %s", strerror(errno));
}

static bool i8042_push(struct i8042 *kbd, uint8_t byte)
{
	if (kbd->len == I8042_QUEUE_SIZE)
		return false;
	kbd->queue[(kbd->head + kbd->len) % I8042_QUEUE_SIZE] = byte;
	kbd->len++;
	return true;
}

static uint8_t i8042_pop(struct i8042 *kbd)
{
	uint8_t byte;

	if (!kbd->len)
		return 0;
	byte = kbd->queue[kbd->head];
	kbd->head = (kbd->head + 1) % I8042_QUEUE_SIZE;
	kbd->len--;
	return byte;
}

/* A byte the guest sends to the keyboard itself: acknowledge it, answer
 * the few commands that have answers. */
static void kbd_write(struct i8042 *kbd, uint8_t v)
{
	if (kbd->kbd_pending) {  /* argument of set-LEDs / set-rate / scancode set */
		kbd->kbd_pending = 0;
		i8042_push(kbd, KBD_ACK);
		return;
	}
	i8042_push(kbd, KBD_ACK);
	switch (v) {
	case 0xff:  /* reset: self-test passed */
		i8042_push(kbd, 0xaa);
		break;
	case 0xf2:  /* identify: MF2 keyboard */
		i8042_push(kbd, 0xab);
		i8042_push(kbd, 0x83);
		break;
	case 0xed: case 0xf3: case 0xf0:
		kbd->kbd_pending = v;
		break;
	default:
		break;
	}
}

static void i8042_data_write(struct i8042 *kbd, uint8_t v)
{
	uint8_t cmd = kbd->pending_cmd;

	kbd->pending_cmd = 0;
	switch (cmd) {
	case CMD_WRITE_CTR: kbd->ctr = v; break;
	case CMD_WRITE_OUTPORT: kbd->outport = v; break;
	case CMD_WRITE_KBD_BUF:
	case CMD_WRITE_AUX_BUF: i8042_push(kbd, v); break;
	case CMD_WRITE_AUX: break;  /* no mouse behind the aux port */
	default: kbd_write(kbd, v); break;
	}
}

static void i8042_command(struct i8042 *kbd, uint8_t cmd)
{
	switch (cmd) {
	case 0x20: i8042_push(kbd, kbd->ctr); break;               /* read CTR */
	case 0xa7: kbd->ctr |= CTR_AUX_OFF; break;
	case 0xa8: kbd->ctr &= (uint8_t)~CTR_AUX_OFF; break;
	case 0xa9: i8042_push(kbd, 0xff); break;                   /* aux test: none */
	case 0xaa: kbd->status_flags |= STATUS_SYS; i8042_push(kbd, 0x55); break;
	case 0xab: i8042_push(kbd, 0x00); break;                   /* kbd test: ok */
	case 0xad: kbd->ctr |= CTR_KBD_OFF; break;
	case 0xae: kbd->ctr &= (uint8_t)~CTR_KBD_OFF; break;
	case 0xc0: i8042_push(kbd, 0x00); break;                   /* input port */
	case 0xd0: i8042_push(kbd, kbd->outport); break;
	case CMD_WRITE_CTR: case CMD_WRITE_OUTPORT: case CMD_WRITE_KBD_BUF:
	case CMD_WRITE_AUX_BUF: case CMD_WRITE_AUX:
		kbd->pending_cmd = cmd;
		break;
	case I8042_CMD_RESET:
		if (eventfd_write(kbd->reset_efd, 1))
			log_ratelimited(LOG_ERROR, "i8042: reset eventfd: %s", strerror(errno));
		break;
	default:
		break;
	}
}

static void i8042_read(void *dev, uint64_t off, uint8_t *data, unsigned int size)
{
	struct i8042 *kbd = dev;

	memset(data, 0, size);
	pthread_mutex_lock(&kbd->lock);
	if (off == 0) {
		data[0] = i8042_pop(kbd);
		i8042_irq(kbd);  /* more bytes waiting: another interrupt */
	} else if (off == I8042_CMD_OFFSET) {
		data[0] = kbd->status_flags | STATUS_UNLOCKED | (kbd->len ? STATUS_OBF : 0);
	}
	pthread_mutex_unlock(&kbd->lock);
}

static void i8042_write(void *dev, uint64_t off, const uint8_t *data, unsigned int size)
{
	struct i8042 *kbd = dev;

	(void)size;
	pthread_mutex_lock(&kbd->lock);
	if (off == 0) {
		kbd->status_flags &= (uint8_t)~STATUS_CMD;
		i8042_data_write(kbd, data[0]);
	} else if (off == I8042_CMD_OFFSET) {
		kbd->status_flags |= STATUS_CMD;
		i8042_command(kbd, data[0]);
	}
	i8042_irq(kbd);
	pthread_mutex_unlock(&kbd->lock);
}

const struct bus_ops i8042_ops = {
	.read = i8042_read,
	.write = i8042_write,
};

int i8042_init(struct i8042 *kbd)
{
	memset(kbd, 0, sizeof(*kbd));
	kbd->ctr = CTR_KBD_INT | CTR_XLATE;
	kbd->outport = 0x01;  /* no reset pending */
	pthread_mutex_init(&kbd->lock, NULL);
	kbd->irq_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	kbd->reset_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (kbd->irq_efd < 0 || kbd->reset_efd < 0) {
		int err = -errno;

		i8042_destroy(kbd);
		return err;
	}
	return 0;
}

void i8042_destroy(struct i8042 *kbd)
{
	if (kbd->irq_efd >= 0)
		close(kbd->irq_efd);
	if (kbd->reset_efd >= 0)
		close(kbd->reset_efd);
	kbd->irq_efd = kbd->reset_efd = -1;
	pthread_mutex_destroy(&kbd->lock);
}

int i8042_send_ctrl_alt_del(struct i8042 *kbd)
{
	/* Scancode set 1 (what the guest reads with translation on):
	 * Ctrl, Alt, Del pressed, then released in reverse order. */
	static const uint8_t keys[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	int ret = 0;

	pthread_mutex_lock(&kbd->lock);
	if (I8042_QUEUE_SIZE - kbd->len < sizeof(keys)) {
		ret = -ENOSPC;
	} else {
		for (size_t i = 0; i < sizeof(keys); i++)
			i8042_push(kbd, keys[i]);
		i8042_irq(kbd);
	}
	pthread_mutex_unlock(&kbd->lock);
	return ret;
}

/* ---- snapshots ------------------------------------------------------------- */

void i8042_save(struct i8042 *kbd, struct i8042_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&kbd->lock);
	st->ctr = kbd->ctr;
	st->outport = kbd->outport;
	st->status_flags = kbd->status_flags;
	st->pending_cmd = kbd->pending_cmd;
	st->kbd_pending = kbd->kbd_pending;
	memcpy(st->queue, kbd->queue, sizeof(st->queue));
	st->head = kbd->head;
	st->len = kbd->len;
	pthread_mutex_unlock(&kbd->lock);
}

int i8042_state_check(const struct i8042_state *st, char *err, size_t errlen)
{
	if (st->head >= I8042_QUEUE_SIZE || st->len > I8042_QUEUE_SIZE) {
		snprintf(err, errlen, "i8042: queue head %u / length %u out of range (%d)",
			 st->head, st->len, I8042_QUEUE_SIZE);
		return -EINVAL;
	}
	if (st->status_flags & ~(STATUS_SYS | STATUS_CMD)) {
		snprintf(err, errlen, "i8042: invalid status flags 0x%x", st->status_flags);
		return -EINVAL;
	}
	return 0;
}

int i8042_restore(struct i8042 *kbd, const struct i8042_state *st, char *err, size_t errlen)
{
	int ret = i8042_state_check(st, err, errlen);

	if (ret)
		return ret;
	pthread_mutex_lock(&kbd->lock);
	kbd->ctr = st->ctr;
	kbd->outport = st->outport;
	kbd->status_flags = st->status_flags;
	kbd->pending_cmd = st->pending_cmd;
	kbd->kbd_pending = st->kbd_pending;
	memcpy(kbd->queue, st->queue, sizeof(kbd->queue));
	kbd->head = st->head;
	kbd->len = st->len;
	pthread_mutex_unlock(&kbd->lock);
	return 0;
}
