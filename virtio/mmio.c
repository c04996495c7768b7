// SPDX-License-Identifier: Apache-2.0
/* mmio.c - see mmio.h.  Register offsets from virtio 1.2 §4.2.2. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/core/log.h"
#include "mmio.h"

enum {
	REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008, REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044, REG_QUEUE_NOTIFY = VIRTIO_MMIO_QUEUE_NOTIFY,
	REG_INTERRUPT_STATUS = 0x060, REG_INTERRUPT_ACK = 0x064, REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090, REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0, REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_CONFIG_GENERATION = 0x0fc, REG_CONFIG = 0x100,
};

static void refuse(struct virtio_mmio *t, const char *what, uint64_t off)
{
	t->ignored_writes++;
	log_ratelimited(LOG_WARN, "%s: ignored write to 0x%03llx: %s", t->name,
			(unsigned long long)off, what);
}

static struct virtq *sel_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->queues[t->queue_sel] : NULL;
}

void virtio_mmio_interrupt(struct virtio_mmio *t, uint32_t why)
{
	uint64_t one = 1;

	t->interrupt_status |= why;
	if (write(t->irq_efd, &one, sizeof(one)) < 0)
		log_ratelimited(LOG_WARN, "%s: irq eventfd: %s", t->name, strerror(errno));
}

void virtio_mmio_needs_reset(struct virtio_mmio *t, const char *why)
{
	log_ratelimited(LOG_WARN, "%s: device needs reset: %s", t->name, why);
	if (!(t->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return;  /* only for a live device, and once */
	t->needs_reset++;
	t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	t->config_generation++;
	virtio_mmio_interrupt(t, VIRTIO_INT_CONFIG);
}

bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned int bit)
{
	return bit < 64 && (t->driver_features & (1ULL << bit));
}

static void mmio_reset(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t);
	t->driver_features = 0;
	t->device_features_sel = t->driver_features_sel = 0;
	t->queue_sel = 0;
	t->status = 0;
	t->interrupt_status = 0;
	for (unsigned int i = 0; i < t->ops->num_queues; i++) {
		const char *name = t->queues[i].name;

		memset(&t->queues[i], 0, sizeof(t->queues[i]));
		t->queues[i].name = name;
	}
}

/* DRIVER_OK: every ready queue must be valid, then the device starts. */
static int mmio_activate(struct virtio_mmio *t)
{
	for (unsigned int i = 0; i < t->ops->num_queues; i++) {
		struct virtq *q = &t->queues[i];

		if (!q->ready)
			continue;
		q->event_idx = virtio_mmio_has_feature(t, VIRTIO_RING_F_EVENT_IDX);
		q->indirect = virtio_mmio_has_feature(t, VIRTIO_RING_F_INDIRECT_DESC);
		if (virtq_activate(q, t->gm)) {
			q->ready = false;
			return -EINVAL;
		}
	}
	return t->ops->activate ? t->ops->activate(t) : 0;
}

/* Wake the vmm thread for queue `i` as if the driver had notified it. */
static void kick_queue(struct virtio_mmio *t, uint32_t i)
{
	uint64_t one = 1;

	if (i < t->ops->num_queues && t->notify_efd[i] >= 0 &&
	    write(t->notify_efd[i], &one, sizeof(one)) < 0)
		log_ratelimited(LOG_WARN, "%s: notify eventfd: %s", t->name, strerror(errno));
}

/* FEATURES_OK only for VERSION_1 and nothing the device did not offer. */
static bool features_acceptable(const struct virtio_mmio *t)
{
	return (t->driver_features & (1ULL << VIRTIO_F_VERSION_1)) &&
	       !(t->driver_features & ~t->device_features);
}

#define DRIVER_STATUS_BITS (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
			    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t added = v & ~t->status & DRIVER_STATUS_BITS;

	if (!v) {
		mmio_reset(t);
		return;
	}
	if (v & VIRTIO_STATUS_FAILED) {
		t->status |= VIRTIO_STATUS_FAILED;
		return;
	}
	/* Bits may only be added, one step at a time and in order. */
	if ((t->status & DRIVER_STATUS_BITS & ~v) ||
	    ((added & VIRTIO_STATUS_DRIVER) && !(v & VIRTIO_STATUS_ACKNOWLEDGE)) ||
	    ((added & VIRTIO_STATUS_FEATURES_OK) && !(v & VIRTIO_STATUS_DRIVER)) ||
	    ((added & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK))) {
		refuse(t, "status transition out of order", REG_STATUS);
		return;
	}
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(t))
		added &= ~VIRTIO_STATUS_FEATURES_OK;  /* the driver reads it back and fails */
	t->status |= added & ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
	if ((added & VIRTIO_STATUS_DRIVER_OK) && (t->status & VIRTIO_STATUS_FEATURES_OK)) {
		t->status |= VIRTIO_STATUS_DRIVER_OK;
		if (mmio_activate(t)) {
			virtio_mmio_needs_reset(t, "queue configuration refused at DRIVER_OK");
			return;
		}
		for (unsigned int i = 0; i < t->ops->num_queues; i++)
			kick_queue(t, i);  /* buffers may be waiting already */
	}
}

