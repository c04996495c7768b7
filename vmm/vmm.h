/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm.h - the orchestrator, on the vmm thread: owns the configuration, the
 * machine once started, the metrics, and the event loop that serves the
 * console, signals, the guest's request to end and (through sources others
 * add, such as the API server's) everything else.  Everything here runs on
 * the vmm thread (API handlers included: the api thread hands requests over
 * and waits).
 */
#ifndef EMBER_VMM_H
#define EMBER_VMM_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "builder.h"
#include "metrics.h"
#include "vmm/config/config.h"
#include "vmm/core/conout.h"
#include "vmm/core/event.h"

enum vmm_state { VMM_NOT_STARTED, VMM_RUNNING, VMM_PAUSED };

struct vmm {
	struct vm_config *cfg;
	struct machine m;
	bool vm_built;
	enum vmm_state state;
	struct ev_loop loop;
	struct ev_source exit_src, reset_src, acpi_src, signal_src, stdin_src, serial_rx_src;
	bool stdin_armed, stdin_is_file, stdin_done;
	struct metrics metrics;
	struct conout console;   /* the guest console's output (stdout) */
	struct conout serial_out;  /* PUT /serial's file instead (mode NONE: none) */
	struct conout log_err;   /* ember's log on stderr, non-blocking when it can be */
	bool done;
	bool looping;          /* vmm_run has confined the thread and serves events */
	int exit_code;
	uint64_t start_us, start_cpu_us;
	/* Firecracker's latencies_us metrics: the last of each, microseconds. */
	struct {
		uint64_t full_create_snapshot, diff_create_snapshot, load_snapshot, pause_vm,
			 resume_vm;
	} latency;
};

/* Set up the loop, signal handling, the console output (non-blocking, see
 * conout.h) and (from a config file) the metrics file.  0 or -errno. */
int vmm_init(struct vmm *vmm, struct vm_config *cfg);
/* Build and start the microVM from vmm->cfg (InstanceStart).  On failure
 * nothing is left running, `err` says why, -errno is returned. */
int vmm_start(struct vmm *vmm, char *err, size_t errlen);
/* PATCH <section>/{id} (a device table section): update the device's
 * configuration and, once the VM runs, the device itself (see its table
 * entry).  Refused: 400 text in err, configuration and device unchanged. */
int vmm_patch_device(struct vmm *vmm, const char *section, const char *id, json_t *body,
		     char *err, size_t errlen);
/* SendCtrlAltDel: the keys through the i8042 (-ENOSPC: earlier keys unread). */
int vmm_send_ctrl_alt_del(struct vmm *vmm, char *err, size_t errlen);
/* PUT /serial (before the start; the config file's "serial" at init):
 * apply the section and open its serial_out_path (conout_open_path), which
 * then takes the guest console instead of stdout; no input is read from
 * stdin then (as Firecracker).  Refused (bad body, a path that cannot be
 * opened): `err` says why, -errno, configuration and output unchanged. */
int vmm_put_serial(struct vmm *vmm, json_t *body, char *err, size_t errlen);
/* PUT /metrics: open the metrics file (once). */
int vmm_open_metrics(struct vmm *vmm, const char *path, char *err, size_t errlen);
int vmm_pause(struct vmm *vmm, char *err, size_t errlen);
int vmm_resume(struct vmm *vmm, char *err, size_t errlen);
/* Confine the vmm thread (seccomp "vmm", or "vmm_boot" until the microVM
 * starts, then "vmm" on top), then serve events until the VM ends (or,
 * before a start, a signal); returns the process exit status. */
/* PUT /snapshot/create (paused microVM) and PUT /snapshot/load (a fresh
 * ember: nothing but the logger and metrics configured).  Refused: 400
 * text in err, the VMM unchanged. */
int vmm_snapshot_create(struct vmm *vmm, json_t *body, char *err, size_t errlen);
int vmm_snapshot_load(struct vmm *vmm, json_t *body, char *err, size_t errlen);
int vmm_run(struct vmm *vmm);
void vmm_destroy(struct vmm *vmm);
const char *vmm_state_name(enum vmm_state state);

#endif
