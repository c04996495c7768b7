// SPDX-License-Identifier: Apache-2.0
/*
 * virtq.c - the split virtqueue, device side (virtio 1.2 §2.7), for a
 * hostile driver.  See virtq.h for the contract.
 *
 * Guest structures are copied out of RAM once (gm_read, or one atomic
 * 16-bit load through gm_ptr for the ring indices) and only the copy is
 * validated and used; no pointer into guest RAM outlives the access that
 * produced it.  The guest is little-endian x86, like the host, but every
 * field still goes through leXXtoh so the layout is explicit.
 *
 * Rules enforced on each chain (any breach breaks the queue):
 *  - avail->idx may run at most `size` entries ahead of what was popped;
 *  - heads and `next` indices are below the queue size (the indirect table
 *    size inside a table), and a head is never made available while in flight;
 *  - a chain (direct descriptors plus indirect entries) holds at most
 *    `size` descriptors, which also catches every loop;
 *  - every buffer lies wholly inside one RAM region;
 *  - device-readable descriptors come before device-writable ones;
 *  - INDIRECT only when negotiated, never with NEXT, never nested, table
 *    length a non-zero multiple of 16 with at most `size` entries, in RAM.
 * Zero-length descriptors are allowed by the spec: they count towards the
 * chain length and the ordering rule, but yield no buffer (no 0-byte
 * access, no address check).
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/core/log.h"
#include "virtq.h"

/* One descriptor, as laid out in guest RAM (§2.7.5). */
struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct vdesc) == 16, "virtq descriptor is 16 bytes");

#define VIRTQ_USED_ELEM_SIZE 8

/* Where we are while walking one chain. */
struct walk {
	struct virtq_chain *chain;
	uint16_t len;                /* descriptors seen (direct + indirect) */
	bool seen_write;
};

/* ---- ring geometry -------------------------------------------------- */

static uint64_t desc_bytes(uint16_t size)  { return 16ull * size; }
static uint64_t avail_bytes(uint16_t size) { return 6ull + 2ull * size; }
static uint64_t used_bytes(uint16_t size)  { return 6ull + 8ull * size; }

static uint64_t used_event_gpa(const struct virtq *q)
{
	return q->avail_gpa + 4 + 2ull * q->size;
}

static uint64_t avail_event_gpa(const struct virtq *q)
{
	return q->used_gpa + 4 + 8ull * q->size;
}

/* ---- checked 16-bit ring accesses ---------------------------------- */

/* A single (untorn) load of a ring index or flags word. */
static int ring_load16(const struct virtq *q, uint64_t gpa, uint16_t *val)
{
	uint16_t *p = gm_ptr(q->gm, gpa, sizeof(*p));
	uint16_t v;

	if (!p)
		return -EFAULT;
	if ((uintptr_t)p % sizeof(*p))
		memcpy(&v, p, sizeof(v));      /* odd host base: fake RAM only */
	else
		v = __atomic_load_n(p, __ATOMIC_RELAXED);
	*val = le16toh(v);
	return 0;
}

static int ring_store16(const struct virtq *q, uint64_t gpa, uint16_t val)
{
	uint16_t *p = gm_ptr(q->gm, gpa, sizeof(*p));
	uint16_t v = htole16(val);

	if (!p)
		return -EFAULT;
	if ((uintptr_t)p % sizeof(*p))
		memcpy(p, &v, sizeof(v));
	else
		__atomic_store_n(p, v, __ATOMIC_RELAXED);
	gm_mark_dirty(q->gm, gpa, sizeof(*p));
	return 0;
}

/* ---- violations ----------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static int virtq_violation(struct virtq *q, const char *fmt, ...)
{
	char reason[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	q->broken = true;
	q->violations++;
	log_ratelimited(LOG_WARN, "%s: driver violation, queue stopped: %s",
			q->name ? q->name : "virtq", reason);
	return -EPROTO;
}

/* ---- activation and reset ------------------------------------------- */

