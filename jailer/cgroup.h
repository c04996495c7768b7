/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup.h - the per-VM cgroups of --cgroup, v1 or v2 (--cgroup-version).
 *
 * The group is <mount>/<parent-cgroup>/<id>, where <mount> is the v1
 * hierarchy holding the file's controller, or the cgroup2 mount.  Only the
 * hierarchies named by a --cgroup get a group and the process; without
 * --cgroup nothing is touched (as Firecracker).  Called from main() only.
 */
#ifndef EMBER_JAILER_CGROUP_H
#define EMBER_JAILER_CGROUP_H

#include <stddef.h>

#include "jailer/args.h"

/*
 * Finds in `mountinfo` (the text of /proc/self/mountinfo) the mount point
 * of the cgroup v1 hierarchy whose options hold `controller` (version 1)
 * or of the cgroup2 file system (version 2, controller ignored).  Octal
 * escapes in the mount point are decoded.  Returns 0, -ENOENT when there
 * is none, -ENAMETOOLONG when it does not fit `len`.
 */
int jail_cgroup_find_mount(const char *mountinfo, int version, const char *controller,
			   char *out, size_t len);

/*
 * Creates the groups named by a->cgroups (missing levels 0755; a new v1
 * cpuset level takes its parent's cpus and mems; v2 controllers enabled in
 * cgroup.subtree_control down to the parent), writes each value, then moves
 * the calling process into every group.  Returns 0 or a negative errno.
 */
int jail_cgroups_setup(const struct jail_args *a, char *err);

#endif
