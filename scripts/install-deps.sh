#!/usr/bin/env bash
# Install the Debian packages ember needs to build, test, benchmark and boot
# its demo.  Idempotent: only missing packages are installed (as root).
# Then scripts/check-deps.sh verifies that what the build uses is really
# there, naming each missing item and its package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

pkgs=(
	build-essential pkg-config clang
	libclang-rt-14-dev
	libjansson-dev libhttp-parser-dev liburing-dev libseccomp-dev libcmocka-dev
	qemu-system-x86 busybox-static cpio e2fsprogs xz-utils zstd python3 python3-yaml curl
	linux-source-6.1 flex bison bc libelf-dev libssl-dev kmod lz4
	fio iproute2 iperf3 procps
	acpica-tools
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exec "$here/check-deps.sh"
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install packages" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
exec "$here/check-deps.sh"
