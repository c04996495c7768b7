/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conout.h - the guest console's way out to the host (ember's stdout),
 * which never blocks the caller.
 *
 * A vCPU thread writes the guest's console bytes while it holds the UART
 * lock; a blocking write to a pipe nobody reads, a stopped terminal or a
 * full socket would park that vCPU for good (pause, the API and SIGTERM
 * then wait on it).  conout_open decides once, at start-up, how to write
 * fd 1 without blocking and without changing what other processes see:
 *
 *  - pipe, FIFO, terminal or other character device: fd 1 is reopened
 *    through /proc/self/fd/1 with O_NONBLOCK (and O_NOCTTY).  That is a new
 *    open file description of ember's own; setting O_NONBLOCK on fd 1
 *    itself would change the description it shares with the parent shell,
 *    whose own writes would then fail with EAGAIN.  Terminal settings
 *    (vmm/core/term.c) belong to the terminal, not the description, so raw
 *    mode applies to both.
 *  - socket: send(MSG_DONTWAIT | MSG_NOSIGNAL), non-blocking per call.
 *  - regular file or block device: plain write(), which does not wait for
 *    a reader; the UART's byte budget bounds how much lands there.
 *  - fd 1 closed: output is discarded (-EBADF).
 * If the reopen fails (no /proc, e.g. in a chroot), fd 1's own description
 * is made non-blocking as a last resort and put back by conout_close and
 * at exit.
 *
 * conout_write is one write/send system call, nothing else, so the vCPU
 * seccomp filter needs no more than that.
 */
#ifndef EMBER_CONOUT_H
#define EMBER_CONOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum conout_mode { CONOUT_NONE, CONOUT_WRITE, CONOUT_SEND };

struct conout {
	enum conout_mode mode;
	int fd;             /* what conout_write writes; -1 for none */
	bool own_fd;        /* a private reopen: closed by conout_close */
	int restore_fd;     /* last resort: fd whose flags to put back, or -1 */
	int restore_flags;
};

/* Start-up (vmm thread, before any vCPU or API thread): prepare to write
 * `fd` as above.  Always leaves `o` usable (CONOUT_NONE at worst);
 * returns 0, or -errno when the output had to fall back. */
int conout_open(struct conout *o, int fd);
/* The same without the last resort: when no private description can be
 * had, nothing is changed and o->mode is CONOUT_NONE (-errno returned). */
int conout_open_private(struct conout *o, int fd);
/* Any thread: write at most `len` bytes without blocking.  Bytes taken, or
 * -errno (-EAGAIN: the reader is not keeping up; try later or drop).
 * `opaque` is the struct conout (the UART's output callback). */
ssize_t conout_write(void *opaque, const void *buf, size_t len);
/* Teardown (vmm thread, vCPUs stopped): close the private description,
 * undo a last-resort O_NONBLOCK. */
void conout_close(struct conout *o);

#endif