static void write_features(struct virtio_mmio *t, uint32_t v)
{
	unsigned int shift = t->driver_features_sel ? 32 : 0;

	if (!(t->status & VIRTIO_STATUS_DRIVER) || (t->status & VIRTIO_STATUS_FEATURES_OK) ||
	    t->driver_features_sel > 1) {
		refuse(t, "driver features outside feature negotiation", REG_DRIVER_FEATURES);
		return;
	}
	t->driver_features = (t->driver_features & ~(0xffffffffULL << shift)) |
			     ((uint64_t)v << shift);
}

static void set_half(uint64_t *field, bool high, uint32_t v)
{
	*field = high ? (*field & 0xffffffffULL) | ((uint64_t)v << 32)
		      : (*field & ~0xffffffffULL) | v;
}

/* QueueNum, QueueReady and the ring addresses of the selected queue. */
static void write_queue_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtq *q = sel_queue(t);

	if (!q || (t->status & VIRTIO_STATUS_DRIVER_OK) || (q->ready && off != REG_QUEUE_READY)) {
		refuse(t, !q ? "no such queue" : "queue configuration is frozen", off);
		return;
	}
	switch (off) {
	case REG_QUEUE_NUM:
		if (!v || v > t->ops->queue_max || (v & (v - 1))) {
			refuse(t, "QueueNum must be a power of two up to QueueNumMax", off);
			return;
		}
		q->size = (uint16_t)v;
		break;
	case REG_QUEUE_READY: q->ready = v == 1; break;
	case REG_QUEUE_DESC_LOW: set_half(&q->desc_gpa, false, v); break;
	case REG_QUEUE_DESC_HIGH: set_half(&q->desc_gpa, true, v); break;
	case REG_QUEUE_DRIVER_LOW: set_half(&q->avail_gpa, false, v); break;
	case REG_QUEUE_DRIVER_HIGH: set_half(&q->avail_gpa, true, v); break;
	case REG_QUEUE_DEVICE_LOW: set_half(&q->used_gpa, false, v); break;
	case REG_QUEUE_DEVICE_HIGH: set_half(&q->used_gpa, true, v); break;
	}
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t off)
{
	struct virtq *q = sel_queue(t);

	switch (off) {
	case REG_MAGIC: return VIRTIO_MMIO_MAGIC;
	case REG_VERSION: return VIRTIO_MMIO_VERSION;
	case REG_DEVICE_ID: return t->ops->device_id;
	case REG_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		return t->device_features_sel > 1 ? 0 :
		       (uint32_t)(t->device_features >> (32 * t->device_features_sel));
	case REG_QUEUE_NUM_MAX: return q ? t->ops->queue_max : 0;
	case REG_QUEUE_READY: return q ? q->ready : 0;
	case REG_INTERRUPT_STATUS: return t->interrupt_status;
	case REG_STATUS: return t->status;
	case REG_CONFIG_GENERATION: return t->config_generation;
	default: return 0;
	}
}

static void write_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	switch (off) {
	case REG_DEVICE_FEATURES_SEL: t->device_features_sel = v; break;
	case REG_DRIVER_FEATURES: write_features(t, v); break;
	case REG_DRIVER_FEATURES_SEL: t->driver_features_sel = v; break;
	case REG_QUEUE_SEL: t->queue_sel = v; break;
	case REG_QUEUE_NOTIFY:
		/* Normally caught by the ioeventfd; a value it does not match
		 * (or a host without it) ends up here. */
		kick_queue(t, v);
		break;
	case REG_INTERRUPT_ACK: t->interrupt_status &= ~v; break;
	case REG_STATUS: write_status(t, v); break;
	case REG_QUEUE_NUM: case REG_QUEUE_READY:
	case REG_QUEUE_DESC_LOW: case REG_QUEUE_DESC_HIGH:
	case REG_QUEUE_DRIVER_LOW: case REG_QUEUE_DRIVER_HIGH:
	case REG_QUEUE_DEVICE_LOW: case REG_QUEUE_DEVICE_HIGH:
		write_queue_reg(t, off, v);
		break;
	default:
		refuse(t, "read-only or unknown register", off);
		break;
	}
}

