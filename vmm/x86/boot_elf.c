// SPDX-License-Identifier: Apache-2.0
/*
 * boot_elf.c - load an uncompressed ELF vmlinux.
 *
 * Every offset and size read from the file is checked against the file
 * length and every segment against guest RAM before anything is copied.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "vmm/core/log.h"

#define ELF_MAX_PHDRS           64
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* True when [off, off+size) lies inside a buffer of `len` bytes. */
static int in_file(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

static int elf_check_header(const Elf64_Ehdr *eh, size_t len)
{
	if (len < SELFMAG || memcmp(eh->e_ident, ELFMAG, SELFMAG)) {
		log_error("kernel: not an ELF file");
		return -ENOEXEC;
	}
	if (len < EI_NIDENT) {
		log_error("kernel: ELF identification truncated (%zu bytes)", len);
		return -EINVAL;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64) {
		log_error("kernel: 32-bit ELF kernels are not supported, give a 64-bit vmlinux");
		return -ENOEXEC;
	}
	if (len < sizeof(*eh)) {
		log_error("kernel: ELF header truncated (%zu bytes)", len);
		return -EINVAL;
	}
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64) {
		log_error("kernel: ELF is not for x86_64 (machine %u)", eh->e_machine);
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC) {
		log_error("kernel: ELF type %u is not an executable", eh->e_type);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum ||
	    eh->e_phnum > ELF_MAX_PHDRS) {
		log_error("kernel: bad ELF program header table (%u entries of %u bytes)",
			  eh->e_phnum, eh->e_phentsize);
		return -EINVAL;
	}
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len)) {
		log_error("kernel: ELF program headers lie outside the file (truncated?)");
		return -EINVAL;
	}
	return 0;
}

/* What the ELF notes say about how to enter the kernel. */
struct elf_notes {
	uint64_t pvh;  /* the Xen PVH 32-bit entry, 0 if none */
	int is_linux;  /* an owner "Linux" note: the kernel is Linux */
};

/* Read one PT_NOTE segment into `notes`; 0, or -EIO if the file could not
 * be read.  A malformed note ends the walk of its segment. */
static int elf_scan_notes(const struct boot_src *src, const Elf64_Phdr *ph,
			  struct elf_notes *notes)
{
	uint64_t off = ph->p_offset, end;

	if (!in_file(ph->p_offset, ph->p_filesz, src->len))
		return 0;
	end = ph->p_offset + ph->p_filesz;
	while (end - off >= sizeof(Elf64_Nhdr)) {
		char name[8] = { 0 };
		Elf64_Nhdr nh;
		uint64_t name_off, desc_off, next;
		uint32_t pvh;
		int ret;

		ret = boot_src_read(src, "kernel", off, &nh, sizeof(nh));
		if (ret)
			return ret;
		name_off = off + sizeof(nh);
		desc_off = name_off + (((uint64_t)nh.n_namesz + 3) & ~3ULL);
		next = desc_off + (((uint64_t)nh.n_descsz + 3) & ~3ULL);
		if (next > end)
			return 0;
		if (nh.n_namesz <= sizeof(name)) {
			ret = boot_src_read(src, "kernel", name_off, name, nh.n_namesz);
			if (ret)
				return ret;
		}
		if (nh.n_namesz == 6 && !memcmp(name, "Linux", 6))
			notes->is_linux = 1;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(name, "Xen", 4) && nh.n_descsz >= 4 && !notes->pvh) {
			ret = boot_src_read(src, "kernel", desc_off, &pvh, sizeof(pvh));
			if (ret)
				return ret;
			notes->pvh = pvh;
		}
		off = next;
	}
	return 0;
}