static const char *virtq_layout_error(const struct virtq *q)
{
	if (!q->size || q->size > VIRTQ_MAX_SIZE || (q->size & (q->size - 1)))
		return "size is not a power of two in 1..VIRTQ_MAX_SIZE";
	if (q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4)
		return "misaligned ring";
	if (!gm_ptr(q->gm, q->desc_gpa, desc_bytes(q->size)))
		return "descriptor table outside RAM";
	if (!gm_ptr(q->gm, q->avail_gpa, avail_bytes(q->size)))
		return "available ring outside RAM";
	if (!gm_ptr(q->gm, q->used_gpa, used_bytes(q->size)))
		return "used ring outside RAM";
	return NULL;
}

void virtq_reset(struct virtq *q)
{
	q->ready = false;
	q->broken = false;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_valid = false;
	q->in_flight = 0;
	q->unflushed = 0;
	memset(q->head_busy, 0, sizeof(q->head_busy));
}

int virtq_activate(struct virtq *q, const struct guest_mem *gm)
{
	const char *err;

	virtq_reset(q);
	q->gm = gm;
	err = gm ? virtq_layout_error(q) : "no guest memory";
	if (err) {
		log_ratelimited(LOG_WARN, "%s: cannot start queue (size %u, desc %#llx, "
				"avail %#llx, used %#llx): %s",
				q->name ? q->name : "virtq", q->size,
				(unsigned long long)q->desc_gpa,
				(unsigned long long)q->avail_gpa,
				(unsigned long long)q->used_gpa, err);
		return -EINVAL;
	}
	q->ready = true;
	return 0;
}

/* ---- snapshots ------------------------------------------------------ */

int virtq_save(const struct virtq *q, bool dead, struct virtq_state *out)
{
	if (!dead && !q->broken && (q->in_flight || q->unflushed))
		return -EBUSY;
	*out = (struct virtq_state){
		.desc_gpa = q->desc_gpa, .avail_gpa = q->avail_gpa, .used_gpa = q->used_gpa,
		.size = q->size, .last_avail = q->last_avail, .used_idx = q->used_idx,
		.signalled_used = q->signalled_used, .ready = q->ready,
		.signalled_valid = q->signalled_valid, .broken = q->broken,
	};
	return 0;
}

int virtq_unpop(struct virtq *q, const uint16_t *heads, uint16_t n)
{
	uint16_t start = (uint16_t)(q->last_avail - n);

	if (n > q->in_flight)
		return -EINVAL;
	for (uint16_t i = 0; i < n; i++) {
		uint16_t head;
		uint64_t gpa = q->avail_gpa + 4 + 2ull * ((uint16_t)(start + i) % q->size);

		if (heads[i] >= q->size || !q->head_busy[heads[i]] || ring_load16(q, gpa, &head) ||
		    head != heads[i])
			return -EINVAL;
	}
	for (uint16_t i = 0; i < n; i++)
		q->head_busy[heads[i]] = 0;
	q->in_flight = (uint16_t)(q->in_flight - n);
	q->last_avail = start;
	return 0;
}

const char *virtq_state_error(const struct virtq_state *s, uint16_t queue_max)
{
	static const uint8_t zeros[sizeof(s->reserved)];

	if (s->size > queue_max || (s->size & (s->size - 1)))
		return "queue size is not a power of two up to the device's maximum";
	if (s->ready > 1 || s->signalled_valid > 1 || s->broken > 1 ||
	    memcmp(s->reserved, zeros, sizeof(zeros)))
		return "invalid queue flags";
	if (s->ready && !s->size)
		return "a ready queue of size 0";
	if (s->desc_gpa % 16 || s->avail_gpa % 2 || s->used_gpa % 4)
		return "misaligned ring";
	return NULL;
}

int virtq_restore(struct virtq *q, const struct guest_mem *gm, const struct virtq_state *s,
		  bool live)
{
	virtq_reset(q);
	q->gm = gm;
	q->size = s->size;
	q->desc_gpa = s->desc_gpa;
	q->avail_gpa = s->avail_gpa;
	q->used_gpa = s->used_gpa;
	q->ready = s->ready;
	if (!live || !s->ready)
		return 0;
	if (virtq_activate(q, gm)) {
		q->ready = false;
		return -EINVAL;
	}
	q->last_avail = s->last_avail;
	q->used_idx = s->used_idx;
	q->signalled_used = s->signalled_used;
	q->signalled_valid = s->signalled_valid;
	q->broken = s->broken;
	return 0;
}

