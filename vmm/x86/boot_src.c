// SPDX-License-Identifier: Apache-2.0
/*
 * boot_src.c - read part of a kernel or initrd image (boot.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "vmm/core/log.h"

int boot_src_read(const struct boot_src *src, const char *what, uint64_t off, void *dst,
		  size_t n)
{
	uint8_t *p = dst;

	if (src->buf) {
		memcpy(dst, src->buf + off, n);
		return 0;
	}
	while (n) {
		ssize_t got = pread(src->fd, p, n, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			log_error("%s: read at offset %llu: %s", what, (unsigned long long)off,
				  got < 0 ? strerror(errno) : "the file is shorter than it was");
			return -EIO;
		}
		p += got;
		off += (uint64_t)got;
		n -= (size_t)got;
	}
	return 0;
}
