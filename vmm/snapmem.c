// SPDX-License-Identifier: Apache-2.0
/* snapmem.c - see snapmem.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapmem.h"

#define REBASE_CHUNK (1u << 20)

int snapmem_create_file(const char *who, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		snprintf(err, errlen, "%s: cannot create %s: %s", who, path, strerror(errno));
	return fd < 0 ? -errno : fd;
}

int snapmem_write_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static bool bit(const uint64_t *bits, uint64_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

/* The dirty pages of region `i` (file pages [first, first + n)), in runs. */
static int write_dirty_region(int fd, const struct gm_region *r, uint64_t first,
			      const uint64_t *dirty)
{
	uint64_t n = r->size / GM_PAGE_SIZE;

	for (uint64_t p = 0; p < n;) {
		uint64_t end = p;

		if (!dirty[(first + p) / 64] && (first + p) % 64 == 0) {
			p += 64;   /* a clean word: 64 clean pages */
			continue;
		}
		while (end < n && bit(dirty, first + end))
			end++;
		if (end > p) {
			int ret = snapmem_write_all(fd, r->host + p * GM_PAGE_SIZE,
						    (end - p) * GM_PAGE_SIZE,
						    (off_t)((first + p) * GM_PAGE_SIZE));

			if (ret)
				return ret;
		}
		p = end + 1;
	}
	return 0;
}

static bool page_is_zero(const uint8_t *page)
{
	const uint64_t *w = (const uint64_t *)page;

	for (size_t i = 0; i < GM_PAGE_SIZE / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

/* Full: the pages of region `r` (at file offset `off`) holding anything
 * but zeros, in runs; the all-zero pages stay holes of the file (extended
 * to the RAM size), which read back as zeros. */
static int write_nonzero_region(int fd, const struct gm_region *r, uint64_t off)
{
	uint64_t n = r->size / GM_PAGE_SIZE;

	for (uint64_t p = 0; p < n;) {
		uint64_t end = p;

		while (end < n && !page_is_zero(r->host + end * GM_PAGE_SIZE))
			end++;
		if (end > p) {
			int ret = snapmem_write_all(fd, r->host + p * GM_PAGE_SIZE,
						    (end - p) * GM_PAGE_SIZE,
						    (off_t)(off + p * GM_PAGE_SIZE));

			if (ret)
				return ret;
		}
		p = end + 1;
	}
	return 0;
}

int snapmem_write(const struct guest_mem *gm, const char *path, const uint64_t *dirty,
		  char *err, size_t errlen)
{
	int fd = snapmem_create_file("snapshot/create", path, err, errlen), ret = 0;
	uint64_t off = 0;

	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)gm->size))
		ret = -errno;
	for (int i = 0; !ret && i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->region[i];

		if (dirty)
			ret = write_dirty_region(fd, r, off / GM_PAGE_SIZE, dirty);
		else
			ret = write_nonzero_region(fd, r, off);
		off += r->size;
	}
	if (ret)
		snprintf(err, errlen, "snapshot/create: writing %s: %s", path, strerror(-ret));
	close(fd);
	return ret;
}

/* ---- rebase ------------------------------------------------------------------- */

int snapmem_open_regular(const char *who, const char *what, const char *path, int flags,
			 struct stat *st, char *err, size_t errlen)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0 || fstat(fd, st)) {
		int e = errno;

		snprintf(err, errlen, "%scannot open the %s %s: %s", who, what, path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%sthe %s %s is not a regular file", who, what, path);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* Copy [off, end) of `from` to the same place in `to`. */
static int copy_range(int from, int to, off_t off, off_t end, uint8_t *buf)
{
	while (off < end) {
		size_t want = end - off < REBASE_CHUNK ? (size_t)(end - off) : REBASE_CHUNK;
		ssize_t n = pread(from, buf, want, off);
		int ret;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		ret = snapmem_write_all(to, buf, (size_t)n, off);
		if (ret)
			return ret;
		off += n;
	}
	return 0;
}

/* Every data range of `diff` (size `size`) into `base`; *copied adds up. */
static int copy_data(int diff, int base, off_t size, uint64_t *copied)
{
	uint8_t *buf = malloc(REBASE_CHUNK);
	off_t off = 0;
	int ret = buf ? 0 : -ENOMEM;

	while (!ret && off < size) {
		off_t data = lseek(diff, off, SEEK_DATA), hole;

		if (data < 0) {
			ret = errno == ENXIO ? 0 : -errno;   /* ENXIO: only holes after off */
			break;
		}
		hole = lseek(diff, data, SEEK_HOLE);
		if (hole < 0) {
			ret = -errno;
			break;
		}
		ret = copy_range(diff, base, data, hole, buf);
		*copied += (uint64_t)(hole - data);
		off = hole;
	}
	free(buf);
	return ret;
}

static int rebase(const char *base_path, const char *diff_path, uint64_t *copied, char *err,
		  size_t errlen)
{
	struct stat bst, dst;
	int diff, base, ret;

	*copied = 0;
	diff = snapmem_open_regular("", "diff memory file", diff_path, O_RDONLY, &dst, err, errlen);
	if (diff < 0)
		return diff;
	base = snapmem_open_regular("", "base memory file", base_path, O_WRONLY, &bst, err,
				    errlen);
	if (base < 0) {
		ret = base;
		goto out_diff;
	}
	ret = -EINVAL;
	if (bst.st_dev == dst.st_dev && bst.st_ino == dst.st_ino) {
		snprintf(err, errlen, "the base and the diff are the same file");
	} else if (dst.st_size != bst.st_size) {
		snprintf(err, errlen, "the diff %s is %lld bytes, the base %s %lld: not the same "
			 "microVM's memory", diff_path, (long long)dst.st_size, base_path,
			 (long long)bst.st_size);
	} else {
		ret = copy_data(diff, base, dst.st_size, copied);
		if (ret)
			snprintf(err, errlen, "copying %s into %s: %s", diff_path, base_path,
				 strerror(-ret));
	}
	if (!ret && fsync(base)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", base_path, strerror(errno));
	}
	close(base);
out_diff:
	close(diff);
	return ret;
}

int snapmem_rebase(const char *base_path, const char *diff_path, char *err, size_t errlen)
{
	uint64_t copied;

	return rebase(base_path, diff_path, &copied, err, errlen);
}

int snapmem_rebase_command(const char *base_path, const char *diff_path)
{
	char err[512];
	uint64_t copied;

	if (rebase(base_path, diff_path, &copied, err, sizeof(err))) {
		fprintf(stderr, "ember: --rebase-snapshot-memory: %s\n", err);
		return 1;
	}
	printf("%s: %llu bytes from %s\n", base_path, (unsigned long long)copied, diff_path);
	return 0;
}
