// SPDX-License-Identifier: Apache-2.0
/* vcpu_state.c - a vCPU's KVM state out and back in, for snapshots (see vcpu.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/core/log.h"
#include "kvm.h"
#include "vcpu.h"

_Static_assert(sizeof(((struct vcpu_state *)0)->xsave) == sizeof(struct kvm_xsave),
	       "KVM_GET_XSAVE's 4 KiB");
_Static_assert(VCPU_CPUID_FIXED_LEN == sizeof(struct kvm_cpuid2), "struct kvm_cpuid2's header");

struct msrs_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[VCPU_STATE_MAX_MSRS];
};

static int get(struct vcpu *vcpu, unsigned long req, void *arg, const char *name)
{
	if (ioctl(vcpu->fd, req, arg) < 0) {
		int err = errno;

		log_error("vcpu %u: %s: %s", vcpu->id, name, strerror(err));
		return -err;
	}
	return 0;
}

/* Every MSR of the list KVM reads; one it refuses is dropped and the rest
 * read again (KVM_GET_MSRS stops at the first it cannot read). */
static int save_msrs(struct vcpu *vcpu, const struct kvm_msr_list *list, struct vcpu_state *st)
{
	struct msrs_buf *b = calloc(1, sizeof(*b));
	uint32_t n = 0;
	int got;

	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < list->nmsrs && n < VCPU_STATE_MAX_MSRS; i++)
		b->e[n++].index = list->indices[i];
	for (;;) {
		b->hdr.nmsrs = n;
		got = ioctl(vcpu->fd, KVM_GET_MSRS, b);
		if (got < 0) {
			got = -errno;
			log_error("vcpu %u: KVM_GET_MSRS: %s", vcpu->id, strerror(errno));
			free(b);
			return got;
		}
		if ((uint32_t)got >= n)
			break;
		log_debug("vcpu %u: MSR 0x%x not readable, left out of the snapshot", vcpu->id,
			  b->e[got].index);
		memmove(&b->e[got], &b->e[got + 1], (n - (uint32_t)got - 1) * sizeof(b->e[0]));
		n--;
	}
	st->nr_msrs = n;
	memcpy(st->msrs, b->e, n * sizeof(b->e[0]));
	free(b);
	return 0;
}

int vcpu_save(struct vcpu *vcpu, const struct kvm_msr_list *msr_list, struct vcpu_state *st)
{
	int ret, khz;

	memset(st, 0, sizeof(*st));
	ret = get(vcpu, KVM_GET_MP_STATE, &st->mp_state, "KVM_GET_MP_STATE");
	if (!ret)
		ret = get(vcpu, KVM_GET_REGS, &st->regs, "KVM_GET_REGS");
	if (!ret)
		ret = get(vcpu, KVM_GET_SREGS, &st->sregs, "KVM_GET_SREGS");
	if (!ret)
		ret = get(vcpu, KVM_GET_XSAVE, st->xsave, "KVM_GET_XSAVE");
	if (!ret)
		ret = get(vcpu, KVM_GET_XCRS, &st->xcrs, "KVM_GET_XCRS");
	if (!ret)
		ret = get(vcpu, KVM_GET_DEBUGREGS, &st->debugregs, "KVM_GET_DEBUGREGS");
	if (!ret)
		ret = get(vcpu, KVM_GET_LAPIC, &st->lapic, "KVM_GET_LAPIC");
	if (!ret)
		ret = save_msrs(vcpu, msr_list, st);
	if (!ret)
		ret = get(vcpu, KVM_GET_VCPU_EVENTS, &st->events, "KVM_GET_VCPU_EVENTS");
	if (ret)
		return ret;
	khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	st->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	return 0;
}

/* KVM_GET_CPUID2 copies the vCPU's entries when asked for at least as many
 * and fails with E2BIG otherwise, but whether it reports the count in nent
 * depends on the kernel (6.1 never does: asked for 256, it answers 256).
 * So the count is the least nent that succeeds, found by bisection, and
 * the entries are read with exactly that nent. */
int vcpu_save_cpuid(struct vcpu *vcpu, struct vcpu_cpuid *c)
{
	uint32_t lo = 1, hi = VCPU_CPUID_MAX;   /* the count is in [lo, hi] */

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		c->nent = mid;
		c->padding = 0;
		if (ioctl(vcpu->fd, KVM_GET_CPUID2, c) == 0) {
			hi = mid;
		} else if (errno == E2BIG) {
			lo = mid + 1;
		} else {
			log_error("vcpu %u: KVM_GET_CPUID2: %s", vcpu->id, strerror(errno));
			return -errno;
		}
	}
	memset(c, 0, sizeof(*c));
	c->nent = lo;
	return get(vcpu, KVM_GET_CPUID2, c, "KVM_GET_CPUID2");
}

