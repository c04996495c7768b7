// SPDX-License-Identifier: Apache-2.0
/*
 * test_snapfile.c - the snapshot state file as untrusted input: a file the
 * writer makes parses back; truncated at every section boundary, with bits
 * flipped, a wrong version, vCPU or device counts that do not match the
 * machine, regions that overlap or leave RAM, broken device states, and a
 * memory file shorter than the layout: each refused with a message saying
 * what is wrong, never a crash (ASan/UBSan watch).
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "vmm/snapfile.h"
#include "vmm/snapshot.h"

#define MEM (64 * MiB)

struct file {
	uint8_t *buf;
	size_t len;
	size_t boundaries[SNAP_MAX_SECTIONS + 4];  /* offsets where a part starts */
	unsigned int nb;
};

#define DEVICES_JSON "{\"drives\":[{\"drive_id\":\"d0\"}]}"

/* A live virtio-block transport whose one queue of 8 lies at 4 MiB. */
static void make_virtio(struct snap_virtio *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->t.device_id = 2;
	sv->t.nr_queues = 1;
	sv->t.device_features = (1ULL << 32) | (1ULL << 29);
	sv->t.driver_features = 1ULL << 32;
	sv->t.status = 15;
	sv->t.interrupt_status = 1;
	sv->t.queues[0] = (struct virtq_state){ .desc_gpa = 0x400000, .avail_gpa = 0x401000,
		.used_gpa = 0x402000, .size = 8, .last_avail = 95, .used_idx = 95, .ready = 1 };
}

/* Five CPUID entries like a real vCPU's: leaf 0, leaf 1 (its APIC id in
 * EBX), the extended topology's two subleaves (its x2APIC id in EDX), and
 * the brand's first part; the first `nent` of them. */
static size_t make_cpuid(struct vcpu_cpuid *c, unsigned int vcpu, uint32_t nent)
{
	const struct kvm_cpuid_entry2 e[] = {
		{ .function = 0, .eax = 0x1f, .ebx = 0x756e6547 },
		{ .function = 1, .eax = 0x806f8, .ebx = vcpu << 24 | 0x020800, .ecx = 0xfffa3203 },
		{ .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		  .eax = 1, .ebx = 1, .ecx = 0x100, .edx = vcpu },
		{ .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		  .eax = 1, .ebx = 2, .ecx = 0x201, .edx = vcpu },
		{ .function = 0x80000002, .eax = 0x65626d65 },
	};

	memset(c, 0, sizeof(*c));
	c->nent = nent;
	memcpy(c->entries, e, nent * sizeof(e[0]));
	return VCPU_CPUID_FIXED_LEN + nent * sizeof(e[0]);
}

#define NO_CPUID UINT32_MAX   /* make_n: leave that vCPU's CPUID section out */

/* A valid state file for `vcpus` vCPUs and `mem` bytes of RAM (three MSRs
 * each; vCPU 0 and the others with nent0 and nent CPUID entries), with
 * `nr_devices` virtio devices (and their configuration) when `sections`
 * says so, else only claiming them. */
