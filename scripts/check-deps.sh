#!/usr/bin/env bash
# Verify that what ember's build, tests, benchmarks and demo use is really on
# this machine: a package can be "installed" yet not provide what the build
# needs (a runtime clang only finds through another package, a static archive
# split into a -dev package). Prints one line per missing item with the Debian
# package that provides it, and fails if anything is missing. Run by
# scripts/install-deps.sh after it installs.
set -euo pipefail

missing=0
miss() { echo "check-deps: missing $1 (Debian package $2)" >&2; missing=$((missing + 1)); }

# Commands: name and package.
while read -r cmd pkg; do
	command -v "$cmd" >/dev/null 2>&1 || miss "command $cmd" "$pkg"
done <<'CMDS'
gcc gcc
make make
pkg-config pkg-config
clang clang
qemu-system-x86_64 qemu-system-x86
busybox busybox-static
mkfs.ext4 e2fsprogs
debugfs e2fsprogs
e2fsck e2fsprogs
cpio cpio
gzip gzip
xz xz-utils
zstd zstd
lz4 lz4
python3 python3
curl curl
ip iproute2
fio fio
iperf3 iperf3
pgrep procps
flex flex
bison bison
bc bc
modinfo kmod
dpkg-deb dpkg
timeout coreutils
flock util-linux
iasl acpica-tools
CMDS

# Python modules: the swagger-driven API check reads Firecracker's YAML.
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import yaml' 2>/dev/null; then
	miss "python3 module yaml" python3-yaml
fi

# busybox must be the static one: it is copied into initramfs images.
if command -v busybox >/dev/null 2>&1 && ! busybox --list 2>/dev/null | grep -qx sh; then
	miss "a full busybox" busybox-static
fi
if command -v busybox >/dev/null 2>&1 && ldd "$(command -v busybox)" >/dev/null 2>&1; then
	miss "a static busybox ($(command -v busybox) is dynamic)" busybox-static
fi

# pkg-config modules: module and package.
if command -v pkg-config >/dev/null 2>&1; then
	while read -r mod pkg; do
		pkg-config --exists "$mod" || miss "pkg-config module $mod" "$pkg"
	done <<'MODS'
jansson libjansson-dev
liburing liburing-dev
libseccomp libseccomp-dev
cmocka libcmocka-dev
libelf libelf-dev
openssl libssl-dev
MODS
fi

# Static archives the static ember links: gcc prints the bare name when it
# does not find one.
if command -v gcc >/dev/null 2>&1; then
	while read -r lib pkg; do
		[[ $(gcc -print-file-name="$lib") == /* ]] || miss "static library $lib" "$pkg"
	done <<'LIBS'
libjansson.a libjansson-dev
liburing.a liburing-dev
libseccomp.a libseccomp-dev
libhttp_parser.a libhttp-parser-dev
libc.a libc6-dev
LIBS
	[[ $(gcc -print-file-name=libasan.so) == /* ]] || miss "gcc's ASan runtime libasan.so" libgcc-12-dev
	[[ $(gcc -print-file-name=libubsan.so) == /* ]] || miss "gcc's UBSan runtime libubsan.so" libgcc-12-dev
fi
[[ -f /usr/include/http_parser.h ]] || miss /usr/include/http_parser.h libhttp-parser-dev

# clang's own runtimes for the fuzzers (-fsanitize=fuzzer,address,undefined),
# where clang looks for them.
if command -v clang >/dev/null 2>&1; then
	rtdir=$(clang --print-runtime-dir)
	ver=$(clang -dumpversion)
	for rt in fuzzer asan ubsan_standalone; do
		[[ -f $rtdir/libclang_rt.$rt-x86_64.a ]] ||
			miss "$rtdir/libclang_rt.$rt-x86_64.a" "libclang-rt-${ver%%.*}-dev"
	done
fi

# The guest kernel's source.
[[ -f /usr/src/linux-source-6.1.tar.xz ]] || miss /usr/src/linux-source-6.1.tar.xz linux-source-6.1

((missing == 0)) || { echo "check-deps: $missing item(s) missing; run scripts/install-deps.sh as root" >&2; exit 1; }
