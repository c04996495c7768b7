/* SPDX-License-Identifier: Apache-2.0 */
/*
 * memory.h - guest RAM and the only checked way to touch it.
 *
 * Guest RAM is one anonymous host mapping split into at most two regions
 * around a hole the architecture keeps for devices: [0, min(size,
 * hole_start)) and, for large guests, the rest from hole_end on.  The
 * mapping starts on a 2 MiB boundary, so every 2 MiB-aligned guest range is
 * a 2 MiB-aligned host range: what the host needs to back it with a
 * transparent huge page and KVM to map it with one 2 MiB entry.
 * Every access takes (gpa, len) and succeeds only when the whole range lies
 * inside one region; the arithmetic is overflow-safe.  Safe from any thread
 * (the layout never changes after gm_init).
 *
 * Dirty pages (for "Diff" snapshots): once gm_dirty_init ran, every page
 * ember itself writes is marked in a bitmap, one bit per 4 KiB page of RAM
 * in memory-file order (region after region, as a snapshot's memory file
 * lays them out): gm_write and gm_fill mark what they write, and whoever
 * writes through a pointer from gm_ptr (or lets the host kernel do so: an
 * io_uring read into guest buffers) calls gm_mark_dirty or
 * gm_mark_dirty_iov once the bytes are there.  Without the bitmap each of
 * those is one predictable branch.  KVM's own log (the guest's writes) is
 * merged in by vm_dirty_take (vmm/kvm/vm.h).
 */
#ifndef EMBER_MEMORY_H
#define EMBER_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define GM_MAX_REGIONS 2
#define GM_PAGE_SIZE   4096ULL
/* A region's size must be a multiple of this for dirty tracking: its bits
 * then start on a 64-bit word of the bitmap (RAM sizes are whole MiB). */
#define GM_DIRTY_ALIGN (64 * GM_PAGE_SIZE)

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

/* What backs guest RAM (machine-config "huge_pages"). */
enum gm_pages {
	GM_PAGES_DEFAULT,  /* nothing asked: as GM_PAGES_THP, but a host without THP is no
			    * error (ember's default, measured in docs/benchmarks.md) */
	GM_PAGES_NORMAL,   /* "None": anonymous memory, huge only as the host's THP policy allows */
	GM_PAGES_HUGETLB,  /* "2M": hugetlbfs 2 MiB pages, reserved when mapped */
	GM_PAGES_THP,      /* "Transparent": anonymous, madvise(MADV_HUGEPAGE) */
};

struct guest_mem {
	struct gm_region region[GM_MAX_REGIONS];
	int nr_regions;
	uint64_t size;        /* total RAM bytes */
	void *map;            /* the host mapping, for munmap */
	size_t map_len;
	enum gm_pages pages;
	uint64_t *dirty;      /* NULL: no tracking; else gm_dirty_words() words */
};

/* Map `size` bytes of guest RAM backed as `pages` says (GM_PAGES_HUGETLB:
 * `size` a multiple of 2 MiB, the pages reserved now; otherwise
 * MAP_NORESERVE, and MADV_HUGEPAGE unless GM_PAGES_NORMAL), starting on a
 * 2 MiB boundary, with no RAM in
 * [hole_start, hole_end).  Called once by vm_create on the vmm thread,
 * before vCPUs exist.  0 or -errno. */
int gm_init(struct guest_mem *gm, uint64_t size, enum gm_pages pages, uint64_t hole_start,
	    uint64_t hole_end);
/* The same layout over a MAP_PRIVATE mapping of `fd` from offset 0 (a
 * snapshot's memory file, at least `size` bytes: the caller checks).  The
 * mapping holds the regions back to back, as the file does.  0 or -errno. */
int gm_init_file(struct guest_mem *gm, uint64_t size, int fd, uint64_t hole_start,
		 uint64_t hole_end);
/* The file offset (= offset in the host mapping) of each region gm_init
 * would make for `size`: fills out[] (gpa, size; host NULL) and returns
 * how many. */
int gm_layout_of(uint64_t size, uint64_t hole_start, uint64_t hole_end,
		 struct gm_region out[GM_MAX_REGIONS]);
/* One region [0, size) over caller-provided host memory (unit tests, fuzzers). */
void gm_init_fake(struct guest_mem *gm, void *host, uint64_t size);
/* vm_destroy (vmm thread), once no vCPU or device uses the memory. */
void gm_free(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) or NULL if it is not inside one region. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Copy out of / into guest RAM; 0 or -EFAULT. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);
int gm_fill(const struct guest_mem *gm, uint64_t gpa, int byte, uint64_t len);
/* End of the RAM region below the hole (low RAM). */
uint64_t gm_low_end(const struct guest_mem *gm);

/* ---- dirty pages -------------------------------------------------------- */

/* Start tracking: allocate the (clear) bitmap.  vmm thread, before vCPUs
 * or devices run (vm_create with tracking asked).  0, -EINVAL when a region
 * is not a multiple of GM_DIRTY_ALIGN, or -ENOMEM.  gm_free releases it. */
int gm_dirty_init(struct guest_mem *gm);
/* 64-bit words of the bitmap (bit i of word w: page 64 * w + i). */
size_t gm_dirty_words(const struct guest_mem *gm);
/* The bitmap word where region `i`'s pages start. */
size_t gm_dirty_region_word(const struct guest_mem *gm, int i);

void gm_mark_dirty_range(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
void gm_mark_dirty_host_range(const struct guest_mem *gm, const void *host, size_t len);
/* Ember wrote [gpa, gpa + len) (or the host memory `iov` points at, guest
 * RAM from gm_ptr) itself.  Any thread (atomic); outside RAM is ignored. */
static inline void gm_mark_dirty(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	if (__builtin_expect(gm->dirty != NULL, 0))
		gm_mark_dirty_range(gm, gpa, len);
}
static inline void gm_mark_dirty_iov(const struct guest_mem *gm, const struct iovec *iov,
				     unsigned int nr)
{
	if (__builtin_expect(gm->dirty != NULL, 0))
		for (unsigned int i = 0; i < nr; i++)
			gm_mark_dirty_host_range(gm, iov[i].iov_base, iov[i].iov_len);
}
/* Move the marks into `bits` (gm_dirty_words() words, ORed in) and clear
 * them, word by word atomically: a mark made meanwhile lands in one or the
 * other, never lost.  gm_dirty_merge ORs `bits` back (a snapshot that
 * failed keeps its pages for the next one).  vmm thread. */
void gm_dirty_take(const struct guest_mem *gm, uint64_t *bits);
void gm_dirty_merge(const struct guest_mem *gm, const uint64_t *bits);

#endif
