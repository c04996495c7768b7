// SPDX-License-Identifier: Apache-2.0
/* cpu_template.c - see cpu_template.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_template.h"

static const char *const reg_names[] = { "eax", "ebx", "ecx", "edx" };

static int tfail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int tfail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- numbers and bitmaps --------------------------------------------------- */

int cpu_bitmap_parse(const char *s, unsigned int bits, uint64_t *mask, uint64_t *value,
		     char *err, size_t errlen)
{
	const char *digits = strncmp(s, "0b", 2) ? s : s + 2;
	uint64_t m = 0, v = 0;
	unsigned int bit = 0;

	for (const char *p = digits + strlen(digits); p-- > digits;) {
		if (bit == bits)
			return tfail(err, errlen, "bitmap \"%s\" is longer than %u bits", s, bits);
		switch (*p) {
		case '_':
			continue;
		case 'x':
			break;
		case '1':
			v |= 1ULL << bit;
			/* fall through */
		case '0':
			m |= 1ULL << bit;
			break;
		default:
			return tfail(err, errlen, "bitmap \"%s\" has the character '%c' (only 0, 1, x and _)",
				     s, *p);
		}
		bit++;
	}
	*mask = m;
	*value = v;
	return 0;
}

int cpu_number_parse(const char *s, uint32_t *out, char *err, size_t errlen)
{
	unsigned int base = !strncmp(s, "0x", 2) ? 16 : !strncmp(s, "0b", 2) ? 2 : 0;
	uint64_t n = 0;
	const char *p = s + 2;

	if (!base)
		return tfail(err, errlen, "\"%s\" has no number prefix ('0x' for hexadecimal, '0b' for binary)",
			     s);
	if (!*p)
		return tfail(err, errlen, "\"%s\" has no digits", s);
	for (; *p; p++) {
		unsigned int d = *p >= '0' && *p <= '9' ? (unsigned int)(*p - '0') :
				 *p >= 'a' && *p <= 'f' ? (unsigned int)(*p - 'a' + 10) :
				 *p >= 'A' && *p <= 'F' ? (unsigned int)(*p - 'A' + 10) : 99;

		if (d >= base)
			return tfail(err, errlen, "\"%s\" is not a base-%u number", s, base);
		n = n * base + d;
		if (n > UINT32_MAX)
			return tfail(err, errlen, "\"%s\" is out of range (at most 32 bits)", s);
	}
	*out = (uint32_t)n;
	return 0;
}

/* ---- JSON ------------------------------------------------------------------ */

/* obj[key] as a string; `where` names the entry in errors. */
static int get_string(json_t *obj, const char *key, const char *where, const char **out,
		      char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return tfail(err, errlen, "%s: missing '%s'", where, key);
	if (!json_is_string(v))
		return tfail(err, errlen, "%s: '%s' must be a string", where, key);
	*out = json_string_value(v);
	return 0;
}

/* obj[key] as an array (absent: empty). */
static int get_array(json_t *obj, const char *key, const char *where, bool required,
		     json_t **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (!v && required)
		return tfail(err, errlen, "%s: missing '%s'", where, key);
	if (v && !json_is_array(v))
		return tfail(err, errlen, "%s: '%s' must be an array", where, key);
	*out = v;
	return 0;
}

/* Prefix the message already in err with `where`. */
static int wrap(int ret, const char *where, char *err, size_t errlen)
{
	char why[256];

	if (!ret)
		return 0;
	snprintf(why, sizeof(why), "%s", err);
	return tfail(err, errlen, "%s: %s", where, why);
}

static int parse_reg(json_t *m, const char *where, struct cpu_tmpl_reg *r, char *err,
		     size_t errlen)
{
	const char *name, *bitmap;
	uint64_t mask, value;
	char sub[200];
	int i, ret;

	if (!json_is_object(m))
		return tfail(err, errlen, "%s: a modifier must be an object", where);
	ret = get_string(m, "register", where, &name, err, errlen);
	if (!ret)
		ret = get_string(m, "bitmap", where, &bitmap, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < 4 && strcmp(name, reg_names[i]); i++)
		;
	if (i == 4)
		return tfail(err, errlen, "%s: invalid CPUID register \"%s\" (must be one of eax, ebx, ecx, edx)",
			     where, name);
	snprintf(sub, sizeof(sub), "%s, register %s", where, name);
	ret = wrap(cpu_bitmap_parse(bitmap, 32, &mask, &value, err, errlen), sub, err, errlen);
	if (ret)
		return ret;
	*r = (struct cpu_tmpl_reg){ .reg = (enum cpuid_reg)i, .mask = (uint32_t)mask,
				    .value = (uint32_t)value };
	return 0;
}

