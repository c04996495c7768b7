// SPDX-License-Identifier: Apache-2.0
/* memory.c - see memory.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "memory.h"

#define GM_HUGE_PAGE (2ULL << 20)

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << 26)
#endif

static void gm_layout(struct guest_mem *gm, uint8_t *host, uint64_t size, uint64_t hole_start,
		      uint64_t hole_end)
{
	uint64_t low = size < hole_start ? size : hole_start;

	memset(gm, 0, sizeof(*gm));
	gm->size = size;
	gm->region[0] = (struct gm_region){ .gpa = 0, .size = low, .host = host };
	gm->nr_regions = 1;
	if (size > low) {
		gm->region[1] = (struct gm_region){
			.gpa = hole_end, .size = size - low, .host = host + low,
		};
		gm->nr_regions = 2;
	}
}

/* An anonymous mapping of `size` bytes that starts on a 2 MiB boundary:
 * map 2 MiB more than asked and give back the head and tail around the
 * aligned middle (mmap only promises 4 KiB alignment). */
static void *gm_map_aligned(uint64_t size)
{
	uint64_t len = size + GM_HUGE_PAGE, head;
	uint8_t *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (map == MAP_FAILED)
		return MAP_FAILED;
	head = (GM_HUGE_PAGE - ((uintptr_t)map & (GM_HUGE_PAGE - 1))) & (GM_HUGE_PAGE - 1);
	if (head)
		munmap(map, head);
	if (len - head > size)
		munmap(map + head + size, len - head - size);
	return map + head;
}

static int gm_advise(void *map, uint64_t size, enum gm_pages pages)
{
	/* Guest RAM must never be shared with a forked child, nor end up in a
	 * core dump of ember (it is the tenant's data, and can be huge). */
	if (madvise(map, size, MADV_DONTFORK) || madvise(map, size, MADV_DONTDUMP))
		return -errno;
	if (pages != GM_PAGES_THP && pages != GM_PAGES_DEFAULT)
		return 0;
	/* A kernel without THP refuses the advice (EINVAL): an error only when
	 * "Transparent" was asked for, ember's default then runs in 4 KiB pages. */
	if (madvise(map, size, MADV_HUGEPAGE) && pages == GM_PAGES_THP)
		return -errno;
	return 0;
}

/* Advise the new mapping and lay the regions out over it; unmapped on error. */
static int gm_adopt(struct guest_mem *gm, void *map, uint64_t size, enum gm_pages pages,
		    uint64_t hole_start, uint64_t hole_end)
{
	int ret = gm_advise(map, size, pages);

	if (ret) {
		munmap(map, size);
		return ret;
	}
	gm_layout(gm, map, size, hole_start, hole_end);
	gm->map = map;
	gm->map_len = size;
	gm->pages = pages;
	return 0;
}

int gm_init(struct guest_mem *gm, uint64_t size, enum gm_pages pages, uint64_t hole_start,
	    uint64_t hole_end)
{
	bool hugetlb = pages == GM_PAGES_HUGETLB;
	void *map;

	if (!size || hole_end < hole_start || (hugetlb && size % GM_HUGE_PAGE) ||
	    size > UINT64_MAX - GM_HUGE_PAGE)
		return -EINVAL;
	/* Huge pages are reserved up front, so a short pool fails here with a
	 * clear error rather than as a fault in the middle of the guest's run
	 * (hugetlbfs mappings are 2 MiB-aligned by the kernel). */
	if (hugetlb)
		map = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
	else
		map = gm_map_aligned(size);
	if (map == MAP_FAILED)
		return -errno;
	return gm_adopt(gm, map, size, pages, hole_start, hole_end);
}


int gm_init_file(struct guest_mem *gm, uint64_t size, int fd, uint64_t hole_start,
		 uint64_t hole_end)
{
	void *map;

	if (!size || hole_end < hole_start || fd < 0)
		return -EINVAL;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	return gm_adopt(gm, map, size, GM_PAGES_NORMAL, hole_start, hole_end);
}

int gm_layout_of(uint64_t size, uint64_t hole_start, uint64_t hole_end,
		 struct gm_region out[GM_MAX_REGIONS])
{
	uint64_t low = size < hole_start ? size : hole_start;

