#!/usr/bin/env bash
# Build an ember guest kernel (vmlinux + bzImage) from Debian's linux-source-6.1
# with kernels/NAME.config merged onto allnoconfig.
#
# Usage: kernels/build.sh [NAME]
#   NAME: microvm (default: the ACPI-only kernel) or microvm-legacy (MP table and
#   command-line virtio-mmio devices, no ACPI).
# Result: ${EMBER_CACHE:-/var/cache/ember}/kernel-<hash>/{vmlinux,bzImage,config,System.map}
# where <hash> covers the config fragment and this script. The directory is printed
# as the last line on stdout; everything else goes to stderr. A cached build is reused.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
name=${1:-microvm}
fragment=$here/$name.config
[[ $name =~ ^[a-z0-9-]+$ && -f $fragment ]] || { echo "kernels/build.sh: no kernels/$name.config" >&2; exit 2; }
cache=${EMBER_CACHE:-/var/cache/ember}
tarball=/usr/src/linux-source-6.1.tar.xz
key=$(cat "$fragment" "$here/build.sh" | sha256sum | cut -c1-16)
out=$cache/kernel-$key

log() { echo "kernels/build.sh: $*" >&2; }

need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "installing ${missing[*]}"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

# Check that every option of the fragment has the requested value in .config.
verify_config() {
	local config=$1 bad=0 line opt
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			grep -qxF "$line" "$config" || { log "not applied: $line"; bad=1; }
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			opt=${BASH_REMATCH[1]}
			! grep -q "^$opt=" "$config" || { log "not applied: $line"; bad=1; }
		fi
	done <"$fragment"
	return $bad
}

mkdir -p "$cache"
exec 9>"$out.lock"
flock 9
if [[ -f $out/vmlinux && -f $out/bzImage ]]; then
	log "cached"
	echo "$out"
	exit 0
fi

need_pkgs linux-source-6.1 make gcc libc6-dev flex bison bc libelf-dev libssl-dev lz4 xz-utils

# The unpacked source is shared by all configs; it is keyed by the package version.
version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
src=$cache/src-$version/linux-source-6.1
if [[ ! -f $src/Makefile ]]; then
	log "unpacking $tarball"
	rm -rf "$cache/src-$version"
	mkdir -p "$cache/src-$version.tmp"
	tar -xJf "$tarball" -C "$cache/src-$version.tmp"
	mv "$cache/src-$version.tmp" "$cache/src-$version"
fi

work=$out.tmp
rm -rf "$work"
mkdir -p "$work/obj"
start=$(date +%s)
log "configuring in $work"
(cd "$src" && ARCH=x86_64 scripts/kconfig/merge_config.sh -n -O "$work/obj" "$fragment") >"$work/config.log" 2>&1 ||
	{ tail -n 30 "$work/config.log" >&2; exit 1; }
make -C "$src" O="$work/obj" ARCH=x86_64 olddefconfig >>"$work/config.log" 2>&1
verify_config "$work/obj/.config" || { log "config fragment not fully applied"; exit 1; }

log "building vmlinux and bzImage with -j$(nproc) (log: $work/build.log)"
make -C "$src" O="$work/obj" ARCH=x86_64 -j"$(nproc)" vmlinux bzImage >"$work/build.log" 2>&1 ||
	{ tail -n 40 "$work/build.log" >&2; exit 1; }

cp "$work/obj/vmlinux" "$work/obj/arch/x86/boot/bzImage" "$work/obj/System.map" "$work/"
cp "$work/obj/.config" "$work/config"
echo "linux-source-6.1 $version" >"$work/VERSION"
rm -rf "$work/obj"
mv "$work" "$out"
log "built in $(($(date +%s) - start)) s: $(du -h "$out/vmlinux" | cut -f1) vmlinux, $(du -h "$out/bzImage" | cut -f1) bzImage"
echo "$out"