static void mmio_read(void *dev, uint64_t off, uint8_t *data, unsigned int size)
{
	struct virtio_mmio *t = dev;
	uint32_t v;

	memset(data, 0, size);
	pthread_mutex_lock(&t->lock);
	if (off >= REG_CONFIG) {
		if (off - REG_CONFIG < t->ops->config_len &&
		    size <= t->ops->config_len - (off - REG_CONFIG) && t->ops->config_read)
			t->ops->config_read(t, (uint32_t)(off - REG_CONFIG), data, size);
	} else if (size == 4 && !(off & 3)) {
		v = read_reg(t, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&t->lock);
}

static void mmio_write(void *dev, uint64_t off, const uint8_t *data, unsigned int size)
{
	struct virtio_mmio *t = dev;
	uint32_t v;

	pthread_mutex_lock(&t->lock);
	if (off >= REG_CONFIG) {
		if (off - REG_CONFIG < t->ops->config_len &&
		    size <= t->ops->config_len - (off - REG_CONFIG) && t->ops->config_write)
			t->ops->config_write(t, (uint32_t)(off - REG_CONFIG), data, size);
		else
			refuse(t, "config space write out of range", off);
	} else if (size == 4 && !(off & 3)) {
		memcpy(&v, data, 4);
		write_reg(t, off, v);
	} else {
		refuse(t, "registers take aligned 32-bit accesses", off);
	}
	pthread_mutex_unlock(&t->lock);
}

const struct bus_ops virtio_mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
};

int virtio_mmio_init(struct virtio_mmio *t, const char *name, const struct virtio_dev_ops *ops,
		     void *dev, uint64_t features, const struct guest_mem *gm)
{
	if (ops->num_queues > VIRTIO_MMIO_MAX_QUEUES || !ops->queue_max ||
	    ops->queue_max > VIRTQ_MAX_SIZE)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->irq_efd = -1;  /* a failure below must not leave fd 0 to be closed */
	t->name = name;
	t->ops = ops;
	t->dev = dev;
	t->gm = gm;
	t->device_features = features | (1ULL << VIRTIO_F_VERSION_1);
	for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		t->queues[i].name = name;
		t->notify_efd[i] = -1;
	}
	pthread_mutex_init(&t->lock, NULL);
	for (unsigned int i = 0; i < ops->num_queues; i++) {
		t->notify_efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->notify_efd[i] < 0)
			return -errno;
	}
	t->irq_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return t->irq_efd < 0 ? -errno : 0;
}

static void on_queue_notify(struct ev_source *src, uint32_t events)
{
	struct virtio_mmio *t = src->opaque;
	unsigned int i = (unsigned int)(src - t->notify_src);
	uint64_t v;

	(void)events;
	if (read(src->fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&t->lock);
	if ((t->status & VIRTIO_STATUS_DRIVER_OK) &&
	    !(t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) && t->ops->notify)
		t->ops->notify(t, i);
	pthread_mutex_unlock(&t->lock);
}

int virtio_mmio_attach(struct virtio_mmio *t, struct ev_loop *loop)
{
	int ret = 0;

	for (unsigned int i = 0; !ret && i < t->ops->num_queues; i++) {
		t->notify_src[i] = (struct ev_source){
			.fd = t->notify_efd[i], .cb = on_queue_notify, .opaque = t };
		ret = ev_add(loop, &t->notify_src[i], EPOLLIN);
		if (!ret)
			t->loop = loop;
	}
	return ret;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		if (t->notify_efd[i] < 0)
			continue;
		if (t->loop)
			ev_del(t->loop, &t->notify_src[i]);
		close(t->notify_efd[i]);
		t->notify_efd[i] = -1;
	}
	if (t->irq_efd >= 0)
		close(t->irq_efd);
	t->irq_efd = -1;
	pthread_mutex_destroy(&t->lock);
}

/* ---- snapshots --------------------------------------------------------- */

int virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *out)
{
	int ret = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&t->lock);
	out->device_id = t->ops->device_id;
	out->nr_queues = t->ops->num_queues;
	out->device_features = t->device_features;
	out->driver_features = t->driver_features;
	out->device_features_sel = t->device_features_sel;
	out->driver_features_sel = t->driver_features_sel;
	out->queue_sel = t->queue_sel;
	out->status = t->status;
	out->interrupt_status = t->interrupt_status;
	out->config_generation = t->config_generation;
	for (unsigned int i = 0; !ret && i < t->ops->num_queues; i++)
		ret = virtq_save(&t->queues[i], t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET,
				 &out->queues[i]);
	pthread_mutex_unlock(&t->lock);
	return ret;
}

