// SPDX-License-Identifier: Apache-2.0
/*
 * boot_bzimage.c - load a bzImage for the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst): protocol >= 2.12, XLF_KERNEL_64.
 * The protected-mode part goes to 1 MiB; the 64-bit entry is 0x200 past it.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "vmm/core/log.h"

#define BZ_HDR_OFFSET     0x1f1
#define BZ_MIN_VERSION    0x020c
#define BZ_ENTRY64_OFFSET 0x200

static int bz_check_header(const struct setup_header *h, size_t len)
{
	if (h->boot_flag != 0xaa55 || h->header != 0x53726448) {
		log_error("kernel: bzImage signature missing");
		return -ENOEXEC;
	}
	if (h->version < BZ_MIN_VERSION) {
		log_error("kernel: bzImage boot protocol %u.%02u is too old (need 2.12)",
			  h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		log_error("kernel: bzImage has no 64-bit entry point (32-bit kernel?)");
		return -ENOEXEC;
	}
	if (!(h->loadflags & LOADED_HIGH)) {
		log_error("kernel: bzImage is not a high-loaded (bzImage) kernel");
		return -ENOEXEC;
	}
	if ((h->setup_sects ? h->setup_sects : 4) * 512ULL + 512 >= len) {
		log_error("kernel: bzImage truncated: setup (%u sectors) fills the %zu-byte file",
			  h->setup_sects, len);
		return -EINVAL;
	}
	return 0;
}

int boot_load_bzimage(const struct guest_mem *gm, const struct boot_src *src,
		      struct boot_image *out)
{
	struct setup_header h;
	uint64_t setup_size, payload, need;
	size_t len = src->len;
	uint8_t *dst;
	int ret;

	if (len < BZ_HDR_OFFSET + sizeof(h)) {
		log_error("kernel: bzImage header truncated (%zu bytes)", len);
		return -EINVAL;
	}
	/* Protocol 2.12 defines every field of struct setup_header. */
	ret = boot_src_read(src, "kernel", BZ_HDR_OFFSET, &h, sizeof(h));
	if (!ret)
		ret = bz_check_header(&h, len);
	if (ret)
		return ret;
	setup_size = ((uint64_t)(h.setup_sects ? h.setup_sects : 4) + 1) * 512;
	payload = len - setup_size;
	if ((uint64_t)h.syssize * 16 > payload) {
		log_error("kernel: bzImage truncated: %llu bytes of kernel, header says %llu",
			  (unsigned long long)payload, (unsigned long long)h.syssize * 16);
		return -EINVAL;
	}
	/* The decompressor runs at pref_address and needs init_size bytes there. */
	if (h.pref_address > gm_low_end(gm) ||
	    h.init_size > gm_low_end(gm) - h.pref_address) {
		log_error("kernel: bzImage needs %u bytes at 0x%llx, guest has %llu MiB of low memory",
			  h.init_size, (unsigned long long)h.pref_address,
			  (unsigned long long)(gm_low_end(gm) / MiB));
		return -EFBIG;
	}
	need = LAYOUT_HIMEM_START + payload;
	if (h.pref_address + h.init_size > need)
		need = h.pref_address + h.init_size;
	dst = gm_ptr(gm, LAYOUT_HIMEM_START, payload);
	if (!dst || need > gm_low_end(gm)) {
		log_error("kernel: bzImage needs %llu MiB of low memory, guest has %llu MiB",
			  (unsigned long long)((need + MiB - 1) / MiB),
			  (unsigned long long)(gm_low_end(gm) / MiB));
		return -EFBIG;
	}
	ret = boot_src_read(src, "kernel", setup_size, dst, payload);
	if (ret)
		return ret;
	gm_mark_dirty(gm, LAYOUT_HIMEM_START, payload);

	memset(out, 0, sizeof(*out));
	out->proto = BOOT_PROTO_LINUX64;
	out->entry = LAYOUT_HIMEM_START + BZ_ENTRY64_OFFSET;
	out->kernel_end = need; /* keep the initrd clear of the decompressed kernel */
	out->initrd_max = (uint64_t)h.initrd_addr_max + 1;
	if (out->initrd_max > gm_low_end(gm))
		out->initrd_max = gm_low_end(gm);
	out->cmdline_max = h.cmdline_size ? h.cmdline_size : 255;
	if (out->cmdline_max > LAYOUT_CMDLINE_MAX - 1)
		out->cmdline_max = LAYOUT_CMDLINE_MAX - 1;
	out->is_bzimage = 1;
	out->hdr = h;
	return 0;
}
