// SPDX-License-Identifier: Apache-2.0
/*
 * boot_params.c - what a directly booted kernel finds in low memory:
 * the command line, the initrd, the RAM map, the zero page (64-bit boot
 * protocol) or hvm_start_info (PVH), identity page tables and a GDT.
 */
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "vmm/core/log.h"

#define E820_RAM  1
#define E820_ACPI 3
#define PAGE_SIZE 4096ULL
#define PTE_PRESENT_RW 0x3ULL
#define PDE_2M_PAGE    0x83ULL  /* present | rw | page size */

int boot_load_initrd(const struct guest_mem *gm, const struct boot_image *bi,
		     const struct boot_src *src, struct boot_initrd *out)
{
	uint64_t top = bi->initrd_max, gpa;
	size_t len = src->len;
	void *dst;
	int ret;

	if (!len) {
		log_error("initrd: file is empty");
		return -EINVAL;
	}
	if (len > top || ((top - len) & ~(PAGE_SIZE - 1)) < bi->kernel_end) {
		log_error("initrd: %zu bytes do not fit between the kernel (ends at %llu MiB) and %llu MiB",
			  len, (unsigned long long)(bi->kernel_end / MiB),
			  (unsigned long long)(top / MiB));
		return -EFBIG;
	}
	gpa = (top - len) & ~(PAGE_SIZE - 1);
	dst = gm_ptr(gm, gpa, len);
	if (!dst)
		return -EFBIG;
	ret = boot_src_read(src, "initrd", 0, dst, len);
	if (ret)
		return ret;
	gm_mark_dirty(gm, gpa, len);
	out->gpa = gpa;
	out->size = len;
	return 0;
}

int boot_write_cmdline(const struct guest_mem *gm, const struct boot_image *bi,
		       const char *cmdline)
{
	size_t len = strlen(cmdline);

	if (len > bi->cmdline_max) {
		log_error("cmdline: %zu bytes is over this kernel's limit of %u", len,
			  bi->cmdline_max);
		return -E2BIG;
	}
	return gm_write(gm, LAYOUT_CMDLINE_START, cmdline, len + 1);
}

int boot_e820(const struct guest_mem *gm, struct boot_e820_entry *out, int max)
{
	struct boot_e820_entry e[4];
	int n = 0;

	e[n++] = (struct boot_e820_entry){ 0, LAYOUT_EBDA_START, E820_RAM };
	e[n++] = (struct boot_e820_entry){
		LAYOUT_ACPI_START, LAYOUT_ACPI_END - LAYOUT_ACPI_START, E820_ACPI };
	if (gm_low_end(gm) > LAYOUT_HIMEM_START)
		e[n++] = (struct boot_e820_entry){
			LAYOUT_HIMEM_START, gm_low_end(gm) - LAYOUT_HIMEM_START, E820_RAM };
	if (gm->nr_regions > 1)
		e[n++] = (struct boot_e820_entry){
			gm->region[1].gpa, gm->region[1].size, E820_RAM };
	if (n > max)
		return -ENOSPC;
	memcpy(out, e, (size_t)n * sizeof(e[0]));
	return n;
}

/* Identity-map the first 4 GiB with 2 MiB pages. */
static int boot_write_page_tables(const struct guest_mem *gm)
{
	uint64_t pml4 = LAYOUT_PDPTE_START | PTE_PRESENT_RW;
	int ret = gm_write(gm, LAYOUT_PML4_START, &pml4, sizeof(pml4));

	for (uint64_t i = 0; i < LAYOUT_PDE_PAGES && !ret; i++) {
		uint64_t pdpte = (LAYOUT_PDE_START + i * PAGE_SIZE) | PTE_PRESENT_RW;

		ret = gm_write(gm, LAYOUT_PDPTE_START + i * 8, &pdpte, sizeof(pdpte));
		for (uint64_t j = 0; j < 512 && !ret; j++) {
			uint64_t pde = ((i * 512 + j) << 21) | PDE_2M_PAGE;

			ret = gm_write(gm, LAYOUT_PDE_START + i * PAGE_SIZE + j * 8,
				       &pde, sizeof(pde));
		}
	}
	return ret;
}

