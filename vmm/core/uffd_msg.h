/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uffd_msg.h - the one message of Firecracker's page-fault-handler
 * protocol (the "Uffd" snapshot memory backend): a JSON array with one
 * object per guest RAM region,
 *   {"base_host_virt_addr": N, "size": N, "offset": N,
 *    "page_size": N, "page_size_kib": N}
 * sent with the userfaultfd attached (SCM_RIGHTS).  base_host_virt_addr is
 * where the region starts in the VMM's address space, offset where its
 * bytes start in the memory file; page_size is in bytes, and so is the
 * deprecated page_size_kib (its name is wrong, its value is the same as
 * page_size: Firecracker still sends both).
 *
 * Pure: no system call, no state.  ember builds the message (vmm/core/uffd.c,
 * on the vmm thread); tools/uffd_handler.c parses and checks what it
 * received with the same code (it is untrusted input there).
 */
#ifndef EMBER_CORE_UFFD_MSG_H
#define EMBER_CORE_UFFD_MSG_H

#include <stddef.h>
#include <stdint.h>

#define UFFD_MSG_MAX_REGIONS 64     /* a handler refuses more */
#define UFFD_MSG_MAX_LEN     65536  /* the longest message a handler reads */

struct uffd_region {
	uint64_t base;       /* base_host_virt_addr */
	uint64_t size;
	uint64_t offset;     /* in the memory file */
	uint64_t page_size;  /* bytes */
};

/* The message for `n` regions, NUL-terminated, malloc'ed (the caller frees);
 * NULL when out of memory. */
char *uffd_msg_build(const struct uffd_region *r, unsigned int n);

/* Parse `len` bytes of `msg` into at most `max` regions (*n of them) and
 * check them: 1..max objects, each with base_host_virt_addr, size, offset
 * (non-negative integers) and page_size (or, from an older VMM, only
 * page_size_kib; both present must agree), the page size a power of two
 * from 4 KiB to 1 GiB, base, size and offset multiples of it, size not 0,
 * no address or file range wrapping, the file range inside `file_size`
 * bytes, no two regions overlapping in the VMM's address space.  Unknown
 * keys are ignored (later VMMs may add some).  0, or -EINVAL with the
 * reason in err. */
int uffd_msg_parse(const char *msg, size_t len, uint64_t file_size, struct uffd_region *r,
		   unsigned int max, unsigned int *n, char *err, size_t errlen);

#endif
