#!/usr/bin/env bash
# Build the ext4 root filesystem of ember's block-device test guests: static
# busybox with its applet links and /sbin/init, a shell script that mounts
# proc/sys/dev, runs the scenario's /step if the image has one, then syncs,
# remounts / read-only (a clean journal, so the host can read the image with
# debugfs without replaying it) and reboots, which ends the VMM.  /bin/xfer
# (tests/guests/xfer/xfer.c, static) is the byte mover of the net and vsock
# scenarios.
# No root and no mounting: mkfs.ext4 -d copies a directory into the new image.
#
# Usage: tests/guests/mkrootfs.sh OUT.ext4 [SIZE_MIB]   (default 32 MiB)
#   Prints OUT's path. /step runs in a subshell of /sbin/init, so it can use
#   its `fail REASON` helper; its outcome is printed as `rootfs: step ok` or
#   `rootfs: step failed (STATUS)`. Tests add /step with `debugfs -w`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 OUT.ext4 [SIZE_MIB]" >&2; exit 2; }
out=$(realpath -m "$1")
size=${2:-32}

# shellcheck source=tests/harness/common.sh
source "$here/../harness/common.sh"  # need_pkgs
need_pkgs busybox-static e2fsprogs gcc libc6-dev

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,mnt,root}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list-full); do
	[[ -e $root/$applet || $applet == sbin/init ]] || ln -s /bin/busybox "$root/$applet"
done

gcc -static -O2 -s -std=gnu11 -Wall -Wextra -Werror -o "$root/bin/xfer" "$here/xfer/xfer.c"

cat >"$root/sbin/init" <<'INIT'
#!/bin/sh
# PID 1 of the ext4 test root (tests/guests/mkrootfs.sh).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null  # already there with CONFIG_DEVTMPFS_MOUNT
fail() { echo "rootfs: FAIL $*"; exit 1; }
echo "rootfs: init, / is $(grep -m1 '^[^ ]* / ' /proc/mounts | cut -d' ' -f1-4)"
if [ -f /step ]; then
	if (. /step); then echo "rootfs: step ok"; else echo "rootfs: step failed ($?)"; fi
fi
sync
mount -o remount,ro / 2>/dev/null  # checkpoints the journal; fails harmlessly on a ro root
echo "rootfs: reboot"
reboot -f
INIT
chmod 755 "$root/sbin/init"

mkdir -p "$(dirname "$out")"
rm -f "$out"
truncate -s "${size}M" "$out"
mkfs.ext4 -q -F -L ember-root -m 0 -E root_owner=0:0 -d "$root" "$out"
echo "$out"
