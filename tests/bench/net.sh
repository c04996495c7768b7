#!/usr/bin/env bash
# Network and vsock benchmark (part of make bench): iperf3 TCP through
# virtio-net on a tap and an xfer stream over vsock, ember vs QEMU's microvm
# machine in the same run (tests/bench/net-l1.sh). Builds the guest's initramfs
# (mknetinitramfs.sh) and runs net-l1.sh directly on a host with hardware KVM,
# inside the L1 machine otherwise (DESIGN.md §5).
# env: [NET_ROUNDS=3] [NET_SECS=5] (seconds per iperf3 direction)
#      [NET_KINDS="tcp vsock"] (either or both)
#      [VSOCK_BYTES=32M] [EMBER=build/ember] [XFER=build/xfer]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/harness/common.sh
B=build
NET_ROUNDS=${NET_ROUNDS:-3}
NET_SECS=${NET_SECS:-5}
VSOCK_BYTES=${VSOCK_BYTES:-32M}
NET_KINDS=${NET_KINDS:-tcp vsock}
EMBER=${EMBER:-$B/ember}
XFER=${XFER:-$B/xfer}
need_pkgs iperf3 iproute2

busy() { echo "bench: host load average $(cut -d' ' -f1-3 /proc/loadavg), $(pgrep -c qemu-system || true) QEMU process(es) $1"; }
busy "before the network benchmark"

[[ -x $XFER ]] || { mkdir -p "$(dirname "$XFER")"; gcc -static -O2 -s -std=gnu11 -Wall -Wextra -Werror -o "$XFER" tests/guests/xfer/xfer.c; }
initrd=$B/bench-net-initrd.cpio
tests/bench/mknetinitramfs.sh "$initrd" >/dev/null
# The legacy kernel: QEMU runs with acpi=off and lists its devices on the command line.
kdir=$(kernels/build.sh microvm-legacy | tail -n1)
if have_hw_kvm; then
	EMBER=$EMBER XFER=$XFER GUEST_VMLINUX=$kdir/vmlinux GUEST_INITRD=$initrd \
		ROUNDS=$NET_ROUNDS NET_SECS=$NET_SECS VSOCK_BYTES=$VSOCK_BYTES KINDS=$NET_KINDS sh tests/bench/net-l1.sh
else
	echo "(no hardware virtualization here: running inside the L1 machine)"
	# The L1 test gets no environment from here: its settings go into the script.
	sed -e "s/^ROUNDS=.*/ROUNDS=$NET_ROUNDS/" -e "s/^NET_SECS=.*/NET_SECS=$NET_SECS/" \
		-e "s/^VSOCK_BYTES=.*/VSOCK_BYTES=$VSOCK_BYTES/" -e "s/^KINDS=.*/KINDS=\"$NET_KINDS\"/" tests/bench/net-l1.sh >"$B/bench-net-l1.sh"
	tests/harness/l1-run.sh --with-qemu --kernel-dir "$kdir" --timeout 1800 --quiet-timeout 900 --ember "$EMBER" --initrd "$initrd" \
		--bin /usr/sbin/ip --bin /usr/bin/iperf3 --file "$XFER:opt/ember/bin/xfer" \
		"$B/bench-net-l1.sh" | grep --line-buffered -E '^(bench|l1):'
fi
busy "after it"
