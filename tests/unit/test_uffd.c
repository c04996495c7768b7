// SPDX-License-Identifier: Apache-2.0
/*
 * test_uffd.c - the "Uffd" snapshot backend's message (vmm/core/uffd_msg.c:
 * built by ember, parsed and checked by tools/uffd_handler with the same
 * code) and ember's side of the hand-over (vmm/core/uffd.c): a userfaultfd
 * registered over anonymous memory, sent through a unix socket, and a page
 * served through the received fd to a thread that faulted on it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "unit.h"
#include "vmm/core/uffd.h"
#include "vmm/core/uffd_msg.h"
#include "vmm/snapshot.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static const struct uffd_region two[] = {
	{ .base = 0x7f0000000000ULL, .size = 3 * GiB, .offset = 0, .page_size = 4096 },
	{ .base = 0x7f00c0000000ULL, .size = 1 * GiB, .offset = 3 * GiB, .page_size = 4096 },
};

static int parse(const char *msg, uint64_t file_size, struct uffd_region *r, unsigned int *n,
		 char *err)
{
	return uffd_msg_parse(msg, strlen(msg), file_size, r, UFFD_MSG_MAX_REGIONS, n, err, 256);
}

/* ---- the message ---------------------------------------------------------------- */

static void test_msg_round_trip(void **state)
{
	struct uffd_region r[UFFD_MSG_MAX_REGIONS];
	char *msg = uffd_msg_build(two, 2), err[256];
	unsigned int n;

	(void)state;
	assert_non_null(msg);
	assert_ret(parse(msg, 4 * GiB, r, &n, err), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(r, two, sizeof(two));
	free(msg);
}

/* Firecracker's shape: the five keys, page_size_kib in bytes like page_size. */
static void test_msg_keys_as_firecracker(void **state)
{
	char *msg = uffd_msg_build(two, 2);
	json_t *arr = json_loads(msg, 0, NULL), *o;

	(void)state;
	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), 2);
	o = json_array_get(arr, 1);
	assert_int_equal(json_object_size(o), 5);
	assert_int_equal(json_integer_value(json_object_get(o, "base_host_virt_addr")),
			 0x7f00c0000000LL);
	assert_int_equal(json_integer_value(json_object_get(o, "size")), GiB);
	assert_int_equal(json_integer_value(json_object_get(o, "offset")), 3 * GiB);
	assert_int_equal(json_integer_value(json_object_get(o, "page_size")), 4096);
	assert_int_equal(json_integer_value(json_object_get(o, "page_size_kib")), 4096);
	json_decref(arr);
	free(msg);
}

/* An older VMM sends only page_size_kib (bytes); extra keys are ignored. */
static void test_msg_old_and_new_keys(void **state)
{
	struct uffd_region r[2];
	unsigned int n;
	char err[256];

	(void)state;
	assert_ret(parse("[{\"base_host_virt_addr\": 2097152, \"size\": 4194304, \"offset\": 0, "
			 "\"page_size_kib\": 2097152}]", 8 * MiB, r, &n, err), 0);
	assert_int_equal(r[0].page_size, 2 * MiB);
	assert_ret(parse("[{\"base_host_virt_addr\": 4096, \"size\": 8192, \"offset\": 4096, "
			 "\"page_size\": 4096, \"is_guest_memfd\": false}]", 12288, r, &n, err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].offset, 4096);
}