static int boot_write_gdt(const struct guest_mem *gm, enum boot_proto proto)
{
	const uint64_t gdt[] = {
		0,                                       /* null */
		proto == BOOT_PROTO_PVH ? 0x00cf9b000000ffffULL  /* code, 32-bit */
					: 0x00af9b000000ffffULL, /* code, 64-bit */
		0x00cf93000000ffffULL,                   /* data */
		0x008f8b000000ffffULL,                   /* TSS (busy) */
	};
	uint64_t idt = 0;
	int ret = gm_write(gm, LAYOUT_GDT_START, gdt, sizeof(gdt));

	return ret ? ret : gm_write(gm, LAYOUT_IDT_START, &idt, sizeof(idt));
}

static int boot_write_zero_page(const struct guest_mem *gm, const struct boot_image *bi,
				const struct boot_initrd *initrd, uint64_t rsdp_gpa)
{
	struct boot_params bp;
	int n;

	memset(&bp, 0, sizeof(bp));
	if (bi->is_bzimage) {
		bp.hdr = bi->hdr;
	} else {
		bp.hdr.boot_flag = 0xaa55;
		bp.hdr.header = 0x53726448;
		bp.hdr.kernel_alignment = 0x1000000;
	}
	bp.hdr.type_of_loader = 0xff;
	bp.hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE_START;
	bp.acpi_rsdp_addr = rsdp_gpa;
	if (initrd && initrd->size) {
		bp.hdr.ramdisk_image = (uint32_t)initrd->gpa;
		bp.hdr.ramdisk_size = (uint32_t)initrd->size;
		bp.ext_ramdisk_image = (uint32_t)(initrd->gpa >> 32);
		bp.ext_ramdisk_size = (uint32_t)(initrd->size >> 32);
	}
	n = boot_e820(gm, bp.e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (n < 0)
		return n;
	bp.e820_entries = (uint8_t)n;
	return gm_write(gm, LAYOUT_ZERO_PAGE_START, &bp, sizeof(bp));
}

static int boot_write_pvh(const struct guest_mem *gm, const struct boot_initrd *initrd,
			  uint64_t rsdp_gpa)
{
	struct boot_e820_entry e820[BOOT_E820_MAX];
	struct hvm_memmap_table_entry mm[BOOT_E820_MAX];
	struct hvm_modlist_entry mod = { 0 };
	struct hvm_start_info si = {
		.magic = PVH_START_MAGIC,
		.version = 1,
		.cmdline_paddr = LAYOUT_CMDLINE_START,
		.memmap_paddr = LAYOUT_PVH_MEMMAP_START,
		.rsdp_paddr = rsdp_gpa,
	};
	int n = boot_e820(gm, e820, BOOT_E820_MAX), ret;

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_table_entry){
			.addr = e820[i].addr, .size = e820[i].size, .type = e820[i].type };
	si.memmap_entries = (uint32_t)n;
	if (initrd && initrd->size) {
		mod.paddr = initrd->gpa;
		mod.size = initrd->size;
		si.nr_modules = 1;
		si.modlist_paddr = LAYOUT_PVH_INFO_START + sizeof(si);
	}
	ret = gm_write(gm, LAYOUT_PVH_INFO_START, &si, sizeof(si));
	if (!ret)
		ret = gm_write(gm, LAYOUT_PVH_INFO_START + sizeof(si), &mod, sizeof(mod));
	if (!ret)
		ret = gm_write(gm, LAYOUT_PVH_MEMMAP_START, mm, (size_t)n * sizeof(mm[0]));
	return ret;
}

int boot_write_params(const struct guest_mem *gm, const struct boot_image *bi,
		      const struct boot_initrd *initrd, uint64_t rsdp_gpa)
{
	int ret = boot_write_gdt(gm, bi->proto);

	if (ret)
		return ret;
	if (bi->proto == BOOT_PROTO_PVH)
		return boot_write_pvh(gm, initrd, rsdp_gpa);
	ret = boot_write_page_tables(gm);
	return ret ? ret : boot_write_zero_page(gm, bi, initrd, rsdp_gpa);
}
