#!/usr/bin/env bash
# Build the initramfs of ember's test guests: the static init from init/init.c,
# static busybox with its applet links, and any extra files asked for.
# No root needed: the archive is written from a file list with owner 0:0; device
# nodes are not needed (the kernel's built-in initramfs has /dev/console, init
# mounts devtmpfs).
#
# Usage: tests/guests/mkinitramfs.sh [--no-busybox] OUT.cpio[.gz] [SRC:DEST ...]
#   OUT ending in .gz is gzip-compressed, otherwise a plain cpio (the kernel
#   unpacks it without decompressing: the fastest choice for slow nested guests).
#   SRC:DEST copies host file SRC to /DEST in the image (e.g. t.sh:tests/net).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
busybox=1
[[ ${1:-} == --no-busybox ]] && { busybox=0; shift; }
[[ $# -ge 1 ]] || { echo "usage: $0 [--no-busybox] OUT.cpio[.gz] [SRC:DEST ...]" >&2; exit 2; }
out=$(realpath -m "$1")
shift

# shellcheck source=tests/harness/common.sh
source "$here/../harness/common.sh"  # need_pkgs
need_pkgs gcc libc6-dev cpio gzip
((busybox)) && need_pkgs busybox-static

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,tests}
gcc -static -Os -s -Wall -Wextra -Werror -o "$root/init" "$here/init/init.c"

if ((busybox)); then
	cp /bin/busybox "$root/bin/busybox"
	for applet in $("$root/bin/busybox" --list-full); do
		[[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
	done
fi
for spec in "$@"; do
	mkdir -p "$(dirname "$root/${spec#*:}")"
	cp "${spec%%:*}" "$root/${spec#*:}"
done

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) |
	if [[ $out == *.gz ]]; then gzip -9 -n; else cat; fi >"$out"
echo "$out"