	memset(out, 0, GM_MAX_REGIONS * sizeof(out[0]));
	out[0].size = low;
	if (size <= low)
		return 1;
	out[1].gpa = hole_end;
	out[1].size = size - low;
	return 2;
}

void gm_init_fake(struct guest_mem *gm, void *host, uint64_t size)
{
	gm_layout(gm, host, size, UINT64_MAX, UINT64_MAX);
}

void gm_free(struct guest_mem *gm)
{
	free(gm->dirty);
	if (gm->map)
		munmap(gm->map, gm->map_len);
	memset(gm, 0, sizeof(*gm));
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->region[i];

		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		/* gpa lies in r: check len against what is left, no addition. */
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	gm_mark_dirty(gm, gpa, len);
	return 0;
}

int gm_fill(const struct guest_mem *gm, uint64_t gpa, int byte, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memset(p, byte, len);
	gm_mark_dirty(gm, gpa, len);
	return 0;
}

uint64_t gm_low_end(const struct guest_mem *gm)
{
	return gm->region[0].size;
}

/* ---- dirty pages ------------------------------------------------------------ */

size_t gm_dirty_words(const struct guest_mem *gm)
{
	return (size_t)((gm->size / GM_PAGE_SIZE + 63) / 64);
}

size_t gm_dirty_region_word(const struct guest_mem *gm, int i)
{
	uint64_t off = 0;

	for (int j = 0; j < i && j < gm->nr_regions; j++)
		off += gm->region[j].size;
	return (size_t)(off / GM_PAGE_SIZE / 64);
}

int gm_dirty_init(struct guest_mem *gm)
{
	for (int i = 0; i < gm->nr_regions; i++)
		if (gm->region[i].size % GM_DIRTY_ALIGN)
			return -EINVAL;
	free(gm->dirty);
	gm->dirty = calloc(gm_dirty_words(gm), sizeof(uint64_t));
	return gm->dirty ? 0 : -ENOMEM;
}

/* Set the bits of pages [first, last] (memory-file page numbers). */
static void dirty_set(uint64_t *bits, uint64_t first, uint64_t last)
{
	for (uint64_t w = first / 64; w <= last / 64; w++) {
		uint64_t lo = w == first / 64 ? first % 64 : 0;
		uint64_t hi = w == last / 64 ? last % 64 : 63;
		uint64_t mask = (hi == 63 ? ~0ULL : (1ULL << (hi + 1)) - 1) & ~((1ULL << lo) - 1);

		if ((__atomic_load_n(&bits[w], __ATOMIC_RELAXED) & mask) != mask)
			__atomic_fetch_or(&bits[w], mask, __ATOMIC_RELAXED);
	}
}

void gm_mark_dirty_range(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t off = 0;

	if (!gm->dirty || !len)
		return;
	for (int i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->region[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			uint64_t in = gpa - r->gpa;
			uint64_t n = len < r->size - in ? len : r->size - in;

			dirty_set(gm->dirty, (off + in) / GM_PAGE_SIZE, (off + in + n - 1) / GM_PAGE_SIZE);
			return;
		}
		off += r->size;
	}
}

void gm_mark_dirty_host_range(const struct guest_mem *gm, const void *host, size_t len)
{
	uintptr_t h = (uintptr_t)host;

	for (int i = 0; gm->dirty && len && i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->region[i];
		uintptr_t base = (uintptr_t)r->host;

		if (h >= base && h - base < r->size) {
			gm_mark_dirty_range(gm, r->gpa + (h - base), len);
			return;
		}
	}
}

void gm_dirty_take(const struct guest_mem *gm, uint64_t *bits)
{
	size_t n = gm_dirty_words(gm);

	for (size_t w = 0; gm->dirty && w < n; w++)
		if (__atomic_load_n(&gm->dirty[w], __ATOMIC_RELAXED))
			bits[w] |= __atomic_exchange_n(&gm->dirty[w], 0, __ATOMIC_RELAXED);
}

void gm_dirty_merge(const struct guest_mem *gm, const uint64_t *bits)
{
	size_t n = gm_dirty_words(gm);

	for (size_t w = 0; gm->dirty && w < n; w++)
		if (bits[w])
			__atomic_fetch_or(&gm->dirty[w], bits[w], __ATOMIC_RELAXED);
}
