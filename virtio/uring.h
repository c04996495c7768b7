/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uring.h - what every device's io_uring engine shares (blk_io.c, net_io.c,
 * vsock_uds.c): creating a ring confined to its own files, and cancelling
 * and reaping what is in flight before a reset or teardown (blk, net).
 */
#ifndef EMBER_VIRTIO_URING_H
#define EMBER_VIRTIO_URING_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#define URING_MAX_OPS 8

/* Restrict a ring created with IORING_SETUP_R_DISABLED, before it is
 * enabled: only the `nr_ops` opcodes in `ops` (at most URING_MAX_OPS), every
 * SQE on a fixed file, and IORING_REGISTER_FILES_UPDATE as the only register
 * op when `files_update`.  Called by uring_open (so on the vmm thread
 * before vCPUs run).  0 or -errno. */
int uring_restrict(struct io_uring *ring, const uint8_t *ops, unsigned int nr_ops,
		   bool files_update);

/* A device's ring: `entries` SQEs (and cq_entries CQEs when nonzero), a
 * file table of the nr_files descriptors in `files` (nr_files empty slots
 * when files is NULL), completions signalled on the eventfd `efd`, the
 * restrictions of uring_restrict. */
struct uring_spec {
	unsigned int entries, cq_entries;
	const int *files;
	unsigned int nr_files;
	int efd;
	const uint8_t *ops;
	unsigned int nr_ops;
	bool files_update;
};

/* Create the ring disabled, register its files and eventfd, restrict it,
 * enable it.  Called by the engines' init (blk_create, net_create,
 * vsock_create) on the vmm thread before vCPUs run.  0, or -errno with
 * nothing left to tear down. */
int uring_open(struct io_uring *ring, const struct uring_spec *spec);

/* CLOCK_MONOTONIC in ns: the clock of uring_wait_idle's end_ns. */
uint64_t uring_now_ns(void);

/* Queue (not submit) an IORING_OP_ASYNC_CANCEL of the requests whose
 * user_data is `target`, or of every request on the ring when target is
 * NULL (IORING_ASYNC_CANCEL_ANY); the cancel's own completion carries
 * `tag`.  The ring must allow ASYNC_CANCEL (uring_spec.ops).  0, or -EBUSY
 * when no SQE is free even after submitting what is queued.  Caller: the
 * ring's owner, under the lock that makes its ring single-user. */
int uring_prep_cancel(struct io_uring *ring, void *target, void *tag);

/* Submit what the submission queue holds, then call reap(opaque) (hand
 * every completion there to its owner; true while requests the caller
 * waits for are still in flight) and wait for more completions until it
 * says false.  Waits at most until end_ns (uring_now_ns clock; UINT64_MAX:
 * no limit, the only bound available without IORING_FEAT_EXT_ARG), in
 * slices of 100 ms (EXT_ARG) so that a submit that failed is tried again.
 * 0 once idle, -ETIME, or -errno.  Caller: as uring_prep_cancel; a cancel
 * queued first turns a wait for the kernel into a short one (a request not
 * yet started ends with -ECANCELED, a blocked read is interrupted; one the
 * kernel is already executing on a regular file runs to its end). */
int uring_wait_idle(struct io_uring *ring, bool (*reap)(void *opaque), void *opaque,
		    uint64_t end_ns);

#endif
