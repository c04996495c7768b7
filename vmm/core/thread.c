// SPDX-License-Identifier: Apache-2.0
/* thread.c - see thread.h. */
#include "thread.h"

int thread_spawn(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int ret = pthread_attr_init(&attr);

	if (ret)
		return -ret;
	ret = pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
	if (!ret)
		ret = pthread_create(thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -ret;
}