#define STATUS_BITS (DRIVER_STATUS_BITS | VIRTIO_STATUS_DEVICE_NEEDS_RESET | \
		     VIRTIO_STATUS_FAILED)

const char *virtio_mmio_state_error(const struct virtio_mmio_state *s, char *why, size_t len)
{
	if (!s->nr_queues || s->nr_queues > VIRTIO_MMIO_MAX_QUEUES)
		return "invalid queue count";
	if (s->status & ~STATUS_BITS)
		return "invalid device status";
	if (s->interrupt_status & ~(uint32_t)(VIRTIO_INT_USED | VIRTIO_INT_CONFIG))
		return "invalid interrupt status";
	if (s->driver_features & ~s->device_features)
		return "driver features the device did not offer";
	for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		const char *e = i < s->nr_queues ? virtq_state_error(&s->queues[i], VIRTQ_MAX_SIZE)
			: s->queues[i].size || s->queues[i].ready ? "a queue the device does not have"
			: NULL;

		if (e) {
			snprintf(why, len, "queue %u: %s", i, e);
			return why;
		}
	}
	return NULL;
}

int virtio_mmio_restore(struct virtio_mmio *t, const struct virtio_mmio_state *s, char *err,
			size_t errlen)
{
	bool live;
	int ret = 0;

	if (s->device_id != t->ops->device_id || s->nr_queues != t->ops->num_queues) {
		snprintf(err, errlen, "%s: the snapshot's device %u has a different type", t->name,
			 s->device_id);
		return -EINVAL;
	}
	/* What the driver took must be offered here too (a drive whose image
	 * now sits on a file system without hole punching offers no discard;
	 * features the driver did not take do not matter). */
	if (s->driver_features & ~t->device_features) {
		snprintf(err, errlen, "%s: the guest uses features 0x%llx that the device does "
			 "not offer here (0x%llx)", t->name,
			 (unsigned long long)(s->driver_features & ~t->device_features),
			 (unsigned long long)t->device_features);
		return -EINVAL;
	}
	pthread_mutex_lock(&t->lock);
	t->driver_features = s->driver_features;
	t->device_features_sel = s->device_features_sel;
	t->driver_features_sel = s->driver_features_sel;
	t->queue_sel = s->queue_sel;
	t->status = s->status;
	t->interrupt_status = s->interrupt_status;
	t->config_generation = s->config_generation;
	live = (s->status & VIRTIO_STATUS_DRIVER_OK) &&
	       (s->status & VIRTIO_STATUS_FEATURES_OK);
	for (unsigned int i = 0; !ret && i < t->ops->num_queues; i++) {
		struct virtq *q = &t->queues[i];

		if (s->queues[i].size > t->ops->queue_max) {
			snprintf(err, errlen, "%s: queue %u of size %u (at most %u)", t->name, i,
				 s->queues[i].size, t->ops->queue_max);
			ret = -EINVAL;
			break;
		}
		q->event_idx = virtio_mmio_has_feature(t, VIRTIO_RING_F_EVENT_IDX);
		q->indirect = virtio_mmio_has_feature(t, VIRTIO_RING_F_INDIRECT_DESC);
		ret = virtq_restore(q, t->gm, &s->queues[i], live);
		if (ret)
			snprintf(err, errlen, "%s: queue %u's rings (size %u, desc 0x%llx, avail "
				 "0x%llx, used 0x%llx) are not in guest RAM", t->name, i,
				 s->queues[i].size, (unsigned long long)s->queues[i].desc_gpa,
				 (unsigned long long)s->queues[i].avail_gpa,
				 (unsigned long long)s->queues[i].used_gpa);
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

void virtio_mmio_kick(struct virtio_mmio *t, unsigned int i)
{
	kick_queue(t, i);
}

void virtio_mmio_restart(struct virtio_mmio *t)
{
	uint64_t one = 1;

	pthread_mutex_lock(&t->lock);
	if ((t->status & VIRTIO_STATUS_DRIVER_OK) && t->interrupt_status &&
	    write(t->irq_efd, &one, sizeof(one)) < 0)
		log_warn("%s: irq eventfd: %s", t->name, strerror(errno));
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		for (unsigned int i = 0; i < t->ops->num_queues; i++)
			kick_queue(t, i);
	pthread_mutex_unlock(&t->lock);
}

int virtio_mmio_cmdline(char *buf, size_t len, uint64_t addr, unsigned int irq)
{
	int n = snprintf(buf, len, "virtio_mmio.device=4K@0x%llx:%u", (unsigned long long)addr, irq);

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}
