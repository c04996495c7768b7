// SPDX-License-Identifier: Apache-2.0
/* snapfile.c - see snapfile.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "snapfile.h"
#include "vmm/devices/acpi_pm.h"

/* Every part of the file is a multiple of 8 bytes: payloads stay aligned. */
_Static_assert(sizeof(struct snap_header) % 8 == 0, "header");
_Static_assert(sizeof(struct snap_region) % 8 == 0, "region");
_Static_assert(VCPU_STATE_FIXED_LEN % 8 == 0, "vcpu state");
_Static_assert(sizeof(struct vm_state) % 8 == 0, "vm state");
_Static_assert(sizeof(struct serial_state) % 8 == 0, "serial state");
_Static_assert(sizeof(struct i8042_state) % 8 == 0, "i8042 state");
_Static_assert(sizeof(struct snap_virtio) % 8 == 0, "virtio state");
_Static_assert(VCPU_CPUID_FIXED_LEN % 8 == 0 && sizeof(struct kvm_cpuid_entry2) % 8 == 0,
	       "cpuid");

/* ---- CRC-64 (ECMA-182 polynomial, reflected; init and final xor all ones) */

#define CRC64_POLY 0xc96c5795d7870f42ULL

uint64_t snap_crc64(const void *data, size_t len)
{
	static uint64_t table[256];
	static bool ready;
	const uint8_t *p = data;
	uint64_t crc = ~0ULL;

	if (!ready) {  /* first call is on the vmm thread; the values never change */
		for (unsigned int i = 0; i < 256; i++) {
			uint64_t c = i;

			for (int k = 0; k < 8; k++)
				c = (c & 1) ? (c >> 1) ^ CRC64_POLY : c >> 1;
			table[i] = c;
		}
		ready = true;
	}
	for (size_t i = 0; i < len; i++)
		crc = table[(uint8_t)(crc ^ p[i])] ^ (crc >> 8);
	return ~crc;
}

/* ---- writing ------------------------------------------------------------------- */

static void put(struct snap_writer *w, const void *data, size_t len)
{
	if (w->error)
		return;
	if (len > w->cap - w->len) {
		size_t cap = w->cap ? w->cap : 16384;
		uint8_t *buf;

		while (len > cap - w->len)
			cap *= 2;
		buf = realloc(w->buf, cap);
		if (!buf) {
			w->error = -ENOMEM;
			return;
		}
		w->buf = buf;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, data, len);
	w->len += len;
}

void snap_writer_init(struct snap_writer *w, uint64_t mem_size,
		      const struct snap_region *regions, uint32_t nr_regions)
{
	struct snap_header h = { .version = SNAP_VERSION, .nr_regions = nr_regions,
				 .mem_size = mem_size };

	memset(w, 0, sizeof(*w));
	memcpy(h.magic, SNAP_MAGIC, sizeof(h.magic));
	put(w, &h, sizeof(h));
	put(w, regions, nr_regions * sizeof(*regions));
}

void snap_writer_section(struct snap_writer *w, uint32_t type, uint32_t index,
			 const void *data, size_t len)
{
	struct snap_section_hdr sh = { .type = type, .index = index, .len = len };
	static const uint8_t zeros[8];

	put(w, &sh, sizeof(sh));
	put(w, data, len);
	put(w, zeros, (8 - len % 8) % 8);  /* every type's length is a multiple of 8 */
	w->nr_sections++;
}