static int set(struct vcpu *vcpu, unsigned long req, const void *arg, const char *name,
	       char *err, size_t errlen)
{
	if (ioctl(vcpu->fd, req, arg) < 0) {
		int e = errno;

		snprintf(err, errlen, "vcpu %u: KVM refused the snapshot's state (%s: %s)",
			 vcpu->id, name, strerror(e));
		return -e;
	}
	return 0;
}

static int restore_msrs(struct vcpu *vcpu, const struct vcpu_state *st, char *err, size_t errlen)
{
	struct msrs_buf *b = calloc(1, sizeof(*b));
	int n;

	if (!b)
		return -ENOMEM;
	b->hdr.nmsrs = st->nr_msrs;
	memcpy(b->e, st->msrs, st->nr_msrs * sizeof(b->e[0]));
	n = ioctl(vcpu->fd, KVM_SET_MSRS, b);
	if (n < 0 || (uint32_t)n != st->nr_msrs) {
		snprintf(err, errlen, "vcpu %u: KVM refused the snapshot's MSR 0x%x", vcpu->id,
			 n >= 0 ? st->msrs[n].index : 0);
		free(b);
		return -EINVAL;
	}
	free(b);
	return 0;
}

int vcpu_restore_cpuid(struct vcpu *vcpu, const struct vcpu_cpuid *c, char *err, size_t errlen)
{
	if (c->nent > VCPU_CPUID_MAX) {
		snprintf(err, errlen, "vcpu %u: %u CPUID entries (at most %d)", vcpu->id, c->nent,
			 VCPU_CPUID_MAX);
		return -EINVAL;
	}
	return set(vcpu, KVM_SET_CPUID2, c, "KVM_SET_CPUID2", err, errlen);
}

/* Guest time runs at the saved TSC rate when KVM can scale to it. */
static void restore_tsc_khz(struct vcpu *vcpu, uint32_t khz)
{
	int now = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);

	if (!khz || now <= 0 || (uint32_t)now == khz)
		return;
	if (ioctl(vcpu->fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0)
		log_warn("vcpu %u: the snapshot's TSC runs at %u kHz, this host's at %d kHz and "
			 "KVM cannot scale it (%s): guest time may drift", vcpu->id, khz, now,
			 strerror(errno));
}

int vcpu_restore(struct vcpu *vcpu, const struct vcpu_state *st, char *err, size_t errlen)
{
	int ret;

	if (st->nr_msrs > VCPU_STATE_MAX_MSRS) {
		snprintf(err, errlen, "vcpu %u: %u MSRs (at most %d)", vcpu->id, st->nr_msrs,
			 VCPU_STATE_MAX_MSRS);
		return -EINVAL;
	}
	restore_tsc_khz(vcpu, st->tsc_khz);
	ret = set(vcpu, KVM_SET_SREGS, &st->sregs, "KVM_SET_SREGS", err, errlen);
	if (!ret)
		ret = set(vcpu, KVM_SET_REGS, &st->regs, "KVM_SET_REGS", err, errlen);
	if (!ret)
		ret = set(vcpu, KVM_SET_XSAVE, st->xsave, "KVM_SET_XSAVE", err, errlen);
	if (!ret)
		ret = set(vcpu, KVM_SET_XCRS, &st->xcrs, "KVM_SET_XCRS", err, errlen);
	/* The LAPIC before the MSRs: KVM drops a write of MSR_IA32_TSC_DEADLINE
	 * while the LAPIC timer is not in TSC-deadline mode (as after reset), so
	 * a guest whose tick was armed lost it and never got another timer
	 * interrupt (tier3_snapshot.sh, SNAP_WRITER=1). KVM_SET_SREGS above has
	 * set the APIC base the LAPIC state is read against. */
	if (!ret)
		ret = set(vcpu, KVM_SET_LAPIC, &st->lapic, "KVM_SET_LAPIC", err, errlen);
	if (!ret)
		ret = restore_msrs(vcpu, st, err, errlen);
	if (!ret)
		ret = set(vcpu, KVM_SET_MP_STATE, &st->mp_state, "KVM_SET_MP_STATE", err, errlen);
	if (!ret)
		ret = set(vcpu, KVM_SET_VCPU_EVENTS, &st->events, "KVM_SET_VCPU_EVENTS", err, errlen);
	if (!ret)
		ret = set(vcpu, KVM_SET_DEBUGREGS, &st->debugregs, "KVM_SET_DEBUGREGS", err, errlen);
	return ret;
}
