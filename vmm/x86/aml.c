// SPDX-License-Identifier: Apache-2.0
/* aml.c - see aml.h.  Opcodes and encodings: ACPI 6.5 sections 20.2 (AML
 * grammar) and 6.4 (resource data types). */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "aml.h"

#define AML_ZERO        0x00
#define AML_ONE         0x01
#define AML_NAME        0x08
#define AML_BYTE        0x0a
#define AML_WORD        0x0b
#define AML_DWORD       0x0c
#define AML_STRING      0x0d
#define AML_QWORD       0x0e
#define AML_SCOPE       0x10
#define AML_BUFFER      0x11
#define AML_PACKAGE     0x12
#define AML_EXT_PREFIX  0x5b
#define AML_EXT_DEVICE  0x82
#define AML_ROOT        '\\'

#define PKGLEN_MAX_BYTES 4
#define PKGLEN_MAX       ((1U << 28) - 1)

/* Small and large resource descriptor tags. */
#define RES_IRQ_NOFLAGS 0x22  /* small, type 4, 2 bytes */
#define RES_IO          0x47  /* small, type 8, 7 bytes */
#define RES_END         0x79  /* small, type 15, 1 byte */
#define RES_MEM32_FIXED 0x86  /* large, type 6 */
#define RES_EXT_IRQ     0x89  /* large, type 9 */
#define EXT_IRQ_CONSUMER 0x01
#define EXT_IRQ_EDGE     0x02

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	*a = (struct aml){ .buf = buf, .cap = cap };
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		a->err = -ENOSPC;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

void aml_namestring(struct aml *a, const char *name)
{
	char seg[4] = { '_', '_', '_', '_' };
	size_t n;

	if (*name == AML_ROOT) {
		aml_byte(a, AML_ROOT);
		name++;
	}
	n = strlen(name);
	if (n < 1 || n > 4 || !(isupper((unsigned char)name[0]) || name[0] == '_'))
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (!isupper((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
		    name[i] != '_')
			goto bad;
		seg[i] = name[i];
	}
	aml_bytes(a, seg, sizeof(seg));
	return;
bad:
	if (!a->err)
		a->err = -EINVAL;
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO);
	} else if (v == 1) {
		aml_byte(a, AML_ONE);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

/* Three letters in 5 bits each (A = 1), then four hex digits; stored big
 * endian as the DWord the spec describes. */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		if (!a->err)
			a->err = -EINVAL;
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (!isupper((unsigned char)id[i]))
			goto bad;
		v = (v << 5) | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < 7; i++) {
		if (!isxdigit((unsigned char)id[i]) || islower((unsigned char)id[i]))
			goto bad;
		v = (v << 4) | (uint32_t)(isdigit((unsigned char)id[i]) ? id[i] - '0'
									: id[i] - 'A' + 10);
	}
	aml_byte(a, AML_DWORD);
	aml_le(a, __builtin_bswap32(v), 4);
	return;
bad:
	if (!a->err)
		a->err = -EINVAL;
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME);
	aml_namestring(a, name);
}

/* Reserve the longest PkgLength; aml_close writes the real one and moves
 * the body down over the unused bytes. */
static size_t aml_pkg_open(struct aml *a)
{
	size_t token = a->len;

	aml_le(a, 0, PKGLEN_MAX_BYTES);
	return token;
}

void aml_close(struct aml *a, size_t token)
{
	size_t body, total;
	unsigned int n;

	if (a->err)
		return;
	body = a->len - token - PKGLEN_MAX_BYTES;
	for (n = 1; n < PKGLEN_MAX_BYTES; n++)
		if (body + n < (n == 1 ? 0x40U : 1U << (4 + 8 * (n - 1))))
			break;
	total = body + n;
	if (total > PKGLEN_MAX) {
		a->err = -ENOSPC;
		return;
	}
	if (n == 1) {
		a->buf[token] = (uint8_t)total;
	} else {
		a->buf[token] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (unsigned int i = 1; i < n; i++)
			a->buf[token + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(a->buf + token + n, a->buf + token + PKGLEN_MAX_BYTES, body);
	a->len -= PKGLEN_MAX_BYTES - n;
}

size_t aml_scope_open(struct aml *a, const char *name)
{
	size_t token;

	aml_byte(a, AML_SCOPE);
	token = aml_pkg_open(a);
	aml_namestring(a, name);
	return token;
}

size_t aml_device_open(struct aml *a, const char *name)
{
	size_t token;

	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_EXT_DEVICE);
	token = aml_pkg_open(a);
	aml_namestring(a, name);
	return token;
}

size_t aml_package_open(struct aml *a, uint8_t nr_elements)
{
	size_t token;

	aml_byte(a, AML_PACKAGE);
	token = aml_pkg_open(a);
	aml_byte(a, nr_elements);
	return token;
}

void aml_buffer(struct aml *a, const uint8_t *data, size_t n)
{
	size_t token;

	aml_byte(a, AML_BUFFER);
	token = aml_pkg_open(a);
	aml_integer(a, n);
	aml_bytes(a, data, n);
	aml_close(a, token);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	aml_byte(a, RES_IO);
	aml_byte(a, 1);          /* 16-bit decode */
	aml_le(a, base, 2);      /* minimum */
	aml_le(a, base, 2);      /* maximum */
	aml_byte(a, 1);          /* alignment */
	aml_byte(a, len);
}

void aml_res_irq(struct aml *a, uint8_t irq)
{
	aml_byte(a, RES_IRQ_NOFLAGS);
	aml_le(a, irq < 16 ? 1U << irq : 0, 2);
	if (irq >= 16 && !a->err)
		a->err = -EINVAL;
}

void aml_res_mem32(struct aml *a, uint32_t base, uint32_t len)
{
	aml_byte(a, RES_MEM32_FIXED);
	aml_le(a, 9, 2);         /* length of what follows */
	aml_byte(a, 1);          /* read-write */
	aml_le(a, base, 4);
	aml_le(a, len, 4);
}

void aml_res_ext_irq(struct aml *a, uint32_t gsi)
{
	aml_byte(a, RES_EXT_IRQ);
	aml_le(a, 6, 2);         /* flags, count, one interrupt */
	aml_byte(a, EXT_IRQ_CONSUMER | EXT_IRQ_EDGE);
	aml_byte(a, 1);
	aml_le(a, gsi, 4);
}

void aml_res_end(struct aml *a)
{
	aml_byte(a, RES_END);
	aml_byte(a, 0);
}
