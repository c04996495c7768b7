/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - the VM configuration, from the command line and from a JSON
 * config file with Firecracker's keys ("boot-source", "machine-config").
 *
 * Parsers fill `err` with a one-line reason naming the field and the rule
 * that failed (this text becomes the API's fault_message later) and return
 * -EINVAL; the configuration is left unchanged on error.
 *
 * One thread only: the process's first thread.  main() runs the command line
 * and config file on it (config_parse_args, config_check_mode) before
 * vmm_init names it "vmm"; from then on it is the vmm thread, where the API
 * requests (api-socket/router.c), the device table and vmm_start call the
 * rest.  The api thread never touches a struct vm_config.
 *
 * Files: vm_config.c (init, free, checks, config_to_json) builds on one file
 * per section (config_boot.c, config_machine.c, config_drives.c,
 * config_net.c, config_vsock.c, config_logger.c, config_metrics.c,
 * config_serial.c); the
 * config file (config_file.c) and command line (config_args.c) dispatch to
 * them.
 */
#ifndef EMBER_CONFIG_H
#define EMBER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/core/log.h"
#include "vmm/core/memory.h"  /* enum gm_pages */
#include "vmm/core/ratelimit.h"  /* struct rate_limiter_cfg */

/* Firecracker's defaults plus the console.  The i8042 flags skip probes of
 * what ember's controller does not have (a mouse port, a multiplexer) and
 * the keyboard's identification and LED set-up: 32 (ACPI kernel) to 45
 * (legacy kernel) fewer port-I/O exits per boot (docs/benchmarks.md);
 * SendCtrlAltDel still works (tier 3).  Not i8042.nopnp: it leaves an ACPI
 * kernel's keyboard without IRQ 1 (docs/kernels.md). */
#define CONFIG_DEFAULT_CMDLINE \
	"console=ttyS0 reboot=k panic=1 pci=off nomodules i8042.noaux i8042.nomux i8042.dumbkbd"
#define CONFIG_DEFAULT_VCPUS   1
#define CONFIG_DEFAULT_MEM_MIB 128
#define CONFIG_ERR_LEN         256
/* The console's byte budget (--console-budget): a 1 MiB burst, so a boot
 * log is never cut, refilled at 16 KiB/s, above the 11.25 KiB/s of the
 * 115200-baud line a Linux guest's console expects; at most about 1.4 GB
 * a day reach a console redirected to a file. */
#define CONFIG_CONSOLE_BUDGET_BYTES     (1024 * 1024)
#define CONFIG_CONSOLE_BUDGET_REFILL_MS 64000

/* PUT /metrics "properties": Firecracker's bounds. */
#define CONFIG_METRICS_MAX_PROPS     10
#define CONFIG_METRICS_MAX_KEY_LEN   64
#define CONFIG_METRICS_MAX_VALUE_LEN 512

#define CONFIG_MAX_DRIVES 16
#define CONFIG_MAX_NETS   8
/* A network interface's mtu (Firecracker's swagger: 68 to 65535). */
#define NET_MTU_MIN 68
#define NET_MTU_MAX 65535

enum drive_cache { DRIVE_CACHE_UNSAFE, DRIVE_CACHE_WRITEBACK };
enum drive_engine { DRIVE_ENGINE_ASYNC, DRIVE_ENGINE_SYNC };

struct drive_cfg {
	char *id;
	char *path;
	bool is_root;
	bool read_only;
	char *partuuid;
	enum drive_cache cache;
	enum drive_engine engine;
	struct rate_limiter_cfg rate_limiter;
};

struct net_cfg {
	char *id;
	char *host_dev;
	bool has_mac;
	uint8_t mac[6];
	uint16_t mtu;          /* 68-65535 offered through VIRTIO_NET_F_MTU; 0: none */
	struct rate_limiter_cfg rx, tx;
};

struct vsock_cfg {
	bool set;
	uint32_t guest_cid;
	char *uds_path;
};

/* Devices stored from the API or config file (backed by virtio later). */
struct devices_cfg {
	struct drive_cfg drives[CONFIG_MAX_DRIVES];
	unsigned int nr_drives;
	struct net_cfg nets[CONFIG_MAX_NETS];
	unsigned int nr_nets;
	struct vsock_cfg vsock;
};

/* PUT /serial, the "serial" section: where the guest console goes. */
struct serial_cfg {
	char *out_path;                      /* NULL: ember's stdout */
	bool rate_limited;                   /* rate_limiter given: it replaces
					      * console_budget */
	struct token_bucket_cfg rate_limiter;
};

struct logger_cfg {
	bool configured;     /* a "logger" section or PUT /logger was given */
	char *path;
	bool show_level;
	bool show_origin;
};

struct vm_config {
	char *kernel_path;
	char *initrd_path;
	char *cmdline;         /* NULL: CONFIG_DEFAULT_CMDLINE */
	unsigned int vcpus;
	uint64_t mem_mib;
	enum gm_pages hugepages;  /* machine-config "huge_pages" */
	bool smt;              /* two threads per core in the guest's CPUID */
	bool track_dirty_pages; /* stored for diff snapshots (read back by GET) */
	int cpu_static;        /* enum cpu_static_tmpl: machine-config cpu_template */
	struct cpu_template *cpu_custom;  /* PUT /cpu-config, "cpu-config" file */
	bool boot_timer;
	struct token_bucket_cfg console_budget;  /* guest console output cap */
	struct serial_cfg serial;
	char *config_file;
	char *id;
	enum log_level log_level;
	struct devices_cfg devs;
	struct logger_cfg logger;
	char *metrics_path;
	bool metrics_emit_id;  /* every metrics line carries "id" */
	struct json_t *metrics_properties; /* object of strings, or NULL */
	char *api_sock;        /* --api-sock: serve the HTTP API there */
	size_t api_max_payload;
	bool no_api;
	bool no_seccomp;       /* --no-seccomp: no filters at all */
	char *seccomp_filter;  /* --seccomp-filter: a seccompiler JSON policy */
	bool print_seccomp;    /* --print-seccomp-policy */
	char *describe_snapshot;  /* --describe-snapshot: a state file to describe */
	char *rebase_base;        /* --rebase-snapshot-memory BASE DIFF */
	char *rebase_diff;
	bool show_help;
	bool show_version;
};

/* main() and the parsers: the defaults; free every string and device and
 * return to the defaults. */
void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);