static int elf_load_segment(const struct guest_mem *gm, const struct boot_src *src,
			    const Elf64_Phdr *ph)
{
	uint8_t *dst;
	int ret;

	if (!in_file(ph->p_offset, ph->p_filesz, src->len)) {
		log_error("kernel: ELF segment at file offset 0x%llx is truncated",
			  (unsigned long long)ph->p_offset);
		return -EINVAL;
	}
	if (ph->p_filesz > ph->p_memsz) {
		log_error("kernel: ELF segment file size exceeds its memory size");
		return -EINVAL;
	}
	if (ph->p_paddr < LAYOUT_HIMEM_START) {
		log_error("kernel: ELF segment at 0x%llx overlaps the boot area below 1 MiB",
			  (unsigned long long)ph->p_paddr);
		return -EINVAL;
	}
	dst = gm_ptr(gm, ph->p_paddr, ph->p_memsz);
	if (!dst) {
		log_error("kernel: ELF segment [0x%llx, +0x%llx) does not fit in %llu MiB of guest memory",
			  (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
			  (unsigned long long)(gm->size / MiB));
		return -EFBIG;
	}
	ret = boot_src_read(src, "kernel", ph->p_offset, dst, ph->p_filesz);
	if (ret)
		return ret;
	memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	gm_mark_dirty(gm, ph->p_paddr, ph->p_memsz);
	return 0;
}

int boot_load_elf(const struct guest_mem *gm, const struct boot_src *src,
		  struct boot_image *out)
{
	Elf64_Ehdr ehdr = { 0 }, *eh = &ehdr;
	struct elf_notes notes = { 0 };
	uint64_t end = 0;
	int loaded = 0, entry_ok = 0, pvh, ret;

	ret = boot_src_read(src, "kernel", 0, eh, src->len < sizeof(*eh) ? src->len : sizeof(*eh));
	if (!ret)
		ret = elf_check_header(eh, src->len);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		ret = boot_src_read(src, "kernel", eh->e_phoff + i * sizeof(ph), &ph, sizeof(ph));
		if (!ret && ph.p_type == PT_NOTE)
			ret = elf_scan_notes(src, &ph, &notes);
		if (ret)
			return ret;
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		ret = elf_load_segment(gm, src, &ph);
		if (ret)
			return ret;
		loaded++;
		if (ph.p_paddr + ph.p_memsz > end)
			end = ph.p_paddr + ph.p_memsz;
		if (eh->e_entry >= ph.p_paddr && eh->e_entry - ph.p_paddr < ph.p_memsz)
			entry_ok = 1;
	}
	if (!loaded) {
		log_error("kernel: ELF has no loadable segment");
		return -EINVAL;
	}
	if (!entry_ok && !notes.pvh) {
		log_error("kernel: ELF entry 0x%llx is outside the loaded segments",
			  (unsigned long long)eh->e_entry);
		return -EINVAL;
	}
	/* A Linux vmlinux's ELF entry is startup_64, the 64-bit boot protocol's:
	 * ember enters there even when the kernel also has the PVH note.  The PVH
	 * path costs a Linux guest some 256 CPUID exits at its start (it looks
	 * for Xen's CPUID leaves before it knows it is not on Xen) and its own
	 * early page tables.  Kernels that are not Linux (or whose entry is not
	 * in a segment) enter through PVH when they have the note. */
	pvh = notes.pvh && !(notes.is_linux && entry_ok);
	if (pvh && (notes.pvh < LAYOUT_HIMEM_START || notes.pvh >= end)) {
		log_error("kernel: PVH entry 0x%llx is outside the kernel",
			  (unsigned long long)notes.pvh);
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	out->proto = pvh ? BOOT_PROTO_PVH : BOOT_PROTO_LINUX64;
	out->entry = pvh ? notes.pvh : eh->e_entry;
	out->kernel_end = end;
	out->initrd_max = gm_low_end(gm);
	out->cmdline_max = LAYOUT_CMDLINE_MAX - 1;
	return 0;
}

int boot_load_kernel(const struct guest_mem *gm, const struct boot_src *src,
		     struct boot_image *out)
{
	uint8_t magic[0x206];
	size_t len = src->len;
	int ret = boot_src_read(src, "kernel", 0, magic, len < sizeof(magic) ? len : sizeof(magic));

	if (ret)
		return ret;
	if (len >= SELFMAG && !memcmp(magic, ELFMAG, SELFMAG))
		return boot_load_elf(gm, src, out);
	if (len >= 0x206 && !memcmp(magic + 0x202, "HdrS", 4))
		return boot_load_bzimage(gm, src, out);
	log_error("kernel: neither an ELF vmlinux nor a bzImage (%zu bytes)", len);
	return len < 0x206 ? -EINVAL : -ENOEXEC;
}
