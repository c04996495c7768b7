// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - ember-jailer: Firecracker's jailer contract for ember.
 *
 * A straight pipeline, one step per line, in the order of docs/jailer.md;
 * a failed step prints "ember-jailer: <step>: <what and where>" and exits 1.
 * Every step either reuses what an earlier, failed run left (directories
 * checked again, the exec file, device nodes and pid file replaced) or
 * leaves nothing, so a rerun with the same arguments does not trip.
 */
#include <stdio.h>
#include <unistd.h>

#include "jailer/args.h"
#include "jailer/cgroup.h"
#include "jailer/fs.h"
#include "jailer/jail.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.1.0"
#endif

static int step_failed(const char *step, const char *err)
{
	fprintf(stderr, "ember-jailer: %s: %s\n", step, err);
	return 1;
}

int main(int argc, char **argv)
{
	struct jail_args a;
	struct jail_host host;
	char err[JAIL_ERR_LEN];
	int execfd, idfd, rootfd;

	/* 1. validate every argument, open what must be opened on the host */
	if (jail_args_parse(&a, argc, argv, err)) {
		jail_usage(argv[0]);
		return step_failed("arguments", err);
	}
	if (a.help) {
		jail_usage(argv[0]);
		return 0;
	}
	if (a.version) {
		printf("ember-jailer %s\n", EMBER_VERSION);
		return 0;
	}
	execfd = jail_open_exec(a.exec_file, err);
	if (execfd < 0)
		return step_failed("arguments", err);
	if (jail_host_open(&a, &host, err))
		return step_failed("arguments", err);
	/* 2. <base>/<exec-name>/<id>/root, symlink-safe */
	if (jail_make_root(&a, &idfd, &rootfd, err))
		return step_failed("jail directory", err);
	/* 3. the exec file into the jail */
	if (jail_install_exec(execfd, rootfd, a.exec_name, err))
		return step_failed("exec file", err);
	close(execfd);
	close(rootfd);
	close(idfd);
	/* 4. cgroups */
	if (jail_cgroups_setup(&a, err))
		return step_failed("cgroups", err);
	/* 5. mount namespace, pivot_root */
	if (jail_enter_root(&a, err))
		return step_failed("mount namespace", err);
	/* 6. device nodes */
	if (jail_make_devices(&a, &host, err))
		return step_failed("device nodes", err);
	/* 7. network namespace */
	if (jail_join_netns(&host, a.netns, err))
		return step_failed("network namespace", err);
	/* 8. resource limits */
	if (jail_set_rlimits(&a, err))
		return step_failed("resource limits", err);
	/* 9. file descriptors */
	if (jail_close_fds(host.devnull_fd, err))
		return step_failed("file descriptors", err);
	/* 10. PID namespace, session */
	if (a.new_pid_ns && jail_new_pid_ns(&a, err))
		return step_failed("pid namespace", err);
	if (jail_daemonize(&host, err))
		return step_failed("daemonize", err);
	/* 11. drop privileges, exec */
	jail_exec(&a, err);
	return step_failed("exec", err);
}
