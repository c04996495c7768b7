// SPDX-License-Identifier: Apache-2.0
/*
 * vm_config.c - the life of a struct vm_config (config.h): defaults, free,
 * the checks before a boot, and the whole configuration as JSON.  Built on
 * the section files; the file and command-line parsers build on it.
 */
#include <stdlib.h>
#include <string.h>

#include "config_section.h"
#include "vmm/core/json.h"
#include "vmm/x86/cpu_template.h"

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->vcpus = CONFIG_DEFAULT_VCPUS;
	cfg->mem_mib = CONFIG_DEFAULT_MEM_MIB;
	cfg->log_level = LOG_INFO;
	cfg->api_max_payload = 51200;
	cfg->console_budget = (struct token_bucket_cfg){ .set = true,
		.size = CONFIG_CONSOLE_BUDGET_BYTES, .refill_time_ms = CONFIG_CONSOLE_BUDGET_REFILL_MS };
}

void config_free(struct vm_config *cfg)
{
	devices_cfg_free(&cfg->devs);
	free(cfg->logger.path);
	free(cfg->metrics_path);
	json_decref(cfg->metrics_properties);
	free(cfg->serial.out_path);
	free(cfg->api_sock);
	free(cfg->seccomp_filter);
	free(cfg->describe_snapshot);
	free(cfg->rebase_base);
	free(cfg->rebase_diff);
	free(cfg->kernel_path);
	free(cfg->initrd_path);
	free(cfg->cmdline);
	free(cfg->config_file);
	free(cfg->id);
	cpu_template_free(cfg->cpu_custom);
	config_init(cfg);
}

void devices_cfg_free(struct devices_cfg *devs)
{
	config_drives_free(devs);
	config_nets_free(devs);
	free(devs->vsock.uds_path);
	memset(devs, 0, sizeof(*devs));
}

int config_check_mode(const struct vm_config *cfg, char *err, size_t errlen)
{
	if (cfg->no_api && cfg->api_sock)
		return fail(err, errlen, "--no-api and --api-sock exclude each other");
	if (cfg->no_api && !cfg->config_file)
		return fail(err, errlen, "--no-api needs --config-file");
	if (!cfg->api_sock && !cfg->kernel_path)
		return fail(err, errlen, "no kernel: give --kernel, a config file with boot-source, or --api-sock");
	return 0;
}

int config_validate(const struct vm_config *cfg, char *err, size_t errlen)
{
	if (!cfg->kernel_path)
		return fail(err, errlen, "no kernel: configure boot-source first");
	if (cfg->hugepages == GM_PAGES_HUGETLB && cfg->mem_mib % 2)
		return fail(err, errlen, "memory must be a multiple of 2 MiB with huge pages");
	return 0;
}

json_t *config_to_json(const struct vm_config *cfg)
{
	json_t *root = json_pack("{so so so so}", "boot-source", config_boot_source_to_json(cfg),
				 "machine-config", config_machine_to_json(cfg),
				 "drives", config_drives_to_json(&cfg->devs),
				 "network-interfaces", config_nets_to_json(&cfg->devs));

	if (cfg->devs.vsock.set)
		json_object_set_new(root, "vsock", config_vsock_to_json(&cfg->devs.vsock));
	return root;
}