/* ---- chain walking --------------------------------------------------- */

static int read_desc(struct virtq *q, uint64_t gpa, struct vdesc *d)
{
	if (gm_read(q->gm, gpa, d, sizeof(*d)))
		return virtq_violation(q, "descriptor at %#llx outside RAM",
				       (unsigned long long)gpa);
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
	return 0;
}

/* Account one (non-indirect) descriptor and record its buffer. */
static int walk_add(struct virtq *q, struct walk *w, const struct vdesc *d)
{
	struct virtq_chain *c = w->chain;
	bool wr = d->flags & VIRTQ_DESC_F_WRITE;

	if (++w->len > q->size)
		return virtq_violation(q, "chain from head %u longer than the queue size %u",
				       c->head, q->size);
	if (!wr && w->seen_write)
		return virtq_violation(q, "chain from head %u: readable descriptor after a "
				       "writable one", c->head);
	w->seen_write |= wr;
	if (!d->len)
		return 0;
	if (!gm_ptr(q->gm, d->addr, d->len))
		return virtq_violation(q, "chain from head %u: buffer %#llx+%u outside RAM",
				       c->head, (unsigned long long)d->addr, d->len);
	c->bufs[c->nr_bufs++] = (struct virtq_buf){
		.gpa = d->addr, .len = d->len, .device_writes = wr,
	};
	if (wr) {
		c->writable_len += d->len;
	} else {
		c->nr_readable++;
		c->readable_len += d->len;
	}
	return 0;
}

static int indirect_check(struct virtq *q, const struct walk *w, const struct vdesc *d)
{
	uint16_t head = w->chain->head;

	if (!q->indirect)
		return virtq_violation(q, "head %u: indirect descriptor not negotiated", head);
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return virtq_violation(q, "head %u: indirect descriptor with NEXT", head);
	if (!d->len || d->len % sizeof(struct vdesc))
		return virtq_violation(q, "head %u: indirect table length %u is not a "
				       "non-zero multiple of 16", head, d->len);
	if (d->len / sizeof(struct vdesc) > q->size)
		return virtq_violation(q, "head %u: indirect table of %u entries exceeds "
				       "the queue size %u", head,
				       (unsigned)(d->len / sizeof(struct vdesc)), q->size);
	if (!gm_ptr(q->gm, d->addr, d->len))
		return virtq_violation(q, "head %u: indirect table %#llx+%u outside RAM",
				       head, (unsigned long long)d->addr, d->len);
	return 0;
}

/* Walk the indirect table `ind` points at (the chain's last descriptor). */
static int walk_indirect(struct virtq *q, struct walk *w, const struct vdesc *ind)
{
	uint32_t entries = ind->len / sizeof(struct vdesc);
	uint32_t idx = 0, seen = 0;
	struct vdesc d;
	int ret;

	if ((ret = indirect_check(q, w, ind)))
		return ret;
	for (;;) {
		if (++seen > entries)
			return virtq_violation(q, "head %u: indirect table loops",
					       w->chain->head);
		if ((ret = read_desc(q, ind->addr + idx * sizeof(d), &d)))
			return ret;
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return virtq_violation(q, "head %u: nested indirect descriptor",
					       w->chain->head);
		if ((ret = walk_add(q, w, &d)))
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
		if (idx >= entries)
			return virtq_violation(q, "head %u: indirect next %u beyond the "
					       "table's %u entries", w->chain->head,
					       idx, entries);
	}
}