static void test_msg_refused(void **state)
{
	static const struct { const char *msg, *why; } cases[] = {
		{ "", "not a JSON array" },
		{ "{}", "not a JSON array" },
		{ "[]", "0 regions" },
		{ "[1]", "not an object" },
		{ "[{\"size\": 4096, \"offset\": 0, \"page_size\": 4096}]", "non-negative integers" },
		{ "[{\"base_host_virt_addr\": -4096, \"size\": 4096, \"offset\": 0, \"page_size\": 4096}]",
		  "non-negative integers" },
		{ "[{\"base_host_virt_addr\": \"4096\", \"size\": 4096, \"offset\": 0, \"page_size\": 4096}]",
		  "non-negative integers" },
		{ "[{\"base_host_virt_addr\": 4096, \"size\": 4096, \"offset\": 0}]", "no page_size" },
		{ "[{\"base_host_virt_addr\": 4096, \"size\": 4096, \"offset\": 0, \"page_size\": 4096, "
		  "\"page_size_kib\": 4}]", "differ" },
		{ "[{\"base_host_virt_addr\": 4096, \"size\": 4096, \"offset\": 0, \"page_size\": 12288}]",
		  "power of two" },
		{ "[{\"base_host_virt_addr\": 4096, \"size\": 4096, \"offset\": 0, \"page_size\": 2048}]",
		  "power of two" },
		{ "[{\"base_host_virt_addr\": 4096, \"size\": 4096, \"offset\": 0, \"page_size\": true}]",
		  "page_size must be" },
		{ "[{\"base_host_virt_addr\": 4097, \"size\": 4096, \"offset\": 0, \"page_size\": 4096}]",
		  "multiples of the page size" },
		{ "[{\"base_host_virt_addr\": 4096, \"size\": 0, \"offset\": 0, \"page_size\": 4096}]",
		  "multiples of the page size" },
		{ "[{\"base_host_virt_addr\": 4096, \"size\": 4096, \"offset\": 512, \"page_size\": 4096}]",
		  "multiples of the page size" },
		{ "[{\"base_host_virt_addr\": 9223372036854771712, \"size\": 9223372036854771712, "
		  "\"offset\": 0, \"page_size\": 4096}]", "beyond the end" },
		{ "[{\"base_host_virt_addr\": 4096, \"size\": 1052672, \"offset\": 0, \"page_size\": 4096}]",
		  "beyond the end" },
		{ "[{\"base_host_virt_addr\": 4096, \"size\": 8192, \"offset\": 0, \"page_size\": 4096}, "
		  "{\"base_host_virt_addr\": 8192, \"size\": 4096, \"offset\": 8192, \"page_size\": 4096}]",
		  "region 1: overlaps" },
		{ "[{\"base_host_virt_addr\": 4096, \"base_host_virt_addr\": 8192, \"size\": 4096, "
		  "\"offset\": 0, \"page_size\": 4096}]", "not a JSON array" },
	};
	struct uffd_region r[UFFD_MSG_MAX_REGIONS];
	char err[256];
	unsigned int n;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		err[0] = 0;
		n = 99;
		if (parse(cases[i].msg, 1 * MiB, r, &n, err) != -EINVAL || n != 0 ||
		    !strstr(err, cases[i].why))
			fail_msg("case %zu (%s): n %u, err '%s', want '%s'", i, cases[i].msg, n, err,
				 cases[i].why);
	}
}

/* More regions than the handler takes; every proper prefix of a good message. */
static void test_msg_too_many_and_truncated(void **state)
{
	struct uffd_region many[UFFD_MSG_MAX_REGIONS + 1], r[UFFD_MSG_MAX_REGIONS];
	char *msg, err[256];
	unsigned int n;

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct uffd_region){ .base = (i + 1) * 4096ULL, .size = 4096,
						.offset = i * 4096ULL, .page_size = 4096 };
	msg = uffd_msg_build(many, ARRAY_SIZE(many));
	assert_ret(parse(msg, 1 * GiB, r, &n, err), -EINVAL);
	assert_non_null(strstr(err, "65 regions"));
	free(msg);
	msg = uffd_msg_build(two, 2);
	for (size_t len = 0; len < strlen(msg); len++)
		assert_ret(uffd_msg_parse(msg, len, 4 * GiB, r, UFFD_MSG_MAX_REGIONS, &n, err,
					  sizeof(err)), -EINVAL);
	/* One byte short of the file the regions need. */
	assert_ret(parse(msg, 4 * GiB - 1, r, &n, err), -EINVAL);
	free(msg);
}

/* ---- PUT /snapshot/load's mem_backend ------------------------------------------------ */

static int load_params(const char *body, struct snapshot_load_params *p, char *err)
{
	json_t *j = json_loads(body, 0, NULL);
	int ret;

	assert_non_null(j);
	ret = snapshot_load_params(j, p, err, 256);
	json_decref(j);
	return ret;
}

