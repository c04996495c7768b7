// SPDX-License-Identifier: Apache-2.0
/*
 * test_jailer.c - ember-jailer's argument validation (jailer/args.c), the
 * symlink-safe jail path and the exec file's copy (jailer/fs.c), and the
 * cgroup mount lookup (jailer/cgroup.c).  The path tests build trees in a
 * temporary directory; those that need another owner (chown) skip unless
 * run as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>
#include <sys/stat.h>

#include "unit.h"
#include "jailer/args.h"
#include "jailer/cgroup.h"
#include "jailer/fs.h"

/* argv (a local array ending in NULL) parsed into a: the result stays
 * valid while argv is in scope. */
#define PARSE(a, err, argv) jail_args_parse((a), (int)ARRAY_SIZE(argv) - 1, (argv), (err))
#define BASIC "--id", "vm-1", "--exec-file", "/usr/bin/ember", "--uid", "123", "--gid", "100"

/* ---- arguments ------------------------------------------------------------ */

static void test_id_rules(void **state)
{
	static const char *const good[] = {
		"a", "551e7604-e35c-42b3-b825-416853441234", "-", "ABC-def-0",
		"1234567890123456789012345678901234567890123456789012345678901234", /* 64 */
	};
	static const char *const bad[] = {
		"", "a/b", "..", ".", "a.b", "a_b", " a", "a\n", "/", "vm/../x", "é",
		"12345678901234567890123456789012345678901234567890123456789012345", /* 65 */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_ret_case(good[i], jail_check_id(good[i]), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_ret_case(bad[i], jail_check_id(bad[i]), -EINVAL);
}

static void test_defaults_are_firecrackers(void **state)
{
	struct jail_args a;
	char err[JAIL_ERR_LEN];

	char *argv[] = { "ember-jailer", BASIC, NULL };

	(void)state;
	assert_ret(PARSE(&a, err, argv), 0);
	assert_string_equal(a.id, "vm-1");
	assert_string_equal(a.exec_name, "ember");
	assert_int_equal(a.uid, 123);
	assert_int_equal(a.gid, 100);
	assert_string_equal(a.base, "/srv/jailer");
	assert_int_equal(a.cgroup_version, 1);
	assert_string_equal(a.parent_cgroup, "ember");
	assert_int_equal(a.nofile, 2048);
	assert_false(a.has_fsize);
	assert_false(a.daemonize);
	assert_false(a.new_pid_ns);
	assert_null(a.netns);
	assert_int_equal(a.ncgroups, 0);
	assert_int_equal(a.nextra, 0);
}

static void test_every_flag(void **state)
{
	struct jail_args a;
	char err[JAIL_ERR_LEN];

	char *argv[] = { "ember-jailer", "--daemonize", BASIC, "--chroot-base-dir", "/j", "--netns",
			 "/var/run/netns/x", "--new-pid-ns", "--cgroup-version", "2", "--cgroup",
			 "cpu.max=1000 10000", "--cgroup", "memory.max=1G", "--parent-cgroup", "a/b",
			 "--resource-limit", "fsize=1024", "--resource-limit", "no-file=64",
			 "--", "--api-sock", "/run/api.sock", "--id", "x", NULL };

	(void)state;
	assert_ret(PARSE(&a, err, argv), 0);
	assert_string_equal(a.base, "/j");
	assert_string_equal(a.netns, "/var/run/netns/x");
	assert_true(a.daemonize);
	assert_true(a.new_pid_ns);
	assert_int_equal(a.cgroup_version, 2);
	assert_int_equal(a.ncgroups, 2);
	assert_string_equal(a.cgroups[0].file, "cpu.max");
	assert_string_equal(a.cgroups[0].controller, "cpu");
	assert_string_equal(a.cgroups[0].value, "1000 10000");
	assert_string_equal(a.cgroups[1].controller, "memory");
	assert_string_equal(a.parent_cgroup, "a/b");
	assert_true(a.has_fsize);
	assert_int_equal(a.fsize, 1024);
	assert_int_equal(a.nofile, 64);
	/* after "--" everything is the exec file's, even our flag names */
	assert_int_equal(a.nextra, 4);
	assert_string_equal(a.extra[0], "--api-sock");
	assert_string_equal(a.extra[3], "x");
}

static void test_bad_arguments(void **state)
{
	static const struct { const char *name; char *argv[16]; } cases[] = {
		{ "no id", { "--exec-file", "/e", "--uid", "1", "--gid", "1" } },
		{ "no exec-file", { "--id", "a", "--uid", "1", "--gid", "1" } },
		{ "no uid", { "--id", "a", "--exec-file", "/e", "--gid", "1" } },
		{ "no gid", { "--id", "a", "--exec-file", "/e", "--uid", "1" } },
		{ "id twice", { BASIC, "--id", "b" } },
		{ "daemonize twice", { BASIC, "--daemonize", "--daemonize" } },
		{ "unknown flag", { BASIC, "--node", "0" } },
		{ "abbreviated flag", { BASIC, "--daemon" } },
		{ "value missing", { BASIC, "--netns" } },
		{ "not a flag", { BASIC, "stray" } },
		{ "id with slash", { "--id", "a/b", "--exec-file", "/e", "--uid", "1", "--gid", "1" } },
		{ "id dotdot", { "--id", "..", "--exec-file", "/e", "--uid", "1", "--gid", "1" } },
		{ "id empty", { "--id", "", "--exec-file", "/e", "--uid", "1", "--gid", "1" } },
		{ "exec-file dir", { "--id", "a", "--exec-file", "/usr/bin/", "--uid", "1", "--gid", "1" } },
		{ "exec-file dotdot", { "--id", "a", "--exec-file", "/usr/..", "--uid", "1", "--gid", "1" } },
		{ "uid -1", { "--id", "a", "--exec-file", "/e", "--uid", "-1", "--gid", "1" } },
		{ "uid 2^32-1", { "--id", "a", "--exec-file", "/e", "--uid", "4294967295", "--gid", "1" } },
		{ "uid 2^32", { "--id", "a", "--exec-file", "/e", "--uid", "4294967296", "--gid", "1" } },
		{ "uid name", { "--id", "a", "--exec-file", "/e", "--uid", "nobody", "--gid", "1" } },
		{ "gid empty", { "--id", "a", "--exec-file", "/e", "--uid", "1", "--gid", "" } },
		{ "gid space", { "--id", "a", "--exec-file", "/e", "--uid", "1", "--gid", " 1" } },
		{ "cgroup version 3", { BASIC, "--cgroup-version", "3" } },
		{ "cgroup version 01", { BASIC, "--cgroup-version", "01" } },
		{ "cgroup key slash", { BASIC, "--cgroup", "../../etc/x.y=1" } },
		{ "cgroup key dotdot", { BASIC, "--cgroup", "memory..max=1" } },
		{ "cgroup no value", { BASIC, "--cgroup", "memory.max=" } },
		{ "cgroup two =", { BASIC, "--cgroup", "memory.max=1=2" } },
		{ "cgroup no =", { BASIC, "--cgroup", "memory.max" } },
		{ "cgroup no property", { BASIC, "--cgroup", "memory=1" } },
		{ "parent absolute", { BASIC, "--parent-cgroup", "/a" } },
		{ "parent dotdot", { BASIC, "--parent-cgroup", "a/../../b" } },
		{ "rlimit unknown", { BASIC, "--resource-limit", "nproc=1" } },
		{ "rlimit negative", { BASIC, "--resource-limit", "fsize=-1" } },
		{ "rlimit empty", { BASIC, "--resource-limit", "fsize=" } },
		{ "rlimit no =", { BASIC, "--resource-limit", "fsize" } },
		{ "rlimit overflow", { BASIC, "--resource-limit", "no-file=18446744073709551616" } },
		{ "rlimit hex", { BASIC, "--resource-limit", "no-file=0x10" } },
		{ "base empty", { BASIC, "--chroot-base-dir", "" } },
		{ "netns empty", { BASIC, "--netns", "" } },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *argv[18] = { "ember-jailer" };
		struct jail_args a;
		char err[JAIL_ERR_LEN] = "";
		int argc = 1;

		for (int k = 0; cases[i].argv[k]; k++)
			argv[argc++] = cases[i].argv[k];
		assert_ret_case(cases[i].name, jail_args_parse(&a, argc, argv, err), -EINVAL);
		if (err[0] == '\0')
			fail_msg("case '%s': no message", cases[i].name);
	}
}

static void test_cgroup_keys(void **state)
{
	static const char *const good[] = {
		"cpu.shares=10", "cpuset.cpus=0-1", "memory.limit_in_bytes=1", "hugetlb.2MB.max=0",
		"cgroup.max.descendants=3", "pids.max=max",
	};
	static const char *const bad[] = {
		"a/b.c=1", "../x.y=1", "x..y=1", ".x=1", "x.=1", "x=1", "x.y=", "x.y", "=1",
		"x.y=1=2", "x y.z=1", "x.y\n=1", "cpu.shares/../../x=1",
	};
	struct jail_cgroup cg;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_ret_case(good[i], jail_parse_cgroup(good[i], &cg), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_ret_case(bad[i], jail_parse_cgroup(bad[i], &cg), -EINVAL);
	assert_ret(jail_parse_cgroup("hugetlb.2MB.max=0", &cg), 0);
	assert_string_equal(cg.controller, "hugetlb");
	assert_string_equal(cg.file, "hugetlb.2MB.max");
	assert_string_equal(cg.value, "0");
}

static void test_parent_cgroup_paths(void **state)
{
	static const char *const good[] = { "ember", "a/b", "all_uvms/external-uvms", "a.b/.c" };
	static const char *const bad[] = {
		"", "/", "/a", "..", ".", "a/..", "../a", "a/./b", "a//b", "a/", "a b", "a\tb",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_ret_case(good[i], jail_check_parent_cgroup(good[i]), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_ret_case(bad[i], jail_check_parent_cgroup(bad[i]), -EINVAL);
}

static void test_numbers(void **state)
{
	uint64_t v;
	uint32_t u;

	(void)state;
	assert_ret(jail_parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_ret(jail_parse_u64("18446744073709551616", &v), -EINVAL);
	assert_ret(jail_parse_u64("99999999999999999999", &v), -EINVAL);
	assert_ret(jail_parse_u64("+1", &v), -EINVAL);
	assert_ret(jail_parse_u64("", &v), -EINVAL);
	assert_ret(jail_parse_id_number("0", &u), 0);
	assert_ret(jail_parse_id_number("4294967294", &u), 0);
	assert_int_equal(u, 4294967294u);
	assert_ret(jail_parse_id_number("4294967295", &u), -EINVAL);
}

/* ---- paths ---------------------------------------------------------------- */

static char tmp[256];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(p);
}

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/ember-test-jailer.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	(void)state;
	return nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *at(const char *rel)
{
	static char buf[4][512];
	static int n;
	char *p = buf[n++ % 4];

	snprintf(p, 512, "%s/%s", tmp, rel);
	return p;
}

static bool exists(const char *rel)
{
	struct stat st;

	return lstat(at(rel), &st) == 0;
}

static void args_for(struct jail_args *a, const char *base, const char *id)
{
	memset(a, 0, sizeof(*a));
	a->base = base;
	a->exec_name = "ember";
	a->id = id;
	a->uid = 1234;
	a->gid = 1235;
}

static int make_root(const char *base, const char *id, char *err)
{
	struct jail_args a;
	int idfd, rootfd, ret;

	args_for(&a, base, id);
	ret = jail_make_root(&a, &idfd, &rootfd, err);
	if (ret == 0) {
		close(idfd);
		close(rootfd);
	}
	return ret;
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip();
}

static void test_jail_root_created(void **state)
{
	char err[JAIL_ERR_LEN];
	struct stat st;

	(void)state;
	need_root();
	assert_ret(mkdir(at("base"), 0755), 0);
	assert_ret(make_root(at("base"), "vm1", err), 0);
	assert_ret(stat(at("base/ember/vm1/root"), &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 1235);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_ret(stat(at("base/ember/vm1"), &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	/* a rerun reuses it all (root now belongs to the jail user) */
	assert_ret(make_root(at("base"), "vm1", err), 0);
}

static void test_base_must_exist(void **state)
{
	char err[JAIL_ERR_LEN];

	(void)state;
	assert_ret(make_root(at("missing"), "vm1", err), -ENOENT);
	assert_false(exists("missing"));
	assert_ret(make_root("relative/../dotdot", "vm1", err), -EINVAL);
}

/* A symlink at each component of the jail path, pointing at a directory
 * outside: refused, and nothing appears in the target. */
static void test_symlink_at_each_component(void **state)
{
	static const char *const where[] = { "b1", "b2/ember", "b3/ember/vm1", "b4/ember/vm1/root" };
	char err[JAIL_ERR_LEN];
	struct stat st;

	(void)state;
	need_root();
	assert_ret(mkdir(at("outside"), 0755), 0);
	for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
		char base[8], dir[512];

		snprintf(base, sizeof(base), "b%zu", i + 1);
		/* the real directories up to the planted link */
		snprintf(dir, sizeof(dir), "%s", where[i]);
		for (char *s = dir; (s = strchr(s, '/')); s++) {
			*s = '\0';
			assert_ret(mkdir(at(dir), 0755), 0);
			*s = '/';
		}
		assert_ret(symlink(at("outside"), at(where[i])), 0);
		assert_ret_case(where[i], make_root(at(base), "vm1", err), -ELOOP);
		if (!strstr(err, "symlink"))
			fail_msg("case '%s': message '%s'", where[i], err);
	}
	/* the base given as a path through a symlink is refused as well */
	assert_ret(make_root(at("b1/x"), "vm1", err), -ELOOP);
	assert_ret(stat(at("outside"), &st), 0);
	assert_int_equal(st.st_nlink, 2);	/* nothing created inside */
	assert_int_equal(st.st_uid, 0);		/* nor chowned */
	assert_int_equal(st.st_mode & 07777, 0755);
}

static void test_owner_checks(void **state)
{
	char err[JAIL_ERR_LEN];

	(void)state;
	need_root();
	/* the id directory owned by someone else */
	assert_ret(mkdir(at("o1"), 0755), 0);
	assert_ret(mkdir(at("o1/ember"), 0755), 0);
	assert_ret(mkdir(at("o1/ember/vm1"), 0755), 0);
	assert_ret(chown(at("o1/ember/vm1"), 4321, 4321), 0);
	assert_ret(make_root(at("o1"), "vm1", err), -EPERM);
	assert_false(exists("o1/ember/vm1/root"));
	/* the root directory owned by a third user (not root, not the jail's) */
	assert_ret(mkdir(at("o2"), 0755), 0);
	assert_ret(mkdir(at("o2/ember"), 0755), 0);
	assert_ret(mkdir(at("o2/ember/vm1"), 0755), 0);
	assert_ret(mkdir(at("o2/ember/vm1/root"), 0700), 0);
	assert_ret(chown(at("o2/ember/vm1/root"), 4321, 4321), 0);
	assert_ret(make_root(at("o2"), "vm1", err), -EPERM);
	/* the exec-name directory writable by others */
	assert_ret(mkdir(at("o3"), 0755), 0);
	assert_ret(mkdir(at("o3/ember"), 0755), 0);
	assert_ret(chmod(at("o3/ember"), 0777), 0);
	assert_ret(make_root(at("o3"), "vm1", err), -EPERM);
	assert_false(exists("o3/ember/vm1"));
	/* a base component owned by another user */
	assert_ret(mkdir(at("o4"), 0755), 0);
	assert_ret(chown(at("o4"), 4321, 4321), 0);
	assert_ret(make_root(at("o4"), "vm1", err), -EPERM);
	assert_false(exists("o4/ember"));
	/* the base itself a file */
	assert_ret(close(open(at("o5"), O_CREAT | O_WRONLY, 0644)), 0);
	assert_ret(make_root(at("o5"), "vm1", err), -ENOTDIR);
}

static void test_exec_file_checks(void **state)
{
	char err[JAIL_ERR_LEN];
	int fd;

	(void)state;
	fd = open(at("ember"), O_CREAT | O_WRONLY, 0755);
	assert_true(fd >= 0);
	assert_ret(write(fd, "\x7f" "ELF", 4), 4);
	close(fd);
	fd = jail_open_exec(at("ember"), err);
	assert_true(fd >= 0);
	close(fd);
	assert_ret(symlink(at("ember"), at("link")), 0);
	assert_ret(jail_open_exec(at("link"), err), -ELOOP);
	assert_non_null(strstr(err, "symlink"));
	assert_ret(mkdir(at("dir"), 0755), 0);
	assert_ret(jail_open_exec(at("dir"), err), -EINVAL);
	assert_ret(jail_open_exec(at("missing"), err), -ENOENT);
	assert_ret(mkfifo(at("fifo"), 0644), 0);
	assert_ret(jail_open_exec(at("fifo"), err), -EINVAL);
}

static void test_exec_file_link_or_copy(void **state)
{
	char err[JAIL_ERR_LEN];
	struct stat src, dst;
	int exec, root;

	(void)state;
	need_root();
	assert_ret(mkdir(at("root"), 0700), 0);
	root = open(at("root"), O_RDONLY | O_DIRECTORY);
	exec = open(at("ember"), O_CREAT | O_RDWR, 0755);
	assert_true(root >= 0 && exec >= 0);
	assert_ret(write(exec, "binary", 6), 6);
	/* root's and not writable by others: a hard link */
	assert_ret(jail_install_exec(exec, root, "ember", err), 0);
	assert_ret(stat(at("ember"), &src), 0);
	assert_ret(stat(at("root/ember"), &dst), 0);
	assert_true(src.st_ino == dst.st_ino);
	/* owned by someone else: a copy of root's, same bits; the old one replaced */
	assert_ret(fchown(exec, 1234, 1234), 0);
	assert_ret(jail_install_exec(exec, root, "ember", err), 0);
	assert_ret(stat(at("root/ember"), &dst), 0);
	assert_true(src.st_ino != dst.st_ino);
	assert_int_equal(dst.st_uid, 0);
	assert_int_equal(dst.st_size, 6);
	assert_int_equal(dst.st_mode & 07777, 0755);
	close(exec);
	close(root);
}

/* ---- cgroup mounts -------------------------------------------------------- */

static const char mountinfo[] =
	"22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
	"31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
	"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
	"35 31 0:32 / /sys/fs/cgroup/my\\040memory rw - cgroup cgroup rw,memory\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n";

static void test_cgroup_mounts(void **state)
{
	char out[256];

	(void)state;
	assert_ret(jail_cgroup_find_mount(mountinfo, 1, "cpu", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/cpu,cpuacct");
	assert_ret(jail_cgroup_find_mount(mountinfo, 1, "cpuacct", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/cpu,cpuacct");
	assert_ret(jail_cgroup_find_mount(mountinfo, 1, "cpuset", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/cpuset");
	assert_ret(jail_cgroup_find_mount(mountinfo, 1, "memory", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/my memory");
	assert_ret(jail_cgroup_find_mount(mountinfo, 1, "pids", out, sizeof(out)), -ENOENT);
	assert_ret(jail_cgroup_find_mount(mountinfo, 1, "rw", out, sizeof(out)), 0); /* an option, but */
	assert_ret(jail_cgroup_find_mount(mountinfo, 1, "mode=755", out, sizeof(out)), -ENOENT);
	assert_ret(jail_cgroup_find_mount(mountinfo, 2, "memory", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	assert_ret(jail_cgroup_find_mount(mountinfo, 1, "cpu", out, 8), -ENAMETOOLONG);
	assert_ret(jail_cgroup_find_mount("", 2, "x", out, sizeof(out)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_rules),
		cmocka_unit_test(test_defaults_are_firecrackers),
		cmocka_unit_test(test_every_flag),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_cgroup_keys),
		cmocka_unit_test(test_parent_cgroup_paths),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test_setup_teardown(test_jail_root_created, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_base_must_exist, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_symlink_at_each_component, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_owner_checks, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_exec_file_checks, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_exec_file_link_or_copy, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_cgroup_mounts),
	};

	unit_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
