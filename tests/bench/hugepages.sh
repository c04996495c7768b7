#!/usr/bin/env bash
# Guest-memory page sizes: ember's boot time, VM exits, nested page-table
# entries and guest RSS with RAM in 4 KiB pages, transparent huge pages and
# hugetlbfs (tests/bench/hugepages-l1.sh), directly on a host with hardware
# KVM, inside the L1 machine otherwise.  Called by tests/bench/run.sh.
# env: [RUNS=5] [THP_MODES="always madvise"] [VARIANTS="none default thp 2m"]
#      [EMBER_UNALIGNED=an older ember
#      binary whose guest RAM is not 2 MiB-aligned, measured alongside]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/harness/common.sh
B=build
RUNS=${RUNS:-5}
THP_MODES=${THP_MODES:-always madvise}

gcc -static -Os -s -Wall -Wextra -Werror -o "$B/touchmem" tests/bench/touchmem.c
initrd=$B/bench-touch-initrd.cpio
tests/guests/mkinitramfs.sh --no-busybox "$initrd" "$B/touchmem:tests/touch" >/dev/null
embers=(--ember "$B/ember")
if [[ -n ${EMBER_UNALIGNED:-} ]]; then
	cp "$EMBER_UNALIGNED" "$B/ember-unaligned"
	embers+=(--ember "$B/ember-unaligned")
fi
if have_hw_kvm; then
	kdir=$(kernels/build.sh | tail -n1)
	env EMBER="$B/ember" GUEST_VMLINUX="$kdir/vmlinux" GUEST_INITRD="$initrd" BOOTWATCH="$B/bootwatch" \
		RUNS="$RUNS" THP_MODES="$THP_MODES" ${EMBER_UNALIGNED:+"EMBER_UNALIGNED=$B/ember-unaligned"} \
		${VARIANTS:+"VARIANTS=$VARIANTS"} sh tests/bench/hugepages-l1.sh
else
	echo "(no hardware virtualization here: running inside the L1 machine)"
	sed -e "s/^RUNS=.*/RUNS=$RUNS/" -e "s/^THP_MODES=.*/THP_MODES=\"$THP_MODES\"/" \
		${VARIANTS:+-e "s/^VARIANTS=.*/VARIANTS=\"$VARIANTS\"/"} \
		tests/bench/hugepages-l1.sh >"$B/bench-hugepages-l1.sh"
	tests/harness/l1-run.sh "${embers[@]}" --timeout 1800 --quiet-timeout 600 --initrd "$initrd" \
		--file "$B/bootwatch:opt/ember/bin/bootwatch" \
		"$B/bench-hugepages-l1.sh" | grep --line-buffered -E '^(bench|l1):'
fi
