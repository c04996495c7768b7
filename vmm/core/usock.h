/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usock.h - a unix listening socket at a path ember owns: bound with mode
 * 0600 whatever the umask, a stale socket file in the way replaced, a live
 * one (someone listens on it) refused, and at the end unlinked only if the
 * path still names the socket ember bound.  Used by the API server
 * (api-socket/server.c, vmm thread at start-up) and by virtio-vsock's host
 * listener (virtio/vsock/vsock_host.c, vmm thread at InstanceStart).
 */
#ifndef EMBER_USOCK_H
#define EMBER_USOCK_H

#include <stdbool.h>
#include <sys/types.h>

/* The file bind created: its device and inode, recorded right after bind. */
struct usock_id {
	dev_t dev;
	ino_t ino;
	bool bound;
};

/* What is at `path`: 0 when nothing is there or it was a stale socket file
 * (nobody listens; it is unlinked), -EADDRINUSE when a listener answers,
 * -EEXIST when it is not a socket, another -errno on other errors.  `what`
 * names the user in the log line about a replaced socket. */
int usock_probe(const char *path, const char *what);

/* Bind the AF_UNIX socket `fd` to `path` with mode 0600 (the umask is set
 * to 0177 for the bind and restored: call it while no other thread creates
 * files), probing and retrying once if the path is taken, and record the
 * new file in *id.  0 or -errno (-EADDRINUSE: a live listener is there;
 * -ENAMETOOLONG: path does not fit sun_path). */
int usock_bind(int fd, const char *path, const char *what, struct usock_id *id);

/* Unlink `path` if it still is the socket file recorded in *id (not one
 * somebody else created there since), and forget it.  Safe to repeat. */
void usock_unlink(const char *path, struct usock_id *id);

#endif
