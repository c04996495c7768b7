/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapmem.h - a snapshot's memory file: written whole ("Full") or only the
 * dirty pages ("Diff": a sparse file as long as RAM, the same layout,
 * holes where nothing changed), and a Diff applied onto the memory file it
 * follows (--rebase-snapshot-memory).  Plus the two small file helpers the
 * state file shares.
 *
 * The memory file holds the RAM regions back to back (page p of the file
 * is bit p of the dirty bitmap, vmm/core/memory.h).  No KVM here: the unit
 * tests drive it over fake guest memory.  vmm thread (PUT /snapshot/create)
 * or main() (the rebase command).
 */
#ifndef EMBER_SNAPMEM_H
#define EMBER_SNAPMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "vmm/core/memory.h"

/* Create (or truncate) `path` write-only, mode 0600: the fd, or -errno
 * with "<who>: cannot create <path>: <why>" in err. */
int snapmem_create_file(const char *who, const char *path, char *err, size_t errlen);
/* pwrite all `len` bytes at `off` (EINTR and short writes retried).  0 or
 * -errno. */
int snapmem_write_all(int fd, const void *buf, size_t len, off_t off);

/* Open `path` (`flags`, plus O_CLOEXEC, O_NOCTTY and O_NONBLOCK: a FIFO
 * would block the open) and check it is a regular file (a device has no
 * size): the fd and *st, or -errno with "<who>cannot open the <what>
 * <path>: <why>" (or "... is not a regular file") in err. */
int snapmem_open_regular(const char *who, const char *what, const char *path, int flags,
			 struct stat *st, char *err, size_t errlen);

/* Write guest RAM to `path`, a file extended to the RAM size whose pages
 * not written are holes (reading as zeros): when `dirty` is NULL (Full)
 * every page holding anything but zeros, else (Diff) exactly the pages
 * whose bit is set (gm_dirty_words words), zeros or not.  0 or -errno with the reason
 * in err (the caller unlinks the file). */
int snapmem_write(const struct guest_mem *gm, const char *path, const uint64_t *dirty,
		  char *err, size_t errlen);

/* Copy every data range of the sparse `diff_path` (SEEK_DATA/SEEK_HOLE) into
 * `base_path` at the same offsets: the base then holds the later state.
 * Both must be regular files of the same size (a diff of another size is
 * not of this microVM).  0 or -errno with the reason in err; on a refusal
 * the base is untouched. */
int snapmem_rebase(const char *base_path, const char *diff_path, char *err, size_t errlen);
/* ember --rebase-snapshot-memory BASE DIFF: snapmem_rebase, a line on
 * stdout (bytes copied) or the reason on stderr; the exit status. */
int snapmem_rebase_command(const char *base_path, const char *diff_path);

#endif
