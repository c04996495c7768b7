// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_uffd_msg.c - libFuzzer over the page-fault handler's parser
 * (uffd_msg_parse, vmm/core/uffd_msg.c): the message tools/uffd_handler
 * reads from the VMM's socket.  Whatever parses must satisfy what the
 * handler relies on to compute its copy addresses: every region inside
 * the file, page-aligned, no two overlapping.  A parsed message is built
 * again and must parse to the same regions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/core/uffd_msg.h"

#define FILE_SIZE (1ULL << 32)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uffd_region r[UFFD_MSG_MAX_REGIONS], again[UFFD_MSG_MAX_REGIONS];
	unsigned int n, m;
	char err[256], *msg;

	if (uffd_msg_parse((const char *)data, size, FILE_SIZE, r, UFFD_MSG_MAX_REGIONS, &n, err,
			   sizeof(err)))
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		if (!r[i].size || r[i].offset + r[i].size > FILE_SIZE ||
		    r[i].offset + r[i].size < r[i].offset || r[i].base + r[i].size < r[i].base ||
		    (r[i].base | r[i].size | r[i].offset) & (r[i].page_size - 1))
			abort();
		for (unsigned int j = 0; j < i; j++)
			if (r[i].base < r[j].base + r[j].size && r[j].base < r[i].base + r[i].size)
				abort();
	}
	msg = uffd_msg_build(r, n);
	if (!msg)
		return 0;
	if (uffd_msg_parse(msg, strlen(msg), FILE_SIZE, again, UFFD_MSG_MAX_REGIONS, &m, err,
			   sizeof(err)) || m != n || memcmp(r, again, n * sizeof(r[0])))
		abort();
	free(msg);
	return 0;
}
