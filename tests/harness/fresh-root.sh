#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions run by traps
# The README's commands as a new user runs them on a fresh Debian 12 machine:
# a minimal Debian 12 root (mmdebstrap, variant minbase, plus git, make and
# ca-certificates, with this host's apt sources), a clean clone of this
# repository's HEAD inside it (uncommitted changes are NOT included), then,
# chrooted in as root:
#   ci    make (installs the packages, builds), make test-host (every tier of
#         make test but tier 3)
#   full  make demo (the guest must greet on the first try), then make test
# It prints how long each phase took and the total, and removes the root on
# every exit path. Needs root. Runs tier 2/API/tier 3 tests, which create taps
# and network namespaces: on a shared machine run it under
# `flock /tmp/ember-kvm-tests.lock`.
#
# Usage: tests/harness/fresh-root.sh ci|full
# FRESH_ROOT_DIR (default /var/tmp) is where the root is made; FRESH_ROOT_KEEP=1
# keeps it after a failure for a look (its mounts are gone all the same).
set -euo pipefail
# The whole script is one { } block, read before any of it runs: an edit to
# this file during a run (it takes minutes) cannot change what the run does.
{

log() { echo "fresh-root: $*" >&2; }
die() { log "$*"; exit 1; }

# ---- inside: runs in its own mount and PID namespace (see below) ------------
# Every mount made here (the binds, ip netns's) lives only in this namespace and
# goes away with it, however the run ends; the trap unmounts them in order too.
if [[ ${1:-} == --inside ]]; then
	root=$2 mode=$3 times=$4
	mounted=()
	unmount_all() {
		local i m
		for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
			m=${mounted[i]}
			umount -R "$m" 2>/dev/null || umount -R -l "$m" || log "could not unmount $m"
		done
	}
	trap unmount_all EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	# The root a mount point of its own, as / is on a real machine: ip netns
	# exec runs `mount --make-rslave /`, which fails on a plain directory.
	mount --bind "$root" "$root" && mounted+=("$root")
	mount --rbind /dev "$root/dev" && mounted+=("$root/dev")
	# A proc of this PID namespace: the chroot's pids are its own.
	mount -t proc proc "$root/proc" && mounted+=("$root/proc")
	mount --rbind /sys "$root/sys" && mounted+=("$root/sys")
	# ip netns keeps its namespaces under /run/netns.
	mount -t tmpfs -o mode=755 tmpfs "$root/run" && mounted+=("$root/run")
	[[ -c $root/dev/kvm && -c $root/dev/net/tun ]] || die "no /dev/kvm or /dev/net/tun in the root"

	# phase NAME COMMAND: run COMMAND in the root as a new user's login shell
	# would (clean environment, in the clone), log and record how long it took.
	phase() {
		local name=$1 cmd=$2 t0 rc=0
		log "== $name: $cmd"
		t0=$(date +%s)
		chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			/bin/bash -c "cd /root/ember && $cmd" || rc=$?
		echo "$name $(($(date +%s) - t0)) $rc" >>"$times"
		log "== $name: $(($(date +%s) - t0)) s, status $rc"
		return $rc
	}
	case $mode in
	ci)
		# Plain make first, as the README's user would: it installs the
		# packages itself (scripts/install-deps.sh), then builds.
		phase make "make"
		phase test-host "make test-host"
		;;
	full)
		phase demo "make demo 2>&1 | tee /root/demo.log; [[ \${PIPESTATUS[0]} -eq 0 ]]"
		grep -q 'ember: hello from the guest' "$root/root/demo.log" ||
			die "make demo did not print the guest's greeting"
		log "make demo: the guest greeted on the first try"
		phase test "make test"
		;;
	esac
	exit 0
fi

# ---- outside ----------------------------------------------------------------
mode=${1:-}
[[ $mode == ci || $mode == full ]] || die "usage: $0 ci|full"
[[ $(id -u) -eq 0 ]] || die "needs root (mmdebstrap, chroot, mounts)"
repo=$(cd "$(dirname "$0")/../.." && pwd)
self=$(realpath "$0")
t_start=$(date +%s)

