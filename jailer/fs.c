// SPDX-License-Identifier: Apache-2.0
/*
 * fs.c - the jail directory and the exec file's copy (see fs.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "jailer/fs.h"

static bool owner_ok(const struct jail_owners *owners, uid_t uid)
{
	for (int i = 0; i < owners->n; i++)
		if (owners->uid[i] == uid)
			return true;
	return false;
}

/* Why `name` under dirfd could not be opened as a directory. */
static int refuse_open(int dirfd, const char *name, const char *shown, int e, char *err)
{
	struct stat st;

	if ((e == ELOOP || e == ENOTDIR) && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return jail_fail(err, ELOOP, "%s is a symlink, refused", shown);
		return jail_fail(err, ENOTDIR, "%s is not a directory", shown);
	}
	return jail_fail(err, e, "%s: %s", shown, strerror(e));
}

int jail_open_dir(int dirfd, const char *name, bool create, mode_t mode,
		  const struct jail_owners *owners, const char *shown, char *err)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	bool made = false;
	int fd, ret;

	fd = openat(dirfd, name, flags);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dirfd, name, mode) == 0)
			made = true;
		else if (errno != EEXIST)
			return jail_fail(err, errno, "%s: mkdir: %s", shown, strerror(errno));
		fd = openat(dirfd, name, flags);
	}
	if (fd < 0)
		return refuse_open(dirfd, name, shown, errno, err);
	if (fstat(fd, &st)) {
		ret = jail_fail(err, errno, "%s: fstat: %s", shown, strerror(errno));
		goto out_close;
	}
	if (!owner_ok(owners, st.st_uid)) {
		ret = jail_fail(err, EPERM, "%s is owned by uid %u, refused", shown, (unsigned)st.st_uid);
		goto out_close;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		ret = jail_fail(err, EPERM, "%s is writable by group or others (mode %04o), refused",
				shown, (unsigned)(st.st_mode & 07777));
		goto out_close;
	}
	/* mkdir's mode went through the umask: set it exactly. */
	if (made && fchmod(fd, mode)) {
		ret = jail_fail(err, errno, "%s: chmod: %s", shown, strerror(errno));
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return ret;
}

/* The next component of *p (skipping '/' and "."), copied into buf. */
static const char *next_component(const char **p, char *buf, size_t len)
{
	size_t n;

	for (;;) {
		while (**p == '/')
			(*p)++;
		n = strcspn(*p, "/");
		if (n == 0)
			return NULL;
		if (n == 1 && **p == '.') {
			*p += 1;
			continue;
		}
		break;
	}
	if (n >= len)
		n = len - 1;	/* longer than NAME_MAX: openat says ENAMETOOLONG */
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p += n;
	return buf;
}

int jail_open_path(const char *path, char *err)
{
	static const struct jail_owners root_only = { .uid = { 0 }, .n = 1 };
	char name[256], shown[4096];
	const char *p = path;
	size_t shown_len;
	int fd, next;

	while (next_component(&p, name, sizeof(name)))
		if (strcmp(name, "..") == 0)
			return jail_fail(err, EINVAL, "%s: '..' is refused", path);
	p = path;
	fd = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return jail_fail(err, errno, "%s: %s", path[0] == '/' ? "/" : ".", strerror(errno));
	shown_len = (size_t)snprintf(shown, sizeof(shown), "%s", path[0] == '/' ? "" : ".");
	while (next_component(&p, name, sizeof(name))) {
		if (shown_len < sizeof(shown))
			shown_len += (size_t)snprintf(shown + shown_len, sizeof(shown) - shown_len,
						      "/%s", name);
		next = jail_open_dir(fd, name, false, 0, &root_only, shown, err);
		close(fd);
		if (next < 0)
			return next;
		fd = next;
	}
	return fd;
}