static int walk_chain(struct virtq *q, struct walk *w)
{
	uint32_t idx = w->chain->head, seen = 0;
	struct vdesc d;
	int ret;

	for (;;) {
		if (++seen > q->size)
			return virtq_violation(q, "chain from head %u loops",
					       w->chain->head);
		if ((ret = read_desc(q, q->desc_gpa + idx * sizeof(d), &d)))
			return ret;
		w->chain->nr_slots = (uint16_t)seen;
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return walk_indirect(q, w, &d);
		if ((ret = walk_add(q, w, &d)))
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
		if (idx >= q->size)
			return virtq_violation(q, "chain from head %u: next %u beyond the "
					       "queue size %u", w->chain->head, idx, q->size);
	}
}

/* ---- the available ring ---------------------------------------------- */

/* How many entries the driver made available that were not popped yet;
 * a violation if that exceeds the queue size. */
static int avail_pending(struct virtq *q, uint16_t *pending)
{
	uint16_t idx;

	if (ring_load16(q, q->avail_gpa + 2, &idx))
		return virtq_violation(q, "available ring outside RAM");
	*pending = (uint16_t)(idx - q->last_avail);
	if (*pending > q->size)
		return virtq_violation(q, "avail idx %u is %u entries ahead of %u "
				       "(queue size %u)", idx, *pending,
				       q->last_avail, q->size);
	return 0;
}

static int avail_head(struct virtq *q, uint16_t *head)
{
	uint16_t slot = q->last_avail % q->size;

	if (ring_load16(q, q->avail_gpa + 4 + 2ull * slot, head))
		return virtq_violation(q, "available ring outside RAM");
	if (*head >= q->size)
		return virtq_violation(q, "head %u beyond the queue size %u",
				       *head, q->size);
	if (q->head_busy[*head])
		return virtq_violation(q, "head %u made available while in flight", *head);
	return 0;
}

bool virtq_has_avail(struct virtq *q)
{
	uint16_t idx;

	if (!q->ready || q->broken)
		return false;
	if (ring_load16(q, q->avail_gpa + 2, &idx))
		return false;
	return idx != q->last_avail;
}