if ! command -v mmdebstrap >/dev/null; then
	log "installing mmdebstrap"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >&2
fi

work=$(mktemp -d "${FRESH_ROOT_DIR:-/var/tmp}/ember-fresh.XXXXXX")
root=$work/root
times=$work/times
mkdir "$root"
: >"$times"

# Mounts below the root as this (the host's) mount namespace sees them,
# deepest first.
mounts_below() { findmnt -rn -o TARGET | awk -v r="$root" 'index($0, r "/") == 1 || $0 == r' | sort -r; }

cleanup() {
	local rc=$? m left
	trap - EXIT INT TERM
	if [[ -n ${ns_pid:-} ]] && kill -0 "$ns_pid" 2>/dev/null; then
		# unshare --fork ignores TERM; its death SIGKILLs the namespace's init
		# (--kill-child), and with it every process and mount inside.
		kill -KILL "$ns_pid" 2>/dev/null || true
		wait "$ns_pid" 2>/dev/null || true
	fi
	report
	# The namespace's mounts are not visible here; unmount anything that is
	# anyway, and delete nothing while a mount remains below the root.
	for m in $(mounts_below); do umount "$m" 2>/dev/null || umount -l "$m" || true; done
	left=$(mounts_below)
	if [[ -n $left ]]; then
		log "still mounted below $root, not removing it: $left"
	elif ((rc != 0)) && [[ ${FRESH_ROOT_KEEP:-0} == 1 ]]; then
		log "kept $root"
	else
		# --one-file-system: never cross into another file system even so.
		rm -rf --one-file-system "$work"
	fi
	log "total $(($(date +%s) - t_start)) s: $( ((rc == 0)) && echo PASS || echo "FAIL (status $rc)")"
	exit "$rc"
}
report() {
	local name secs rc
	[[ -f $times ]] || return 0
	log "phase times:"
	while read -r name secs rc; do
		printf 'fresh-root:   %-12s %5d s%s\n' "$name" "$secs" "$( ((rc == 0)) || echo "  FAILED ($rc)")" >&2
	done <"$times"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The host's apt sources and its Acquire:: settings (a mirror or proxy, stale
# snapshot Release files), so the root installs from where this host does.
mirrors=() aptopts=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[[ -f $f ]] && grep -qE '^[[:space:]]*(deb|Types:)' "$f" && mirrors+=("$f")
done
((${#mirrors[@]})) || die "no apt sources found on this host"
for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
	[[ -f $f ]] && grep -q '^[[:space:]]*Acquire' "$f" && aptopts+=("--aptopt=$f")
done

log "== mmdebstrap: Debian 12 minbase + git make ca-certificates in $root (sources: ${mirrors[*]})"
t0=$(date +%s)
mmdebstrap --quiet --variant=minbase --include=git,make,ca-certificates "${aptopts[@]}" \
	bookworm "$root" "${mirrors[@]}" >&2 || { echo "mmdebstrap $(($(date +%s) - t0)) 1" >>"$times"; exit 1; }
echo "mmdebstrap $(($(date +%s) - t0)) 0" >>"$times"
log "== mmdebstrap: $(($(date +%s) - t0)) s"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"

head=$(git -C "$repo" rev-parse HEAD)
log "== clone: $repo at $head ($(git -C "$repo" log -1 --format=%s "$head" | cut -c1-60))"
[[ -z $(git -C "$repo" status --porcelain --untracked-files=no) ]] ||
	log "note: uncommitted changes in $repo are not in the clone"
git clone -q --no-checkout "$repo" "$root/root/ember"
git -C "$root/root/ember" checkout -q --detach "$head"

# A mount and PID namespace of its own: when it ends, by any path, every mount
# and every process made inside ends with it (--kill-child).
# Run in the background and wait, so that a TERM here is acted on at once
# (cleanup then kills unshare, and so the namespace).
unshare --mount --propagation private --pid --fork --kill-child -- \
	"$self" --inside "$root" "$mode" "$times" <&0 &
ns_pid=$!
wait "$ns_pid"
exit
}
