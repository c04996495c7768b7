/* SPDX-License-Identifier: Apache-2.0 */
/*
 * term.h - put the controlling terminal in raw mode while the guest owns
 * the console, and restore it on every exit path (atexit).  vmm thread:
 * vmm_start puts the terminal in raw mode, vmm_destroy restores it, and so
 * does exit() through atexit (the vmm thread is the process's first thread,
 * whose return from main() calls it).
 */
#ifndef EMBER_TERM_H
#define EMBER_TERM_H

/* Raw mode on `fd` (vmm_start); no-op when `fd` is not a terminal. */
void term_raw(int fd);
/* Restore what term_raw changed (vmm_destroy, atexit); safe to repeat. */
void term_restore(void);

#endif
