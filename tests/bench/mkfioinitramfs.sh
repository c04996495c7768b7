#!/usr/bin/env bash
# Build the initramfs of the block benchmark's guest: the test guests' init and
# busybox (tests/guests/mkinitramfs.sh), Debian's fio with the shared libraries
# it runs with, and tests/bench/fio-guest.sh as /tests/fio (ember.test=fio).
#
# Debian links fio against the libraries of its network and RDMA engines (rbd,
# gluster, nbd, rdma, pmem): with their own dependencies about 80 MiB, far too
# much for a guest that unpacks its initramfs at nested-TCG speed.  Those
# libraries are replaced by stubs with the same sonames that define the symbols
# fio takes from them and abort if one is ever called; the engines used here
# (psync, libaio) never call them.  fio itself is Debian's binary, unchanged.
# The guest kernel has no SysV IPC either, which fio needs for its job table:
# tests/bench/sysvshm.c provides it to fio in user space.
#
# Usage: tests/bench/mkfioinitramfs.sh OUT.cpio
set -euo pipefail
export LC_ALL=C  # sort and join agree on the order

here=$(cd "$(dirname "$0")" && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 OUT.cpio" >&2; exit 2; }
out=$(realpath -m "$1")
# shellcheck source=tests/harness/common.sh
source "$here/../harness/common.sh"
need_pkgs fio gcc libc6-dev binutils cpio busybox-static

fio=/usr/bin/fio
# The libraries fio really uses here; every other one it needs becomes a stub.
keep=" libc.so.6 libm.so.6 libz.so.1 libaio.so.1 libnuma.so.1 "

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/root
specs=()
add() { # SRC DEST
	mkdir -p "$(dirname "$stage$2")"
	cp -L "$1" "$stage$2"
	specs+=("$stage$2:${2#/}")
}

add "$fio" /usr/bin/fio
add "$here/fio-guest.sh" /tests/fio
chmod +x "$stage/tests/fio"
# SysV shared memory for fio, which the guest kernel lacks (sysvshm.c).
gcc -shared -fPIC -Os -s -Wall -Wextra -Werror -o "$work/sysvshm.so" "$here/sysvshm.c"
add "$work/sysvshm.so" /usr/lib/fio/sysvshm.so
# "symbol version" for each symbol fio imports (version empty if unversioned)
nm -D --undefined-only "$fio" | awk '{ split($2, s, "@"); print s[1], s[2] }' | sort -u >"$work/undef"

for lib in $(readelf -d "$fio" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
	path=$(ldd "$fio" | awk -v l="$lib" '$1 == l { print $3 }')
	[[ -n $path ]] || die "ldd does not resolve $lib"
	if [[ $keep == *" $lib "* ]]; then
		for f in "$path" $(ldd "$path" | grep -o '/[^ ]*'); do add "$f" "$f"; done
		continue
	fi
	# Stub: the symbols fio imports that this library defines, with the
	# symbol versions fio asks for (else ld.so warns at every start).
	nm -D --defined-only "$path" | awk '{ sub(/@.*/, "", $3); print $3 }' | sort -u |
		join - "$work/undef" >"$work/$lib.syms"
	{
		echo '#include <stdio.h>'
		echo '#include <stdlib.h>'
		# shellcheck disable=SC2028 # the backslash-n is for the C compiler
		echo "static void stub(const char *f) { fprintf(stderr, \"fio: $lib is a stub, %s called\\n\", f); abort(); }"
		while read -r sym _; do echo "void $sym(void) { stub(\"$sym\"); }"; done <"$work/$lib.syms"
	} >"$work/$lib.c"
	awk 'NF == 2 { v[$2] = v[$2] " " $1 ";" }
		END { for (n in v) print n " { global:" v[n] " };" }' "$work/$lib.syms" >"$work/$lib.map"
	ver_script=
	[[ -s $work/$lib.map ]] && ver_script=-Wl,--version-script,$work/$lib.map
	mkdir -p "$stage$(dirname "$path")"
	gcc -shared -fPIC -Os -s -Wl,-soname,"$lib" ${ver_script:+"$ver_script"} \
		-o "$stage$path" "$work/$lib.c"
	specs+=("$stage$path:${path#/}")
done
interp=$(readelf -l "$fio" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
add "$interp" "$interp"

# The staged tree must run fio on its own, with no host library behind it.
if [[ $(id -u) -eq 0 ]]; then
	chroot "$stage" /usr/bin/fio --version >/dev/null ||
		die "fio does not start with the staged libraries"
fi

"$here/../guests/mkinitramfs.sh" "$out" "${specs[@]}" >/dev/null
log "$out: $(du -h "$out" | cut -f1)"
echo "$out"