int virtq_pop(struct virtq *q, struct virtq_chain *chain)
{
	struct walk w = { .chain = chain };
	uint16_t pending = 0, head = 0;
	int ret;

	if (q->broken)
		return -EPROTO;
	if (!q->ready)
		return 0;
	if ((ret = avail_pending(q, &pending)) || !pending)
		return ret;
	/* Read the ring entry and descriptors only after seeing the index. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if ((ret = avail_head(q, &head)))
		return ret;
	chain->head = head;
	chain->nr_bufs = chain->nr_readable = chain->nr_slots = 0;
	chain->readable_len = chain->writable_len = 0;
	if ((ret = walk_chain(q, &w)))
		return ret;
	q->head_busy[head] = 1;
	q->in_flight++;
	q->last_avail++;
	return 1;
}

/* ---- the used ring ---------------------------------------------------- */

int virtq_fill(struct virtq *q, uint16_t head, uint32_t written, uint16_t idx_offset)
{
	uint32_t elem[2] = { htole32(head), htole32(written) };
	uint64_t slot;

	if (!q->ready || q->broken) {
		/* Nothing is written to a stopped queue; release the head so the
		 * device's accounting still balances. */
		if (q->ready && head < q->size && q->head_busy[head]) {
			q->head_busy[head] = 0;
			q->in_flight--;
		}
		return -EPROTO;
	}
	if (idx_offset >= q->size)
		return -EINVAL;
	if (head >= q->size || !q->head_busy[head])
		return virtq_violation(q, "push of head %u, which is not in flight", head);
	q->head_busy[head] = 0;
	q->in_flight--;
	slot = (uint16_t)(q->used_idx + idx_offset) % q->size;
	if (gm_write(q->gm, q->used_gpa + 4 + slot * VIRTQ_USED_ELEM_SIZE, elem,
		     sizeof(elem)))
		return virtq_violation(q, "used ring outside RAM");
	q->unflushed++;
	return 0;
}

int virtq_flush(struct virtq *q, uint16_t count)
{
	if (!q->ready || q->broken) {
		q->unflushed = 0;
		return -EPROTO;
	}
	if (count > q->unflushed)
		return -EINVAL;
	q->unflushed -= count;
	if (!count)
		return 0;
	/* The elements must be visible before the index that publishes them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->used_idx = (uint16_t)(q->used_idx + count);
	if (ring_store16(q, q->used_gpa + 2, q->used_idx))
		return virtq_violation(q, "used ring outside RAM");
	return 0;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	int ret = virtq_fill(q, head, written, 0);

	return ret ? ret : virtq_flush(q, 1);
}

/* virtio 1.2 §2.7.10.1: notify when new_idx passed event_idx since old. */
static bool vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

bool virtq_should_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used, val;
	bool valid = q->signalled_valid;

	if (!q->ready || q->broken)
		return false;
	/* Our used->idx store must be ordered before the flag/event load. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx) {
		if (ring_load16(q, q->avail_gpa, &val))
			return true;
		return !(val & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	if (ring_load16(q, used_event_gpa(q), &val) || !valid)
		return true;
	return vring_need_event(val, q->used_idx, old);
}

bool virtq_enable_notify(struct virtq *q)
{
	if (!q->ready || q->broken)
		return false;
	if (q->event_idx)
		ring_store16(q, avail_event_gpa(q), q->last_avail);
	else
		ring_store16(q, q->used_gpa, 0);   /* clear VIRTQ_USED_F_NO_NOTIFY */
	/* Publish the request before looking for entries that raced with it. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtq_has_avail(q);
}

/* ---- a chain's bytes -------------------------------------------------- */

/* A walk over one area (readable or writable buffers) of a chain. */
struct chain_pos {
	const struct virtq_chain *c;
	unsigned int i, end;         /* next buffer, end of the area */
	uint64_t skip;               /* bytes still to skip before the range */
};

static void chain_pos_init(struct chain_pos *p, const struct virtq_chain *c, bool writable,
			   uint64_t off)
{
	p->c = c;
	p->i = writable ? c->nr_readable : 0;
	p->end = writable ? c->nr_bufs : c->nr_readable;
	p->skip = off;
}

/* The next piece of the range, at most `len` bytes: its gpa and length.
 * False when the area ends first. */
static bool chain_pos_next(struct chain_pos *p, uint64_t len, uint64_t *gpa, uint64_t *n)
{
	const struct virtq_buf *b;

	while (p->i < p->end && p->skip >= p->c->bufs[p->i].len)
		p->skip -= p->c->bufs[p->i++].len;
	if (p->i == p->end)
		return false;
	b = &p->c->bufs[p->i++];
	*gpa = b->gpa + p->skip;
	*n = b->len - p->skip < len ? b->len - p->skip : len;
	p->skip = 0;
	return true;
}

int virtq_chain_iov(const struct guest_mem *gm, const struct virtq_chain *c, bool writable,
		    uint64_t off, uint64_t len, struct iovec *iov, unsigned int iov_cap)
{
	struct chain_pos p;
	unsigned int nr = 0;
	uint64_t gpa, n;

	chain_pos_init(&p, c, writable, off);
	for (; len && chain_pos_next(&p, len, &gpa, &n); len -= n) {
		void *host = gm_ptr(gm, gpa, n);

		if (!host)
			return -EFAULT;
		if (nr == iov_cap)
			return -ENOBUFS;
		iov[nr++] = (struct iovec){ .iov_base = host, .iov_len = n };
	}
	return len ? -EFAULT : (int)nr;
}

int virtq_chain_copy(const struct guest_mem *gm, const struct virtq_chain *c, bool writable,
		     uint64_t off, void *buf, uint64_t len)
{
	struct chain_pos p;
	uint8_t *bytes = buf;
	uint64_t gpa, n;

	chain_pos_init(&p, c, writable, off);
	for (; len && chain_pos_next(&p, len, &gpa, &n); len -= n, bytes += n) {
		int ret = writable ? gm_write(gm, gpa, bytes, n) : gm_read(gm, gpa, bytes, n);

		if (ret)
			return -EFAULT;
	}
	return len ? -EFAULT : 0;
}
