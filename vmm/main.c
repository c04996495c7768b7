// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - ember, as a pipeline: close inherited descriptors → parse the
 * configuration → set up the vmm thread (event loop, signals, metrics) →
 * start the API server → build and boot the microVM (at once from flags or
 * a config file; otherwise the API's InstanceStart does it) → run the loop
 * → tear down.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api-socket/router.h"
#include "sandbox_policy.h"
#include "snapshot.h"
#include "snapmem.h"
#include "vmm.h"
#include "vmm/config/config.h"
#include "vmm/core/log.h"
#include "vmm/core/stages.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.1.0"
#endif

/* Signals the vmm thread reads from a signalfd; blocked in every thread. */
static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);  /* the vCPU kick, unblocked in vCPU threads */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* --print-seccomp-policy: the built-in policy in seccompiler JSON. */
static int print_policy(void)
{
	struct sandbox_policy p;
	char *text;

	sandbox_policy_builtin(&p);
	text = sandbox_policy_print(&p);
	if (!text || printf("%s\n", text) < 0) {
		free(text);
		return 1;
	}
	free(text);
	return 0;
}

/* The seccomp filters, before any thread starts: the built-in ones as
 * compiled at build time (or at start, in builds without them), or
 * --seccomp-filter's compiled now.  Each thread installs its own
 * (sandbox_enter). */
static int sandbox_setup(const struct vm_config *cfg)
{
	struct sandbox_policy p;
	uint64_t t0 = time_cpu_us();
	char err[256];
	int ret;

	if (cfg->no_seccomp) {
		log_warn("seccomp is off (--no-seccomp)");
		return 0;
	}
	if (cfg->seccomp_filter) {
		ret = sandbox_policy_load(&p, cfg->seccomp_filter, err, sizeof(err));
		if (ret)
			goto fail;
		if (!p.f[SANDBOX_VMM_BOOT].present)
			log_info("seccomp filter %s has no vmm_boot filter: the vmm thread is "
				 "confined once the microVM starts", cfg->seccomp_filter);
	} else if (sandbox_builtin_bpf) {
		ret = sandbox_use_bpf(sandbox_builtin_bpf, err, sizeof(err));
		if (ret)
			goto fail;
		return 0;
	} else {
		sandbox_policy_builtin(&p);
	}
	ret = sandbox_compile(&p, err, sizeof(err));
	sandbox_policy_free(&p);
	if (ret)
		goto fail;
	log_debug("seccomp filters compiled in %llu us of CPU",
		  (unsigned long long)(time_cpu_us() - t0));
	return 0;
fail:
	fprintf(stderr, "ember: %s\n", err);
	return ret;
}

/* Flags and config file → a configuration that can run; 1 = exit now. */
static int configure(struct vm_config *cfg, int argc, char **argv, int *status)
{
	char err[CONFIG_ERR_LEN];

	*status = 1;
	if (config_parse_args(cfg, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "ember: %s\n", err);
		config_usage(argv[0]);
		return 1;
	}
	if (cfg->show_help || cfg->show_version) {
		if (cfg->show_help)
			config_usage(argv[0]);
		else
			printf("ember %s\n", EMBER_VERSION);
		*status = 0;
		return 1;
	}
	if (cfg->print_seccomp) {
		*status = print_policy();
		return 1;
	}
	if (cfg->describe_snapshot) {
		*status = snapshot_describe_file(cfg->describe_snapshot);
		return 1;
	}
	if (cfg->rebase_base) {
		*status = snapmem_rebase_command(cfg->rebase_base, cfg->rebase_diff);
		return 1;
	}
	if (config_check_mode(cfg, err, sizeof(err)) ||
	    log_configure(cfg->logger.path, cfg->log_level,
			  cfg->logger.configured ? cfg->logger.show_level : true,
			  cfg->logger.show_origin, err, sizeof(err))) {
		fprintf(stderr, "ember: %s\n", err);
		return 1;
	}
	if (cfg->id)
		log_set_id(cfg->id);
	return 0;
}

/* Descriptors the caller left open (a harness's pipes, a launcher's sockets)
 * must not reach the guest's devices nor outlive their owner's intent:
 * close all but stdin, stdout and stderr before anything is opened. */
static void close_inherited_fds(void)
{
	struct rlimit rl;

	if (!close_range(3, ~0U, 0))
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 1024;
	for (rlim_t fd = 3; fd < rl.rlim_cur; fd++)  /* kernels before 5.9 */
		close((int)fd);
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct vmm vmm;
	struct api_router api;
	char err[CONFIG_ERR_LEN];
	int status;

	stage_begin();
	close_inherited_fds();
	config_init(&cfg);
	if (configure(&cfg, argc, argv, &status) || sandbox_setup(&cfg))
		goto out;
	stage_mark("configuration, seccomp set-up");
	block_signals();
	status = 1;
	if (vmm_init(&vmm, &cfg) || api_router_init(&api, &vmm))
		goto out_vmm;
	if (api_open(&api, &cfg))
		goto out_api;
	stage_mark("vmm thread: event loop, console, API");
	if (cfg.kernel_path && vmm_start(&vmm, err, sizeof(err))) {
		log_error("%s", err);
		goto out_api;
	}
	status = vmm_run(&vmm);
out_api:
	api_close(&api);
out_vmm:
	vmm_destroy(&vmm);
out:
	config_free(&cfg);
	return status;
}
