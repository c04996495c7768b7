// SPDX-License-Identifier: Apache-2.0
/*
 * args.c - ember-jailer's flags (see args.h and docs/jailer.md).
 *
 * The syntax is Firecracker's jailer's: "--flag value" pairs in any order,
 * boolean flags alone, repeatable --cgroup and --resource-limit, a repeated
 * single flag is an error, and "--" ends the jailer's flags: what follows
 * goes to the exec file after "--id <id>".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#include "jailer/args.h"

int jail_fail(char *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, JAIL_ERR_LEN, fmt, ap);
	va_end(ap);
	return -errnum;
}

void jail_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --id ID --exec-file PATH --uid UID --gid GID\n"
		"          [--chroot-base-dir DIR] [--netns PATH] [--daemonize] [--new-pid-ns]\n"
		"          [--cgroup-version 1|2] [--cgroup FILE=VALUE]... [--parent-cgroup PATH]\n"
		"          [--resource-limit fsize=N|no-file=N]... [--help] [--version]\n"
		"          [-- ARGS FOR THE EXEC FILE...]\n", prog);
}

/* 1-64 characters, ASCII letters, digits and '-': Firecracker's rule. */
int jail_check_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > JAIL_ID_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return -EINVAL;
	}
	return 0;
}

/* The exec file's last component names a directory of the jail path. */
int jail_check_exec_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NAME_MAX || strchr(name, '/') ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return 0;
}

/*
 * A path relative to a cgroup hierarchy's root: no leading '/', no empty,
 * "." or ".." component (Firecracker refuses ".", ".." and a root; an
 * empty component would only hide a typo), printable ASCII only.
 */
int jail_check_parent_cgroup(const char *path)
{
	const char *p = path;

	if (*p == '\0' || *p == '/')
		return -EINVAL;
	for (const char *c = path; *c; c++)
		if (*c <= ' ' || *c > '~')
			return -EINVAL;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		p += n;
		if (*p == '/' && *++p == '\0')
			return -EINVAL;
	}
	return 0;
}

/*
 * FILE=VALUE with exactly one '=' and a non-empty value (Firecracker's
 * rule); FILE is "<controller>.<property>", a plain file name: letters,
 * digits, '_' and '.', never '/' or "..".
 */
int jail_parse_cgroup(const char *arg, struct jail_cgroup *cg)
{
	const char *eq = strchr(arg, '=');
	size_t n, ctl;

	if (!eq || strchr(eq + 1, '=') || eq[1] == '\0')
		return -EINVAL;
	n = (size_t)(eq - arg);
	if (n == 0 || n >= sizeof(cg->file))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = arg[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.'))
			return -EINVAL;
	}
	memcpy(cg->file, arg, n);
	cg->file[n] = '\0';
	if (strstr(cg->file, ".."))
		return -EINVAL;
	ctl = strcspn(cg->file, ".");
	if (ctl == 0 || ctl == n || ctl + 1 == n)
		return -EINVAL;	/* no controller, or no property */
	memcpy(cg->controller, cg->file, ctl);
	cg->controller[ctl] = '\0';
	cg->value = eq + 1;
	return 0;
}

/* Decimal digits only (no sign, no space), no overflow. */
int jail_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/*
 * A uid or gid: 0 to 2^32-2.  4294967295 is refused (Firecracker takes it):
 * as (uid_t)-1 it means "leave unchanged" to setresuid(), so the exec file
 * would keep the jailer's root.
 */
