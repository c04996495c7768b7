/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm.h - the vmm thread: owns the configuration, the microVM once started,
 * and the event loop that serves the API, the console, signals and the
 * guest's request to end.  Everything here runs on the vmm thread (API
 * handlers included: the api thread hands requests over and waits).
 */
#ifndef EMBER_VMM_H
#define EMBER_VMM_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/config/config.h"
#include "vmm/core/event.h"
#include "metrics.h"
#include "vmm/kvm/vm.h"

struct api_server;

enum vmm_state { VMM_NOT_STARTED, VMM_RUNNING, VMM_PAUSED };

struct vmm {
	struct vm_config *cfg;
	struct vm vm;
	bool vm_built;
	enum vmm_state state;
	struct ev_loop loop;
	struct ev_source exit_src, signal_src, stdin_src, serial_rx_src, api_src;
	bool stdin_armed, stdin_is_file, stdin_done;
	struct api_server *api;
	struct metrics metrics;
	bool done;
	int exit_code;
	uint64_t start_us, start_cpu_us;
};

/* Set up the loop and signal handling (and the API server when the config
 * names a socket).  0 or -errno. */
int vmm_init(struct vmm *vmm, struct vm_config *cfg);
/* Build and start the microVM from vmm->cfg (InstanceStart).  On failure
 * nothing is left running, `err` says why, -errno is returned. */
int vmm_start(struct vmm *vmm, char *err, size_t errlen);
/* PATCH /drives/{id}: update the drive's configuration and, once the VM
 * runs, switch its device to a new image (refused: configuration kept). */
struct json_t;
int vmm_patch_drive(struct vmm *vmm, const char *id, struct json_t *body, char *err,
		    size_t errlen);
/* PATCH /network-interfaces/{id}: new rate limiters, applied live. */
int vmm_patch_net(struct vmm *vmm, const char *id, struct json_t *body, char *err,
		  size_t errlen);
int vmm_pause(struct vmm *vmm, char *err, size_t errlen);
int vmm_resume(struct vmm *vmm, char *err, size_t errlen);
/* Serve events until the VM ends (or, before a start, a signal); returns
 * the process exit status. */
int vmm_run(struct vmm *vmm);
void vmm_destroy(struct vmm *vmm);
const char *vmm_state_name(enum vmm_state state);

#endif
