#!/usr/bin/env bash
# Build the initramfs of the network benchmark's guest: the test guests' init
# and busybox (tests/guests/mkinitramfs.sh), Debian's iperf3 with the shared
# libraries it runs with (libiperf0, libcrypto, libsctp, libc, libm and the
# dynamic loader: about 7 MiB), xfer (tests/guests/xfer, static) and
# tests/bench/net-guest.sh as /tests/net (ember.test=net).
# Usage: tests/bench/mknetinitramfs.sh OUT.cpio
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 OUT.cpio" >&2; exit 2; }
out=$(realpath -m "$1")
# shellcheck source=tests/harness/common.sh
source "$here/../harness/common.sh"
need_pkgs iperf3 gcc libc6-dev cpio busybox-static

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
iperf=/usr/bin/iperf3
specs=("$iperf:usr/bin/iperf3" "$here/net-guest.sh:tests/net")
for f in $(ldd "$iperf" | grep -o '/[^ ]*'); do specs+=("$(realpath "$f"):${f#/}"); done
gcc -static -O2 -s -std=gnu11 -Wall -Wextra -Werror -o "$work/xfer" "$here/../guests/xfer/xfer.c"
specs+=("$work/xfer:bin/xfer")
"$here/../guests/mkinitramfs.sh" "$out" "${specs[@]}" >/dev/null
chmod 755 "$out" 2>/dev/null || true
log "$out: $(du -h "$out" | cut -f1)"
echo "$out"
