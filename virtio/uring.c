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
