/* SPDX-License-Identifier: Apache-2.0 */
/*
 * args.h - ember-jailer's command line: Firecracker's jailer flags, parsed
 * and validated before anything on the host is touched.
 *
 * Called from main() only, single-threaded.  Nothing here touches the file
 * system; the exec file itself is opened and checked by jail_open_exec()
 * (fs.h).
 */
#ifndef EMBER_JAILER_ARGS_H
#define EMBER_JAILER_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JAIL_ERR_LEN		512
#define JAIL_ID_MAX		64	/* Firecracker's limit */
#define JAIL_CGROUPS_MAX	64
#define JAIL_CGROUP_FILE_MAX	128
#define JAIL_DEFAULT_BASE	"/srv/jailer"
#define JAIL_DEFAULT_NOFILE	2048	/* Firecracker's default RLIMIT_NOFILE */

/* One --cgroup FILE=VALUE; controller is FILE up to its first '.'. */
struct jail_cgroup {
	char file[JAIL_CGROUP_FILE_MAX];
	char controller[JAIL_CGROUP_FILE_MAX];
	const char *value;		/* points into argv */
};

struct jail_args {
	const char *id;
	const char *exec_file;
	const char *exec_name;		/* last component of exec_file */
	uid_t uid;
	gid_t gid;
	const char *base;		/* --chroot-base-dir */
	const char *netns;
	bool daemonize;
	bool new_pid_ns;
	int cgroup_version;		/* 1 or 2 */
	const char *parent_cgroup;	/* default: exec_name */
	struct jail_cgroup cgroups[JAIL_CGROUPS_MAX];
	size_t ncgroups;
	bool has_fsize;
	uint64_t fsize;
	uint64_t nofile;
	char **extra;			/* after "--", passed to the exec file */
	int nextra;
	bool help;
	bool version;
};

/*
 * Parses argv (argv[0] is the program) into *a and validates every value.
 * Returns 0, or -EINVAL with a message naming the flag in err (JAIL_ERR_LEN
 * bytes).  With --help or --version set, the other checks are skipped.
 */
int jail_args_parse(struct jail_args *a, int argc, char **argv, char *err);

/* The single checks, exported for the unit tests.  Each returns 0 or -EINVAL. */
int jail_check_id(const char *id);
int jail_check_exec_name(const char *name);
int jail_check_parent_cgroup(const char *path);
int jail_parse_cgroup(const char *arg, struct jail_cgroup *cg);
int jail_parse_u64(const char *s, uint64_t *out);
int jail_parse_id_number(const char *s, uint32_t *out);

/* Formats "step: detail" into err and returns -errnum (errnum > 0). */
int jail_fail(char *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void jail_usage(const char *prog);

#endif
