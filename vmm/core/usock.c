// SPDX-License-Identifier: Apache-2.0
/* usock.c - see usock.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "usock.h"

static int usock_addr(struct sockaddr_un *sa, const char *path)
{
	size_t len = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!len || len >= sizeof(sa->sun_path))
		return len ? -ENAMETOOLONG : -EINVAL;
	memcpy(sa->sun_path, path, len);
	return 0;
}

int usock_probe(const char *path, const char *what)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, ret = usock_addr(&sa, path);

	if (ret)
		return ret;
	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	close(fd);
	if (ret == -ENOENT)
		return 0;
	if (ret == -ECONNREFUSED) {
		log_info("replacing stale %s socket %s", what, path);
		return unlink(path) && errno != ENOENT ? -errno : 0;
	}
	/* Connected, or a full backlog (EAGAIN): somebody listens there. */
	return !ret || ret == -EAGAIN ? -EADDRINUSE : ret;
}

static int bind_0600(int fd, const struct sockaddr_un *sa)
{
	/* The file's mode is the socket inode's (0777) minus the umask. */
	mode_t old = umask(0177);
	int ret = bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;

	umask(old);
	return ret;
}

int usock_bind(int fd, const char *path, const char *what, struct usock_id *id)
{
	struct sockaddr_un sa;
	struct stat st;
	int ret = usock_addr(&sa, path);

	id->bound = false;
	if (ret)
		return ret;
	ret = bind_0600(fd, &sa);
	if (ret == -EADDRINUSE) {
		ret = usock_probe(path, what);
		if (!ret)
			ret = bind_0600(fd, &sa);
	}
	if (ret)
		return ret;
	if (lstat(path, &st))
		return -errno;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->bound = true;
	return 0;
}

void usock_unlink(const char *path, struct usock_id *id)
{
	struct stat st;

	if (!id->bound)
		return;
	id->bound = false;
	if (lstat(path, &st) || !S_ISSOCK(st.st_mode) || st.st_dev != id->dev ||
	    st.st_ino != id->ino) {
		log_info("%s is no longer the socket ember created: left alone", path);
		return;
	}
	unlink(path);
}