static void test_load_params_uffd(void **state)
{
	struct snapshot_load_params p;
	char err[256];

	(void)state;
	assert_ret(load_params("{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_type\": "
			       "\"Uffd\", \"backend_path\": \"h.sock\"}}", &p, err), 0);
	assert_null(p.mem_path);
	assert_false(p.hugetlb);
	assert_ret(load_params("{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_type\": "
			       "\"Uffd\", \"backend_path\": \"h.sock\"}, \"huge_pages\": \"2M\"}",
			       &p, err), 0);
	assert_true(p.hugetlb);
	assert_ret(load_params("{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_type\": "
			       "\"File\", \"backend_path\": \"m\"}, \"huge_pages\": \"2M\"}",
			       &p, err), -EINVAL);
	assert_non_null(strstr(err, "\"2M\" with the \"Uffd\" memory backend"));
	assert_ret(load_params("{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_type\": "
			       "\"Uffd\", \"backend_path\": \"\"}}", &p, err), -EINVAL);
	assert_non_null(strstr(err, "must not be empty"));
	assert_ret(load_params("{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_type\": "
			       "\"Uffd\"}}", &p, err), -EINVAL);
	assert_ret(load_params("{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_type\": "
			       "\"Mmap\", \"backend_path\": \"x\"}}", &p, err), -EINVAL);
	assert_non_null(strstr(err, "must be \"File\" or \"Uffd\""));
}

/* ---- ember's side: create, register, send; a fault served through the fd ---------- */

struct toucher {
	volatile uint8_t *page;
	uint8_t seen;
};

static void *touch(void *arg)
{
	struct toucher *t = arg;

	t->seen = t->page[100];
	return NULL;
}

static int listener(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	return fd;
}

static int receive_fd(int conn, char *buf, size_t len)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	ssize_t n = recvmsg(conn, &mh, 0);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int fd;

	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(c);
	assert_int_equal(c->cmsg_type, SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

static void test_uffd_hand_over_and_serve(void **state)
{
	char dir[] = "/tmp/ember-uffd-XXXXXX", path[64], err[256], buf[4096];
	struct uffd_region r = { .size = 2 * MiB, .offset = 0, .page_size = 4096 }, got[4];
	struct toucher t;
	struct uffd_msg m;
	struct pollfd p;
	pthread_t th;
	uint8_t *mem, src[4096];
	unsigned int n;
	char *msg;
	int uffd, lfd, conn, hfd;

	(void)state;
	uffd = uffd_create(err, sizeof(err));
	if (uffd == -EPERM || uffd == -ENOSYS || uffd == -EACCES)
		skip();   /* no userfaultfd for this process: nothing to test here */
	assert_true(uffd >= 0);
	mem = mmap(NULL, r.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_ret(uffd_register(uffd, mem, r.size), 0);
	r.base = (uintptr_t)mem;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/h.sock", dir);
	/* No handler yet: refused with the path and the reason. */
	assert_ret(uffd_send(path, uffd, "[]", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "h.sock: No such file or directory"));
	lfd = listener(path);
	msg = uffd_msg_build(&r, 1);
	assert_ret(uffd_send(path, uffd, msg, err, sizeof(err)), 0);
	conn = accept(lfd, NULL, NULL);
	hfd = receive_fd(conn, buf, sizeof(buf));
	assert_string_equal(buf, msg);
	assert_ret(uffd_msg_parse(buf, strlen(buf), r.size, got, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(got[0].base, r.base);
	/* A thread faults on the second page; the handler's fd serves it. */
	t.page = mem + 4096;
	assert_int_equal(pthread_create(&th, NULL, touch, &t), 0);
	p = (struct pollfd){ .fd = hfd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(read(hfd, &m, sizeof(m)), sizeof(m));
	assert_int_equal(m.event, UFFD_EVENT_PAGEFAULT);
	assert_int_equal(m.arg.pagefault.address & ~4095ULL, (uintptr_t)mem + 4096);
	memset(src, 0x5a, sizeof(src));
	assert_int_equal(ioctl(hfd, UFFDIO_COPY, &(struct uffdio_copy){
		.dst = (uintptr_t)mem + 4096, .src = (uintptr_t)src, .len = 4096 }), 0);
	pthread_join(th, NULL);
	assert_int_equal(t.seen, 0x5a);
	/* Unregistered, a page nobody served reads as zeros (teardown's wake-up). */
	assert_ret(uffd_unregister(uffd, mem, r.size), 0);
	assert_int_equal(mem[3 * 4096], 0);
	free(msg);
	close(hfd);
	close(conn);
	close(lfd);
	close(uffd);
	munmap(mem, r.size);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_round_trip),
		cmocka_unit_test(test_msg_keys_as_firecracker),
		cmocka_unit_test(test_msg_old_and_new_keys),
		cmocka_unit_test(test_msg_refused),
		cmocka_unit_test(test_msg_too_many_and_truncated),
		cmocka_unit_test(test_load_params_uffd),
		cmocka_unit_test(test_uffd_hand_over_and_serve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
