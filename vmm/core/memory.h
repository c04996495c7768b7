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
 */
#ifndef EMBER_MEMORY_H
#define EMBER_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 2

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

#endif
