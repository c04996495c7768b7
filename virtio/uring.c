// SPDX-License-Identifier: Apache-2.0
/* uring.c - see uring.h. */
#include <errno.h>
#include <string.h>

#include "uring.h"

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
