// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - ember: parse the configuration, build the VM, add the devices,
 * boot, run the event loop, tear down.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "vm.h"

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

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm vm = { .start_us = time_mono_us(), .start_cpu_us = time_cpu_us() };
	char err[CONFIG_ERR_LEN];
	int status = 1;

	config_init(&cfg);
	if (config_parse_args(&cfg, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "ember: %s\n", err);
		config_usage(argv[0]);
		goto out;
	}
	if (cfg.show_help || cfg.show_version) {
		if (cfg.show_help)
			config_usage(argv[0]);
		else
			printf("ember %s\n", EMBER_VERSION);
		status = 0;
		goto out;
	}
	if (config_validate(&cfg, err, sizeof(err))) {
		fprintf(stderr, "ember: %s\n", err);
		goto out;
	}
	log_set_level(cfg.log_level);
	if (cfg.id)
		log_set_id(cfg.id);
	block_signals();

	if (vm_create(&vm, &cfg) || vm_load_kernel(&vm) || vm_add_devices(&vm))
		goto out_vm;
	status = vm_run(&vm);
out_vm:
	vm_destroy(&vm);
out:
	config_free(&cfg);
	return status;
}
