// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_snapfile.c - libFuzzer over the snapshot state-file loader
 * (snap_parse), the input a PUT /snapshot/load reads from a file.  Each
 * input is parsed twice: as it is (the checksum refuses nearly all) and
 * with its last 8 bytes replaced by the right CRC-64, so the structure
 * checks behind the checksum see crafted files too.  A file that parses is
 * described (the output discarded).  ASan/UBSan watch every access.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/snapfile.h"

static void parse(const uint8_t *data, size_t len)
{
	static FILE *null;
	struct snap s;
	char err[256];

	if (!null)
		null = fopen("/dev/null", "w");
	if (!snap_parse(data, len, &s, err, sizeof(err)) && null)
		snap_describe(&s, null);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);  /* malloc's alignment, as the loader's */
	uint64_t crc;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	parse(buf, size);
	if (size >= 16) {
		crc = snap_crc64(buf, size - 8);
		memcpy(buf + size - 8, &crc, 8);
		parse(buf, size);
	}
	free(buf);
	return 0;
}