int jail_make_root(const struct jail_args *a, int *idfd, int *rootfd, char *err)
{
	const struct jail_owners root_only = { .uid = { 0 }, .n = 1 };
	const struct jail_owners root_or_jail = { .uid = { 0, a->uid }, .n = 2 };
	char shown[4096];
	int base, exec_dir, id_dir, root, ret;

	base = jail_open_path(a->base, err);
	if (base < 0)
		return base;
	snprintf(shown, sizeof(shown), "%s/%s", a->base, a->exec_name);
	exec_dir = jail_open_dir(base, a->exec_name, true, 0755, &root_only, shown, err);
	close(base);
	if (exec_dir < 0)
		return exec_dir;
	snprintf(shown, sizeof(shown), "%s/%s/%s", a->base, a->exec_name, a->id);
	id_dir = jail_open_dir(exec_dir, a->id, true, 0755, &root_only, shown, err);
	close(exec_dir);
	if (id_dir < 0)
		return id_dir;
	snprintf(shown, sizeof(shown), "%s/%s/%s/root", a->base, a->exec_name, a->id);
	root = jail_open_dir(id_dir, "root", true, 0700, &root_or_jail, shown, err);
	if (root < 0) {
		ret = root;
		goto out_id;
	}
	/* As Firecracker: the jail's / is the jail user's, 0700, so the VMM
	 * can create its sockets there and nobody else can look in. */
	if (fchown(root, a->uid, a->gid) || fchmod(root, 0700)) {
		ret = jail_fail(err, errno, "%s: chown/chmod: %s", shown, strerror(errno));
		goto out_root;
	}
	*idfd = id_dir;
	*rootfd = root;
	return 0;
out_root:
	close(root);
out_id:
	close(id_dir);
	return ret;
}

int jail_open_exec(const char *path, char *err)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			return jail_fail(err, ELOOP, "--exec-file: %s is a symlink, refused", path);
		return jail_fail(err, errno, "--exec-file: %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st)) {
		ret = jail_fail(err, errno, "--exec-file: %s: fstat: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = jail_fail(err, EINVAL, "--exec-file: %s is not a regular file", path);
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return ret;
}

static int copy_exec(int execfd, int rootfd, const char *name, char *err)
{
	struct stat st;
	off_t off = 0;
	int out, ret = 0;

	if (fstat(execfd, &st))
		return jail_fail(err, errno, "exec file: fstat: %s", strerror(errno));
	out = openat(rootfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     st.st_mode & 0755);
	if (out < 0)
		return jail_fail(err, errno, "jail /%s: create: %s", name, strerror(errno));
	while (off < st.st_size) {
		ssize_t n = sendfile(out, execfd, &off, (size_t)(st.st_size - off));

		if (n <= 0) {
			ret = jail_fail(err, n < 0 ? errno : EIO, "jail /%s: copy: %s", name,
					n < 0 ? strerror(errno) : "short file");
			break;
		}
	}
	if (!ret && fchmod(out, st.st_mode & 0755))
		ret = jail_fail(err, errno, "jail /%s: chmod: %s", name, strerror(errno));
	close(out);
	if (ret)
		unlinkat(rootfd, name, 0);
	return ret;
}

/*
 * A hard link shares the inode: only when root owns it and nobody else may
 * write it, or the jailed process (its owner, say) could rewrite the host's
 * binary through the link.  Otherwise, and across file systems, a copy
 * owned by root.
 */
int jail_install_exec(int execfd, int rootfd, const char *name, char *err)
{
	struct stat st;

	if (fstat(execfd, &st))
		return jail_fail(err, errno, "exec file: fstat: %s", strerror(errno));
	if (unlinkat(rootfd, name, 0) && errno != ENOENT)
		return jail_fail(err, errno, "jail /%s: remove the old one: %s", name, strerror(errno));
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH | S_ISUID | S_ISGID)))
		return copy_exec(execfd, rootfd, name, err);
	if (linkat(execfd, "", rootfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != ENOENT)
		return jail_fail(err, errno, "jail /%s: link: %s", name, strerror(errno));
	return copy_exec(execfd, rootfd, name, err);
}
