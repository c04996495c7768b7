// SPDX-License-Identifier: MIT
/*
 * sysvshm.c - SysV shared memory for fio in a guest kernel without
 * CONFIG_SYSVIPC (ember's guest kernel has none).
 *
 * fio keeps its table of jobs in IPC_PRIVATE segments that it creates and
 * attaches before it starts any job thread or process; an anonymous shared
 * mapping made at shmat() is shared the same way.  Built as a shared library
 * by tests/bench/mkfioinitramfs.sh and preloaded by tests/bench/fio-guest.sh
 * when the guest has no /proc/sysvipc.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/shm.h>

#define MAX_SEGS 64

static struct {
	size_t size;
	void *addr;
} segs[MAX_SEGS];
static int nsegs;

int shmget(key_t key, size_t size, int flags)
{
	(void)flags;
	if (key != IPC_PRIVATE) {
		errno = ENOSYS;
		return -1;
	}
	if (nsegs == MAX_SEGS) {
		errno = ENOSPC;
		return -1;
	}
	segs[nsegs].size = size;
	return nsegs++;
}

void *shmat(int id, const void *addr, int flags)
{
	void *p;

	(void)flags;
	if (id < 0 || id >= nsegs || addr) {
		errno = EINVAL;
		return (void *)-1;
	}
	if (!segs[id].addr) {
		p = mmap(NULL, segs[id].size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			 -1, 0);
		if (p == MAP_FAILED)
			return (void *)-1;
		segs[id].addr = p;
	}
	return segs[id].addr;
}

int shmdt(const void *addr)
{
	for (int i = 0; i < nsegs; i++)
		if (segs[i].addr && segs[i].addr == addr) {
			munmap(segs[i].addr, segs[i].size);
			segs[i].addr = NULL;
			return 0;
		}
	errno = EINVAL;
	return -1;
}

/* IPC_RMID: the mapping goes away with its last user, as a removed segment would. */
int shmctl(int id, int cmd, struct shmid_ds *buf)
{
	(void)cmd;
	(void)buf;
	if (id < 0 || id >= nsegs) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}