static void make(struct file *f, unsigned int vcpus, uint64_t mem, uint32_t nr_devices);
static void make_full(struct file *f, unsigned int vcpus, uint64_t mem, uint32_t nr_devices,
		      bool sections, uint32_t nent0, uint32_t nent)
{
	struct gm_region want[GM_MAX_REGIONS];
	struct snap_region r[GM_MAX_REGIONS];
	struct snap_machine m = { .nr_vcpus = vcpus, .nr_devices = nr_devices,
				  .flags = SNAP_MACHINE_BOOT_TIMER };
	struct vcpu_state *v = calloc(1, sizeof(*v));
	struct vcpu_cpuid *c = calloc(1, sizeof(*c));
	struct vm_state vm = { 0 };
	struct serial_state ss = { .ier = 1, .rx_len = 3, .rx_head = 62 };
	struct i8042_state ks = { .len = 2, .head = 15 };
	struct snap_boot_timer bt = { .boot_us = 1234, .measured = 1 };
	struct snap_acpi_pm pm = { 0 };
	struct snap_writer w;
	uint64_t off = 0;
	int n = gm_layout_of(mem, MMIO_GAP_START, MMIO_GAP_END, want);

	assert_non_null(v);
	assert_non_null(c);
	for (int i = 0; i < n; i++) {
		r[i] = (struct snap_region){ .gpa = want[i].gpa, .size = want[i].size,
					     .file_offset = off };
		off += want[i].size;
	}
	memset(f, 0, sizeof(*f));
	snap_writer_init(&w, mem, r, (uint32_t)n);
	f->boundaries[f->nb++] = sizeof(struct snap_header);
	f->boundaries[f->nb++] = w.len;
	snap_writer_section(&w, SNAP_SEC_MACHINE, 0, &m, sizeof(m));
	for (unsigned int i = 0; i < vcpus; i++) {
		v->regs.rip = 0x100000 + i;
		v->nr_msrs = 3;
		v->msrs[0].index = 0x10;
		f->boundaries[f->nb++] = w.len;
		snap_writer_section(&w, SNAP_SEC_VCPU, i, v, VCPU_STATE_FIXED_LEN + 3 * sizeof(v->msrs[0]));
		if ((i ? nent : nent0) == NO_CPUID)
			continue;
		f->boundaries[f->nb++] = w.len;
		snap_writer_section(&w, SNAP_SEC_CPUID, i, c, make_cpuid(c, i, i ? nent : nent0));
	}
	for (uint32_t i = 0; i < 3; i++)
		vm.irqchip[i].chip_id = i;
	f->boundaries[f->nb++] = w.len;
	snap_writer_section(&w, SNAP_SEC_VM, 0, &vm, sizeof(vm));
	f->boundaries[f->nb++] = w.len;
	snap_writer_section(&w, SNAP_SEC_SERIAL, 0, &ss, sizeof(ss));
	f->boundaries[f->nb++] = w.len;
	snap_writer_section(&w, SNAP_SEC_I8042, 0, &ks, sizeof(ks));
	f->boundaries[f->nb++] = w.len;
	snap_writer_section(&w, SNAP_SEC_BOOT_TIMER, 0, &bt, sizeof(bt));
	f->boundaries[f->nb++] = w.len;
	snap_writer_section(&w, SNAP_SEC_ACPI_PM, 0, &pm, sizeof(pm));
	f->boundaries[f->nb++] = w.len;
	if (sections && nr_devices) {
		char text[64] = DEVICES_JSON;      /* NUL-padded to 64 bytes */
		struct snap_virtio sv;

		snap_writer_section(&w, SNAP_SEC_DEVICES, 0, text, sizeof(text));
		f->boundaries[f->nb++] = w.len;
		for (uint32_t i = 0; i < nr_devices; i++) {
			make_virtio(&sv);
			snap_writer_section(&w, SNAP_SEC_VIRTIO, i, &sv, sizeof(sv));
			f->boundaries[f->nb++] = w.len;
		}
	}
	assert_int_equal(snap_writer_finish(&w), 0);
	f->buf = w.buf;
	f->len = w.len;
	free(c);
	free(v);
}

static void make_devs(struct file *f, unsigned int vcpus, uint64_t mem, uint32_t nr_devices,
		      bool sections)
{
	make_full(f, vcpus, mem, nr_devices, sections, 5, 5);
}

static void make_n(struct file *f, unsigned int vcpus, uint64_t mem, uint32_t nr_devices,
		   uint32_t nent0, uint32_t nent)
{
	make_full(f, vcpus, mem, nr_devices, false, nent0, nent);
}

static void make(struct file *f, unsigned int vcpus, uint64_t mem, uint32_t nr_devices)
{
	make_n(f, vcpus, mem, nr_devices, 5, 5);
}

/* Put a correct checksum back after an edit (a crafted file, not damage). */
static void reseal(struct file *f)
{
	uint64_t crc = snap_crc64(f->buf, f->len - 8);

	memcpy(f->buf + f->len - 8, &crc, 8);
}

/* The payload of the first section of `type` (index `index`). */
static void *section(struct file *f, uint32_t type, uint32_t index)
{
	const struct snap_header *h = (const void *)f->buf;
	size_t off = sizeof(*h) + h->nr_regions * sizeof(struct snap_region);

	for (uint32_t i = 0; i < h->nr_sections; i++) {
		struct snap_section_hdr *sh = (void *)(f->buf + off);

		if (sh->type == type && sh->index == index)
			return sh + 1;
		off += sizeof(*sh) + sh->len;
	}
	fail_msg("no section %u/%u", type, index);
	return NULL;
}

