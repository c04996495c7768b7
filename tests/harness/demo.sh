#!/usr/bin/env bash
# `make demo`: boot the demo microVM with ember -- the minimal guest kernel and an
# initramfs holding only the test init, which greets, reports its uptime, signals
# the boot timer and reboots. Runs directly on a host with hardware virtualization,
# inside the L1 machine (tests/harness/l1-run.sh) otherwise. Exits 0 on success.
set -euo pipefail
# shellcheck source=tests/harness/common.sh
source "$(dirname "$0")/common.sh"

ember=${EMBER:-$ROOT/build/ember}
[[ -x $ember ]] || die "no ember binary at $ember (run make first)"
kdir=$("$ROOT/kernels/build.sh" | tail -n1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
initrd=$("$ROOT/tests/guests/mkinitramfs.sh" --no-busybox "$work/demo.cpio")

# What runs next to ember (POSIX sh: inside L1 this is busybox sh).
cat >"$work/demo-run.sh" <<'DEMO'
set -eu
echo "demo: $EMBER --kernel $GUEST_VMLINUX --initrd $GUEST_INITRD --boot-timer"
rc=0
timeout 120 "$EMBER" --kernel "$GUEST_VMLINUX" --initrd "$GUEST_INITRD" --boot-timer \
	--cmdline "console=ttyS0 reboot=k panic=1 pci=off nomodules quiet" || rc=$?
echo "demo: ember exited with status $rc"
exit $rc
DEMO

if have_hw_kvm; then
	log "hardware virtualization available: booting the microVM directly"
	EMBER=$ember GUEST_VMLINUX=$kdir/vmlinux GUEST_BZIMAGE=$kdir/bzImage GUEST_INITRD=$initrd \
		sh "$work/demo-run.sh"
else
	log "no hardware virtualization here: booting the microVM inside the L1 machine"
	"$(dirname "$0")/l1-run.sh" --ember "$ember" --kernel-dir "$kdir" --initrd "$initrd" "$work/demo-run.sh"
fi
