/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs.h - symlink-safe creation of the jail directory and the exec file's
 * copy in it.
 *
 * Every directory is opened relative to its parent with
 * O_NOFOLLOW|O_DIRECTORY, so a symlink planted anywhere on the path is
 * refused instead of followed: a jail path that follows a symlink lets
 * whoever planted it make the jailer create, chown and mknod outside the
 * base directory (Firecracker's jailer had a security advisory for exactly
 * this).  Called from main() only, single-threaded.
 */
#ifndef EMBER_JAILER_FS_H
#define EMBER_JAILER_FS_H

#include <stdbool.h>
#include <sys/types.h>

#include "jailer/args.h"

/* Who may own an existing directory we walk through or reuse. */
struct jail_owners {
	uid_t uid[2];
	int n;
};

/*
 * Opens directory `name` (one component) under dirfd without following a
 * symlink, creating it with `mode` when missing and create is true.  An
 * existing directory must be owned by one of `owners` and not writable by
 * group or others unless sticky.  `shown` is the path printed in errors.
 * Returns an O_RDONLY|O_DIRECTORY fd or a negative errno, message in err.
 */
int jail_open_dir(int dirfd, const char *name, bool create, mode_t mode,
		  const struct jail_owners *owners, const char *shown, char *err);

/*
 * Walks `path` (absolute, or relative to the working directory) component by
 * component with jail_open_dir, each component existing and owned by root.
 * ".." is refused.  Returns the fd of the last directory or a negative errno.
 */
int jail_open_path(const char *path, char *err);

/*
 * Creates or reuses <base>/<exec_name>/<id>/root: base must exist; the two
 * middle directories are created 0755 and must be root's; root is created
 * 0700 (or reused when root's or the jail user's) and then owned by
 * uid:gid.  *idfd and *rootfd get the last two directories.
 */
int jail_make_root(const struct jail_args *a, int *idfd, int *rootfd, char *err);

/*
 * Opens the exec file without following a symlink in its last component
 * and checks it is a regular file.  Returns the fd or a negative errno.
 */
int jail_open_exec(const char *path, char *err);

/*
 * Puts the exec file (execfd) into rootfd as `name`: a hard link when on
 * the same file system, else a copy with the same permission bits.  An
 * earlier run's file of that name is replaced.
 */
int jail_install_exec(int execfd, int rootfd, const char *name, char *err);

#endif
