// SPDX-License-Identifier: Apache-2.0
/*
 * test_boot.c - direct boot (vmm/boot_elf.c, boot_bzimage.c, boot_params.c,
 * mptable.c) over fake guest memory: the ELF and bzImage loaders on
 * hand-built images and on every kind of broken one, initrd placement,
 * the command line, the E820 map, the zero page, page tables, PVH
 * start_info and the MP table.
 *
 * Images are handed to the loaders in an exact-size heap buffer, so ASan
 * reports any read past the end of the file; ember itself reads them from
 * the file (pread), which test_load_from_file compares with the buffer.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/x86/boot.h"
#include "vmm/x86/layout.h"
#include "vmm/core/memory.h"

#define GUEST_SIZE   (16 * MiB)
#define POISON       0xaa
#define XEN_PVH_NOTE 18
/* A boot_src over a host buffer. */
#define SRC(b, l)    (&(struct boot_src){ .buf = (b), .fd = -1, .len = (l) })
/* A boot_src over `l` bytes of the open file `f`. */
#define SRC_FD(f, l) (&(struct boot_src){ .buf = NULL, .fd = (f), .len = (l) })

/* ---- fixture: 16 MiB of fake guest RAM, filled with POISON ------------ */

struct guest {
	struct guest_mem gm;
	uint8_t *ram;
};

static int guest_setup(void **state)
{
	struct guest *g = calloc(1, sizeof(*g));

	if (!g || !(g->ram = malloc(GUEST_SIZE)))
		return -1;
	memset(g->ram, POISON, GUEST_SIZE);
	gm_init_fake(&g->gm, g->ram, GUEST_SIZE);
	*state = g;
	return 0;
}

/* Page tables and boot structures are checked against zeroed RAM, as a
 * fresh anonymous mapping is. */
static int guest_setup_zero(void **state)
{
	int ret = guest_setup(state);

	if (!ret)
		memset(((struct guest *)*state)->ram, 0, GUEST_SIZE);
	return ret;
}

static int guest_teardown(void **state)
{
	struct guest *g = *state;

	unit_drop_all();
	free(g->ram);
	free(g);
	return 0;
}

/* Deterministic PRNG for the mutation loops (xorshift64). */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ======================================================================
 * ELF
 * ====================================================================== */

#define ELF_DATA_OFF 0x1000
#define ELF_MAX_SEGS 4

struct seg {
	uint32_t type;
	uint64_t paddr, filesz, memsz;
};

struct elf_spec {
	uint64_t entry;
	struct seg seg[ELF_MAX_SEGS];
	int nseg;
	const uint8_t *note;  /* contents of one PT_NOTE segment, or NULL */
	size_t note_len;
};

/* The default vmlinux: text with bss at 1 MiB, data at 2 MiB. */
static const struct elf_spec elf_default = {
	.entry = 1 * MiB + 0x40,
	.seg = {
		{ PT_LOAD, 1 * MiB, 0x800, 0x1000 },
		{ PT_LOAD, 2 * MiB, 0x200, 0x300 },
	},
	.nseg = 2,
};

static uint8_t seg_byte(int seg, uint64_t i)
{
	return (uint8_t)(i * 7 + (uint64_t)seg * 31 + 1);
}

/* Build an ELF: header, program headers right after it, each segment's
 * data from ELF_DATA_OFF on, then the note.  Returns a heap buffer. */
static uint8_t *elf_build(const struct elf_spec *s, size_t *len)
{
	size_t off = ELF_DATA_OFF, total = ELF_DATA_OFF + s->note_len;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	uint8_t *img;
	int n = 0;

	for (int i = 0; i < s->nseg; i++)
		total += s->seg[i].filesz;
	img = unit_keep(calloc(1, total));
	eh = (Elf64_Ehdr *)img;
	ph = (Elf64_Phdr *)(img + sizeof(*eh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = s->entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	for (int i = 0; i < s->nseg; i++, n++) {
		ph[n] = (Elf64_Phdr){
			.p_type = s->seg[i].type, .p_flags = PF_R | PF_X, .p_offset = off,
			.p_vaddr = 0xffffffff80000000ULL + s->seg[i].paddr,
			.p_paddr = s->seg[i].paddr, .p_filesz = s->seg[i].filesz,
			.p_memsz = s->seg[i].memsz, .p_align = 0x1000,
		};
		for (uint64_t j = 0; j < s->seg[i].filesz; j++)
			img[off + j] = seg_byte(i, j);
		off += s->seg[i].filesz;
	}
	if (s->note) {
		ph[n++] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_flags = PF_R, .p_offset = off,
					.p_filesz = s->note_len, .p_align = 4 };
		memcpy(img + off, s->note, s->note_len);
	}
	eh->e_phnum = (Elf64_Half)n;
	*len = total;
	return img;
}

/* Append one ELF note (4-byte aligned name and desc) at p; returns its size. */
static size_t note_put(uint8_t *p, const char *name, uint32_t namesz, uint32_t type,
		       const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = { .n_namesz = namesz, .n_descsz = descsz, .n_type = type };
	size_t off = sizeof(nh);

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + off, name, namesz);
	off += (namesz + 3) & ~3U;
	memcpy(p + off, desc, descsz);
	off += (descsz + 3) & ~3U;
	return off;
}

/* Load `img` from an exact-size copy of its first `len` bytes. */
static int load_elf_exact(const struct guest_mem *gm, const uint8_t *img, size_t len,
			  struct boot_image *bi)
{
	uint8_t *copy = unit_dup(img, len);
	int ret = boot_load_elf(gm, SRC(copy, len), bi);

	unit_drop(copy);
	return ret;
}

static void test_elf_load(void **state)
{
	struct guest *g = *state;
	struct boot_image bi;
	size_t len;
	uint8_t *img = elf_build(&elf_default, &len);

	memset(&bi, 0x5a, sizeof(bi));
	assert_ret(load_elf_exact(&g->gm, img, len, &bi), 0);
	assert_int_equal(bi.proto, BOOT_PROTO_LINUX64);
	assert_int_equal(bi.entry, 1 * MiB + 0x40);
	assert_int_equal(bi.kernel_end, 2 * MiB + 0x300);
	assert_int_equal(bi.initrd_max, GUEST_SIZE);
	assert_int_equal(bi.cmdline_max, LAYOUT_CMDLINE_MAX - 1);
	assert_int_equal(bi.is_bzimage, 0);

	/* Segment bytes copied, bss zeroed, neighbours untouched. */
	for (uint64_t j = 0; j < 0x800; j++)
		assert_int_equal(g->ram[1 * MiB + j], seg_byte(0, j));
	for (uint64_t j = 0x800; j < 0x1000; j++)
		assert_int_equal(g->ram[1 * MiB + j], 0);
	for (uint64_t j = 0; j < 0x200; j++)
		assert_int_equal(g->ram[2 * MiB + j], seg_byte(1, j));
	for (uint64_t j = 0x200; j < 0x300; j++)
		assert_int_equal(g->ram[2 * MiB + j], 0);
	assert_int_equal(g->ram[1 * MiB - 1], POISON);
	assert_int_equal(g->ram[1 * MiB + 0x1000], POISON);
	assert_int_equal(g->ram[2 * MiB + 0x300], POISON);
	unit_drop(img);
}

/* Non-LOAD segments and empty LOAD segments are skipped. */
static void test_elf_skips_other_segments(void **state)
{
	struct guest *g = *state;
	struct elf_spec s = elf_default;
	struct boot_image bi;
	size_t len;
	uint8_t *img;

	s.seg[2] = (struct seg){ PT_LOAD, 8 * MiB, 0, 0 };        /* empty */
	s.seg[3] = (struct seg){ PT_GNU_STACK, 0, 0, 0x10000 };   /* not loaded */
	s.nseg = 4;
	img = elf_build(&s, &len);
	assert_ret(load_elf_exact(&g->gm, img, len, &bi), 0);
	assert_int_equal(bi.kernel_end, 2 * MiB + 0x300);
	assert_int_equal(g->ram[8 * MiB], POISON);
	unit_drop(img);
}

/* A segment ending exactly at the end of guest RAM fits. */
static void test_elf_segment_at_ram_end(void **state)
{
	struct guest *g = *state;
	struct elf_spec s = elf_default;
	struct boot_image bi;
	size_t len;
	uint8_t *img;

	s.seg[1] = (struct seg){ PT_LOAD, GUEST_SIZE - 0x1000, 0x100, 0x1000 };
	img = elf_build(&s, &len);
	assert_ret(load_elf_exact(&g->gm, img, len, &bi), 0);
	assert_int_equal(bi.kernel_end, GUEST_SIZE);
	assert_int_equal(g->ram[GUEST_SIZE - 1], 0);
	unit_drop(img);
}

