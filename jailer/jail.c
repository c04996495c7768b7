// SPDX-License-Identifier: Apache-2.0
/*
 * jail.c - namespaces, devices, limits, privileges, exec (see jail.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "jailer/fs.h"
#include "jailer/jail.h"

/* Fixed misc minors (Documentation/admin-guide/devices.txt), as Firecracker. */
#define KVM_MAJOR 10
#define KVM_MINOR 232
#define TUN_MAJOR 10
#define TUN_MINOR 200

int jail_host_open(const struct jail_args *a, struct jail_host *h, char *err)
{
	struct stat st;

	h->netns_fd = -1;
	h->devnull_fd = -1;
	h->has_uffd = stat("/dev/userfaultfd", &st) == 0 && S_ISCHR(st.st_mode);
	h->uffd_rdev = h->has_uffd ? st.st_rdev : 0;
	if (a->netns) {
		h->netns_fd = open(a->netns, O_RDONLY | O_CLOEXEC);
		if (h->netns_fd < 0)
			return jail_fail(err, errno, "--netns %s: %s", a->netns, strerror(errno));
		if (ioctl(h->netns_fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
			close(h->netns_fd);
			h->netns_fd = -1;
			return jail_fail(err, EINVAL, "--netns %s is not a network namespace", a->netns);
		}
	}
	if (a->daemonize) {
		h->devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (h->devnull_fd < 0)
			return jail_fail(err, errno, "/dev/null: %s", strerror(errno));
	}
	return 0;
}

int jail_enter_root(const struct jail_args *a, char *err)
{
	char self[64];
	int idfd, rootfd, fd, ret;

	if (unshare(CLONE_NEWNS))
		return jail_fail(err, errno, "unshare(CLONE_NEWNS): %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL))
		return jail_fail(err, errno, "make / private: %s", strerror(errno));
	/* Directory fds opened before unshare name mounts of the old
	 * namespace, which mount(2) refuses: walk and check the path again
	 * here (same checks, nothing created). */
	ret = jail_make_root(a, &idfd, &rootfd, err);
	if (ret)
		return ret;
	/* The directory we checked, by its fd: no path lookup to race. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", rootfd);
	if (mount(self, self, NULL, MS_BIND, NULL)) {
		ret = jail_fail(err, errno, "bind the jail root on itself: %s", strerror(errno));
		goto out;
	}
	/* rootfd still names the directory under the new mount: reopen it
	 * through its parent to stand on the mount. */
	fd = openat(idfd, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = jail_fail(err, errno, "reopen the jail root: %s", strerror(errno));
		goto out;
	}
	ret = fchdir(fd) ? jail_fail(err, errno, "chdir into the jail root: %s", strerror(errno)) : 0;
	close(fd);
	if (ret)
		goto out;
	/* new root and put_old both ".": the old root ends stacked on the
	 * new one, and is detached at once; no old_root directory to leave. */
	if (syscall(SYS_pivot_root, ".", ".")) {
		ret = jail_fail(err, errno, "pivot_root: %s", strerror(errno));
		goto out;
	}
	if (umount2(".", MNT_DETACH)) {
		ret = jail_fail(err, errno, "detach the old root: %s", strerror(errno));
		goto out;
	}
	if (chdir("/") || chroot("."))
		ret = jail_fail(err, errno, "chdir/chroot to the new root: %s", strerror(errno));
out:
	close(rootfd);
	close(idfd);
	return ret;
}

static int make_node(int devfd, const char *name, dev_t rdev, const struct jail_args *a,
		     const char *shown, char *err)
{
	if (unlinkat(devfd, name, 0) && errno != ENOENT)
		return jail_fail(err, errno, "%s: remove the old one: %s", shown, strerror(errno));
	if (mknodat(devfd, name, S_IFCHR | 0600, rdev))
		return jail_fail(err, errno, "mknod %s: %s", shown, strerror(errno));
	if (fchownat(devfd, name, a->uid, a->gid, AT_SYMLINK_NOFOLLOW))
		return jail_fail(err, errno, "chown %s: %s", shown, strerror(errno));
	return 0;
}

/* A directory of the jail: created 0700, then the jail user's. */
static int jail_dir(int dirfd, const char *name, const struct jail_args *a, const char *shown,
		    char *err)
{
	const struct jail_owners owners = { .uid = { 0, a->uid }, .n = 2 };
	int fd;

	fd = jail_open_dir(dirfd, name, true, 0700, &owners, shown, err);
	if (fd < 0)
		return fd;
	if (fchown(fd, a->uid, a->gid) || fchmod(fd, 0700)) {
		int e = errno;

		close(fd);
		return jail_fail(err, e, "chown %s: %s", shown, strerror(e));
	}
	return fd;
}

int jail_make_devices(const struct jail_args *a, const struct jail_host *h, char *err)
{
	int root, dev, net, run, ret;

	root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return jail_fail(err, errno, "open /: %s", strerror(errno));
	run = jail_dir(root, "run", a, "/run", err);
	if (run < 0) {
		ret = run;
		goto out_root;
	}
	close(run);
	dev = jail_dir(root, "dev", a, "/dev", err);
	if (dev < 0) {
		ret = dev;
		goto out_root;
	}
	net = jail_dir(dev, "net", a, "/dev/net", err);
	if (net < 0) {
		ret = net;
		goto out_dev;
	}
	ret = make_node(dev, "kvm", makedev(KVM_MAJOR, KVM_MINOR), a, "/dev/kvm", err);
	if (!ret)
		ret = make_node(net, "tun", makedev(TUN_MAJOR, TUN_MINOR), a, "/dev/net/tun", err);
	if (!ret && h->has_uffd)
		ret = make_node(dev, "userfaultfd", h->uffd_rdev, a, "/dev/userfaultfd", err);
	close(net);
out_dev:
	close(dev);
out_root:
	close(root);
	return ret;
}

int jail_join_netns(struct jail_host *h, const char *path, char *err)
{
	int ret = 0;

	if (h->netns_fd < 0)
		return 0;
	if (setns(h->netns_fd, CLONE_NEWNET))
		ret = jail_fail(err, errno, "setns %s: %s", path, strerror(errno));
	close(h->netns_fd);
	h->netns_fd = -1;
	return ret;
}

int jail_set_rlimits(const struct jail_args *a, char *err)
{
	struct rlimit rl = { .rlim_cur = a->nofile, .rlim_max = a->nofile };

	if (setrlimit(RLIMIT_NOFILE, &rl))
		return jail_fail(err, errno, "no-file=%llu: %s", (unsigned long long)a->nofile,
				 strerror(errno));
	if (a->has_fsize) {
		rl.rlim_cur = rl.rlim_max = a->fsize;
		if (setrlimit(RLIMIT_FSIZE, &rl))
			return jail_fail(err, errno, "fsize=%llu: %s", (unsigned long long)a->fsize,
					 strerror(errno));
	}
	return 0;
}

static int close_from_to(unsigned int lo, unsigned int hi)
{
	if (lo > hi)
		return 0;
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	/* Kernels before 5.9: the limit was just set, close up to it. */
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	for (unsigned int fd = lo; fd <= hi && fd < rl.rlim_cur; fd++)
		close((int)fd);
	return 0;
}

int jail_close_fds(int keep, char *err)
{
	int ret;

	if (keep < 3) {
		ret = close_from_to(3, ~0U);
	} else {
		ret = close_from_to(3, (unsigned int)keep - 1);
		if (!ret)
			ret = close_from_to((unsigned int)keep + 1, ~0U);
	}
	if (ret)
		return jail_fail(err, -ret, "close_range: %s", strerror(-ret));
	return 0;
}

int jail_new_pid_ns(const struct jail_args *a, char *err)
{
	char name[JAIL_ERR_LEN], pid[32];
	pid_t child;
	int fd, ret = 0;

	if (unshare(CLONE_NEWPID))
		return jail_fail(err, errno, "unshare(CLONE_NEWPID): %s", strerror(errno));
	child = fork();
	if (child < 0)
		return jail_fail(err, errno, "fork: %s", strerror(errno));
	if (child == 0)
		return 0;
	/* The parent: record the child's pid (as the host sees it), exit. */
	snprintf(name, sizeof(name), "%s.pid", a->exec_name);
	snprintf(pid, sizeof(pid), "%d", (int)child);
	if (unlinkat(AT_FDCWD, name, 0) && errno != ENOENT) {
		ret = jail_fail(err, errno, "/%s: remove the old one: %s", name, strerror(errno));
	} else {
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			ret = jail_fail(err, errno, "/%s: %s", name, strerror(errno));
		else if (write(fd, pid, strlen(pid)) != (ssize_t)strlen(pid))
			ret = jail_fail(err, EIO, "write /%s", name);
		if (fd >= 0)
			close(fd);
	}
	if (ret) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return ret;
	}
	_exit(0);
}

int jail_daemonize(struct jail_host *h, char *err)
{
	if (h->devnull_fd < 0)
		return 0;
	if (setsid() < 0)
		return jail_fail(err, errno, "setsid: %s", strerror(errno));
	for (int fd = 0; fd < 3; fd++)
		if (dup2(h->devnull_fd, fd) < 0)
			return jail_fail(err, errno, "dup2 /dev/null: %s", strerror(errno));
	close(h->devnull_fd);
	h->devnull_fd = -1;
	return 0;
}

int jail_exec(const struct jail_args *a, char *err)
{
	char path[JAIL_ERR_LEN];
	char *envp[] = { NULL };
	char **argv;
	int n = 0;

	snprintf(path, sizeof(path), "/%s", a->exec_name);
	argv = calloc((size_t)a->nextra + 4, sizeof(*argv));
	if (!argv)
		return jail_fail(err, ENOMEM, "no memory");
	argv[n++] = path;
	argv[n++] = (char *)"--id";
	argv[n++] = (char *)a->id;
	for (int i = 0; i < a->nextra; i++)
		argv[n++] = a->extra[i];
	argv[n] = NULL;
	if (setgroups(0, NULL) || setresgid(a->gid, a->gid, a->gid) ||
	    setresuid(a->uid, a->uid, a->uid)) {
		free(argv);
		return jail_fail(err, errno, "drop to %u:%u: %s", (unsigned)a->uid, (unsigned)a->gid,
				 strerror(errno));
	}
	execve(path, argv, envp);
	free(argv);
	return jail_fail(err, errno, "exec %s: %s", path, strerror(errno));
}
