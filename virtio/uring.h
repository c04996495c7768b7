/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uring.h - what every device's io_uring engine shares (blk_io.c, net_io.c,
 * vsock_uds.c): creating a ring confined to its own files.
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

#endif