static int parse_leaf(json_t *o, size_t idx, struct cpu_tmpl_leaf *l, char *err, size_t errlen)
{
	char where[96];
	const char *leaf, *subleaf;
	json_t *flags, *mods, *m;
	size_t i;
	int ret;

	snprintf(where, sizeof(where), "cpuid_modifiers[%zu]", idx);
	if (!json_is_object(o))
		return tfail(err, errlen, "%s: must be an object", where);
	ret = get_string(o, "leaf", where, &leaf, err, errlen);
	if (!ret)
		ret = wrap(cpu_number_parse(leaf, &l->leaf, err, errlen), where, err, errlen);
	if (!ret)
		ret = get_string(o, "subleaf", where, &subleaf, err, errlen);
	if (!ret)
		ret = wrap(cpu_number_parse(subleaf, &l->subleaf, err, errlen), where, err, errlen);
	if (ret)
		return ret;
	snprintf(where, sizeof(where), "cpuid_modifiers[%zu] (leaf 0x%x, subleaf 0x%x)", idx,
		 l->leaf, l->subleaf);
	flags = json_object_get(o, "flags");
	if (!flags)
		return tfail(err, errlen, "%s: missing 'flags'", where);
	if (!json_is_integer(flags) || json_integer_value(flags) < 0 ||
	    json_integer_value(flags) > UINT32_MAX)
		return tfail(err, errlen, "%s: 'flags' must be an integer from 0 to 4294967295", where);
	l->flags = (uint32_t)json_integer_value(flags);
	ret = get_array(o, "modifiers", where, true, &mods, err, errlen);
	if (ret)
		return ret;
	if (json_array_size(mods) > CPU_TMPL_MAX_REGS)
		return tfail(err, errlen, "%s: at most %d modifiers", where, CPU_TMPL_MAX_REGS);
	json_array_foreach(mods, i, m) {
		ret = parse_reg(m, where, &l->regs[i], err, errlen);
		if (ret)
			return ret;
	}
	l->nr_regs = (unsigned int)json_array_size(mods);
	return 0;
}

static int parse_msr(json_t *o, size_t idx, struct cpu_tmpl_msr *r, char *err, size_t errlen)
{
	char where[64];
	const char *addr, *bitmap;
	int ret;

	snprintf(where, sizeof(where), "msr_modifiers[%zu]", idx);
	if (!json_is_object(o))
		return tfail(err, errlen, "%s: must be an object", where);
	ret = get_string(o, "addr", where, &addr, err, errlen);
	if (!ret)
		ret = wrap(cpu_number_parse(addr, &r->addr, err, errlen), where, err, errlen);
	if (ret)
		return ret;
	snprintf(where, sizeof(where), "msr_modifiers[%zu] (MSR 0x%x)", idx, r->addr);
	ret = get_string(o, "bitmap", where, &bitmap, err, errlen);
	if (!ret)
		ret = wrap(cpu_bitmap_parse(bitmap, 64, &r->mask, &r->value, err, errlen), where,
			   err, errlen);
	return ret;
}

static int parse_cap(json_t *o, size_t idx, struct cpu_tmpl_cap *c, char *err, size_t errlen)
{
	const char *s = json_string_value(o), *p;
	uint64_t n = 0;

	if (!s)
		return tfail(err, errlen, "kvm_capabilities[%zu]: must be a string", idx);
	c->remove = s[0] == '!';
	p = s + (c->remove || s[0] == '+');
	if (!*p)
		return tfail(err, errlen, "kvm_capabilities[%zu]: \"%s\" is not a capability number", idx, s);
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return tfail(err, errlen, "kvm_capabilities[%zu]: \"%s\" is not a capability number (\"N\" or \"!N\", N decimal)",
				     idx, s);
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > UINT32_MAX)
			return tfail(err, errlen, "kvm_capabilities[%zu]: \"%s\" is out of range", idx, s);
	}
	c->cap = (uint32_t)n;
	return 0;
}

static int check_top_keys(json_t *obj, char *err, size_t errlen)
{
	static const char *const known[] = { "kvm_capabilities", "cpuid_modifiers", "msr_modifiers" };
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; i < 3 && strcmp(key, known[i]); i++)
			;
		if (i == 3)
			return tfail(err, errlen, "unknown field '%s' (x86 templates have kvm_capabilities, cpuid_modifiers, msr_modifiers)",
				     key);
	}
	return 0;
}

