// SPDX-License-Identifier: Apache-2.0
/*
 * test_thread.c - ember's threads (vmm/core/thread.c) run on stacks of less
 * than 2 MiB, so a stack mapped next to the 2 MiB-aligned guest RAM never
 * holds a whole aligned 2 MiB range that THP "always" would fill.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "unit.h"
#include "vmm/core/thread.h"

static void *stack_size_of_self(void *arg)
{
	pthread_attr_t attr;
	size_t *size = arg;
	void *addr;

	if (!pthread_getattr_np(pthread_self(), &attr)) {
		pthread_attr_getstack(&attr, &addr, size);
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

static void test_stack_below_2m(void **state)
{
	size_t size = 0;
	pthread_t t;

	(void)state;
	assert_int_equal(thread_spawn(&t, stack_size_of_self, &size), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(size >= THREAD_STACK_SIZE);
	assert_true(size < 2 * 1024 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stack_below_2m),
	};

	unit_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
