// SPDX-License-Identifier: Apache-2.0
/*
 * cgroup.c - the per-VM cgroups (see cgroup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jailer/cgroup.h"
#include "jailer/fs.h"

#define MOUNTINFO_MAX (1 << 20)
#define GROUP_PATH_MAX 4096

/* Copies field `f` (0-based, space separated) of a line into out, decoding \ooo. */
static int field(const char *line, int f, char *out, size_t len)
{
	const char *p = line;
	size_t n = 0;

	for (int i = 0; i < f; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -ENOENT;
		p++;
	}
	while (*p && *p != ' ' && *p != '\n') {
		char c = *p++;

		if (c == '\\' && p[0] >= '0' && p[0] <= '3' && p[1] >= '0' && p[1] <= '7' &&
		    p[2] >= '0' && p[2] <= '7') {
			c = (char)((p[0] - '0') * 64 + (p[1] - '0') * 8 + (p[2] - '0'));
			p += 3;
		}
		if (n + 1 >= len)
			return -ENAMETOOLONG;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/* Whether the comma-separated list holds `word` exactly. */
static bool has_option(const char *list, const char *word)
{
	size_t w = strlen(word);

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");

		if (n == w && strncmp(p, word, w) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

int jail_cgroup_find_mount(const char *mountinfo, int version, const char *controller,
			   char *out, size_t len)
{
	char fstype[32], opts[1024];

	for (const char *line = mountinfo; line && *line;) {
		const char *sep = strstr(line, " - ");
		const char *eol = strchr(line, '\n');

		if (sep && (!eol || sep < eol) && field(sep + 3, 0, fstype, sizeof(fstype)) == 0 &&
		    field(sep + 3, 2, opts, sizeof(opts)) == 0) {
			bool match = version == 2 ? strcmp(fstype, "cgroup2") == 0
				: strcmp(fstype, "cgroup") == 0 && has_option(opts, controller);

			if (match)
				return field(line, 4, out, len);
		}
		line = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

static int read_mountinfo(char **text, char *err)
{
	char *buf = malloc(MOUNTINFO_MAX);
	size_t n = 0;
	ssize_t r;
	int fd;

	if (!buf)
		return jail_fail(err, ENOMEM, "/proc/self/mountinfo: no memory");
	fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return jail_fail(err, errno, "/proc/self/mountinfo: %s", strerror(errno));
	}
	while (n < MOUNTINFO_MAX - 1 && (r = read(fd, buf + n, MOUNTINFO_MAX - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = '\0';
	*text = buf;
	return 0;
}

/* Writes the whole string to `name` under dirfd; `shown` names the file. */
static int write_file(int dirfd, const char *name, const char *s, const char *shown, char *err)
{
	size_t len = strlen(s);
	ssize_t w;
	int fd;

	fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return jail_fail(err, errno, "%s: open: %s", shown, strerror(errno));
	w = write(fd, s, len);
	if (w != (ssize_t)len) {
		int e = w < 0 ? errno : EIO;

		close(fd);
		return jail_fail(err, e, "write '%s' to %s: %s", s, shown, strerror(e));
	}
	close(fd);
	return 0;
}

/* A new v1 cpuset group is empty and takes no task: copy the parent's. */
static int inherit_cpuset(int parent, int child, const char *shown, char *err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char buf[4096], where[GROUP_PATH_MAX + 32];
	int ret;

	for (int i = 0; i < 2; i++) {
		ssize_t n;
		int fd;

		snprintf(where, sizeof(where), "%s/%s", shown, files[i]);
		fd = openat(child, files[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return jail_fail(err, errno, "%s: %s", where, strerror(errno));
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 1)
			continue;	/* already set */
		fd = openat(parent, files[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return jail_fail(err, errno, "parent of %s: %s", where, strerror(errno));
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0)
			return jail_fail(err, errno, "parent of %s: %s", where, strerror(errno));
		buf[n] = '\0';
		ret = write_file(child, files[i], buf, where, err);
		if (ret)
			return ret;
	}
	return 0;
}

/* One step down: open/create `name`, enabling a v2 controller first. */
static int descend(const struct jail_args *a, int fd, const char *name, const char *ctl,
		   char *shown, size_t shown_len, char *err)
{
	static const struct jail_owners root_only = { .uid = { 0 }, .n = 1 };
	char where[GROUP_PATH_MAX + 32];
	size_t at = strlen(shown);
	int next, ret;

	if (a->cgroup_version == 2 && strcmp(ctl, "cgroup") != 0) {
		char plus[JAIL_CGROUP_FILE_MAX + 2];

		snprintf(plus, sizeof(plus), "+%s", ctl);
		snprintf(where, sizeof(where), "%s/cgroup.subtree_control", shown);
		ret = write_file(fd, "cgroup.subtree_control", plus, where, err);
		if (ret)
			return ret;
	}
	snprintf(shown + at, shown_len - at, "/%s", name);
	next = jail_open_dir(fd, name, true, 0755, &root_only, shown, err);
	if (next < 0)
		return next;
	if (a->cgroup_version == 1 && strcmp(ctl, "cpuset") == 0) {
		ret = inherit_cpuset(fd, next, shown, err);
		if (ret) {
			close(next);
			return ret;
		}
	}
	return next;
}

/* Opens (creating) <mount>/<parent>/<id>; its path goes to shown. */
static int open_group(const struct jail_args *a, const char *mount, const char *ctl,
		      char *shown, size_t shown_len, char *err)
{
	const char *p = a->parent_cgroup;
	char name[256];
	int fd, next;

	fd = jail_open_path(mount, err);
	if (fd < 0)
		return fd;
	snprintf(shown, shown_len, "%s", mount);
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n >= sizeof(name)) {
			close(fd);
			return jail_fail(err, ENAMETOOLONG, "--parent-cgroup: a component is too long");
		}
		memcpy(name, p, n);
		name[n] = '\0';
		p += n + (p[n] == '/');
		next = descend(a, fd, name, ctl, shown, shown_len, err);
		close(fd);
		if (next < 0)
			return next;
		fd = next;
	}
	next = descend(a, fd, a->id, ctl, shown, shown_len, err);
	close(fd);
	return next;
}

struct group {
	char mount[GROUP_PATH_MAX];
	char path[GROUP_PATH_MAX];
	int fd;
};

static int move_in(struct group *g, size_t n, char *err)
{
	char pid[32], where[GROUP_PATH_MAX + 32];
	int ret;

	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	for (size_t i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "%s/cgroup.procs", g[i].path);
		ret = write_file(g[i].fd, "cgroup.procs", pid, where, err);
		if (ret)
			return ret;
	}
	return 0;
}

/* The group of cgroup i: an earlier one of the same hierarchy, or a new one. */
static int group_for(const struct jail_args *a, const char *mountinfo, size_t i,
		     struct group *g, size_t *ng, char *err)
{
	const struct jail_cgroup *cg = &a->cgroups[i];
	char mount[GROUP_PATH_MAX];
	int ret;

	ret = jail_cgroup_find_mount(mountinfo, a->cgroup_version, cg->controller, mount, sizeof(mount));
	if (ret == -ENOENT && a->cgroup_version == 1)
		return jail_fail(err, ENOENT, "--cgroup %s: no cgroup v1 hierarchy with controller '%s' is mounted",
				 cg->file, cg->controller);
	if (ret == -ENOENT)
		return jail_fail(err, ENOENT, "--cgroup %s: no cgroup2 file system is mounted", cg->file);
	if (ret)
		return jail_fail(err, -ret, "--cgroup %s: mount point too long", cg->file);
	for (size_t k = 0; k < *ng; k++)
		if (strcmp(g[k].mount, mount) == 0 && a->cgroup_version == 1)
			return (int)k;
	/* v2: one group, but each new controller must be enabled on the way down. */
	if (a->cgroup_version == 2 && *ng == 1) {
		ret = open_group(a, mount, cg->controller, g[0].path, sizeof(g[0].path), err);
		if (ret < 0)
			return ret;
		close(ret);
		return 0;
	}
	snprintf(g[*ng].mount, sizeof(g[*ng].mount), "%s", mount);
	ret = open_group(a, mount, cg->controller, g[*ng].path, sizeof(g[*ng].path), err);
	if (ret < 0)
		return ret;
	g[*ng].fd = ret;
	return (int)(*ng)++;
}

int jail_cgroups_setup(const struct jail_args *a, char *err)
{
	struct group *g;
	char *mountinfo = NULL;
	size_t ng = 0;
	int ret;

	if (a->ncgroups == 0)
		return 0;
	ret = read_mountinfo(&mountinfo, err);
	if (ret)
		return ret;
	g = calloc(a->ncgroups, sizeof(*g));
	if (!g) {
		ret = jail_fail(err, ENOMEM, "cgroups: no memory");
		goto out_info;
	}
	for (size_t i = 0; i < a->ncgroups; i++) {
		char where[GROUP_PATH_MAX + JAIL_CGROUP_FILE_MAX + 2];
		int k = group_for(a, mountinfo, i, g, &ng, err);

		if (k < 0) {
			ret = k;
			goto out_groups;
		}
		snprintf(where, sizeof(where), "%s/%s", g[k].path, a->cgroups[i].file);
		ret = write_file(g[k].fd, a->cgroups[i].file, a->cgroups[i].value, where, err);
		if (ret)
			goto out_groups;
	}
	ret = move_in(g, ng, err);
out_groups:
	for (size_t k = 0; k < ng; k++)
		close(g[k].fd);
	free(g);
out_info:
	free(mountinfo);
	return ret;
}