int snap_writer_finish(struct snap_writer *w)
{
	uint64_t crc;

	if (w->error)
		return w->error;
	((struct snap_header *)w->buf)->nr_sections = w->nr_sections;
	crc = snap_crc64(w->buf, w->len);
	put(w, &crc, sizeof(crc));
	return w->error;
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

/* ---- reading ------------------------------------------------------------------- */

static int bad(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *const section_names[SNAP_SEC_COUNT] = {
	[SNAP_SEC_MACHINE] = "machine", [SNAP_SEC_VCPU] = "vcpu", [SNAP_SEC_VM] = "vm",
	[SNAP_SEC_SERIAL] = "serial", [SNAP_SEC_I8042] = "i8042",
	[SNAP_SEC_BOOT_TIMER] = "boot-timer", [SNAP_SEC_ACPI_PM] = "acpi-pm",
	[SNAP_SEC_DEVICES] = "devices", [SNAP_SEC_VIRTIO] = "virtio",
	[SNAP_SEC_CPUID] = "cpuid",
};

static const size_t section_lens[SNAP_SEC_COUNT] = {
	[SNAP_SEC_MACHINE] = sizeof(struct snap_machine),
	[SNAP_SEC_VCPU] = VCPU_STATE_FIXED_LEN,   /* plus its MSRs */
	[SNAP_SEC_VM] = sizeof(struct vm_state),
	[SNAP_SEC_SERIAL] = sizeof(struct serial_state),
	[SNAP_SEC_I8042] = sizeof(struct i8042_state),
	[SNAP_SEC_BOOT_TIMER] = sizeof(struct snap_boot_timer),
	[SNAP_SEC_ACPI_PM] = sizeof(struct snap_acpi_pm),
	[SNAP_SEC_DEVICES] = 0,                   /* its text: checked on its own */
	[SNAP_SEC_VIRTIO] = sizeof(struct snap_virtio),
	[SNAP_SEC_CPUID] = VCPU_CPUID_FIXED_LEN,  /* plus its entries */
};

/* The regions must be exactly those ember lays out for mem_size. */
static int check_regions(struct snap *s, const struct snap_region *r, char *err, size_t errlen)
{
	struct gm_region want[GM_MAX_REGIONS];
	uint64_t off = 0;
	int n;

	if (!s->mem_size || s->mem_size % MiB || s->mem_size / MiB < EMBER_MIN_MEM_MIB ||
	    s->mem_size / MiB > EMBER_MAX_MEM_MIB)
		return bad(err, errlen, "guest RAM of %llu bytes: not a whole number of MiB in "
			   "[%llu, %llu] MiB", (unsigned long long)s->mem_size,
			   EMBER_MIN_MEM_MIB, EMBER_MAX_MEM_MIB);
	n = gm_layout_of(s->mem_size, MMIO_GAP_START, MMIO_GAP_END, want);
	if (s->nr_regions != (uint32_t)n)
		return bad(err, errlen, "%u memory regions, but %llu MiB of RAM is laid out in %d",
			   s->nr_regions, (unsigned long long)(s->mem_size / MiB), n);
	for (uint32_t i = 0; i < s->nr_regions; i++) {
		const struct snap_region *a = &r[i];

		if (a->size > UINT64_MAX - a->gpa)
			return bad(err, errlen, "memory region %u leaves the address space", i);
		for (uint32_t j = 0; j < i; j++)
			if (a->gpa < r[j].gpa + r[j].size && r[j].gpa < a->gpa + a->size)
				return bad(err, errlen, "memory region %u overlaps region %u", i, j);
		if (a->gpa != want[i].gpa || a->size != want[i].size)
			return bad(err, errlen, "memory region %u [0x%llx, +0x%llx) is not guest RAM "
				   "(want [0x%llx, +0x%llx))", i, (unsigned long long)a->gpa,
				   (unsigned long long)a->size, (unsigned long long)want[i].gpa,
				   (unsigned long long)want[i].size);
		if (a->file_offset != off)
			return bad(err, errlen, "memory region %u at file offset 0x%llx (want 0x%llx)",
				   i, (unsigned long long)a->file_offset, (unsigned long long)off);
		s->regions[i] = *a;
		off += a->size;
	}
	s->mem_file_min = off;
	return 0;
}

/* One section's payload, its length already checked against the buffer. */
static int take_section(struct snap *s, const struct snap_section_hdr *h, const void *p,
			char *err, size_t errlen)
{
	const char *name = h->type && h->type < SNAP_SEC_COUNT ? section_names[h->type] : NULL;
	size_t want;
	const void **slot;

	if (!name)
		return bad(err, errlen, "unknown section type %u", h->type);
	want = section_lens[h->type];
	if (h->type == SNAP_SEC_VCPU && h->len >= want) {
		const struct vcpu_state *v = p;

		if (v->nr_msrs > VCPU_STATE_MAX_MSRS)
			return bad(err, errlen, "vcpu %u: %u MSRs (at most %d)", h->index,
				   v->nr_msrs, VCPU_STATE_MAX_MSRS);
		want += v->nr_msrs * sizeof(v->msrs[0]);
	}
	if (h->type == SNAP_SEC_DEVICES) {
		if (!h->len || h->len > SNAP_MAX_DEVICES_JSON || !memchr(p, 0, h->len))
			return bad(err, errlen, "devices section of %llu bytes: not a text of at "
				   "most %u bytes", (unsigned long long)h->len, SNAP_MAX_DEVICES_JSON);
		want = h->len;
	}
	if (h->type == SNAP_SEC_CPUID && h->len >= want) {
		const struct vcpu_cpuid *c = p;

		if (c->nent > VCPU_CPUID_MAX)
			return bad(err, errlen, "vcpu %u: %u CPUID entries (at most %d)", h->index,
				   c->nent, VCPU_CPUID_MAX);
		want += c->nent * sizeof(c->entries[0]);
	}
	if (h->len != want)
		return bad(err, errlen, "%s section of %llu bytes (want %zu)", name,
			   (unsigned long long)h->len, want);
	if (h->type == SNAP_SEC_VIRTIO) {
		if (h->index >= SNAP_MAX_DEVICES)
			return bad(err, errlen, "virtio section index %u (at most %d devices)",
				   h->index, SNAP_MAX_DEVICES);
		slot = (const void **)&s->virtio[h->index];
	} else if (h->type == SNAP_SEC_VCPU || h->type == SNAP_SEC_CPUID) {
		if (h->index >= EMBER_MAX_VCPUS)
			return bad(err, errlen, "%s section index %u (at most %d vCPUs)", name,
				   h->index, EMBER_MAX_VCPUS);
		slot = h->type == SNAP_SEC_VCPU ? (const void **)&s->vcpu[h->index] :
						  (const void **)&s->cpuid[h->index];
	} else if (h->index) {
		return bad(err, errlen, "%s section with index %u", name, h->index);
	} else {
		const void **slots[SNAP_SEC_COUNT] = {
			[SNAP_SEC_MACHINE] = (const void **)&s->machine,
			[SNAP_SEC_VM] = (const void **)&s->vm,
			[SNAP_SEC_SERIAL] = (const void **)&s->serial,
			[SNAP_SEC_I8042] = (const void **)&s->i8042,
			[SNAP_SEC_BOOT_TIMER] = (const void **)&s->boot_timer,
			[SNAP_SEC_ACPI_PM] = (const void **)&s->acpi_pm,
			[SNAP_SEC_DEVICES] = (const void **)&s->devices_json,
		};
		slot = slots[h->type];
	}
	if (*slot)
		return bad(err, errlen, "%s section %u appears twice", name, h->index);
	*slot = p;
	return 0;
}

/* Does [gpa, gpa + len) lie inside one RAM region of the file's layout? */
static bool in_ram(const struct snap *s, uint64_t gpa, uint64_t len)
{
	for (uint32_t i = 0; i < s->nr_regions; i++) {
		const struct snap_region *r = &s->regions[i];

		if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
			return true;
	}
	return false;
}

/* One device's transport: its own bounds, and a ready queue's rings in RAM. */
static int check_virtio(const struct snap *s, uint32_t i, char *err, size_t errlen)
{
	const struct virtio_mmio_state *t = &s->virtio[i]->t;
	char why[96];
	const char *e = virtio_mmio_state_error(t, why, sizeof(why));

	if (!e && t->device_id != 1 && t->device_id != 2 && t->device_id != 19)
		e = "not a block, network or vsock device";
	if (e)
		return bad(err, errlen, "virtio device %u: %s", i, e);
	for (uint32_t k = 0; k < t->nr_queues; k++) {
		const struct virtq_state *q = &t->queues[k];

		if (q->ready && (!in_ram(s, q->desc_gpa, 16ull * q->size) ||
				 !in_ram(s, q->avail_gpa, 6 + 2ull * q->size) ||
				 !in_ram(s, q->used_gpa, 6 + 8ull * q->size)))
			return bad(err, errlen, "virtio device %u: queue %u's rings (desc 0x%llx, "
				   "avail 0x%llx, used 0x%llx, size %u) are not in guest RAM", i, k,
				   (unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
				   (unsigned long long)q->used_gpa, q->size);
	}
	return 0;
}

/* The register bits of a leaf that differ from vCPU to vCPU (cpuid.c sets
 * them): the APIC id in leaf 1 and the topology leaves, AMD's extended
 * APIC id and core id.  0 for every other leaf. */
static uint32_t cpuid_own_bits(uint32_t function, int reg)
{
	static const struct { uint32_t function; uint32_t mask[4]; } own[] = {
		{ 0x1,        { 0, 0xff000000u, 0, 0 } },
		{ 0xb,        { 0, 0, 0, 0xffffffffu } },
		{ 0x1f,       { 0, 0, 0, 0xffffffffu } },
		{ 0x8000001e, { 0xffffffffu, 0xffu, 0, 0 } },
	};

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (own[i].function == function)
			return own[i].mask[reg];
	return 0;
}

/* One vCPU's CPUID: a sane size, leaves in the four ranges KVM knows (basic,
 * hypervisor, extended, Centaur; 256 each), subleaves below 256, no
 * function/index twice; and every vCPU's like vCPU 0's, entry by entry,
 * apart from its own ids. */
static int check_cpuid(const struct snap *s, uint32_t v, char *err, size_t errlen)
{
	const struct vcpu_cpuid *c = s->cpuid[v], *c0 = s->cpuid[0];

	if (!c->nent || c->padding)
		return bad(err, errlen, "vcpu %u: a CPUID of %u entries", v, c->nent);
	if (c->nent != c0->nent)
		return bad(err, errlen, "vcpu %u has %u CPUID entries, vcpu 0 %u", v, c->nent,
			   c0->nent);
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i], *e0 = &c0->entries[i];
		uint32_t r[4] = { e->eax, e->ebx, e->ecx, e->edx };
		uint32_t r0[4] = { e0->eax, e0->ebx, e0->ecx, e0->edx };

		if ((e->function & 0x3fffff00u) || e->index > 0xff || e->padding[0] ||
		    e->padding[1] || e->padding[2])
			return bad(err, errlen, "vcpu %u: CPUID entry %u (leaf 0x%x, subleaf 0x%x) "
				   "is not a CPUID leaf", v, i, e->function, e->index);
		for (uint32_t j = 0; j < i; j++)
			if (c->entries[j].function == e->function && c->entries[j].index == e->index)
				return bad(err, errlen, "vcpu %u: CPUID leaf 0x%x, subleaf 0x%x appears "
					   "twice", v, e->function, e->index);
		if (v == 0)
			continue;
		if (e->function != e0->function || e->index != e0->index || e->flags != e0->flags)
			return bad(err, errlen, "vcpu %u: CPUID entry %u is leaf 0x%x, subleaf 0x%x, "
				   "vcpu 0's leaf 0x%x, subleaf 0x%x", v, i, e->function, e->index,
				   e0->function, e0->index);
		for (int k = 0; k < 4; k++)
			if ((r[k] ^ r0[k]) & ~cpuid_own_bits(e->function, k))
				return bad(err, errlen, "vcpu %u: CPUID leaf 0x%x, subleaf 0x%x differs "
					   "from vcpu 0's", v, e->function, e->index);
	}
	return 0;
}

static int check_devices(const struct snap *s, char *err, size_t errlen)
{
	uint32_t n = s->machine->nr_devices;
	int ret = 0;

	if (n > SNAP_MAX_DEVICES)
		return bad(err, errlen, "%u virtio devices (at most %d)", n, SNAP_MAX_DEVICES);
	if (n && !s->devices_json)
		return bad(err, errlen, "%u virtio devices but no devices section", n);
	if (!n && s->devices_json)
		return bad(err, errlen, "a devices section but no virtio device");
	for (uint32_t i = 0; !ret && i < SNAP_MAX_DEVICES; i++) {
		if (i < n && !s->virtio[i])
			return bad(err, errlen, "virtio device %u of %u has no section", i, n);
		if (i >= n && s->virtio[i])
			return bad(err, errlen, "a section for virtio device %u, but the machine has "
				   "%u", i, n);
		if (i < n)
			ret = check_virtio(s, i, err, errlen);
	}
	return ret;
}

/* What each section says, once all are found. */
static int check_states(const struct snap *s, char *err, size_t errlen)
{
	const struct snap_machine *m = s->machine;
	int ret;

	if (!m)
		return bad(err, errlen, "no machine section");
	if (m->nr_vcpus < 1 || m->nr_vcpus > EMBER_MAX_VCPUS)
		return bad(err, errlen, "%u vCPUs (1 to %d)", m->nr_vcpus, EMBER_MAX_VCPUS);
	if (m->flags & ~(SNAP_MACHINE_BOOT_TIMER | SNAP_MACHINE_SMT) || m->reserved)
		return bad(err, errlen, "machine section: unknown flags 0x%x", m->flags);
	for (uint32_t i = 0; i < EMBER_MAX_VCPUS; i++) {
		if (i < m->nr_vcpus && !s->vcpu[i])
			return bad(err, errlen, "vcpu %u of %u has no section", i, m->nr_vcpus);
		if (i >= m->nr_vcpus && s->vcpu[i])
			return bad(err, errlen, "a section for vcpu %u, but the machine has %u vCPUs",
				   i, m->nr_vcpus);
		if (s->vcpu[i] && (s->vcpu[i]->reserved ||
				   s->vcpu[i]->mp_state.mp_state > KVM_MP_STATE_AP_RESET_HOLD))
			return bad(err, errlen, "vcpu %u: invalid MP state %u", i,
				   s->vcpu[i]->mp_state.mp_state);
		if (i < m->nr_vcpus && !s->cpuid[i])
			return bad(err, errlen, "vcpu %u of %u has no CPUID section", i, m->nr_vcpus);
		if (i >= m->nr_vcpus && s->cpuid[i])
			return bad(err, errlen, "a CPUID section for vcpu %u, but the machine has %u "
				   "vCPUs", i, m->nr_vcpus);
		ret = s->cpuid[i] ? check_cpuid(s, i, err, errlen) : 0;
		if (ret)
			return ret;
	}
	if (!s->vm || !s->serial || !s->i8042 || !s->boot_timer || !s->acpi_pm)
		return bad(err, errlen, "missing the %s section", !s->vm ? "vm" : !s->serial ?
			   "serial" : !s->i8042 ? "i8042" : !s->boot_timer ? "boot-timer" : "acpi-pm");
	for (uint32_t i = 0; i < 3; i++)
		if (s->vm->irqchip[i].chip_id != i)
			return bad(err, errlen, "irqchip %u has chip id %u", i,
				   s->vm->irqchip[i].chip_id);
	ret = serial_state_check(s->serial, err, errlen);
	if (!ret)
		ret = i8042_state_check(s->i8042, err, errlen);
	if (ret)
		return ret;
	if (s->boot_timer->measured > 1 || s->boot_timer->reserved)
		return bad(err, errlen, "boot-timer section: invalid values");
	if (s->acpi_pm->event > ACPI_PM_REBOOT || s->acpi_pm->reserved)
		return bad(err, errlen, "acpi-pm section: invalid event %u", s->acpi_pm->event);
	return check_devices(s, err, errlen);
}

int snap_parse(const void *buf, size_t len, struct snap *s, char *err, size_t errlen)
{
	const uint8_t *p = buf;
	const struct snap_header *h = buf;
	size_t off, end;
	uint64_t crc;
	int ret;

	memset(s, 0, sizeof(*s));
	if (len < sizeof(*h) + sizeof(crc) || memcmp(h->magic, SNAP_MAGIC, sizeof(h->magic)))
		return bad(err, errlen, "not an ember snapshot state file (no \"%s\" magic)",
			   SNAP_MAGIC);
	if (h->version != SNAP_VERSION)
		return bad(err, errlen, "snapshot version %u is not supported (this ember reads "
			   "version %d)", h->version, SNAP_VERSION);
	if (len > SNAP_MAX_FILE || len % 8)
		return bad(err, errlen, "a state file of %zu bytes is not a version %d snapshot",
			   len, SNAP_VERSION);
	end = len - sizeof(crc);
	memcpy(&crc, p + end, sizeof(crc));
	if (snap_crc64(p, end) != crc)
		return bad(err, errlen, "checksum mismatch: the state file is damaged or truncated");
	s->version = h->version;
	s->mem_size = h->mem_size;
	s->nr_regions = h->nr_regions;
	s->nr_sections = h->nr_sections;
	if (h->reserved || !h->nr_regions || h->nr_regions > GM_MAX_REGIONS)
		return bad(err, errlen, "%u memory regions (1 to %d)", h->nr_regions, GM_MAX_REGIONS);
	if (h->nr_sections > SNAP_MAX_SECTIONS)
		return bad(err, errlen, "%u sections (at most %d)", h->nr_sections, SNAP_MAX_SECTIONS);
	off = sizeof(*h) + h->nr_regions * sizeof(struct snap_region);
	if (off > end)
		return bad(err, errlen, "the state file ends inside its region list");
	ret = check_regions(s, (const struct snap_region *)(p + sizeof(*h)), err, errlen);
	for (uint32_t i = 0; !ret && i < h->nr_sections; i++) {
		const struct snap_section_hdr *sh = (const void *)(p + off);

		if (end - off < sizeof(*sh))
			return bad(err, errlen, "the state file ends before section %u of %u", i,
				   h->nr_sections);
		off += sizeof(*sh);
		if (sh->len > end - off || sh->len % 8)
			return bad(err, errlen, "section %u (type %u) of %llu bytes runs past the end",
				   i, sh->type, (unsigned long long)sh->len);
		ret = take_section(s, sh, p + off, err, errlen);
		off += sh->len;
	}
	if (ret)
		return ret;
	if (off != end)
		return bad(err, errlen, "%zu bytes after the last section", end - off);
	return check_states(s, err, errlen);
}

/* ---- describing ------------------------------------------------------------------ */

void snap_describe(const struct snap *s, FILE *out)
{
	fprintf(out, "ember snapshot, version %u\n", s->version);
	fprintf(out, "guest RAM: %llu MiB in %u region(s); memory file at least %llu bytes\n",
		(unsigned long long)(s->mem_size / MiB), s->nr_regions,
		(unsigned long long)s->mem_file_min);
	for (uint32_t i = 0; i < s->nr_regions; i++)
		fprintf(out, "  region %u: guest 0x%llx, %llu bytes, file offset 0x%llx\n", i,
			(unsigned long long)s->regions[i].gpa,
			(unsigned long long)s->regions[i].size,
			(unsigned long long)s->regions[i].file_offset);
	fprintf(out, "vCPUs: %u%s; virtio devices: %u; boot timer: %s; sections: %u\n",
		s->machine->nr_vcpus, s->machine->flags & SNAP_MACHINE_SMT ? " (smt)" : "",
		s->machine->nr_devices,
		s->machine->flags & SNAP_MACHINE_BOOT_TIMER ? "yes" : "no", s->nr_sections);
	for (uint32_t i = 0; i < s->machine->nr_vcpus; i++)
		fprintf(out, "  vcpu %u: rip 0x%llx, %u MSRs, TSC %u kHz, %u CPUID entries\n", i,
			(unsigned long long)s->vcpu[i]->regs.rip, s->vcpu[i]->nr_msrs,
			s->vcpu[i]->tsc_khz, s->cpuid[i]->nent);
	for (uint32_t i = 0; i < s->machine->nr_devices; i++) {
		const struct virtio_mmio_state *t = &s->virtio[i]->t;

		fprintf(out, "  virtio %u: device id %u, status 0x%x, features 0x%llx\n", i,
			t->device_id, t->status, (unsigned long long)t->driver_features);
		for (uint32_t k = 0; k < t->nr_queues; k++)
			if (t->queues[k].ready)
				fprintf(out, "    queue %u: size %u, avail %u, used %u\n", k,
					t->queues[k].size, t->queues[k].last_avail,
					t->queues[k].used_idx);
	}
	if (s->devices_json)
		fprintf(out, "devices: %s\n", s->devices_json);
}
