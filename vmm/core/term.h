/* SPDX-License-Identifier: Apache-2.0 */
/*
 * term.h - put the controlling terminal in raw mode while the guest owns
 * the console, and restore it on every exit path (atexit).  main thread.
 */
#ifndef EMBER_TERM_H
#define EMBER_TERM_H

/* No-op when `fd` is not a terminal. */
void term_raw(int fd);
void term_restore(void);

#endif
