#!/usr/bin/env bash
# Block benchmark (part of make bench): fio in a Linux guest on a virtio-blk
# disk, ember vs QEMU's microvm machine in the same run.  Builds the guest's
# initramfs (mkfioinitramfs.sh) and runs blk-l1.sh directly on a host with
# hardware KVM, inside the L1 machine otherwise (DESIGN.md §5).
# env: [BLK_ROUNDS=3] [FIO_RUNTIME=4] (seconds per fio job) [EMBER=build/ember]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/harness/common.sh
B=build
BLK_ROUNDS=${BLK_ROUNDS:-3}
FIO_RUNTIME=${FIO_RUNTIME:-4}
EMBER=${EMBER:-$B/ember}

# Other work on this machine (another L1, a build) widens the spread: say so.
busy() { echo "bench: host load average $(cut -d' ' -f1-3 /proc/loadavg), $(pgrep -c qemu-system || true) QEMU process(es) $1"; }
busy "before the block benchmark"

initrd=$B/bench-fio-initrd.cpio
tests/bench/mkfioinitramfs.sh "$initrd" >/dev/null
# The legacy kernel: QEMU runs with acpi=off and lists its devices on the command line.
kdir=$(kernels/build.sh microvm-legacy | tail -n1)
if have_hw_kvm; then
	EMBER=$EMBER GUEST_VMLINUX=$kdir/vmlinux GUEST_INITRD=$initrd \
		ROUNDS=$BLK_ROUNDS FIO_RUNTIME=$FIO_RUNTIME sh tests/bench/blk-l1.sh
else
	echo "(no hardware virtualization here: running inside the L1 machine)"
	# The L1 test gets no environment from here: its settings go into the script.
	sed -e "s/^ROUNDS=.*/ROUNDS=$BLK_ROUNDS/" -e "s/^FIO_RUNTIME=.*/FIO_RUNTIME=$FIO_RUNTIME/" \
		tests/bench/blk-l1.sh >"$B/bench-blk-l1.sh"
	tests/harness/l1-run.sh --with-qemu --kernel-dir "$kdir" --timeout 1800 --quiet-timeout 900 --ember "$EMBER" --initrd "$initrd" \
		"$B/bench-blk-l1.sh" | grep --line-buffered -E '^(bench|l1):'
fi
busy "after it"