static struct snap_header *header(struct file *f)
{
	return (struct snap_header *)f->buf;
}

static struct snap_region *region(struct file *f, unsigned int i)
{
	return (struct snap_region *)(f->buf + sizeof(struct snap_header)) + i;
}

/* Parse; expect refusal with `words` in the message. */
static void refused(struct file *f, const char *words)
{
	struct snap s;
	char err[256] = "";

	assert_ret(snap_parse(f->buf, f->len, &s, err, sizeof(err)), -EINVAL);
	if (!strstr(err, words))
		fail_msg("message '%s' does not say '%s'", err, words);
}

static void test_round_trip(void **state)
{
	struct file f;
	struct snap s;
	char err[256] = "";

	(void)state;
	make(&f, 2, MEM, 0);
	assert_int_equal(snap_parse(f.buf, f.len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.version, SNAP_VERSION);
	assert_int_equal(s.machine->nr_vcpus, 2);
	assert_int_equal(s.vcpu[1]->regs.rip, 0x100001);
	assert_int_equal(s.vcpu[1]->nr_msrs, 3);
	assert_int_equal(s.mem_file_min, MEM);
	assert_int_equal(s.serial->rx_head, 62);
	assert_int_equal(s.boot_timer->boot_us, 1234);
	assert_null(s.vcpu[2]);
	assert_int_equal(s.cpuid[1]->nent, 5);
	assert_int_equal(s.cpuid[1]->entries[1].ebx >> 24, 1);
	assert_int_equal(s.cpuid[1]->entries[3].edx, 1);
	assert_null(s.cpuid[2]);
	free(f.buf);
}

/* Past the MMIO hole: two regions, the second at 4 GiB, offsets back to back. */
static void test_two_regions(void **state)
{
	struct file f;
	struct snap s;
	char err[256] = "";

	(void)state;
	make(&f, 1, 4 * GiB, 0);
	assert_int_equal(snap_parse(f.buf, f.len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nr_regions, 2);
	assert_int_equal(s.regions[1].gpa, MMIO_GAP_END);
	assert_int_equal(s.regions[1].file_offset, MMIO_GAP_START);
	assert_int_equal(s.mem_file_min, 4 * GiB);
	free(f.buf);
}

/* Cut at every boundary between parts: the checksum no longer matches; and
 * with a checksum made to match (a crafted short file), the structure
 * checks refuse it all the same. */
static void test_truncated_at_every_boundary(void **state)
{
	struct file f;

	(void)state;
	make_devs(&f, 2, MEM, 2, true);
	for (unsigned int i = 0; i < f.nb; i++) {
		struct file t = { .len = f.boundaries[i] + 8 };
		struct snap s;
		char err[256] = "";

		t.buf = malloc(t.len);
		memcpy(t.buf, f.buf, t.len);
		assert_ret(snap_parse(t.buf, f.boundaries[i], &s, err, sizeof(err)), -EINVAL);
		/* resealed: only the last boundary (the whole file) is whole */
		reseal(&t);
		if (f.boundaries[i] + 8 != f.len)
			assert_ret(snap_parse(t.buf, t.len, &s, err, sizeof(err)), -EINVAL);
		free(t.buf);
	}
	free(f.buf);
}

static void test_bit_flips(void **state)
{
	struct file f;
	unsigned int seed = 16;

	(void)state;
	make_devs(&f, 1, MEM, 1, true);
	for (int i = 0; i < 2000; i++) {
		size_t bit = (size_t)rand_r(&seed) % (f.len * 8);
		struct snap s;
		char err[256] = "";

		f.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_ret(snap_parse(f.buf, f.len, &s, err, sizeof(err)), -EINVAL);
		/* resealed, the file must still never crash the parser */
		reseal(&f);
		(void)snap_parse(f.buf, f.len, &s, err, sizeof(err));
		f.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		reseal(&f);
	}
	free(f.buf);
}

static void test_wrong_magic_and_version(void **state)
{
	struct file f;

	(void)state;
	make(&f, 1, MEM, 0);
	header(&f)->version = 1;          /* the format before CPUID and devices */
	reseal(&f);
	refused(&f, "version 1 is not supported");
	header(&f)->version = 3;
	reseal(&f);
	refused(&f, "version 3 is not supported");
	header(&f)->version = SNAP_VERSION;
	header(&f)->magic[0] = 'X';
	reseal(&f);
	refused(&f, "not an ember snapshot");
	free(f.buf);
}

static void test_vcpu_count_mismatch(void **state)
{
	struct file f;
	struct snap_machine *m;

	(void)state;
	make(&f, 2, MEM, 0);
	m = section(&f, SNAP_SEC_MACHINE, 0);
	m->nr_vcpus = 3;
	reseal(&f);
	refused(&f, "vcpu 2 of 3 has no section");
	m->nr_vcpus = 1;
	reseal(&f);
	refused(&f, "a section for vcpu 1, but the machine has 1 vCPUs");
	m->nr_vcpus = 0;
	reseal(&f);
	refused(&f, "0 vCPUs");
	m->nr_vcpus = 2;
	((struct snap_section_hdr *)section(&f, SNAP_SEC_VCPU, 1) - 1)->index = 0;
	reseal(&f);
	refused(&f, "vcpu section 0 appears twice");
	free(f.buf);
}

static void test_device_count_mismatch(void **state)
{
	struct file f;

	(void)state;
	make(&f, 1, MEM, 2);
	refused(&f, "2 virtio devices but no devices section");
	free(f.buf);
	make_devs(&f, 1, MEM, 2, true);
	((struct snap_machine *)section(&f, SNAP_SEC_MACHINE, 0))->nr_devices = 3;
	reseal(&f);
	refused(&f, "virtio device 2 of 3 has no section");
	((struct snap_machine *)section(&f, SNAP_SEC_MACHINE, 0))->nr_devices = 1;
	reseal(&f);
	refused(&f, "a section for virtio device 1, but the machine has 1");
	((struct snap_machine *)section(&f, SNAP_SEC_MACHINE, 0))->nr_devices = 0;
	reseal(&f);
	refused(&f, "a devices section but no virtio device");
	((struct snap_machine *)section(&f, SNAP_SEC_MACHINE, 0))->nr_devices = SNAP_MAX_DEVICES + 1;
	reseal(&f);
	refused(&f, "virtio devices (at most");
	((struct snap_machine *)section(&f, SNAP_SEC_MACHINE, 0))->nr_devices = 2;
	((struct snap_section_hdr *)section(&f, SNAP_SEC_VIRTIO, 1) - 1)->index = 0;
	reseal(&f);
	refused(&f, "virtio section 0 appears twice");
	((struct snap_section_hdr *)section(&f, SNAP_SEC_VIRTIO, 0) - 1)->index = SNAP_MAX_DEVICES;
	reseal(&f);
	refused(&f, "virtio section index");
	free(f.buf);
}

static void test_virtio_round_trip(void **state)
{
	struct file f;
	struct snap s;
	char err[256] = "";

	(void)state;
	make_devs(&f, 1, MEM, 2, true);
	assert_int_equal(snap_parse(f.buf, f.len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.machine->nr_devices, 2);
	assert_string_equal(s.devices_json, DEVICES_JSON);
	assert_int_equal(s.virtio[1]->t.device_id, 2);
	assert_int_equal(s.virtio[1]->t.queues[0].last_avail, 95);
	assert_null(s.virtio[2]);
	free(f.buf);
}

/* The devices' configuration: text with its NUL inside the section. */
static void test_devices_section(void **state)
{
	struct file f;
	char *text;

	(void)state;
	make_devs(&f, 1, MEM, 1, true);
	text = section(&f, SNAP_SEC_DEVICES, 0);
	memset(text, 'x', 64);
	reseal(&f);
	refused(&f, "devices section of 64 bytes: not a text");
	free(f.buf);
}

/* Edit device 0's transport with `edit`, expect `words`. */
static void virtio_refused(void (*edit)(struct virtio_mmio_state *t), const char *words)
{
	struct file f;

	make_devs(&f, 1, MEM, 1, true);
	edit(&((struct snap_virtio *)section(&f, SNAP_SEC_VIRTIO, 0))->t);
	reseal(&f);
	refused(&f, words);
	free(f.buf);
}

static void q_size_3(struct virtio_mmio_state *t) { t->queues[0].size = 3; }
static void q_size_512(struct virtio_mmio_state *t) { t->queues[0].size = 512; }
static void q_ready_0_size(struct virtio_mmio_state *t) { t->queues[0].size = 0; }
static void q_ready_2(struct virtio_mmio_state *t) { t->queues[0].ready = 2; }
static void q_reserved(struct virtio_mmio_state *t) { t->queues[0].reserved[4] = 1; }
static void q_misaligned(struct virtio_mmio_state *t) { t->queues[0].desc_gpa += 8; }
static void q_past_ram(struct virtio_mmio_state *t) { t->queues[0].desc_gpa = MEM - 64; }
static void q_in_hole(struct virtio_mmio_state *t) { t->queues[0].used_gpa = MMIO_GAP_START; }
static void q_wraps(struct virtio_mmio_state *t) { t->queues[0].avail_gpa = ~0ULL - 1; }
static void q_extra(struct virtio_mmio_state *t) { t->queues[1].size = 8; }
static void t_queues_5(struct virtio_mmio_state *t) { t->nr_queues = 5; }
static void t_queues_0(struct virtio_mmio_state *t) { t->nr_queues = 0; }
static void t_status(struct virtio_mmio_state *t) { t->status |= 16; }
static void t_isr(struct virtio_mmio_state *t) { t->interrupt_status = 4; }
static void t_features(struct virtio_mmio_state *t) { t->driver_features |= 1; }
static void t_device_id(struct virtio_mmio_state *t) { t->device_id = 7; }

static void test_virtio_bad_values(void **state)
{
	(void)state;
	virtio_refused(q_size_3, "queue 0: queue size is not a power of two");
	virtio_refused(q_size_512, "queue 0: queue size is not a power of two");
	virtio_refused(q_ready_0_size, "queue 0: a ready queue of size 0");
	virtio_refused(q_ready_2, "queue 0: invalid queue flags");
	virtio_refused(q_reserved, "queue 0: invalid queue flags");
	virtio_refused(q_misaligned, "queue 0: misaligned ring");
	virtio_refused(q_past_ram, "queue 0's rings (desc 0x3ffffc0");
	virtio_refused(q_in_hole, "are not in guest RAM");
	virtio_refused(q_wraps, "are not in guest RAM");
	virtio_refused(q_extra, "queue 1: a queue the device does not have");
	virtio_refused(t_queues_5, "invalid queue count");
	virtio_refused(t_queues_0, "invalid queue count");
	virtio_refused(t_status, "invalid device status");
	virtio_refused(t_isr, "invalid interrupt status");
	virtio_refused(t_features, "driver features the device did not offer");
	virtio_refused(t_device_id, "not a block, network or vsock device");
}

static void test_regions_overlap_or_leave_ram(void **state)
{
	struct file f;

	(void)state;
	make(&f, 1, 4 * GiB, 0);
	region(&f, 1)->gpa = MMIO_GAP_START - MiB;  /* into region 0 */
	reseal(&f);
	refused(&f, "memory region 1 overlaps region 0");
	region(&f, 1)->gpa = MMIO_GAP_START;       /* the MMIO hole: not RAM */
	reseal(&f);
	refused(&f, "memory region 1 [0xc0000000, +0x40000000) is not guest RAM");
	region(&f, 1)->gpa = UINT64_MAX - 4096;    /* wraps */
	reseal(&f);
	refused(&f, "leaves the address space");
	region(&f, 1)->gpa = MMIO_GAP_END;
	region(&f, 1)->file_offset = 0;           /* over region 0's bytes */
	reseal(&f);
	refused(&f, "memory region 1 at file offset 0x0");
	region(&f, 1)->file_offset = MMIO_GAP_START;
	header(&f)->mem_size = 3 * GiB;           /* fewer bytes than the regions say */
	reseal(&f);
	refused(&f, "2 memory regions, but 3072 MiB of RAM is laid out in 1");
	header(&f)->mem_size = 4 * GiB + 1;
	reseal(&f);
	refused(&f, "not a whole number of MiB");
	header(&f)->mem_size = 4 * GiB;
	header(&f)->nr_regions = 3;
	reseal(&f);
	refused(&f, "3 memory regions");
	free(f.buf);
}

static void test_section_shapes(void **state)
{
	struct file f;
	struct snap_section_hdr *sh;
	struct vcpu_state *v;

	(void)state;
	make(&f, 1, MEM, 0);
	sh = (struct snap_section_hdr *)section(&f, SNAP_SEC_ACPI_PM, 0) - 1;
	sh->type = 99;
	reseal(&f);
	refused(&f, "unknown section type 99");
	sh->type = SNAP_SEC_ACPI_PM;
	sh->index = 1;
	reseal(&f);
	refused(&f, "acpi-pm section with index 1");
	sh->index = 0;
	sh->len = 1u << 30;
	reseal(&f);
	refused(&f, "runs past the end");
	sh->len = 8;
	v = section(&f, SNAP_SEC_VCPU, 0);
	v->nr_msrs = VCPU_STATE_MAX_MSRS + 1;
	reseal(&f);
	refused(&f, "MSRs (at most");
	v->nr_msrs = 2;  /* the section holds 3 */
	reseal(&f);
	refused(&f, "vcpu section of");
	v->nr_msrs = 3;
	header(&f)->nr_sections--;  /* the last section left as trailing bytes */
	reseal(&f);
	refused(&f, "bytes after the last section");
	header(&f)->nr_sections += 2;
	reseal(&f);
	refused(&f, "ends before section");
	free(f.buf);
}

/* Each vCPU's CPUID: present, a bounded entry count matching the section,
 * real leaves and subleaves each once, the same on every vCPU apart from
 * the APIC ids (make's vCPUs already differ there and parse). */
static void test_cpuid(void **state)
{
	struct file f;
	struct snap_section_hdr *sh;
	struct vcpu_cpuid *c, *c1;
	struct kvm_cpuid_entry2 keep;

	(void)state;
	make(&f, 2, MEM, 0);
	c = section(&f, SNAP_SEC_CPUID, 0);
	c1 = section(&f, SNAP_SEC_CPUID, 1);
	c->nent = VCPU_CPUID_MAX + 1;
	reseal(&f);
	refused(&f, "vcpu 0: 257 CPUID entries (at most 256)");
	c->nent = UINT32_MAX;   /* no overflow of the length sum */
	reseal(&f);
	refused(&f, "CPUID entries (at most 256)");
	c->nent = 4;            /* the section holds 5 */
	reseal(&f);
	refused(&f, "cpuid section of 208 bytes (want 168)");
	c->nent = 5;
	c->padding = 1;
	reseal(&f);
	refused(&f, "vcpu 0: a CPUID of 5 entries");
	c->padding = 0;
	keep = c->entries[2];
	c->entries[2].function = 0x12345;
	reseal(&f);
	refused(&f, "vcpu 0: CPUID entry 2 (leaf 0x12345, subleaf 0x0) is not a CPUID leaf");
	c->entries[2] = keep;
	c->entries[2].index = 0x100;
	reseal(&f);
	refused(&f, "is not a CPUID leaf");
	c->entries[2] = keep;
	c->entries[2].padding[1] = 7;
	reseal(&f);
	refused(&f, "is not a CPUID leaf");
	c->entries[2] = keep;
	c1->entries[3].index = 0;   /* 0xb subleaf 0 twice */
	reseal(&f);
	refused(&f, "vcpu 1: CPUID leaf 0xb, subleaf 0x0 appears twice");
	c1->entries[3].index = 1;
	c1->entries[1].ecx ^= 1;    /* a feature bit only vCPU 1 has */
	reseal(&f);
	refused(&f, "vcpu 1: CPUID leaf 0x1, subleaf 0x0 differs from vcpu 0's");
	c1->entries[1].ecx ^= 1;
	c1->entries[1].ebx ^= 1 << 16;  /* leaf 1 EBX beyond the APIC id */
	reseal(&f);
	refused(&f, "differs from vcpu 0's");
	c1->entries[1].ebx ^= 1 << 16;
	c1->entries[4].function = 0x80000003;
	reseal(&f);
	refused(&f, "vcpu 1: CPUID entry 4 is leaf 0x80000003, subleaf 0x0, vcpu 0's leaf "
		"0x80000002");
	c1->entries[4].function = 0x80000002;
	sh = (struct snap_section_hdr *)c1 - 1;
	sh->index = EMBER_MAX_VCPUS;
	reseal(&f);
	refused(&f, "cpuid section index 32");
	sh->index = 0;
	reseal(&f);
	refused(&f, "cpuid section 0 appears twice");
	sh->index = 1;
	reseal(&f);
	{
		struct snap s;
		char err[256] = "";

		assert_int_equal(snap_parse(f.buf, f.len, &s, err, sizeof(err)), 0);
	}
	free(f.buf);
	make_n(&f, 2, MEM, 0, 5, NO_CPUID);
	refused(&f, "vcpu 1 of 2 has no CPUID section");
	free(f.buf);
	make_n(&f, 2, MEM, 0, 5, 4);
	refused(&f, "vcpu 1 has 4 CPUID entries, vcpu 0 5");
	free(f.buf);
	make_n(&f, 1, MEM, 0, 0, 0);
	refused(&f, "vcpu 0: a CPUID of 0 entries");
	free(f.buf);
}

static void test_device_states(void **state)
{
	struct file f;
	struct serial_state *ss;
	struct i8042_state *ks;
	struct vm_state *vm;

	(void)state;
	make(&f, 1, MEM, 0);
	ss = section(&f, SNAP_SEC_SERIAL, 0);
	ss->rx_len = SERIAL_FIFO_SIZE + 1;
	reseal(&f);
	refused(&f, "serial: receive FIFO");
	ss->rx_len = 0;
	ks = section(&f, SNAP_SEC_I8042, 0);
	ks->head = I8042_QUEUE_SIZE;
	reseal(&f);
	refused(&f, "i8042: queue head 16");
	ks->head = 0;
	vm = section(&f, SNAP_SEC_VM, 0);
	vm->irqchip[2].chip_id = 0;
	reseal(&f);
	refused(&f, "irqchip 2 has chip id 0");
	vm->irqchip[2].chip_id = 2;
	((struct vcpu_state *)section(&f, SNAP_SEC_VCPU, 0))->mp_state.mp_state = 77;
	reseal(&f);
	refused(&f, "invalid MP state 77");
	free(f.buf);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* The memory file is checked against the layout before it is mapped. */
static void test_memory_file_shorter_than_layout(void **state)
{
	char dir[] = "/tmp/ember-snap-XXXXXX", sp[64], mp[64], err[320] = "";
	struct snapshot_files sf;
	struct file f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sp, sizeof(sp), "%s/state", dir);
	snprintf(mp, sizeof(mp), "%s/mem", dir);
	make(&f, 1, MEM, 0);
	write_file(sp, f.buf, f.len);
	write_file(mp, "x", 1);
	assert_int_equal(truncate(mp, MEM - 4096), 0);
	assert_ret(snapshot_open(&sf, sp, mp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "shorter than the 67108864"));
	snapshot_files_close(&sf);
	assert_int_equal(truncate(mp, MEM), 0);
	assert_int_equal(snapshot_open(&sf, sp, mp, err, sizeof(err)), 0);
	snapshot_files_close(&sf);
	/* a truncated state file through the same path */
	write_file(sp, f.buf, (f.len / 2) & ~(size_t)7);
	assert_ret(snapshot_open(&sf, sp, mp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "checksum mismatch"));
	snapshot_files_close(&sf);
	unlink(sp);
	unlink(mp);
	rmdir(dir);
	free(f.buf);
}

/* The CRC-64 is the xz one (ECMA-182, reflected): its published check value. */
static void test_crc64_check_value(void **state)
{
	(void)state;
	assert_int_equal(snap_crc64("123456789", 9), 0x995dc9bbdf1939faULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_two_regions),
		cmocka_unit_test(test_truncated_at_every_boundary),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_wrong_magic_and_version),
		cmocka_unit_test(test_vcpu_count_mismatch),
		cmocka_unit_test(test_device_count_mismatch),
		cmocka_unit_test(test_virtio_round_trip),
		cmocka_unit_test(test_devices_section),
		cmocka_unit_test(test_virtio_bad_values),
		cmocka_unit_test(test_regions_overlap_or_leave_ram),
		cmocka_unit_test(test_section_shapes),
		cmocka_unit_test(test_cpuid),
		cmocka_unit_test(test_device_states),
		cmocka_unit_test(test_memory_file_shorter_than_layout),
		cmocka_unit_test(test_crc64_check_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