static void test_elf_pvh_note(void **state)
{
	struct guest *g = *state;
	const uint32_t pvh32 = 1 * MiB + 0x200;
	const uint64_t pvh64 = 2 * MiB + 0x10;
	const uint8_t build_id[20] = { 1, 2, 3 };
	static const struct {
		const char *name;
		int desc8;       /* 8-byte descriptor */
		int gnu_first;   /* another note precedes the Xen one */
	} cases[] = {
		{ "4-byte desc", 0, 0 },
		{ "8-byte desc", 1, 0 },
		{ "after a GNU build-id note", 0, 1 },
		{ "8-byte desc after a GNU note", 1, 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t note[128] = { 0 };
		struct elf_spec s = elf_default;
		struct boot_image bi;
		size_t nl = 0, len;
		uint8_t *img;

		if (cases[i].gnu_first)
			nl += note_put(note + nl, "GNU", 4, NT_GNU_BUILD_ID, build_id,
				       sizeof(build_id));
		if (cases[i].desc8)
			nl += note_put(note + nl, "Xen", 4, XEN_PVH_NOTE, &pvh64, 8);
		else
			nl += note_put(note + nl, "Xen", 4, XEN_PVH_NOTE, &pvh32, 4);
		s.note = note;
		s.note_len = nl;
		img = elf_build(&s, &len);
		assert_ret_case(cases[i].name, load_elf_exact(&g->gm, img, len, &bi), 0);
		if (bi.proto != BOOT_PROTO_PVH)
			fail_msg("case '%s': not booted as PVH", cases[i].name);
		if (bi.entry != (cases[i].desc8 ? pvh64 : pvh32))
			fail_msg("case '%s': entry 0x%llx is not the note's", cases[i].name,
				 (unsigned long long)bi.entry);
		assert_int_equal(bi.kernel_end, 2 * MiB + 0x300);
		unit_drop(img);
	}
}

/* A Linux vmlinux (an owner "Linux" note) is entered at its ELF entry,
 * startup_64, even with the PVH note; PVH only when that entry is unusable.
 * Owners that merely look like Linux do not count. */
static void test_elf_linux_prefers_64bit_entry(void **state)
{
	struct guest *g = *state;
	const uint32_t pvh = 1 * MiB + 0x200, salt = 0;
	static const struct {
		const char *name;
		const char *owner;
		uint32_t namesz;
		uint64_t entry;
		int pvh_note, want_pvh;
	} cases[] = {
		{ "Linux note and PVH note", "Linux", 6, 1 * MiB + 0x40, 1, 0 },
		{ "Linux note, no PVH note", "Linux", 6, 1 * MiB + 0x40, 0, 0 },
		{ "Linux note, entry outside the segments", "Linux", 6, 8 * MiB, 1, 1 },
		{ "owner Linu", "Linu", 5, 1 * MiB + 0x40, 1, 1 },
		{ "owner Linux without NUL", "Linux", 5, 1 * MiB + 0x40, 1, 1 },
		{ "owner LinuxX", "LinuxX", 7, 1 * MiB + 0x40, 1, 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t note[128] = { 0 };
		struct elf_spec s = elf_default;
		struct boot_image bi;
		size_t nl, len;
		uint8_t *img;

		nl = note_put(note, cases[i].owner, cases[i].namesz, 0x100, &salt, 4);
		if (cases[i].pvh_note)
			nl += note_put(note + nl, "Xen", 4, XEN_PVH_NOTE, &pvh, 4);
		s.note = note;
		s.note_len = nl;
		s.entry = cases[i].entry;
		img = elf_build(&s, &len);
		assert_ret_case(cases[i].name, load_elf_exact(&g->gm, img, len, &bi), 0);
		if (cases[i].want_pvh && (bi.proto != BOOT_PROTO_PVH || bi.entry != pvh))
			fail_msg("case '%s': not entered through PVH", cases[i].name);
		if (!cases[i].want_pvh &&
		    (bi.proto != BOOT_PROTO_LINUX64 || bi.entry != cases[i].entry))
			fail_msg("case '%s': not entered at the ELF entry", cases[i].name);
		unit_drop(img);
	}
}

/* Notes that are not a usable PVH entry are ignored: plain 64-bit boot. */
static void test_elf_ignored_notes(void **state)
{
	struct guest *g = *state;
	const uint32_t pvh = 1 * MiB + 0x200;
	static const struct {
		const char *name;
		const char *nname;
		uint32_t namesz, type, descsz;
	} cases[] = {
		{ "other Xen note type", "Xen", 4, 1, 4 },
		{ "other owner", "Nen", 4, XEN_PVH_NOTE, 4 },
		{ "name without NUL", "Xen", 3, XEN_PVH_NOTE, 4 },
		{ "descriptor too short", "Xen", 4, XEN_PVH_NOTE, 2 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t note[64] = { 0 };
		struct elf_spec s = elf_default;
		struct boot_image bi;
		size_t len;
		uint8_t *img;

		s.note = note;
		s.note_len = note_put(note, cases[i].nname, cases[i].namesz, cases[i].type,
				      &pvh, cases[i].descsz);
		img = elf_build(&s, &len);
		assert_ret_case(cases[i].name, load_elf_exact(&g->gm, img, len, &bi), 0);
		if (bi.proto != BOOT_PROTO_LINUX64 || bi.entry != elf_default.entry)
			fail_msg("case '%s': the note was taken as a PVH entry", cases[i].name);
		unit_drop(img);
	}
}

/* Notes whose sizes run past the segment, or overflow 32/64-bit sums, are
 * skipped without reading out of bounds. */
static void test_elf_note_overflowing_sizes(void **state)
{
	struct guest *g = *state;
	static const struct {
		const char *name;
		uint32_t namesz, descsz;
		size_t note_len;
	} cases[] = {
		{ "namesz 0xffffffff", 0xffffffffU, 4, 24 },
		{ "descsz 0xffffffff", 4, 0xffffffffU, 24 },
		{ "both 0xfffffffd", 0xfffffffdU, 0xfffffffdU, 24 },
		{ "desc past the segment", 4, 8, 20 },
		{ "header only, truncated", 4, 4, 8 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t note[32] = { 0 };
		Elf64_Nhdr nh = { cases[i].namesz, cases[i].descsz, XEN_PVH_NOTE };
		struct elf_spec s = elf_default;
		struct boot_image bi;
		size_t len;
		uint8_t *img;

		memcpy(note, &nh, sizeof(nh));
		memcpy(note + sizeof(nh), "Xen", 4);
		note[16] = 0x00;
		note[17] = 0x02;
		note[18] = 0x10;  /* desc = 0x100200 */
		s.note = note;
		s.note_len = cases[i].note_len;
		img = elf_build(&s, &len);
		assert_ret_case(cases[i].name, load_elf_exact(&g->gm, img, len, &bi), 0);
		if (bi.proto != BOOT_PROTO_LINUX64)
			fail_msg("case '%s': a broken note was taken as a PVH entry", cases[i].name);
		unit_drop(img);
	}
}

/* A PVH entry must lie inside the loaded kernel (above 1 MiB, below its
 * end); 0 reads as "no entry". */
static void test_elf_pvh_entry_outside(void **state)
{
	struct guest *g = *state;
	static const struct {
		const char *name;
		uint32_t entry;
		int want;
	} cases[] = {
		{ "below 1 MiB", 0x9000, -EINVAL },
		{ "just below 1 MiB", 1 * MiB - 1, -EINVAL },
		{ "at the kernel's end", 2 * MiB + 0x300, -EINVAL },
		{ "far above the kernel", 8 * MiB, -EINVAL },
		{ "in the MMIO gap", 0xfee00000U, -EINVAL },
		{ "last byte of the kernel", 2 * MiB + 0x2ff, 0 },
		{ "zero: no PVH entry", 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t note[32] = { 0 };
		struct elf_spec s = elf_default;
		struct boot_image bi;
		size_t len;
		uint8_t *img;

		s.note = note;
		s.note_len = note_put(note, "Xen", 4, XEN_PVH_NOTE, &cases[i].entry, 4);
		img = elf_build(&s, &len);
		assert_ret_case(cases[i].name, load_elf_exact(&g->gm, img, len, &bi),
				cases[i].want);
		if (!cases[i].want && bi.entry != (cases[i].entry ? cases[i].entry
								   : elf_default.entry))
			fail_msg("case '%s': entry 0x%llx", cases[i].name,
				 (unsigned long long)bi.entry);
		unit_drop(img);
	}
}

/* Mutations of the default image, each with the errno boot.h documents. */
struct elf_mut {
	uint8_t *img;
	size_t len;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;  /* ph[0] text at 1 MiB, ph[1] data at 2 MiB */
};

#define ELF_MUT(fn, stmt) static void fn(struct elf_mut *m) { stmt; }
ELF_MUT(m_empty, m->len = 0)
ELF_MUT(m_len3, m->len = 3)
ELF_MUT(m_len40, m->len = 40)
ELF_MUT(m_garbage, memset(m->img, 'x', m->len))
ELF_MUT(m_bad_magic, m->img[1] = 'e')
ELF_MUT(m_class32, m->eh->e_ident[EI_CLASS] = ELFCLASS32)
ELF_MUT(m_class_none, m->eh->e_ident[EI_CLASS] = ELFCLASSNONE)
ELF_MUT(m_big_endian, m->eh->e_ident[EI_DATA] = ELFDATA2MSB)
ELF_MUT(m_i386, m->eh->e_machine = EM_386)
ELF_MUT(m_aarch64, m->eh->e_machine = EM_AARCH64)
ELF_MUT(m_dyn, m->eh->e_type = ET_DYN)
ELF_MUT(m_rel, m->eh->e_type = ET_REL)
ELF_MUT(m_core, m->eh->e_type = ET_CORE)
ELF_MUT(m_phentsize_small, m->eh->e_phentsize = sizeof(Elf32_Phdr))
ELF_MUT(m_phentsize_big, m->eh->e_phentsize = sizeof(Elf64_Phdr) + 8)
ELF_MUT(m_phnum0, m->eh->e_phnum = 0)
ELF_MUT(m_phnum65, m->eh->e_phnum = 65)
ELF_MUT(m_phnum_xnum, m->eh->e_phnum = PN_XNUM)
ELF_MUT(m_phoff_eof, m->eh->e_phoff = m->len)
ELF_MUT(m_phoff_straddle, m->eh->e_phoff = m->len - sizeof(Elf64_Phdr))
ELF_MUT(m_phoff_huge, m->eh->e_phoff = UINT64_MAX - 0x10)
ELF_MUT(m_seg_off_eof, m->ph[1].p_offset = m->len + 0x1000)
ELF_MUT(m_seg_off_huge, m->ph[1].p_offset = UINT64_MAX - 0x100)
ELF_MUT(m_seg_truncated, m->len -= 1)
ELF_MUT(m_seg_filesz_huge, m->ph[0].p_filesz = UINT64_MAX; m->ph[0].p_memsz = UINT64_MAX)
ELF_MUT(m_filesz_gt_memsz, m->ph[0].p_memsz = m->ph[0].p_filesz - 1)
ELF_MUT(m_seg_below_1m, m->ph[0].p_paddr = 0x9000; m->eh->e_entry = 0x9000)
ELF_MUT(m_seg_at_0, m->ph[1].p_paddr = 0)
ELF_MUT(m_seg_just_below_1m, m->ph[1].p_paddr = 1 * MiB - 0x100)
ELF_MUT(m_seg_too_big, m->ph[1].p_memsz = GUEST_SIZE)
ELF_MUT(m_seg_past_ram, m->ph[1].p_paddr = GUEST_SIZE - 0x100)
ELF_MUT(m_seg_in_gap, m->ph[1].p_paddr = MMIO_GAP_START)
ELF_MUT(m_seg_paddr_wraps, m->ph[1].p_paddr = UINT64_MAX - 0xff)
ELF_MUT(m_seg_memsz_wraps, m->ph[1].p_memsz = UINT64_MAX - 0xff)
ELF_MUT(m_entry_outside, m->eh->e_entry = 4 * MiB)
ELF_MUT(m_entry_in_gap_between, m->eh->e_entry = 1 * MiB + 0x1000)
ELF_MUT(m_entry_virtual, m->eh->e_entry = 0xffffffff81000000ULL)
ELF_MUT(m_entry_zero, m->eh->e_entry = 0)
ELF_MUT(m_no_load, m->ph[0].p_type = PT_NULL; m->ph[1].p_type = PT_NOTE)
ELF_MUT(m_load_empty, m->ph[0].p_memsz = m->ph[0].p_filesz = 0;
	m->ph[1].p_memsz = m->ph[1].p_filesz = 0)

static void test_elf_bad_images(void **state)
{
	struct guest *g = *state;
	static const struct {
		const char *name;
		void (*mut)(struct elf_mut *m);
		int want;
	} cases[] = {
		{ "empty file", m_empty, -ENOEXEC },
		{ "3 bytes", m_len3, -ENOEXEC },
		{ "header cut at 40 bytes", m_len40, -EINVAL },
		{ "non-ELF garbage", m_garbage, -ENOEXEC },
		{ "bad magic", m_bad_magic, -ENOEXEC },
		{ "ELFCLASS32", m_class32, -ENOEXEC },
		{ "ELFCLASSNONE", m_class_none, -ENOEXEC },
		{ "big-endian", m_big_endian, -ENOEXEC },
		{ "machine i386", m_i386, -ENOEXEC },
		{ "machine aarch64", m_aarch64, -ENOEXEC },
		{ "ET_DYN", m_dyn, -ENOEXEC },
		{ "ET_REL", m_rel, -ENOEXEC },
		{ "ET_CORE", m_core, -ENOEXEC },
		{ "phentsize 32", m_phentsize_small, -EINVAL },
		{ "phentsize 64", m_phentsize_big, -EINVAL },
		{ "phnum 0", m_phnum0, -EINVAL },
		{ "phnum 65", m_phnum65, -EINVAL },
		{ "phnum PN_XNUM", m_phnum_xnum, -EINVAL },
		{ "phoff at EOF", m_phoff_eof, -EINVAL },
		{ "phdrs straddle EOF", m_phoff_straddle, -EINVAL },
		{ "phoff near 2^64", m_phoff_huge, -EINVAL },
		{ "segment offset past EOF", m_seg_off_eof, -EINVAL },
		{ "segment offset near 2^64", m_seg_off_huge, -EINVAL },
		{ "segment truncated by one byte", m_seg_truncated, -EINVAL },
		{ "segment filesz 2^64-1", m_seg_filesz_huge, -EINVAL },
		{ "filesz > memsz", m_filesz_gt_memsz, -EINVAL },
		{ "segment at 0x9000", m_seg_below_1m, -EINVAL },
		{ "segment at 0", m_seg_at_0, -EINVAL },
		{ "segment just below 1 MiB", m_seg_just_below_1m, -EINVAL },
		{ "segment larger than RAM", m_seg_too_big, -EFBIG },
		{ "segment past the end of RAM", m_seg_past_ram, -EFBIG },
		{ "segment in the MMIO gap", m_seg_in_gap, -EFBIG },
		{ "segment paddr+memsz wraps", m_seg_paddr_wraps, -EFBIG },
		{ "segment memsz near 2^64", m_seg_memsz_wraps, -EFBIG },
		{ "entry outside segments", m_entry_outside, -EINVAL },
		{ "entry between segments", m_entry_in_gap_between, -EINVAL },
		{ "entry is a virtual address", m_entry_virtual, -EINVAL },
		{ "entry 0", m_entry_zero, -EINVAL },
		{ "no PT_LOAD", m_no_load, -EINVAL },
		{ "only empty PT_LOADs", m_load_empty, -EINVAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct elf_mut m;
		struct boot_image bi;

		m.img = elf_build(&elf_default, &m.len);
		m.eh = (Elf64_Ehdr *)m.img;
		m.ph = (Elf64_Phdr *)(m.img + sizeof(Elf64_Ehdr));
		cases[i].mut(&m);
		assert_ret_case(cases[i].name, load_elf_exact(&g->gm, m.img, m.len, &bi),
				cases[i].want);
		unit_drop(m.img);
	}
}

/* A file that starts with the ELF magic but stops inside e_ident is a
 * truncated image (-EINVAL), not "not an ELF" (-ENOEXEC): boot.h. */
static void test_elf_truncated_ident(void **state)
{
	struct guest *g = *state;
	struct boot_image bi;
	size_t len;
	uint8_t *img = elf_build(&elf_default, &len);

	for (size_t cut = SELFMAG; cut < EI_NIDENT; cut++) {
		char name[32];

		snprintf(name, sizeof(name), "%zu bytes", cut);
		assert_ret_case(name, load_elf_exact(&g->gm, img, cut, &bi), -EINVAL);
	}
	unit_drop(img);
}

/* Every prefix of a valid image is refused with a documented errno, and no
 * prefix makes the loader read past the end. */
static void test_elf_every_prefix(void **state)
{
	struct guest *g = *state;
	struct elf_spec s = elf_default;
	uint8_t note[32] = { 0 };
	const uint32_t pvh = 1 * MiB + 0x100;
	struct boot_image bi;
	size_t len;
	uint8_t *img;

	s.note = note;
	s.note_len = note_put(note, "Xen", 4, XEN_PVH_NOTE, &pvh, 4);
	img = elf_build(&s, &len);
	for (size_t cut = 0; cut < len; cut++) {
		int ret = load_elf_exact(&g->gm, img, cut, &bi);

		/* Cutting only into the trailing note loses the note, which
		 * is then ignored: a plain 64-bit boot. */
		if (!ret && cut >= len - s.note_len && bi.proto == BOOT_PROTO_LINUX64)
			continue;
		if (ret != -EINVAL && ret != -ENOEXEC)
			fail_msg("prefix of %zu bytes: returned %d", cut, ret);
	}
	assert_ret(load_elf_exact(&g->gm, img, len, &bi), 0);
	assert_int_equal(bi.proto, BOOT_PROTO_PVH);
	unit_drop(img);
}

/* Random byte mutations of the headers: a documented errno or a
 * consistent result, never a crash or an out-of-bounds read. */
static void test_elf_mutations(void **state)
{
	struct guest *g = *state;
	struct elf_spec s = elf_default;
	uint8_t note[32] = { 0 };
	const uint32_t pvh = 1 * MiB + 0x100;
	const size_t hdr_len = sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr);
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t len;
	uint8_t *img;

	s.note = note;
	s.note_len = note_put(note, "Xen", 4, XEN_PVH_NOTE, &pvh, 4);
	img = elf_build(&s, &len);
	for (int iter = 0; iter < 3000; iter++) {
		uint8_t *m = unit_dup(img, len);
		struct boot_image bi;
		int flips = 1 + (int)(rng_next(&seed) % 4), ret;

		for (int f = 0; f < flips; f++) {
			uint64_t r = rng_next(&seed);
			size_t at = (r & 0x100) ? (size_t)(r >> 16) % len
						: (size_t)(r >> 16) % hdr_len;

			m[at] = (r & 0x200) ? (uint8_t)(r >> 40) : (uint8_t)(m[at] ^ (1u << (r % 8)));
		}
		ret = boot_load_elf(&g->gm, SRC(m, len), &bi);
		if (ret && ret != -EINVAL && ret != -ENOEXEC && ret != -EFBIG)
			fail_msg("iteration %d: undocumented return %d", iter, ret);
		if (!ret && (bi.entry < LAYOUT_HIMEM_START || bi.entry >= bi.kernel_end ||
			     bi.kernel_end > GUEST_SIZE))
			fail_msg("iteration %d: entry 0x%llx / end 0x%llx outside the kernel", iter,
				 (unsigned long long)bi.entry, (unsigned long long)bi.kernel_end);
		unit_drop(m);
	}
	unit_drop(img);
}

/* ======================================================================
 * bzImage
 * ====================================================================== */

#define BZ_HDR_OFF   0x1f1
#define BZ_SECTS     4
#define BZ_SETUP     ((BZ_SECTS + 1) * 512)
#define BZ_PAYLOAD   0x2000
#define BZ_INIT_SIZE (8 * MiB)

static struct setup_header bz_default_hdr(void)
{
	struct setup_header h;

	memset(&h, 0, sizeof(h));
	h.setup_sects = BZ_SECTS;
	h.syssize = BZ_PAYLOAD / 16;
	h.boot_flag = 0xaa55;
	h.jump = 0x66eb;
	h.header = 0x53726448;  /* "HdrS" */
	h.version = 0x020f;
	h.kernel_version = 0x200;
	h.loadflags = LOADED_HIGH;
	h.code32_start = 0x100000;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.min_alignment = 21;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.cmdline_size = 2047;
	h.pref_address = 0x100000;
	h.init_size = BZ_INIT_SIZE;
	return h;
}

static uint8_t bz_payload_byte(size_t i)
{
	return (uint8_t)(i * 13 + 5);
}

/* A bzImage: setup sectors (with the header at 0x1f1), then the payload. */
static uint8_t *bz_build(const struct setup_header *h, size_t payload, size_t *len)
{
	size_t setup = ((size_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	uint8_t *img = unit_keep(malloc(setup + payload));

	memset(img, 0xf4, setup);
	memcpy(img + BZ_HDR_OFF, h, sizeof(*h));
	for (size_t i = 0; i < payload; i++)
		img[setup + i] = bz_payload_byte(i);
	*len = setup + payload;
	return img;
}

static int load_bz_exact(const struct guest_mem *gm, const uint8_t *img, size_t len,
			 struct boot_image *bi)
{
	uint8_t *copy = unit_dup(img, len);
	int ret = boot_load_bzimage(gm, SRC(copy, len), bi);

	unit_drop(copy);
	return ret;
}

static void test_bz_load(void **state)
{
	struct guest *g = *state;
	static const uint8_t sects[] = { BZ_SECTS, 0 /* means 4 */, 7 };

	for (size_t i = 0; i < ARRAY_SIZE(sects); i++) {
		struct setup_header h = bz_default_hdr();
		struct boot_image bi;
		size_t len;
		uint8_t *img;

		h.setup_sects = sects[i];
		img = bz_build(&h, BZ_PAYLOAD, &len);
		memset(g->ram + 1 * MiB, POISON, BZ_PAYLOAD + 1);
		assert_ret(load_bz_exact(&g->gm, img, len, &bi), 0);
		assert_int_equal(bi.proto, BOOT_PROTO_LINUX64);
		assert_int_equal(bi.entry, 1 * MiB + 0x200);
		assert_int_equal(bi.is_bzimage, 1);
		/* The initrd must stay clear of the decompressed kernel. */
		assert_int_equal(bi.kernel_end, 0x100000 + BZ_INIT_SIZE);
		assert_int_equal(bi.initrd_max, GUEST_SIZE);
		assert_int_equal(bi.cmdline_max, 2047);
		/* The header is passed on as the image has it. */
		assert_memory_equal(&bi.hdr, img + BZ_HDR_OFF, sizeof(bi.hdr));
		/* The protected-mode payload is at 1 MiB, nothing more. */
		for (size_t j = 0; j < BZ_PAYLOAD; j++)
			if (g->ram[1 * MiB + j] != bz_payload_byte(j))
				fail_msg("setup_sects %u: payload byte %zu differs", sects[i], j);
		assert_int_equal(g->ram[1 * MiB + BZ_PAYLOAD], POISON);
		unit_drop(img);
	}
}

/* kernel_end, initrd_max and cmdline_max follow the header. */
static void test_bz_limits_from_header(void **state)
{
	struct guest *g = *state;
	static const struct {
		const char *name;
		uint64_t pref;
		uint32_t init_size, initrd_addr_max, cmdline_size;
		uint64_t kernel_end, initrd_max;
		uint32_t cmdline_max;
	} cases[] = {
		{ "tiny init_size: the payload counts", 0x100000, 0x1000, 0x7fffffff, 100,
		  1 * MiB + BZ_PAYLOAD, GUEST_SIZE, 100 },
		{ "pref 4 MiB", 4 * MiB, 2 * MiB, 0x7fffffff, 0, 6 * MiB, GUEST_SIZE, 255 },
		{ "init_size up to the end of RAM", 0x100000, GUEST_SIZE - 1 * MiB, 0x7fffffff,
		  4096, GUEST_SIZE, GUEST_SIZE, 2047 },
		{ "initrd_addr_max 8 MiB", 0x100000, 0x10000, 8 * MiB - 1, 2047,
		  1 * MiB + 0x10000, 8 * MiB, 2047 },
		{ "initrd_addr_max 4 GiB", 0x100000, 0x10000, 0xffffffff, 1,
		  1 * MiB + 0x10000, GUEST_SIZE, 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct setup_header h = bz_default_hdr();
		struct boot_image bi;
		size_t len;
		uint8_t *img;

		h.pref_address = cases[i].pref;
		h.init_size = cases[i].init_size;
		h.initrd_addr_max = cases[i].initrd_addr_max;
		h.cmdline_size = cases[i].cmdline_size;
		img = bz_build(&h, BZ_PAYLOAD, &len);
		assert_ret_case(cases[i].name, load_bz_exact(&g->gm, img, len, &bi), 0);
		if (bi.kernel_end != cases[i].kernel_end || bi.initrd_max != cases[i].initrd_max ||
		    bi.cmdline_max != cases[i].cmdline_max)
			fail_msg("case '%s': kernel_end 0x%llx initrd_max 0x%llx cmdline_max %u",
				 cases[i].name, (unsigned long long)bi.kernel_end,
				 (unsigned long long)bi.initrd_max, bi.cmdline_max);
		unit_drop(img);
	}
}

struct bz_mut {
	struct setup_header h;
	size_t len;
};

#define BZ_MUT(fn, stmt) static void fn(struct bz_mut *m) { stmt; }
BZ_MUT(b_proto_2_11, m->h.version = 0x020b)
BZ_MUT(b_proto_2_00, m->h.version = 0x0200)
BZ_MUT(b_no_kernel64, m->h.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G)
BZ_MUT(b_not_high, m->h.loadflags = 0)
BZ_MUT(b_no_boot_flag, m->h.boot_flag = 0)
BZ_MUT(b_no_hdrs, m->h.header = 0x54726448)
BZ_MUT(b_syssize_plus1, m->h.syssize = BZ_PAYLOAD / 16 + 1)
BZ_MUT(b_syssize_huge, m->h.syssize = 0xffffffff)
BZ_MUT(b_payload_cut, m->len -= 1)
BZ_MUT(b_sects_fill, m->h.setup_sects = (uint8_t)(m->len / 512 - 1))
BZ_MUT(b_sects_255, m->h.setup_sects = 255)
BZ_MUT(b_hdr_cut, m->len = BZ_HDR_OFF + sizeof(struct setup_header) - 1)
BZ_MUT(b_len_0x206, m->len = 0x206)
BZ_MUT(b_init_past_ram, m->h.pref_address = 12 * MiB; m->h.init_size = 8 * MiB)
BZ_MUT(b_init_one_over, m->h.init_size = GUEST_SIZE - 1 * MiB + 1)
BZ_MUT(b_init_huge, m->h.init_size = 0xffffffff)
BZ_MUT(b_pref_high, m->h.pref_address = 1 * GiB)
BZ_MUT(b_pref_wraps, m->h.pref_address = UINT64_MAX - 0xfff; m->h.init_size = 0x2000)
BZ_MUT(b_pref_top, m->h.pref_address = UINT64_MAX; m->h.init_size = 1)

static void test_bz_bad_images(void **state)
{
	struct guest *g = *state;
	static const struct {
		const char *name;
		void (*mut)(struct bz_mut *m);
		int want;
	} cases[] = {
		{ "protocol 2.11", b_proto_2_11, -ENOEXEC },
		{ "protocol 2.00", b_proto_2_00, -ENOEXEC },
		{ "no XLF_KERNEL_64", b_no_kernel64, -ENOEXEC },
		{ "not LOADED_HIGH (zImage)", b_not_high, -ENOEXEC },
		{ "no boot_flag", b_no_boot_flag, -ENOEXEC },
		{ "no HdrS", b_no_hdrs, -ENOEXEC },
		{ "syssize one paragraph over", b_syssize_plus1, -EINVAL },
		{ "syssize 0xffffffff", b_syssize_huge, -EINVAL },
		{ "payload cut by one byte", b_payload_cut, -EINVAL },
		{ "setup_sects filling the file", b_sects_fill, -EINVAL },
		{ "setup_sects 255", b_sects_255, -EINVAL },
		{ "header cut short", b_hdr_cut, -EINVAL },
		{ "0x206 bytes", b_len_0x206, -EINVAL },
		{ "pref_address+init_size past RAM", b_init_past_ram, -EFBIG },
		{ "init_size one byte over", b_init_one_over, -EFBIG },
		{ "init_size 0xffffffff", b_init_huge, -EFBIG },
		{ "pref_address 1 GiB", b_pref_high, -EFBIG },
		{ "pref_address+init_size wraps", b_pref_wraps, -EFBIG },
		{ "pref_address 2^64-1", b_pref_top, -EFBIG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct bz_mut m = { .h = bz_default_hdr() };
		struct boot_image bi;
		uint8_t *img = bz_build(&m.h, BZ_PAYLOAD, &m.len);

		cases[i].mut(&m);
		memcpy(img + BZ_HDR_OFF, &m.h, sizeof(m.h));
		assert_ret_case(cases[i].name, load_bz_exact(&g->gm, img, m.len, &bi),
				cases[i].want);
		unit_drop(img);
	}
}

/* A payload larger than low RAM above 1 MiB. */
static void test_bz_payload_too_big(void **state)
{
	const uint64_t small = 1 * MiB + 0x1000;
	struct setup_header h = bz_default_hdr();
	struct guest_mem gm;
	struct boot_image bi;
	uint8_t *ram = unit_keep(calloc(1, small)), *img;
	size_t len;

	(void)state;
	gm_init_fake(&gm, ram, small);
	h.init_size = 0x1000;
	img = bz_build(&h, BZ_PAYLOAD, &len);
	assert_ret(load_bz_exact(&gm, img, len, &bi), -EFBIG);
	unit_drop(img);
	/* The same image fits exactly in 1 MiB + BZ_PAYLOAD. */
	unit_drop(ram);
	ram = unit_keep(calloc(1, 1 * MiB + BZ_PAYLOAD));
	gm_init_fake(&gm, ram, 1 * MiB + BZ_PAYLOAD);
	img = bz_build(&h, BZ_PAYLOAD, &len);
	assert_ret(load_bz_exact(&gm, img, len, &bi), 0);
	assert_int_equal(bi.kernel_end, 1 * MiB + BZ_PAYLOAD);
	unit_drop(img);
	unit_drop(ram);
}

static void test_bz_every_prefix(void **state)
{
	struct guest *g = *state;
	struct setup_header h = bz_default_hdr();
	struct boot_image bi;
	size_t len;
	uint8_t *img = bz_build(&h, BZ_PAYLOAD, &len);

	for (size_t cut = 0; cut < len; cut++) {
		int ret = load_bz_exact(&g->gm, img, cut, &bi);

		if (ret != -EINVAL)
			fail_msg("prefix of %zu bytes: returned %d", cut, ret);
	}
	unit_drop(img);
}

static void test_bz_mutations(void **state)
{
	struct guest *g = *state;
	struct setup_header h = bz_default_hdr();
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	size_t len;
	uint8_t *img = bz_build(&h, 0x400, &len);

	for (int iter = 0; iter < 3000; iter++) {
		uint8_t *m = unit_dup(img, len);
		struct boot_image bi;
		int flips = 1 + (int)(rng_next(&seed) % 3), ret;

		for (int f = 0; f < flips; f++) {
			uint64_t r = rng_next(&seed);
			size_t at = BZ_HDR_OFF + (size_t)(r >> 16) % sizeof(struct setup_header);

			m[at] = (r & 0x200) ? (uint8_t)(r >> 40) : (uint8_t)(m[at] ^ (1u << (r % 8)));
		}
		ret = boot_load_bzimage(&g->gm, SRC(m, len), &bi);
		if (ret && ret != -EINVAL && ret != -ENOEXEC && ret != -EFBIG)
			fail_msg("iteration %d: undocumented return %d", iter, ret);
		if (!ret && (bi.kernel_end > GUEST_SIZE || bi.initrd_max > GUEST_SIZE ||
			     bi.cmdline_max > LAYOUT_CMDLINE_MAX - 1))
			fail_msg("iteration %d: limits past guest RAM", iter);
		unit_drop(m);
	}
	unit_drop(img);
}

/* ======================================================================
 * boot_load_kernel: choose the loader by magic
 * ====================================================================== */

static int load_kernel_exact(const struct guest_mem *gm, const uint8_t *img, size_t len,
			     struct boot_image *bi)
{
	uint8_t *copy = unit_dup(img, len);
	int ret = boot_load_kernel(gm, SRC(copy, len), bi);

	unit_drop(copy);
	return ret;
}

static void test_load_kernel_dispatch(void **state)
{
	struct guest *g = *state;
	struct setup_header h = bz_default_hdr();
	struct boot_image bi;
	uint8_t *img, zeros[0x1000] = { 0 }, garbage[0x1000];
	size_t len;

	img = elf_build(&elf_default, &len);
	assert_ret(load_kernel_exact(&g->gm, img, len, &bi), 0);
	assert_int_equal(bi.is_bzimage, 0);
	assert_int_equal(bi.entry, elf_default.entry);
	unit_drop(img);

	img = bz_build(&h, BZ_PAYLOAD, &len);
	assert_ret(load_kernel_exact(&g->gm, img, len, &bi), 0);
	assert_int_equal(bi.is_bzimage, 1);
	assert_int_equal(bi.entry, 1 * MiB + 0x200);
	/* HdrS present but the rest broken: the bzImage loader's errno. */
	img[0x206] = 0x0b;
	img[0x207] = 0x02;  /* version 2.11 */
	assert_ret(load_kernel_exact(&g->gm, img, len, &bi), -ENOEXEC);
	unit_drop(img);

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)(i * 37 + 11);
	assert_ret(load_kernel_exact(&g->gm, garbage, sizeof(garbage), &bi), -ENOEXEC);
	assert_ret(load_kernel_exact(&g->gm, zeros, sizeof(zeros), &bi), -ENOEXEC);
	assert_ret(load_kernel_exact(&g->gm, zeros, 0x206, &bi), -ENOEXEC);
	/* Files too small to be either are malformed. */
	assert_ret(load_kernel_exact(&g->gm, zeros, 0, &bi), -EINVAL);
	assert_ret(load_kernel_exact(&g->gm, garbage, 1, &bi), -EINVAL);
	assert_ret(load_kernel_exact(&g->gm, garbage, 100, &bi), -EINVAL);
	assert_ret(load_kernel_exact(&g->gm, garbage, 0x205, &bi), -EINVAL);
}

/* ======================================================================
 * initrd and command line
 * ====================================================================== */

static struct boot_image plain_bi(uint64_t kernel_end, uint64_t initrd_max)
{
	struct boot_image bi;

	memset(&bi, 0, sizeof(bi));
	bi.proto = BOOT_PROTO_LINUX64;
	bi.entry = 1 * MiB;
	bi.kernel_end = kernel_end;
	bi.initrd_max = initrd_max;
	bi.cmdline_max = LAYOUT_CMDLINE_MAX - 1;
	return bi;
}

static void test_initrd_placement(void **state)
{
	struct guest *g = *state;
	static const struct {
		const char *name;
		uint64_t kernel_end, initrd_max, len, gpa;
	} cases[] = {
		{ "small, top of RAM", 2 * MiB, GUEST_SIZE, 5000, GUEST_SIZE - 0x2000 },
		{ "one page", 2 * MiB, GUEST_SIZE, 0x1000, GUEST_SIZE - 0x1000 },
		{ "one byte", 2 * MiB, GUEST_SIZE, 1, GUEST_SIZE - 0x1000 },
		{ "unaligned max", 2 * MiB, 8 * MiB - 1, 0x1000, 8 * MiB - 0x2000 },
		{ "fills the space exactly", 4 * MiB, 4 * MiB + 0x3000, 0x3000, 4 * MiB },
		{ "right above an unaligned kernel_end", 4 * MiB + 1, 4 * MiB + 0x3000, 0x1000,
		  4 * MiB + 0x2000 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct boot_image bi = plain_bi(cases[i].kernel_end, cases[i].initrd_max);
		struct boot_initrd rd = { 0 };
		uint8_t *data = unit_keep(malloc(cases[i].len));

		for (uint64_t j = 0; j < cases[i].len; j++)
			data[j] = (uint8_t)(j * 3 + i);
		assert_ret_case(cases[i].name,
				boot_load_initrd(&g->gm, &bi, SRC(data, cases[i].len), &rd), 0);
		if (rd.gpa != cases[i].gpa || rd.size != cases[i].len)
			fail_msg("case '%s': initrd at 0x%llx size %llu", cases[i].name,
				 (unsigned long long)rd.gpa, (unsigned long long)rd.size);
		assert_int_equal(rd.gpa % 4096, 0);
		assert_true(rd.gpa >= cases[i].kernel_end);
		assert_true(rd.gpa + rd.size <= cases[i].initrd_max);
		assert_memory_equal(g->ram + rd.gpa, data, cases[i].len);
		unit_drop(data);
	}
}

static void test_initrd_bad(void **state)
{
	struct guest *g = *state;
	static const struct {
		const char *name;
		uint64_t kernel_end, initrd_max, len;
		int want;
	} cases[] = {
		{ "empty", 2 * MiB, GUEST_SIZE, 0, -EINVAL },
		{ "larger than RAM", 2 * MiB, GUEST_SIZE, GUEST_SIZE + 1, -EFBIG },
		{ "larger than initrd_max", 2 * MiB, 1 * MiB, 1 * MiB + 1, -EFBIG },
		{ "one byte too many to clear the kernel", 4 * MiB, 4 * MiB + 0x3000, 0x3001,
		  -EFBIG },
		{ "overlapping the kernel after alignment", 4 * MiB + 1, 4 * MiB + 0x3000, 0x3000,
		  -EFBIG },
		{ "kernel above initrd_max", 10 * MiB, 8 * MiB, 0x1000, -EFBIG },
		{ "initrd_max past RAM", 2 * MiB, 64 * MiB, 0x1000, -EFBIG },
	};
	static uint8_t data[GUEST_SIZE + 1];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct boot_image bi = plain_bi(cases[i].kernel_end, cases[i].initrd_max);
		struct boot_initrd rd = { .gpa = 0x1234, .size = 0x5678 };

		assert_ret_case(cases[i].name,
				boot_load_initrd(&g->gm, &bi, SRC(data, cases[i].len), &rd),
				cases[i].want);
	}
	/* Nothing was written anywhere. */
	for (uint64_t a = 1 * MiB; a < GUEST_SIZE; a += 4096)
		if (g->ram[a] != POISON)
			fail_msg("RAM at 0x%llx was written", (unsigned long long)a);
}

/* Loaders and the initrd together: the initrd lands above the kernel and
 * below the bzImage's initrd_addr_max. */
static void test_initrd_after_loaders(void **state)
{
	struct guest *g = *state;
	struct setup_header h = bz_default_hdr();
	struct boot_image bi;
	struct boot_initrd rd;
	uint8_t data[3000];
	size_t len;
	uint8_t *img;

	memset(data, 0x42, sizeof(data));
	h.initrd_addr_max = 12 * MiB - 1;
	img = bz_build(&h, BZ_PAYLOAD, &len);
	assert_ret(load_bz_exact(&g->gm, img, len, &bi), 0);
	assert_ret(boot_load_initrd(&g->gm, &bi, SRC(data, sizeof(data)), &rd), 0);
	assert_int_equal(rd.gpa, 12 * MiB - 0x1000);
	assert_true(rd.gpa >= bi.kernel_end);
	unit_drop(img);

	img = elf_build(&elf_default, &len);
	assert_ret(load_elf_exact(&g->gm, img, len, &bi), 0);
	assert_ret(boot_load_initrd(&g->gm, &bi, SRC(data, sizeof(data)), &rd), 0);
	assert_int_equal(rd.gpa, GUEST_SIZE - 0x1000);
	unit_drop(img);
}

/* ---- images read from a file: pread straight into guest RAM ---------- */

/* An anonymous file holding `len` bytes of `data`. */
static int file_with(const uint8_t *data, size_t len)
{
	int fd = memfd_create("ember-test-image", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	return fd;
}

/* Load `img` from a buffer and from a file holding the same bytes: the same
 * return, the same boot_image and the same guest RAM. */
static void load_both_ways(struct guest *g, const char *name, const uint8_t *img, size_t len)
{
	uint8_t *ram = unit_keep(malloc(GUEST_SIZE));
	struct boot_image from_buf, from_file;
	int fd = file_with(img, len), want, got;

	memset(&from_buf, 0, sizeof(from_buf));
	memset(&from_file, 0, sizeof(from_file));
	memset(g->ram, POISON, GUEST_SIZE);
	want = boot_load_kernel(&g->gm, SRC(img, len), &from_buf);
	memcpy(ram, g->ram, GUEST_SIZE);
	memset(g->ram, POISON, GUEST_SIZE);
	got = boot_load_kernel(&g->gm, SRC_FD(fd, len), &from_file);
	close(fd);
	if (got != want)
		fail_msg("%s: %d from the file, %d from a buffer", name, got, want);
	if (memcmp(&from_buf, &from_file, sizeof(from_buf)))
		fail_msg("%s: the boot image differs", name);
	if (memcmp(ram, g->ram, GUEST_SIZE))
		fail_msg("%s: guest RAM differs", name);
	unit_drop(ram);
}

static void test_load_from_file(void **state)
{
	struct guest *g = *state;
	struct setup_header h = bz_default_hdr();
	const uint32_t pvh = 1 * MiB + 0x200;
	struct elf_spec s = elf_default;
	uint8_t note[64] = { 0 }, *img;
	size_t len;

	img = elf_build(&elf_default, &len);
	load_both_ways(g, "vmlinux", img, len);
	load_both_ways(g, "vmlinux, headers only", img, 0x200);
	load_both_ways(g, "vmlinux, ELF header cut", img, 20);
	unit_drop(img);

	s.note = note;
	s.note_len = note_put(note, "Xen", 4, XEN_PVH_NOTE, &pvh, 4);
	img = elf_build(&s, &len);
	load_both_ways(g, "vmlinux with a PVH note", img, len);
	unit_drop(img);

	img = bz_build(&h, BZ_PAYLOAD, &len);
	load_both_ways(g, "bzImage", img, len);
	load_both_ways(g, "bzImage, payload cut", img, len - 1);
	load_both_ways(g, "bzImage, header only", img, 0x206);
	unit_drop(img);
	load_both_ways(g, "empty file", NULL, 0);
}

/* A file that shrinks between its measure and its read is an error, not
 * a guest booted from stale or zeroed bytes. */
static void test_load_file_shrank(void **state)
{
	struct guest *g = *state;
	struct setup_header h = bz_default_hdr();
	struct boot_image bi;
	struct boot_initrd rd;
	uint8_t data[5000];
	size_t len;
	uint8_t *img;
	int fd;

	img = elf_build(&elf_default, &len);
	fd = file_with(img, len);
	assert_int_equal(ftruncate(fd, (off_t)len - 1), 0);
	assert_ret(boot_load_kernel(&g->gm, SRC_FD(fd, len), &bi), -EIO);
	close(fd);
	unit_drop(img);

	img = bz_build(&h, BZ_PAYLOAD, &len);
	fd = file_with(img, len);
	assert_int_equal(ftruncate(fd, 0x1000), 0);
	assert_ret(boot_load_kernel(&g->gm, SRC_FD(fd, len), &bi), -EIO);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_ret(boot_load_kernel(&g->gm, SRC_FD(fd, len), &bi), -EIO);
	close(fd);
	unit_drop(img);

	memset(data, 0x3c, sizeof(data));
	fd = file_with(data, sizeof(data));
	bi = plain_bi(2 * MiB, GUEST_SIZE);
	assert_ret(boot_load_initrd(&g->gm, &bi, SRC_FD(fd, sizeof(data)), &rd), 0);
	assert_memory_equal(g->ram + rd.gpa, data, sizeof(data));
	assert_int_equal(ftruncate(fd, 100), 0);
	assert_ret(boot_load_initrd(&g->gm, &bi, SRC_FD(fd, sizeof(data)), &rd), -EIO);
	close(fd);
}

static void test_cmdline(void **state)
{
	struct guest *g = *state;
	static const struct {
		const char *name;
		uint32_t cmdline_max;
		size_t len;
		int want;
	} cases[] = {
		{ "empty", 2047, 0, 0 },
		{ "short", 2047, 20, 0 },
		{ "exactly at the limit", 2047, 2047, 0 },
		{ "one over the limit", 2047, 2048, -E2BIG },
		{ "far over the limit", 2047, 100000, -E2BIG },
		{ "at a bzImage's 100", 100, 100, 0 },
		{ "over a bzImage's 100", 100, 101, -E2BIG },
		{ "at the old 255", 255, 255, 0 },
		{ "over the old 255", 255, 256, -E2BIG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct boot_image bi = plain_bi(2 * MiB, GUEST_SIZE);
		char *s = unit_keep(malloc(cases[i].len + 1));

		memset(s, 'a' + (int)i, cases[i].len);
		s[cases[i].len] = '\0';
		bi.cmdline_max = cases[i].cmdline_max;
		memset(g->ram + LAYOUT_CMDLINE_START, POISON, LAYOUT_CMDLINE_MAX);
		assert_ret_case(cases[i].name, boot_write_cmdline(&g->gm, &bi, s), cases[i].want);
		if (!cases[i].want) {
			assert_memory_equal(g->ram + LAYOUT_CMDLINE_START, s, cases[i].len + 1);
		} else if (g->ram[LAYOUT_CMDLINE_START] != POISON) {
			fail_msg("case '%s': refused command line was written", cases[i].name);
		}
		unit_drop(s);
	}
}

/* The limit comes from the bzImage header (cmdline_size, NUL excluded). */
static void test_cmdline_bzimage_limit(void **state)
{
	struct guest *g = *state;
	struct setup_header h = bz_default_hdr();
	struct boot_image bi;
	char s[202];
	size_t len;
	uint8_t *img;

	h.cmdline_size = 200;
	img = bz_build(&h, BZ_PAYLOAD, &len);
	assert_ret(load_bz_exact(&g->gm, img, len, &bi), 0);
	memset(s, 'k', 201);
	s[201] = '\0';
	assert_ret(boot_write_cmdline(&g->gm, &bi, s), -E2BIG);
	s[200] = '\0';
	assert_ret(boot_write_cmdline(&g->gm, &bi, s), 0);
	assert_int_equal(g->ram[LAYOUT_CMDLINE_START + 200], 0);
	unit_drop(img);
}

/* ======================================================================
 * E820
 * ====================================================================== */

static void test_e820_small(void **state)
{
	struct guest *g = *state;
	struct boot_e820_entry e[5];

	memset(e, 0xee, sizeof(e));
	assert_ret(boot_e820(&g->gm, e, 5), 3);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9fc00);
	assert_int_equal(e[0].type, 1);
	assert_int_equal(e[1].addr, 0xe0000);     /* the ACPI tables */
	assert_int_equal(e[1].size, 0x20000);
	assert_int_equal(e[1].type, 3);
	assert_int_equal(e[2].addr, 1 * MiB);
	assert_int_equal(e[2].size, GUEST_SIZE - 1 * MiB);
	assert_int_equal(e[2].type, 1);
	assert_int_equal(e[3].type, 0xeeeeeeee);  /* nothing more written */
	assert_ret(boot_e820(&g->gm, e, 3), 3);
}

/* Region metadata only: boot_e820 never touches RAM, so no host memory. */
static void test_e820_large(void **state)
{
	struct guest_mem gm;
	struct boot_e820_entry e[4];

	(void)state;
	memset(&gm, 0, sizeof(gm));
	gm.region[0] = (struct gm_region){ .gpa = 0, .size = MMIO_GAP_START };
	gm.region[1] = (struct gm_region){ .gpa = RAM_HIGH_START, .size = 5 * GiB };
	gm.nr_regions = 2;
	gm.size = MMIO_GAP_START + 5 * GiB;

	assert_ret(boot_e820(&gm, e, 4), 4);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9fc00);
	assert_int_equal(e[1].addr, 0xe0000);
	assert_int_equal(e[1].type, 3);
	assert_int_equal(e[2].addr, 1 * MiB);
	assert_int_equal(e[2].size, MMIO_GAP_START - 1 * MiB);
	assert_int_equal(e[3].addr, 4 * GiB);
	assert_int_equal(e[3].size, 5 * GiB);
	for (int i = 0; i < 4; i++)
		assert_int_equal(e[i].type, i == 1 ? 3 : 1);
}

static void test_e820_no_space(void **state)
{
	struct guest *g = *state;
	struct guest_mem big;
	struct boot_e820_entry e[3];

	memset(e, 0xee, sizeof(e));
	assert_ret(boot_e820(&g->gm, e, 2), -ENOSPC);
	assert_ret(boot_e820(&g->gm, e, 0), -ENOSPC);
	assert_int_equal(e[0].type, 0xeeeeeeee);

	memset(&big, 0, sizeof(big));
	big.region[0] = (struct gm_region){ .gpa = 0, .size = MMIO_GAP_START };
	big.region[1] = (struct gm_region){ .gpa = RAM_HIGH_START, .size = 1 * GiB };
	big.nr_regions = 2;
	assert_ret(boot_e820(&big, e, 3), -ENOSPC);
	assert_int_equal(e[0].type, 0xeeeeeeee);
}

/* ======================================================================
 * Zero page, page tables, GDT, PVH start_info
 * ====================================================================== */

static uint64_t rd64(const struct guest *g, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, g->ram + gpa, sizeof(v));
	return v;
}

static void check_gdt(const struct guest *g, uint64_t code)
{
	assert_int_equal(rd64(g, LAYOUT_GDT_START), 0);
	assert_int_equal(rd64(g, LAYOUT_GDT_START + 8 * BOOT_GDT_CODE), code);
	assert_int_equal(rd64(g, LAYOUT_GDT_START + 8 * BOOT_GDT_DATA), 0x00cf93000000ffffULL);
	assert_int_equal(rd64(g, LAYOUT_GDT_START + 8 * BOOT_GDT_TSS), 0x008f8b000000ffffULL);
	assert_int_equal(rd64(g, LAYOUT_IDT_START), 0);
}

/* 4-level identity map of 0..4 GiB with 2 MiB pages. */
static void check_page_tables(const struct guest *g)
{
	assert_int_equal(rd64(g, LAYOUT_PML4_START), LAYOUT_PDPTE_START | 0x3);
	for (int i = 1; i < 512; i++)
		assert_int_equal(rd64(g, LAYOUT_PML4_START + 8 * i), 0);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(rd64(g, LAYOUT_PDPTE_START + 8 * i),
				 (LAYOUT_PDE_START + i * 4096) | 0x3);
	for (int i = 4; i < 512; i++)
		assert_int_equal(rd64(g, LAYOUT_PDPTE_START + 8 * i), 0);
	for (uint64_t i = 0; i < 4 * 512; i++) {
		uint64_t pde = rd64(g, LAYOUT_PDE_START + 8 * i);

		if (pde != ((i << 21) | 0x83))
			fail_msg("PDE %llu is 0x%llx, expected 0x%llx", (unsigned long long)i,
				 (unsigned long long)pde, (unsigned long long)((i << 21) | 0x83));
	}
	/* The last 2 MiB page below 4 GiB (LAPIC, IOAPIC live there). */
	assert_int_equal(rd64(g, LAYOUT_PDE_START + 3 * 4096 + 511 * 8), 0xffe00083ULL);
}

static struct boot_params read_zero_page(const struct guest *g)
{
	struct boot_params bp;

	assert_ret(gm_read(&g->gm, LAYOUT_ZERO_PAGE_START, &bp, sizeof(bp)), 0);
	return bp;
}

static void test_params_elf(void **state)
{
	struct guest *g = *state;
	struct boot_image bi;
	struct boot_initrd rd;
	struct boot_params bp;
	uint8_t data[5000];
	size_t len;
	uint8_t *img = elf_build(&elf_default, &len);

	memset(data, 0x77, sizeof(data));
	assert_ret(load_elf_exact(&g->gm, img, len, &bi), 0);
	assert_ret(boot_load_initrd(&g->gm, &bi, SRC(data, sizeof(data)), &rd), 0);
	assert_ret(boot_write_params(&g->gm, &bi, &rd, 0xe0000), 0);

	bp = read_zero_page(g);
	assert_int_equal(bp.acpi_rsdp_addr, 0xe0000);
	assert_int_equal(bp.hdr.boot_flag, 0xaa55);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.cmd_line_ptr, LAYOUT_CMDLINE_START);
	assert_int_equal(bp.hdr.ramdisk_image, rd.gpa);
	assert_int_equal(bp.hdr.ramdisk_size, sizeof(data));
	assert_int_equal(bp.ext_ramdisk_image, 0);
	assert_int_equal(bp.ext_ramdisk_size, 0);
	assert_int_equal(bp.ext_cmd_line_ptr, 0);
	assert_int_equal(bp.e820_entries, 3);
	assert_int_equal(bp.e820_table[0].addr, 0);
	assert_int_equal(bp.e820_table[0].size, 0x9fc00);
	assert_int_equal(bp.e820_table[0].type, 1);
	assert_int_equal(bp.e820_table[1].addr, 0xe0000);
	assert_int_equal(bp.e820_table[1].size, 0x20000);
	assert_int_equal(bp.e820_table[1].type, 3);
	assert_int_equal(bp.e820_table[2].addr, 1 * MiB);
	assert_int_equal(bp.e820_table[2].size, GUEST_SIZE - 1 * MiB);
	assert_int_equal(bp.e820_table[2].type, 1);
	assert_int_equal(bp.e820_table[3].size, 0);
	check_page_tables(g);
	check_gdt(g, 0x00af9b000000ffffULL);  /* 64-bit code */
	unit_drop(img);
}

static void test_params_no_initrd(void **state)
{
	struct guest *g = *state;
	struct boot_image bi = plain_bi(2 * MiB, GUEST_SIZE);
	struct boot_initrd empty = { 0 };
	struct boot_params bp;

	assert_ret(boot_write_params(&g->gm, &bi, NULL, 0), 0);
	bp = read_zero_page(g);
	assert_int_equal(bp.hdr.ramdisk_image, 0);
	assert_int_equal(bp.hdr.ramdisk_size, 0);
	assert_ret(boot_write_params(&g->gm, &bi, &empty, 0), 0);
	bp = read_zero_page(g);
	assert_int_equal(bp.hdr.ramdisk_size, 0);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
}

/* A bzImage's own setup header goes into the zero page, with the
 * loader's fields filled in. */
static void test_params_bzimage(void **state)
{
	struct guest *g = *state;
	struct setup_header h = bz_default_hdr(), want;
	struct boot_image bi;
	struct boot_initrd rd;
	struct boot_params bp;
	uint8_t data[100];
	size_t len;
	uint8_t *img;

	memset(data, 1, sizeof(data));
	h.cmdline_size = 1000;
	img = bz_build(&h, BZ_PAYLOAD, &len);
	assert_ret(load_bz_exact(&g->gm, img, len, &bi), 0);
	assert_ret(boot_load_initrd(&g->gm, &bi, SRC(data, sizeof(data)), &rd), 0);
	assert_ret(boot_write_params(&g->gm, &bi, &rd, 0), 0);
	bp = read_zero_page(g);

	want = h;
	want.type_of_loader = 0xff;
	want.cmd_line_ptr = LAYOUT_CMDLINE_START;
	want.ramdisk_image = (uint32_t)rd.gpa;
	want.ramdisk_size = sizeof(data);
	assert_memory_equal(&bp.hdr, &want, sizeof(want));
	assert_int_equal(bp.acpi_rsdp_addr, 0);
	assert_int_equal(bp.e820_entries, 3);
	check_page_tables(g);
	unit_drop(img);
}

/* The boot writers touch only their documented places in low memory. */
static void test_params_write_nothing_else(void **state)
{
	struct guest *g = *state;
	struct boot_image bi = plain_bi(2 * MiB, GUEST_SIZE);
	struct boot_initrd rd = { .gpa = 8 * MiB, .size = 0x1000 };
	static const struct {
		enum boot_proto proto;
		uint64_t start, end;
	} areas[] = {
		{ BOOT_PROTO_LINUX64, LAYOUT_GDT_START, LAYOUT_IDT_START + 8 },
		{ BOOT_PROTO_LINUX64, LAYOUT_ZERO_PAGE_START, LAYOUT_ZERO_PAGE_START + 4096 },
		{ BOOT_PROTO_LINUX64, LAYOUT_PML4_START, LAYOUT_PML4_START + 8 },
		{ BOOT_PROTO_LINUX64, LAYOUT_PDPTE_START, LAYOUT_PDPTE_START + 32 },
		{ BOOT_PROTO_LINUX64, LAYOUT_PDE_START, LAYOUT_PDE_START + 4 * 4096 },
		{ BOOT_PROTO_PVH, LAYOUT_GDT_START, LAYOUT_IDT_START + 8 },
		{ BOOT_PROTO_PVH, LAYOUT_PVH_INFO_START,
		  LAYOUT_PVH_INFO_START + sizeof(struct hvm_start_info) +
		  sizeof(struct hvm_modlist_entry) },
		{ BOOT_PROTO_PVH, LAYOUT_PVH_MEMMAP_START,
		  LAYOUT_PVH_MEMMAP_START + 3 * sizeof(struct hvm_memmap_table_entry) },
	};

	for (int p = BOOT_PROTO_LINUX64; p <= BOOT_PROTO_PVH; p++) {
		memset(g->ram, POISON, 1 * MiB);
		bi.proto = (enum boot_proto)p;
		assert_ret(boot_write_params(&g->gm, &bi, &rd, 0), 0);
		for (uint64_t a = 0; a < 1 * MiB; a++) {
			int expected = 0;

			for (size_t i = 0; i < ARRAY_SIZE(areas); i++)
				if (areas[i].proto == (enum boot_proto)p && a >= areas[i].start &&
				    a < areas[i].end)
					expected = 1;
			if (!expected && g->ram[a] != POISON)
				fail_msg("proto %d wrote at 0x%llx", p, (unsigned long long)a);
		}
	}
}

static void test_params_pvh(void **state)
{
	struct guest *g = *state;
	struct boot_image bi = plain_bi(2 * MiB, GUEST_SIZE);
	struct boot_initrd rd = { .gpa = 12 * MiB, .size = 0x12345 };
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;
	struct hvm_memmap_table_entry mm[3];

	bi.proto = BOOT_PROTO_PVH;
	bi.entry = 1 * MiB + 0x100;
	assert_ret(boot_write_params(&g->gm, &bi, &rd, 0xe0000), 0);
	assert_ret(gm_read(&g->gm, LAYOUT_PVH_INFO_START, &si, sizeof(si)), 0);
	assert_int_equal(si.magic, 0x336ec578);
	assert_int_equal(si.version, 1);
	assert_int_equal(si.cmdline_paddr, LAYOUT_CMDLINE_START);
	assert_int_equal(si.rsdp_paddr, 0xe0000);
	assert_int_equal(si.memmap_paddr, LAYOUT_PVH_MEMMAP_START);
	assert_int_equal(si.memmap_entries, 3);
	assert_int_equal(si.nr_modules, 1);
	assert_ret(gm_read(&g->gm, si.modlist_paddr, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.paddr, 12 * MiB);
	assert_int_equal(mod.size, 0x12345);
	assert_int_equal(mod.cmdline_paddr, 0);
	assert_ret(gm_read(&g->gm, si.memmap_paddr, mm, sizeof(mm)), 0);
	assert_int_equal(mm[0].addr, 0);
	assert_int_equal(mm[0].size, 0x9fc00);
	assert_int_equal(mm[0].type, 1);
	assert_int_equal(mm[1].addr, 0xe0000);
	assert_int_equal(mm[1].size, 0x20000);
	assert_int_equal(mm[1].type, 3);
	assert_int_equal(mm[2].addr, 1 * MiB);
	assert_int_equal(mm[2].size, GUEST_SIZE - 1 * MiB);
	assert_int_equal(mm[2].type, 1);
	check_gdt(g, 0x00cf9b000000ffffULL);  /* 32-bit code */

	/* Without an initrd: no module list. */
	assert_ret(boot_write_params(&g->gm, &bi, NULL, 0), 0);
	assert_ret(gm_read(&g->gm, LAYOUT_PVH_INFO_START, &si, sizeof(si)), 0);
	assert_int_equal(si.nr_modules, 0);
	assert_int_equal(si.modlist_paddr, 0);
	assert_int_equal(si.rsdp_paddr, 0);
}

/* A guest larger than the MMIO gap: the third RAM range at 4 GiB shows up
 * in the zero page and in the PVH memmap.  gm_init maps NORESERVE, so only
 * the touched pages cost memory. */
static void test_params_large_guest(void **state)
{
	struct guest g;
	struct boot_image bi = plain_bi(2 * MiB, MMIO_GAP_START);
	struct boot_params bp;
	struct hvm_start_info si;
	struct hvm_memmap_table_entry mm[4];
	int ret;

	(void)state;
	ret = gm_init(&g.gm, MMIO_GAP_START + 64 * MiB, false, MMIO_GAP_START, MMIO_GAP_END);
	if (ret == -ENOMEM)
		skip();
	assert_ret(ret, 0);
	g.ram = g.gm.region[0].host;
	assert_ret(boot_write_params(&g.gm, &bi, NULL, 0), 0);
	assert_ret(gm_read(&g.gm, LAYOUT_ZERO_PAGE_START, &bp, sizeof(bp)), 0);
	assert_int_equal(bp.e820_entries, 4);
	assert_int_equal(bp.e820_table[2].addr, 1 * MiB);
	assert_int_equal(bp.e820_table[2].size, MMIO_GAP_START - 1 * MiB);
	assert_int_equal(bp.e820_table[3].addr, 4 * GiB);
	assert_int_equal(bp.e820_table[3].size, 64 * MiB);
	assert_int_equal(bp.e820_table[3].type, 1);
	check_page_tables(&g);

	bi.proto = BOOT_PROTO_PVH;
	assert_ret(boot_write_params(&g.gm, &bi, NULL, 0), 0);
	assert_ret(gm_read(&g.gm, LAYOUT_PVH_INFO_START, &si, sizeof(si)), 0);
	assert_int_equal(si.memmap_entries, 4);
	assert_ret(gm_read(&g.gm, si.memmap_paddr, mm, sizeof(mm)), 0);
	assert_int_equal(mm[3].addr, 4 * GiB);
	assert_int_equal(mm[3].size, 64 * MiB);
	gm_free(&g.gm);
}

/* ======================================================================
 * MP table
 * ====================================================================== */

static uint8_t byte_sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static void check_mptable(const struct guest *g, unsigned int n)
{
	const uint8_t *fp = g->ram + LAYOUT_EBDA_START, *cfg, *e;
	uint32_t table, lapic;
	uint16_t length, count;
	unsigned int cpus = 0, buses = 0, ioapics = 0, ints = 0, lints = 0;

	/* Floating pointer: "_MP_", 16 bytes, spec 1.4, checksum. */
	assert_memory_equal(fp, "_MP_", 4);
	assert_int_equal(fp[8], 1);
	assert_int_equal(fp[9], 4);
	assert_int_equal(byte_sum(fp, 16), 0);
	assert_int_equal(fp[11], 0);  /* feature byte 1: config table present */
	memcpy(&table, fp + 4, 4);
	assert_true(table >= LAYOUT_EBDA_START + 16 && table < LAYOUT_EBDA_END);

	/* Configuration table header. */
	cfg = g->ram + table;
	assert_memory_equal(cfg, "PCMP", 4);
	memcpy(&length, cfg + 4, 2);
	memcpy(&count, cfg + 34, 2);
	memcpy(&lapic, cfg + 36, 4);
	assert_int_equal(cfg[6], 4);
	assert_true(table + length <= LAYOUT_EBDA_END);
	assert_int_equal(byte_sum(cfg, length), 0);
	assert_int_equal(lapic, LAPIC_ADDR);
	assert_int_equal(count, n + 2 + IOAPIC_PINS + 2);

	/* Entries, in the spec's order. */
	e = cfg + 44;
	for (unsigned int i = 0; i < count; i++) {
		switch (e[0]) {
		case 0:  /* processor */
			assert_int_equal(e[1], cpus);                 /* APIC id */
			assert_int_equal(e[3] & 1, 1);                /* enabled */
			assert_int_equal(!!(e[3] & 2), cpus == 0);    /* BSP only on CPU 0 */
			cpus++;
			e += 20;
			break;
		case 1:  /* bus */
			assert_memory_equal(e + 2, "ISA   ", 6);
			buses++;
			e += 8;
			break;
		case 2: {  /* IOAPIC */
			uint32_t addr;

			memcpy(&addr, e + 4, 4);
			assert_int_equal(e[1], n);  /* id after the CPUs' */
			assert_int_equal(e[3] & 1, 1);
			assert_int_equal(addr, IOAPIC_ADDR);
			ioapics++;
			e += 8;
			break;
		}
		case 3:  /* I/O interrupt: ISA IRQ i -> IOAPIC pin i */
			assert_int_equal(e[5], ints);
			assert_int_equal(e[6], n);
			assert_int_equal(e[7], ints);
			ints++;
			e += 8;
			break;
		case 4:  /* local interrupt */
			lints++;
			e += 8;
			break;
		default:
			fail_msg("unknown MP entry type %u", e[0]);
		}
	}
	assert_int_equal(cpus, n);
	assert_int_equal(buses, 1);
	assert_int_equal(ioapics, 1);
	assert_int_equal(ints, IOAPIC_PINS);
	assert_int_equal(lints, 2);
	assert_int_equal((size_t)(e - cfg), length);
}

static void test_mptable(void **state)
{
	struct guest *g = *state;
	static const unsigned int counts[] = { 1, 2, 3, 8, EMBER_MAX_VCPUS };

	for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
		memset(g->ram + LAYOUT_EBDA_START, POISON, LAYOUT_EBDA_END - LAYOUT_EBDA_START);
		assert_ret(mptable_write(&g->gm, counts[i]), 0);
		check_mptable(g, counts[i]);
		assert_int_equal(g->ram[LAYOUT_EBDA_END], POISON);
	}
}

static void test_mptable_bad_count(void **state)
{
	struct guest *g = *state;

	assert_ret(mptable_write(&g->gm, 0), -EINVAL);
	assert_ret(mptable_write(&g->gm, EMBER_MAX_VCPUS + 1), -EINVAL);
	assert_ret(mptable_write(&g->gm, UINT32_MAX), -EINVAL);
	assert_int_equal(g->ram[LAYOUT_EBDA_START], POISON);
}

#define T(fn)  cmocka_unit_test_setup_teardown(fn, guest_setup, guest_teardown)
#define TZ(fn) cmocka_unit_test_setup_teardown(fn, guest_setup_zero, guest_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_elf_load),
		T(test_elf_skips_other_segments),
		T(test_elf_segment_at_ram_end),
		T(test_elf_pvh_note),
		T(test_elf_ignored_notes),
		T(test_elf_linux_prefers_64bit_entry),
		T(test_elf_note_overflowing_sizes),
		T(test_elf_pvh_entry_outside),
		T(test_elf_bad_images),
		T(test_elf_truncated_ident),
		T(test_elf_every_prefix),
		T(test_elf_mutations),
		T(test_bz_load),
		T(test_bz_limits_from_header),
		T(test_bz_bad_images),
		T(test_bz_payload_too_big),
		T(test_bz_every_prefix),
		T(test_bz_mutations),
		T(test_load_kernel_dispatch),
		T(test_load_from_file),
		T(test_load_file_shrank),
		T(test_initrd_placement),
		T(test_initrd_bad),
		T(test_initrd_after_loaders),
		T(test_cmdline),
		T(test_cmdline_bzimage_limit),
		T(test_e820_small),
		T(test_e820_large),
		T(test_e820_no_space),
		TZ(test_params_elf),
		TZ(test_params_no_initrd),
		TZ(test_params_bzimage),
		T(test_params_write_nothing_else),
		TZ(test_params_pvh),
		T(test_params_large_guest),
		T(test_mptable),
		T(test_mptable_bad_count),
	};

	unit_init();
	return cmocka_run_group_tests_name("boot", tests, NULL, NULL);
}