int cpu_template_from_json(json_t *obj, struct cpu_template **out, char *err, size_t errlen)
{
	json_t *leaves, *msrs, *caps, *v;
	struct cpu_template *t;
	size_t i;
	int ret;

	if (!json_is_object(obj))
		return tfail(err, errlen, "the CPU template must be a JSON object");
	ret = check_top_keys(obj, err, errlen);
	if (!ret)
		ret = get_array(obj, "cpuid_modifiers", "template", false, &leaves, err, errlen);
	if (!ret)
		ret = get_array(obj, "msr_modifiers", "template", false, &msrs, err, errlen);
	if (!ret)
		ret = get_array(obj, "kvm_capabilities", "template", false, &caps, err, errlen);
	if (ret)
		return ret;
	t = calloc(1, sizeof(*t));
	if (!t)
		return tfail(err, errlen, "out of memory");
	t->leaves = calloc(json_array_size(leaves) + 1, sizeof(*t->leaves));
	t->msrs = calloc(json_array_size(msrs) + 1, sizeof(*t->msrs));
	t->caps = calloc(json_array_size(caps) + 1, sizeof(*t->caps));
	if (!t->leaves || !t->msrs || !t->caps) {
		ret = tfail(err, errlen, "out of memory");
		goto err_free;
	}
	json_array_foreach(leaves, i, v) {
		ret = parse_leaf(v, i, &t->leaves[t->nr_leaves++], err, errlen);
		if (ret)
			goto err_free;
	}
	json_array_foreach(msrs, i, v) {
		ret = parse_msr(v, i, &t->msrs[t->nr_msrs++], err, errlen);
		if (ret)
			goto err_free;
	}
	json_array_foreach(caps, i, v) {
		ret = parse_cap(v, i, &t->caps[t->nr_caps++], err, errlen);
		if (ret)
			goto err_free;
	}
	*out = t;
	return 0;

err_free:
	cpu_template_free(t);
	return ret;
}

void cpu_template_free(struct cpu_template *t)
{
	if (!t)
		return;
	free(t->leaves);
	free(t->msrs);
	free(t->caps);
	free(t);
}

/* ---- applying ----------------------------------------------------------------- */

static uint32_t *entry_reg(struct kvm_cpuid_entry2 *e, enum cpuid_reg r)
{
	switch (r) {
	case CPUID_EAX: return &e->eax;
	case CPUID_EBX: return &e->ebx;
	case CPUID_ECX: return &e->ecx;
	default: return &e->edx;
	}
}

static struct kvm_cpuid_entry2 *find_entry(struct kvm_cpuid_entry2 *e, unsigned int n,
					   uint32_t leaf, uint32_t subleaf)
{
	for (unsigned int i = 0; i < n; i++)
		if (e[i].function == leaf && e[i].index == subleaf)
			return &e[i];
	return NULL;
}

int cpu_template_apply_cpuid(const struct cpu_template *t, struct kvm_cpuid_entry2 *e,
			     unsigned int n, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < t->nr_leaves; i++) {
		const struct cpu_tmpl_leaf *l = &t->leaves[i];

		if (!find_entry(e, n, l->leaf, l->subleaf)) {
			tfail(err, errlen, "the CPU template changes leaf 0x%x, subleaf 0x%x, which is not in KVM's supported CPUID",
			      l->leaf, l->subleaf);
			return -ENOENT;
		}
	}
	for (unsigned int i = 0; i < t->nr_leaves; i++) {
		const struct cpu_tmpl_leaf *l = &t->leaves[i];
		struct kvm_cpuid_entry2 *x = find_entry(e, n, l->leaf, l->subleaf);

		x->flags = l->flags;
		for (unsigned int j = 0; j < l->nr_regs; j++) {
			uint32_t *r = entry_reg(x, l->regs[j].reg);

			*r = (*r & ~l->regs[j].mask) | (l->regs[j].value & l->regs[j].mask);
		}
	}
	return 0;
}

struct kvm_msrs *cpu_template_msr_list(const struct cpu_template *t)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + (t->nr_msrs + 1) * sizeof(m->entries[0]));

	if (!m)
		return NULL;
	for (unsigned int i = 0; i < t->nr_msrs; i++) {
		unsigned int j;

		for (j = 0; j < m->nmsrs && m->entries[j].index != t->msrs[i].addr; j++)
			;
		if (j == m->nmsrs)
			m->entries[m->nmsrs++].index = t->msrs[i].addr;
	}
	return m;
}

void cpu_template_apply_msrs(const struct cpu_template *t, struct kvm_msrs *m)
{
	for (unsigned int i = 0; i < t->nr_msrs; i++) {
		const struct cpu_tmpl_msr *r = &t->msrs[i];

		for (unsigned int j = 0; j < m->nmsrs; j++)
			if (m->entries[j].index == r->addr)
				m->entries[j].data = (m->entries[j].data & ~r->mask) |
						     (r->value & r->mask);
	}
}

bool cpu_template_cap_removed(const struct cpu_template *t, uint32_t cap)
{
	bool removed = false;

	/* The last entry naming `cap` decides. */
	for (unsigned int i = 0; t && i < t->nr_caps; i++)
		if (t->caps[i].cap == cap)
			removed = t->caps[i].remove;
	return removed;
}