int jail_parse_id_number(const char *s, uint32_t *out)
{
	uint64_t v;

	if (jail_parse_u64(s, &v) || v >= UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_rlimit(struct jail_args *a, const char *arg, char *err)
{
	const char *eq = strchr(arg, '=');
	uint64_t v;

	if (!eq)
		return jail_fail(err, EINVAL, "--resource-limit: '%s' is not RESOURCE=VALUE", arg);
	if (jail_parse_u64(eq + 1, &v))
		return jail_fail(err, EINVAL, "--resource-limit: '%s' is not a number", eq + 1);
	if ((size_t)(eq - arg) == 5 && strncmp(arg, "fsize", 5) == 0) {
		a->has_fsize = true;
		a->fsize = v;
	} else if ((size_t)(eq - arg) == 7 && strncmp(arg, "no-file", 7) == 0) {
		a->nofile = v;
	} else {
		return jail_fail(err, EINVAL, "--resource-limit: unknown resource '%.*s' (fsize or no-file)",
				 (int)(eq - arg), arg);
	}
	return 0;
}

enum { F_ID, F_EXEC, F_UID, F_GID, F_BASE, F_NETNS, F_CGVER, F_PARENT, F_NFLAGS };
static const char *const single_flags[F_NFLAGS] = {
	"--id", "--exec-file", "--uid", "--gid", "--chroot-base-dir", "--netns",
	"--cgroup-version", "--parent-cgroup",
};

/* Stores one flag's value; returns 1 when argv[i] is not a flag we know. */
static int take_flag(struct jail_args *a, const char **vals, const char *flag, const char *val,
		     char *err)
{
	for (int f = 0; f < F_NFLAGS; f++) {
		if (strcmp(flag, single_flags[f]) != 0)
			continue;
		if (vals[f])
			return jail_fail(err, EINVAL, "%s given twice", flag);
		vals[f] = val;
		return 0;
	}
	if (strcmp(flag, "--cgroup") == 0) {
		if (a->ncgroups == JAIL_CGROUPS_MAX)
			return jail_fail(err, EINVAL, "--cgroup: more than %d", JAIL_CGROUPS_MAX);
		if (jail_parse_cgroup(val, &a->cgroups[a->ncgroups]))
			return jail_fail(err, EINVAL,
					 "--cgroup: '%s' is not <controller>.<property>=<value>", val);
		a->ncgroups++;
		return 0;
	}
	if (strcmp(flag, "--resource-limit") == 0)
		return parse_rlimit(a, val, err);
	return 1;
}

/* The values of the single flags, checked. */
static int check_values(struct jail_args *a, const char **vals, char *err)
{
	static const int required[] = { F_ID, F_EXEC, F_UID, F_GID };
	const char *slash;
	uint32_t n;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!vals[required[i]])
			return jail_fail(err, EINVAL, "%s is required", single_flags[required[i]]);
	a->id = vals[F_ID];
	if (jail_check_id(a->id))
		return jail_fail(err, EINVAL, "--id: '%s' is not 1-%d letters, digits or '-'",
				 a->id, JAIL_ID_MAX);
	a->exec_file = vals[F_EXEC];
	slash = strrchr(a->exec_file, '/');
	a->exec_name = slash ? slash + 1 : a->exec_file;
	if (jail_check_exec_name(a->exec_name))
		return jail_fail(err, EINVAL, "--exec-file: '%s' does not end in a file name",
				 a->exec_file);
	if (jail_parse_id_number(vals[F_UID], &n))
		return jail_fail(err, EINVAL, "--uid: '%s' is not a number below 4294967295", vals[F_UID]);
	a->uid = n;
	if (jail_parse_id_number(vals[F_GID], &n))
		return jail_fail(err, EINVAL, "--gid: '%s' is not a number below 4294967295", vals[F_GID]);
	a->gid = n;
	a->base = vals[F_BASE] ? vals[F_BASE] : JAIL_DEFAULT_BASE;
	if (a->base[0] == '\0')
		return jail_fail(err, EINVAL, "--chroot-base-dir: empty");
	a->netns = vals[F_NETNS];
	if (a->netns && a->netns[0] == '\0')
		return jail_fail(err, EINVAL, "--netns: empty");
	if (vals[F_CGVER]) {
		if (strcmp(vals[F_CGVER], "1") && strcmp(vals[F_CGVER], "2"))
			return jail_fail(err, EINVAL, "--cgroup-version: '%s' is not 1 or 2", vals[F_CGVER]);
		a->cgroup_version = vals[F_CGVER][0] - '0';
	}
	a->parent_cgroup = vals[F_PARENT] ? vals[F_PARENT] : a->exec_name;
	if (jail_check_parent_cgroup(a->parent_cgroup))
		return jail_fail(err, EINVAL, "--parent-cgroup: '%s' is not a relative path without '.' or '..'",
				 a->parent_cgroup);
	return 0;
}

int jail_args_parse(struct jail_args *a, int argc, char **argv, char *err)
{
	const char *vals[F_NFLAGS] = { 0 };
	int i, ret;

	memset(a, 0, sizeof(*a));
	a->cgroup_version = 1;
	a->nofile = JAIL_DEFAULT_NOFILE;
	for (i = 1; i < argc; i++) {
		const char *flag = argv[i];

		if (strcmp(flag, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
			a->help = true;
			continue;
		}
		if (strcmp(flag, "--version") == 0) {
			a->version = true;
			continue;
		}
		if (strcmp(flag, "--daemonize") == 0 || strcmp(flag, "--new-pid-ns") == 0) {
			bool *b = flag[2] == 'd' ? &a->daemonize : &a->new_pid_ns;

			if (*b)
				return jail_fail(err, EINVAL, "%s given twice", flag);
			*b = true;
			continue;
		}
		if (i + 1 >= argc)
			return jail_fail(err, EINVAL, "%s: %s", flag,
					 strncmp(flag, "--", 2) ? "not a flag" : "missing value or unknown flag");
		ret = take_flag(a, vals, flag, argv[i + 1], err);
		if (ret < 0)
			return ret;
		if (ret > 0)
			return jail_fail(err, EINVAL, "unknown flag '%s'", flag);
		i++;
	}
	a->extra = argv + i;
	a->nextra = argc - i;
	if (a->help || a->version)
		return 0;
	return check_values(a, vals, err);
}
