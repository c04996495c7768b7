/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jail.h - the steps after the jail directory exists: the mount namespace
 * and pivot_root, device nodes, network namespace, resource limits, file
 * descriptors, PID namespace and session, privileges, exec.
 *
 * Called from main() in this order, single-threaded; each returns 0 or a
 * negative errno with the reason in err.
 */
#ifndef EMBER_JAILER_JAIL_H
#define EMBER_JAILER_JAIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "jailer/args.h"

/* What must be looked up on the host before pivot_root hides it. */
struct jail_host {
	int netns_fd;		/* --netns, or -1 */
	int devnull_fd;		/* /dev/null for --daemonize, or -1 */
	bool has_uffd;		/* the host has /dev/userfaultfd ... */
	dev_t uffd_rdev;	/* ... with this device number */
};

/* Opens --netns (must be a network namespace) and /dev/null, stats
 * /dev/userfaultfd. */
int jail_host_open(const struct jail_args *a, struct jail_host *h, char *err);

/* New mount namespace, / private, the jail root (checked again there)
 * bound on itself, pivot_root into it, the old root detached. */
int jail_enter_root(const struct jail_args *a, char *err);

/* /dev, /dev/net, /run (0700, uid:gid) and by mknod only /dev/kvm,
 * /dev/net/tun and (where the host has it) /dev/userfaultfd, 0600 uid:gid. */
int jail_make_devices(const struct jail_args *a, const struct jail_host *h, char *err);

/* setns(--netns) and close it. */
int jail_join_netns(struct jail_host *h, const char *path, char *err);

/* RLIMIT_NOFILE (default 2048) and RLIMIT_FSIZE when given, soft = hard. */
int jail_set_rlimits(const struct jail_args *a, char *err);

/* Closes every fd above 2 but `keep` (-1 for none). */
int jail_close_fds(int keep, char *err);

/* --new-pid-ns: forks into a new PID namespace.  Returns 0 in the child
 * (pid 1 there); the parent writes the child's pid to /<exec_name>.pid
 * and exits. */
int jail_new_pid_ns(const struct jail_args *a, char *err);

/* --daemonize: setsid(), stdio onto /dev/null. */
int jail_daemonize(struct jail_host *h, char *err);

/* Drops to uid:gid with no supplementary groups and execs
 * /<exec_name> --id <id> EXTRA... with an empty environment.  Returns
 * only on failure. */
int jail_exec(const struct jail_args *a, char *err);

#endif
