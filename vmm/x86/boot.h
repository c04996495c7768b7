/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot.h - direct kernel boot without firmware.
 *
 * The loaders read a kernel image from a boot_src (an open file, read
 * straight into guest RAM, or a buffer in tests), validate every header
 * field they use, place the image in guest RAM and describe how to enter it.  The boot
 * writers then build what the kernel expects in low memory.  The builder
 * calls everything here on the vmm thread before vCPUs exist; errors are
 * logged with the reason and returned as -errno:
 *   -ENOEXEC  not an ELF/bzImage, or a kind ember cannot boot (32-bit)
 *   -EINVAL   malformed or truncated image
 *   -EFBIG    does not fit in guest memory
 *   -E2BIG    command line over the limit
 *   -EIO      the file could not be read, or ended before its measured size
 */
#ifndef EMBER_BOOT_H
#define EMBER_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include <asm/bootparam.h>

#include "vmm/core/memory.h"

enum boot_proto {
	BOOT_PROTO_LINUX64,  /* 64-bit boot protocol: long mode, rsi = zero page */
	BOOT_PROTO_PVH,      /* PVH: 32-bit protected mode, ebx = hvm_start_info */
};

struct boot_image {
	enum boot_proto proto;
	uint64_t entry;           /* guest-physical entry point */
	uint64_t kernel_end;      /* first byte above the loaded kernel */
	uint64_t initrd_max;      /* highest address the initrd may end at */
	uint32_t cmdline_max;     /* longest command line, NUL excluded */
	int is_bzimage;
	struct setup_header hdr;  /* bzImage only: header to pass on */
};

struct boot_initrd {
	uint64_t gpa;
	uint64_t size;
};

/* Where an image is read from: `len` bytes of an open regular file (`buf`
 * NULL), read with pread straight to where they belong, the headers into
 * locals and the segments into guest RAM, so the file is never mapped and
 * nothing is copied twice; or a host buffer (unit tests, fuzzing). */
struct boot_src {
	const uint8_t *buf;
	int fd;
	size_t len;
};

static inline struct boot_src boot_src_mem(const void *buf, size_t len)
{
	return (struct boot_src){ .buf = buf, .fd = -1, .len = len };
}

static inline struct boot_src boot_src_fd(int fd, size_t len)
{
	return (struct boot_src){ .buf = NULL, .fd = fd, .len = len };
}

/* Copy [off, off+n) of the image, which the caller checked lies inside
 * src->len, to dst.  -EIO (logged, naming `what`) when the file ended
 * early: it shrank after it was measured. */
int boot_src_read(const struct boot_src *src, const char *what, uint64_t off, void *dst,
		  size_t n);

/* Load an ELF vmlinux (64-bit; PVH entry when the Xen note is present) or a
 * bzImage (protocol >= 2.12 with a 64-bit entry), chosen by magic. */
int boot_load_kernel(const struct guest_mem *gm, const struct boot_src *src,
		     struct boot_image *out);
int boot_load_elf(const struct guest_mem *gm, const struct boot_src *src,
		  struct boot_image *out);
int boot_load_bzimage(const struct guest_mem *gm, const struct boot_src *src,
		      struct boot_image *out);

/* Place the initrd at the top of low RAM, above the kernel. */
int boot_load_initrd(const struct guest_mem *gm, const struct boot_image *bi,
		     const struct boot_src *src, struct boot_initrd *out);

/* Write the command line (checked against bi->cmdline_max). */
int boot_write_cmdline(const struct guest_mem *gm, const struct boot_image *bi,
		       const char *cmdline);

/* Fill `out` with the guest RAM map (E820 types: RAM, and ACPI for the
 * tables at LAYOUT_ACPI_START); returns the entry count (at most
 * BOOT_E820_MAX) or -ENOSPC. */
#define BOOT_E820_MAX 4
int boot_e820(const struct guest_mem *gm, struct boot_e820_entry *out, int max);

/* Zero page (LINUX64) or hvm_start_info (PVH), page tables and GDT;
 * rsdp_gpa (0: none) goes to boot_params.acpi_rsdp_addr or
 * hvm_start_info.rsdp_paddr. */
int boot_write_params(const struct guest_mem *gm, const struct boot_image *bi,
		      const struct boot_initrd *initrd, uint64_t rsdp_gpa);

/* MP floating pointer + configuration table for `nr_vcpus` CPUs. */
int mptable_write(const struct guest_mem *gm, unsigned int nr_vcpus);

/* GDT descriptors ember installs (selector = index * 8). */
#define BOOT_GDT_CODE 1
#define BOOT_GDT_DATA 2
#define BOOT_GDT_TSS  3

/* The PVH ABI structures (Xen public/arch-x86/hvm/start_info.h). */
#define PVH_START_MAGIC 0x336ec578U
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#endif
