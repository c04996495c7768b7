/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uffd.h - ember's side of the "Uffd" snapshot memory backend: a
 * userfaultfd over guest RAM, handed to a page-fault handler process
 * through its unix socket (Firecracker's protocol; the message is in
 * uffd_msg.h, the whole contract in docs/snapshots.md).  Called by the
 * builder on the vmm thread while a snapshot loads (create, register,
 * send) and at teardown (unregister).
 */
#ifndef EMBER_CORE_UFFD_H
#define EMBER_CORE_UFFD_H

#include <stddef.h>
#include <stdint.h>

/* A new userfaultfd (O_CLOEXEC|O_NONBLOCK) from userfaultfd(2) or, where the
 * kernel refuses that to this process (EPERM: vm.unprivileged_userfaultfd
 * is 0; ENOSYS), from /dev/userfaultfd; then the UFFDIO_API handshake,
 * asking for no optional feature (only page faults: no event a handler
 * must answer before ember may go on).  The fd, or -errno with what failed
 * in err. */
int uffd_create(char *err, size_t errlen);
/* Register [addr, addr + len) for missing-page faults (UFFDIO_REGISTER,
 * MISSING mode); UFFDIO_COPY must be offered on it.  0 or -errno. */
int uffd_register(int uffd, void *addr, uint64_t len);
/* Unregister the range: every thread waiting for a page there wakes up and
 * gets an ordinary (zero) page.  Teardown only.  0 or -errno. */
int uffd_unregister(int uffd, void *addr, uint64_t len);
/* Connect to the handler's unix socket at `path` without waiting (a
 * handler that is not listening, or whose backlog is full, is an error),
 * send `msg` with `uffd` attached in one sendmsg, and close the
 * connection.  0, or -errno with the reason in err. */
int uffd_send(const char *path, int uffd, const char *msg, char *err, size_t errlen);

#endif
