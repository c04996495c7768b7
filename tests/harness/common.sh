# shellcheck shell=bash disable=SC2034
# Shared helpers for the tier-3 harness scripts (sourced, not run).

EMBER_CACHE=${EMBER_CACHE:-/var/cache/ember}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

log() { echo "${0##*/}: $*" >&2; }
die() { log "$*"; exit 1; }

# Install the Debian packages among "$@" that are missing.
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

# True when this host can run KVM guests with hardware virtualization itself
# (vmx/svm in the CPU flags and a usable /dev/kvm), so tier 3 needs no L1.
have_hw_kvm() {
	grep -qwE 'vmx|svm' /proc/cpuinfo && [[ -r /dev/kvm && -w /dev/kvm ]]
}
