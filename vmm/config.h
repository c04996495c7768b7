/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - the VM configuration, from the command line and from a JSON
 * config file with Firecracker's keys ("boot-source", "machine-config").
 *
 * Parsers fill `err` with a one-line reason naming the field and the rule
 * that failed (this text becomes the API's fault_message later) and return
 * -EINVAL; the configuration is left unchanged on error.  main thread.
 */
#ifndef EMBER_CONFIG_H
#define EMBER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIG_DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=1 pci=off nomodules"
#define CONFIG_DEFAULT_VCPUS   1
#define CONFIG_DEFAULT_MEM_MIB 128
#define CONFIG_ERR_LEN         256

struct vm_config {
	char *kernel_path;
	char *initrd_path;
	char *cmdline;         /* NULL: CONFIG_DEFAULT_CMDLINE */
	unsigned int vcpus;
	uint64_t mem_mib;
	bool hugepages;
	bool smt;
	bool boot_timer;
	char *config_file;
	char *id;
	enum log_level log_level;
	bool show_help;
	bool show_version;
};

void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);

/* Command line; a config file named there is loaded first and the other
 * flags then override it. */
int config_parse_args(struct vm_config *cfg, int argc, char **argv, char *err, size_t errlen);
/* A whole config file's text. */
int config_parse_json(struct vm_config *cfg, const char *text, char *err, size_t errlen);
/* Check the finished configuration can boot (kernel given, limits). */
int config_validate(const struct vm_config *cfg, char *err, size_t errlen);
const char *config_cmdline(const struct vm_config *cfg);
void config_usage(const char *prog);

#endif
