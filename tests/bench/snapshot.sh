#!/usr/bin/env bash
# Snapshots with a Linux guest (tests/bench/snapshot-l1.sh): fresh boot,
# create and restore to the guest's first answer, clones' PSS, ember against
# QEMU microvm's migration to a file in the same run; directly on a host with
# hardware KVM, inside the L1 machine otherwise (one L1 run).  Called by
# tests/bench/run.sh.
# env: [RUNS=30] [QEMU_RUNS=5] [FRESH_RUNS=3] [CREATES=2] [CLONES=10]
#      [SIZES="128 1024"] [BACKENDS="File Uffd"] (passed on to snapshot-l1.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/harness/common.sh
B=build

gcc -O2 -static -Wall -Wextra -Werror -o "$B/snapwatch" tests/bench/snapwatch.c
gcc -static -Os -s -Wall -Wextra -Werror -o "$B/snapecho" tests/bench/snapecho.c
initrd=$B/bench-snap-initrd.cpio
tests/guests/mkinitramfs.sh --no-busybox "$initrd" "$B/snapecho:tests/snapecho" >/dev/null
vars=()
for v in RUNS QEMU_RUNS FRESH_RUNS CREATES CLONES SIZES BACKENDS; do
	[[ -z ${!v:-} ]] || vars+=("$v=${!v}")
done
if have_hw_kvm; then
	kdir=$(kernels/build.sh | tail -n1)
	env "${vars[@]}" EMBER="$B/ember" GUEST_VMLINUX="$kdir/vmlinux" GUEST_INITRD="$initrd" \
		SNAPWATCH="$B/snapwatch" UFFD_HANDLER="$B/uffd_handler" sh tests/bench/snapshot-l1.sh
else
	echo "(no hardware virtualization here: running inside the L1 machine)"
	{
		echo '#!/bin/sh'
		echo 'SNAPWATCH=/opt/ember/bin/snapwatch'
		echo 'UFFD_HANDLER=/opt/ember/bin/uffd_handler'
		for v in "${vars[@]}"; do printf '%s=%q\n' "${v%%=*}" "${v#*=}"; done
		echo 'export SNAPWATCH UFFD_HANDLER RUNS QEMU_RUNS FRESH_RUNS CREATES CLONES SIZES BACKENDS'
		tail -n +2 tests/bench/snapshot-l1.sh
	} >"$B/bench-snapshot-l1.sh"
	tests/harness/l1-run.sh --with-qemu --mem 3072 --timeout 2400 --quiet-timeout 300 \
		--initrd "$initrd" --file "$B/snapwatch:opt/ember/bin/snapwatch" \
		--file "$B/uffd_handler:opt/ember/bin/uffd_handler" \
		"$B/bench-snapshot-l1.sh" | grep --line-buffered -E '^(bench|l1):'
fi
