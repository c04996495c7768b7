/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stages.h - where ember's start-up spends its CPU time, from exec to vCPU
 * 0's first KVM_RUN, printed at debug level (`--level Debug`) once vCPU 0
 * is about to enter the guest: one line per stage with the process CPU it
 * took and the wall time it spanned, in microseconds.  docs/benchmarks.md
 * reads these lines.
 *
 * The vmm thread marks stages while it builds the machine, up to the
 * creation of the vCPU threads; vCPU 0 marks the last ones and prints them
 * all, after the line the start-up benchmark reads.  One thread at a time:
 * the vmm thread marks nothing once the vCPU threads exist.  The clock is
 * the whole process's: started through the API, the stage that ends with
 * the capabilities also holds the requests and the wait for InstanceStart.
 * Below debug level nothing is recorded after main's first call.
 */
#ifndef EMBER_STAGES_H
#define EMBER_STAGES_H

/* First thing in main: the CPU time that exec and libc's start-up took. */
void stage_begin(void);
/* The stage that ends now (a string constant).  vmm thread, before the
 * vCPU threads start; then vCPU 0. */
void stage_mark(const char *name);
/* vCPU 0, before its first KVM_RUN: the stages, one debug line each. */
void stage_log(void);

#endif
