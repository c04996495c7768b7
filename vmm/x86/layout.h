/* SPDX-License-Identifier: Apache-2.0 */
/*
 * layout.h - the x86_64 guest-physical memory layout, written once.
 *
 * Low memory (below 1 MiB) holds what the VMM builds for direct boot; the
 * kernel goes at 1 MiB (bzImage) or at the ELF's own physical addresses;
 * the initrd sits at the top of low RAM.  RAM stops at MMIO_GAP_START and
 * continues at 4 GiB for guests larger than the gap.
 */
#ifndef EMBER_LAYOUT_H
#define EMBER_LAYOUT_H

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* Boot structures in the first 640 KiB. */
#define LAYOUT_GDT_START        0x500ULL   /* 4 descriptors */
#define LAYOUT_IDT_START        0x520ULL   /* empty IDT */
#define LAYOUT_PVH_INFO_START   0x6000ULL  /* hvm_start_info + module list */
#define LAYOUT_PVH_MEMMAP_START 0x6100ULL  /* hvm memmap entries */
#define LAYOUT_ZERO_PAGE_START  0x7000ULL  /* struct boot_params */
#define LAYOUT_BOOT_STACK       0x8ff0ULL  /* initial rsp */
#define LAYOUT_PML4_START       0x9000ULL
#define LAYOUT_PDPTE_START      0xa000ULL
#define LAYOUT_PDE_START        0xb000ULL  /* 4 pages: identity map 0..4 GiB */
#define LAYOUT_PDE_PAGES        4
#define LAYOUT_CMDLINE_START    0x20000ULL
#define LAYOUT_CMDLINE_MAX      2048ULL    /* including the final NUL */
#define LAYOUT_EBDA_START       0x9fc00ULL /* MP table lives here */
#define LAYOUT_EBDA_END         0xa0000ULL
#define LAYOUT_ACPI_START       0xe0000ULL  /* RSDP (in the BIOS scan area), then the tables */
#define LAYOUT_ACPI_END         0x100000ULL /* e820 type ACPI */
#define LAYOUT_HIMEM_START      0x100000ULL /* 1 MiB: bzImage kernel load */

/* The 32-bit MMIO hole: devices, IOAPIC, LAPIC, TSS. */
#define MMIO_GAP_START          0xc0000000ULL
#define MMIO_GAP_END            0x100000000ULL
#define MMIO_BOOT_TIMER_ADDR    0xc0000000ULL  /* Firecracker's address */
#define MMIO_BOOT_TIMER_SIZE    0x1000ULL
#define MMIO_VIRTIO_START       0xc0001000ULL  /* 4 KiB slot per device */
#define MMIO_VIRTIO_SLOT        0x1000ULL
#define IOAPIC_ADDR             0xfec00000ULL
#define LAPIC_ADDR              0xfee00000ULL
#define KVM_IDENTITY_MAP_ADDR   0xfffbc000ULL
#define KVM_TSS_ADDR            0xfffbd000ULL
#define RAM_HIGH_START          MMIO_GAP_END

/* Interrupts. */
#define IRQ_I8042_KBD           1
#define IRQ_SERIAL_COM1         4
#define IRQ_VIRTIO_FIRST        5
#define IOAPIC_PINS             24

/* Legacy ports. */
#define PORT_COM1               0x3f8
#define PORT_I8042_DATA         0x60
#define PORT_I8042_CMD          0x64
#define PORT_ACPI_PM            0x600  /* ember's ACPI registers, see acpi.h */
#define PORT_ACPI_PM_LEN        3

/* Limits. */
#define EMBER_MAX_VCPUS         32
#define EMBER_MIN_MEM_MIB       16ULL
#define EMBER_MAX_MEM_MIB       (1024ULL * 1024) /* 1 TiB */

#endif
