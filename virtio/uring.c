// SPDX-License-Identifier: Apache-2.0
/* uring.c - see uring.h. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "uring.h"

#define URING_WAIT_SLICE_NS 100000000LL   /* uring_wait_idle waits 100 ms at a time */

int uring_restrict(struct io_uring *ring, const uint8_t *ops, unsigned int nr_ops,
		   bool files_update)
{
	struct io_uring_restriction res[URING_MAX_OPS + 3];
	unsigned int n = 0;

	if (nr_ops > URING_MAX_OPS)
		return -EINVAL;
	memset(res, 0, sizeof(res));
	for (unsigned int i = 0; i < nr_ops; i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = ops[i];
	}
	if (files_update) {
		res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
		res[n++].register_op = IORING_REGISTER_FILES_UPDATE;
	}
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	return io_uring_register_restrictions(ring, res, n);
}

int uring_open(struct io_uring *ring, const struct uring_spec *spec)
{
	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED };
	int ret;

	if (spec->cq_entries) {
		p.flags |= IORING_SETUP_CQSIZE;
		p.cq_entries = spec->cq_entries;
	}
	ret = io_uring_queue_init_params(spec->entries, ring, &p);
	if (ret)
		return ret;
	ret = spec->files ? io_uring_register_files(ring, spec->files, spec->nr_files)
			  : io_uring_register_files_sparse(ring, spec->nr_files);
	if (!ret)
		ret = io_uring_register_eventfd(ring, spec->efd);
	if (!ret)
		ret = uring_restrict(ring, spec->ops, spec->nr_ops, spec->files_update);
	if (!ret)
		ret = io_uring_enable_rings(ring);
	if (ret)
		io_uring_queue_exit(ring);
	return ret;
}

uint64_t uring_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int uring_prep_cancel(struct io_uring *ring, void *target, void *tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe && io_uring_submit(ring) >= 0)  /* full: push what is queued first */
		sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel(sqe, target, target ? 0 : IORING_ASYNC_CANCEL_ANY);
	sqe->flags |= IOSQE_FIXED_FILE;  /* required on every SQE; ignored by a cancel */
	io_uring_sqe_set_data(sqe, tag);
	return 0;
}

int uring_wait_idle(struct io_uring *ring, bool (*reap)(void *opaque), void *opaque,
		    uint64_t end_ns)
{
	struct io_uring_cqe *cqe;
	int ret;

	for (;;) {
		struct __kernel_timespec ts;
		uint64_t now;

		if (io_uring_sq_ready(ring))
			io_uring_submit(ring);  /* a failure is retried next round */
		if (!reap(opaque))
			return 0;
		now = uring_now_ns();
		if (!(ring->features & IORING_FEAT_EXT_ARG)) {
			if (end_ns != UINT64_MAX)
				return -ETIME;  /* a timeout would need an SQE */
			ret = io_uring_wait_cqe(ring, &cqe);
		} else {
			if (now >= end_ns)
				return -ETIME;
			/* in slices, so that a submit that failed is tried again */
			ts.tv_sec = 0;
			ts.tv_nsec = end_ns - now < URING_WAIT_SLICE_NS ? (long long)(end_ns - now)
									: URING_WAIT_SLICE_NS;
			ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
		}
		if (ret && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
			return ret;
	}
}
