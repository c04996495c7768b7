/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.h - the snapshot API's bodies and files: PUT /snapshot/create
 * and PUT /snapshot/load parameters checked as Firecracker's swagger has
 * them, the state and memory files written and opened, and
 * --describe-snapshot.  The machine's own parts are saved and restored by
 * the builder (machine_save, machine_restore); vmm.c puts it together.
 * Everything here runs on the vmm thread (main() for the description).
 */
#ifndef EMBER_SNAPSHOT_H
#define EMBER_SNAPSHOT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "builder.h"
#include "snapfile.h"

/* PUT /snapshot/create: {snapshot_type: "Full" (default) or "Diff",
 * snapshot_path, mem_file_path}.  Strings point into `body`. */
struct snapshot_create_params {
	const char *state_path;
	const char *mem_path;
	bool diff;                /* only the pages dirtied since the last snapshot */
};

/* PUT /snapshot/load: {snapshot_path, mem_backend: {backend_type: "File"
 * or "Uffd", backend_path} (or the older mem_file_path), resume_vm, ...}. */
struct snapshot_load_params {
	const char *state_path;
	const char *mem_path;     /* "File": the memory file; NULL with "Uffd" */
	const char *uffd_path;    /* "Uffd": the page-fault handler's socket, else NULL */
	bool hugetlb;             /* "Uffd" with huge_pages "2M" */
	bool resume;
	json_t *net_overrides;    /* [{iface_id, host_dev_name}] (in body), or NULL */
	const char *vsock_uds;    /* vsock_override.uds_path (in body), or NULL */
	bool track_dirty;         /* track_dirty_pages (or enable_diff_snapshots) */
};

/* 0, or -EINVAL with the 400 text in err (what is not done yet included). */
int snapshot_create_params(json_t *body, struct snapshot_create_params *p, char *err,
			   size_t errlen);
int snapshot_load_params(json_t *body, struct snapshot_load_params *p, char *err,
			 size_t errlen);

/* Write the paused machine `m` (built from `cfg`): its devices drained,
 * its RAM (all of it, or for p->diff only the pages dirtied since the last
 * snapshot, or the boot or load: the machine must track dirty pages) to
 * p->mem_path and its state (with cfg's devices configuration) to
 * p->state_path.  With tracking, any snapshot starts the next Diff afresh.
 * On failure neither file is left behind and the dirty pages are kept.
 * 0 or -errno,
 * the reason in err. */
int snapshot_write(struct machine *m, const struct vm_config *cfg,
		   const struct snapshot_create_params *p, char *err, size_t errlen);

/* PUT /snapshot/load: the devices' configuration a checked snapshot holds,
 * with p's network_overrides (an iface_id the snapshot lacks is refused)
 * and vsock_override applied, put into cfg->devs (empty before) with the
 * API's own checks (a drive's file must exist...).  0, or -EINVAL with the
 * 400 text in err (cfg->devs may then hold part: devices_cfg_free). */
int snapshot_devices_config(const struct snap *s, const struct snapshot_load_params *p,
			    struct vm_config *cfg, char *err, size_t errlen);

/* A state file read whole and checked, and its memory file opened and
 * checked against the layout. */
struct snapshot_files {
	void *buf;                /* the state file; s points into it */
	size_t len;
	struct snap s;
	int mem_fd;
};
/* mem_path NULL: no memory file ("Uffd": the handler has it).
 * 0 or -errno with the reason in err; snapshot_files_close either way. */
int snapshot_open(struct snapshot_files *f, const char *state_path, const char *mem_path,
		  char *err, size_t errlen);
void snapshot_files_close(struct snapshot_files *f);

/* --describe-snapshot FILE: print what the file holds (stdout), or why it
 * is refused (stderr).  The process exit status. */
int snapshot_describe_file(const char *path);

#endif
