/* SPDX-License-Identifier: Apache-2.0 */
/*
 * thread.h - starting ember's own threads (the vCPUs, the API server).
 *
 * Their stacks are smaller than glibc's default (8 MiB, from RLIMIT_STACK)
 * and, above all, smaller than 2 MiB: guest RAM is mapped 2 MiB-aligned
 * (memory.h), so a stack mapped next to it is aligned too, and under the
 * host's THP "always" the first touch of an 8 MiB stack's top filled a whole
 * 2 MiB huge page (measured: +2 MiB of RSS per microVM).  A stack of less
 * than 2 MiB holds no aligned 2 MiB range, so it never gets one.
 */
#ifndef EMBER_THREAD_H
#define EMBER_THREAD_H

#include <pthread.h>

#define THREAD_STACK_SIZE (1024 * 1024)

/* pthread_create with a THREAD_STACK_SIZE stack: 0 or -errno. */
int thread_spawn(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
