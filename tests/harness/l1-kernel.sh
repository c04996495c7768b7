#!/usr/bin/env bash
# Fetch the Debian cloud kernel used by the L1 test machine (DESIGN.md §5).
# Prints the directory holding vmlinuz and lib/modules/<ver>/ (last line on stdout),
# cached as ${EMBER_CACHE:-/var/cache/ember}/l1/<ver>/.
set -euo pipefail
# shellcheck source=tests/harness/common.sh
source "$(dirname "$0")/common.sh"

need_pkgs apt dpkg
resolve() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-.*-cloud-amd64\)$/\1/p' | head -n1; }
pkg=$(resolve)
if [[ -z $pkg ]]; then
	apt-get update -qq >&2
	pkg=$(resolve)
fi
[[ -n $pkg ]] || die "cannot resolve the package behind linux-image-cloud-amd64"
ver=${pkg#linux-image-}
dir=$EMBER_CACHE/l1/$ver

if [[ ! -f $dir/vmlinuz ]]; then
	log "downloading $pkg"
	mkdir -p "$EMBER_CACHE/l1"
	tmp=$(mktemp -d "$EMBER_CACHE/l1/tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	chmod 755 "$tmp"
	chown _apt "$tmp" 2>/dev/null || true # apt downloads as user _apt
	(cd "$tmp" && apt-get download -q "$pkg" >&2)
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	mkdir -p "$dir.tmp"
	cp "$tmp/root/boot/vmlinuz-$ver" "$dir.tmp/vmlinuz"
	mkdir -p "$dir.tmp/lib"
	mv "$tmp/root/lib/modules" "$dir.tmp/lib/"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
fi
echo "$dir"
