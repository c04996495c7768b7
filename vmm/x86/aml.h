/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aml.h - a small ACPI Machine Language encoder (ACPI 6.5, chapter 20), just
 * what ember's DSDT needs: scopes, devices, names, integers, strings, EISA
 * ids, packages, and buffers holding resource templates (chapter 6.4: I/O
 * ports, IRQs, 32-bit fixed memory, extended interrupts).
 *
 * An encoder appends to a caller's byte buffer and never writes past it: the
 * first overflow (or a malformed name) sets `err` and later calls do nothing,
 * so a builder checks `err` once at the end.  Objects with a length prefix
 * (scopes, devices, packages) are opened and closed; nested ones close in
 * reverse order.  Pure functions, any thread; used by acpi.c on the vmm thread.
 */
#ifndef EMBER_AML_H
#define EMBER_AML_H

#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;          /* 0, -ENOSPC (buffer full) or -EINVAL (bad name) */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);

/* A name: one 4-character segment ("COM1", "_HID"), optionally after the
 * root prefix ("\\_SB_").  Shorter segments are padded with '_'. */
void aml_namestring(struct aml *a, const char *name);

/* Data objects. */
void aml_integer(struct aml *a, uint64_t v);     /* Zero, One, or the smallest const */
void aml_string(struct aml *a, const char *s);   /* ASCII, NUL added */
void aml_eisaid(struct aml *a, const char *id);  /* "PNP0501" as a compressed DWord */
void aml_buffer(struct aml *a, const uint8_t *data, size_t n);

/* Name (name, <data>): call aml_name, then exactly one data object. */
void aml_name(struct aml *a, const char *name);

/* Length-prefixed objects: the returned token goes to aml_close. */
size_t aml_scope_open(struct aml *a, const char *name);
size_t aml_device_open(struct aml *a, const char *name);
size_t aml_package_open(struct aml *a, uint8_t nr_elements);
void aml_close(struct aml *a, size_t token);

/* Resource descriptors, appended to an encoder holding a resource
 * template; aml_res_end adds the end tag (checksum 0: "not checked"). */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);          /* fixed, 16-bit decode */
void aml_res_irq(struct aml *a, uint8_t irq);                        /* IRQNoFlags: edge, high */
void aml_res_mem32(struct aml *a, uint32_t base, uint32_t len);      /* Memory32Fixed, RW */
void aml_res_ext_irq(struct aml *a, uint32_t gsi);                   /* consumer, edge, high, exclusive */
void aml_res_end(struct aml *a);

#endif