/* API/config sections; each validates everything before changing `cfg`.
 * Called by config_parse_json and by the API routes (vmm thread). */
struct json_t;
int config_put_boot_source(struct vm_config *cfg, struct json_t *obj, char *err, size_t errlen);
int config_put_machine(struct vm_config *cfg, struct json_t *obj, bool partial,
		       char *err, size_t errlen);
/* A drive's partuuid, which becomes root=PARTUUID=... on the kernel command
 * line: a GPT partition UUID (8-4-4-4-12 hex digits) or an MBR one (disk
 * signature and partition number, 8-2 hex digits), as Linux matches them. */
bool config_partuuid_valid(const char *s);
/* PUT (create or replace) / PATCH (partial update of an existing one). */
int config_put_drive(struct vm_config *cfg, const char *id, struct json_t *obj, bool patch,
		     char *err, size_t errlen);
int config_put_net(struct vm_config *cfg, const char *id, struct json_t *obj, bool patch,
		   char *err, size_t errlen);
int config_put_vsock(struct vm_config *cfg, struct json_t *obj, char *err, size_t errlen);
int config_put_logger(struct vm_config *cfg, struct json_t *obj, char *err, size_t errlen);
int config_put_metrics(struct vm_config *cfg, struct json_t *obj, char *err, size_t errlen);
/* PUT /cpu-config: a custom CPU template (vmm/x86/cpu_template.h) replaces
 * the static or custom one set before (the last one set wins). */
int config_put_cpu_config(struct vm_config *cfg, struct json_t *obj, char *err, size_t errlen);
/* The config file's "cpu-config": the path of a custom template's JSON file. */
int config_put_cpu_config_file(struct vm_config *cfg, struct json_t *val, char *err,
			       size_t errlen);
/* vmm_start: the template the vCPUs get, or NULL for none: the custom one,
 * or the static one built for this host (refused on the wrong vendor or an
 * older CPU than the template needs, as Firecracker does).  *owned is the
 * template to free afterwards (NULL for the custom one).  0 or -EINVAL. */
struct cpu_template;
int config_cpu_template(const struct vm_config *cfg, const struct cpu_template **out,
			struct cpu_template **owned, char *err, size_t errlen);
/* PUT /serial: {"serial_out_path": path, "rate_limiter": TokenBucket}, both
 * optional; the whole section is replaced (a key left out goes back to its
 * default: stdout, the --console-budget cap). */
int config_put_serial(struct vm_config *cfg, struct json_t *obj, char *err, size_t errlen);
/* The guest console's byte cap: PUT /serial's rate_limiter, else
 * --console-budget (builder). */
const struct token_bucket_cfg *config_console_budget(const struct vm_config *cfg);
/* config_free and config_parse_json: free every device entry. */
void devices_cfg_free(struct devices_cfg *devs);
/* The drive called `id`, or NULL (device table, PATCH /drives). */
struct drive_cfg *config_find_drive(struct devices_cfg *d, const char *id);
/* GET /vm/config and GET /machine-config (router, vmm thread): the whole
 * configuration, or its machine part, in Firecracker's shape (new ref). */
struct json_t *config_to_json(const struct vm_config *cfg);
struct json_t *config_machine_to_json(const struct vm_config *cfg);

/* main(): the command line; a config file named there is loaded first and
 * the other flags then override it. */
int config_parse_args(struct vm_config *cfg, int argc, char **argv, char *err, size_t errlen);
/* A whole config file's text, applied all or nothing (config_parse_args;
 * tests and the fuzzer call it directly). */
int config_parse_json(struct vm_config *cfg, const char *text, char *err, size_t errlen);
/* main(): check the flags make a usable mode (API and/or something to boot). */
int config_check_mode(const struct vm_config *cfg, char *err, size_t errlen);
/* vmm_start (vmm thread): check the finished configuration can boot
 * (kernel given, limits). */
int config_validate(const struct vm_config *cfg, char *err, size_t errlen);
/* The kernel command line: the configured one or CONFIG_DEFAULT_CMDLINE
 * (builder, config_to_json). */
const char *config_cmdline(const struct vm_config *cfg);
/* main(): print the flags to stderr. */
void config_usage(const char *prog);

#endif
