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

/* PUT /snapshot/create: {snapshot_type: "Full" (default), snapshot_path,
 * mem_file_path}.  Strings point into `body`. */
struct snapshot_create_params {
	const char *state_path;
	const char *mem_path;
};

/* PUT /snapshot/load: {snapshot_path, mem_backend: {backend_type: "File"
 * or "Uffd", backend_path} (or the older mem_file_path), resume_vm, ...}. */
struct snapshot_load_params {
	const char *state_path;
	const char *mem_path;     /* "File": the memory file; NULL with "Uffd" */
	const char *uffd_path;    /* "Uffd": the page-fault handler's socket, else NULL */
	bool hugetlb;             /* "Uffd" with huge_pages "2M" */
	bool resume;
};

/* 0, or -EINVAL with the 400 text in err (what is not done yet included). */
int snapshot_create_params(json_t *body, struct snapshot_create_params *p, char *err,
			   size_t errlen);
int snapshot_load_params(json_t *body, struct snapshot_load_params *p, char *err,
			 size_t errlen);

/* Write the paused machine `m`: its RAM to p->mem_path and its state to
 * p->state_path.  On failure neither file is left behind.  0 or -errno,
 * the reason in err. */
int snapshot_write(struct machine *m, const struct snapshot_create_params *p, char *err,
		   size_t errlen);

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
