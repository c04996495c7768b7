#!/usr/bin/env bash
# Tier 3: boot real Linux guests (kernels/ + tests/guests/) with ember.
#
# Usage: tests/integration/tier3.sh
#   On a host with hardware virtualization the scenarios run here; otherwise this
#   script re-runs itself inside the L1 machine (tests/harness/l1-run.sh) and checks
#   the result. Inside L1 it runs under busybox sh, so it sticks to POSIX sh.
# Output: one `PASS name` / `FAIL name: reason` line per scenario, then
# `N passed, N failed`. Exit status is non-zero if anything failed.
# Environment: EMBER, GUEST_VMLINUX, GUEST_BZIMAGE, GUEST_INITRD (set by the L1
# init or derived here), EMBER_TIMEOUT (seconds per ember run, default 120).
set -euo pipefail

# --- host side: pick where to run -------------------------------------------------
if [ -z "${EMBER_IN_L1:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	root=$(cd "$here/../.." && pwd)
	# shellcheck source=tests/harness/common.sh
	. "$root/tests/harness/common.sh"
	if ! have_hw_kvm; then
		log "no hardware virtualization here: running inside the L1 machine"
		out=$(mktemp)
		trap 'rm -f "$out"' EXIT
		rc=0
		"$root/tests/harness/l1-run.sh" --bin "$(command -v curl)" "$here/tier3.sh" | tee "$out" || rc=$?
		summary=$(tr -d '\r' <"$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1 || true)
		[ -n "$summary" ] || die "no summary line from the L1 run"
		[ "$rc" -eq 0 ] && [ "${summary#* passed, }" = "0 failed" ] || exit 1
		exit 0
	fi
	log "hardware virtualization available: running directly"
	kdir=$("$root/kernels/build.sh" | tail -n1)
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	export EMBER=${EMBER:-$root/build/ember}
	export GUEST_VMLINUX=$kdir/vmlinux GUEST_BZIMAGE=$kdir/bzImage
	GUEST_INITRD=$("$root/tests/guests/mkinitramfs.sh" "$work/initrd.cpio.gz")
	export GUEST_INITRD
fi

# --- the scenarios (POSIX sh from here on) -----------------------------------------
T=${EMBER_TIMEOUT:-120}
CMDLINE="console=ttyS0 reboot=k panic=1 pci=off nomodules quiet"
logs=$(mktemp -d)
passed=0
failed=0

now() { cut -d' ' -f1 /proc/uptime; }

# result NAME START REASON: REASON empty means pass. Failures show the log's tail.
result() {
	took=$(awk -v a="$2" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
	if [ -z "$3" ]; then
		echo "PASS $1 ($took s)"
		passed=$((passed + 1))
	else
		echo "FAIL $1: $3 ($took s)"
		tail -n 25 "$logs/$1.log" 2>/dev/null | tr -d '\r' | sed 's/^/  | /' || true
		failed=$((failed + 1))
	fi
}

# ember_run NAME ARGS...: run ember with stdin from /dev/null, log in $logs/NAME.log,
# status in $rc.
ember_run() {
	name=$1
	shift
	rc=0
	timeout -s KILL "$T" "$EMBER" "$@" </dev/null >"$logs/$name.log" 2>&1 || rc=$?
}

# why NAME [PATTERN]: why the last run failed: its status, or a missing PATTERN in the log.
why() {
	case $rc in
	0) ;;
	124 | 137 | 143) echo "timed out after ${T}s"; return ;;
	*) echo "exit status $rc"; return ;;
	esac
	if [ -n "${2:-}" ] && ! grep -q "$2" "$logs/$1.log"; then
		echo "no '$2' in the output"
	fi
}

scenario_boot_vmlinux() {
	t0=$(now)
	ember_run boot-vmlinux --kernel "$GUEST_VMLINUX" --initrd "$GUEST_INITRD"
	result boot-vmlinux "$t0" "$(why boot-vmlinux 'ember: hello from the guest')"
}

scenario_two_vcpus() {
	t0=$(now)
	ember_run vcpus-2 --kernel "$GUEST_VMLINUX" --initrd "$GUEST_INITRD" --vcpus 2 --cmdline "$CMDLINE"
	result vcpus-2 "$t0" "$(why vcpus-2 'ember: cpus online 2')"
}

scenario_boot_bzimage() {
	t0=$(now)
	ember_run boot-bzimage --kernel "$GUEST_BZIMAGE" --initrd "$GUEST_INITRD" --cmdline "$CMDLINE"
	result boot-bzimage "$t0" "$(why boot-bzimage 'ember: hello from the guest')"
}

# A triple-fault reboot (reboot=t) must end ember with status 0 as well.
scenario_reboot_exit() {
	t0=$(now)
	ember_run reboot-triple-fault --kernel "$GUEST_VMLINUX" --initrd "$GUEST_INITRD" \
		--cmdline "console=ttyS0 reboot=t panic=1 pci=off quiet"
	result reboot-triple-fault "$t0" "$(why reboot-triple-fault 'ember: hello from the guest')"
}

# The line is written once the guest has greeted, so it is read by init's fgets.
scenario_serial_input() {
	t0=$(now)
	log=$logs/serial-input.log
	: >"$log"
	rc=0
	# shellcheck disable=SC2094 # the writer waits for the greeting in ember's log
	{
		i=0
		while ! grep -q 'ember: hello from the guest' "$log" && [ $i -lt $((T * 10)) ]; do
			sleep 0.1
			i=$((i + 1))
		done
		echo "ping from the host 42"
	} | timeout -s KILL "$T" "$EMBER" --kernel "$GUEST_VMLINUX" --initrd "$GUEST_INITRD" \
		--cmdline "$CMDLINE ember.test=echo" >"$log" 2>&1 || rc=$?
	result serial-input "$t0" "$(why serial-input 'ember: got ping from the host 42')"
}

scenario_boot_timer() {
	t0=$(now)
	ember_run boot-timer --kernel "$GUEST_VMLINUX" --initrd "$GUEST_INITRD" --cmdline "$CMDLINE" --boot-timer
	result boot-timer "$t0" "$(why boot-timer 'Guest-boot-time = *[0-9]* us')"
	grep -m1 'Guest-boot-time' "$logs/boot-timer.log" | sed 's/^/  boot-timer: /' || true
}

scenario_config_file() {
	t0=$(now)
	cat >"$logs/vm.json" <<JSON
{
  "boot-source": {
    "kernel_image_path": "$GUEST_VMLINUX",
    "initrd_path": "$GUEST_INITRD",
    "boot_args": "$CMDLINE"
  },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 }
}
JSON
	ember_run config-file --config-file "$logs/vm.json"
	result config-file "$t0" "$(why config-file 'ember: hello from the guest')"
}

# The Firecracker getting-started flow through the API socket, with curl.
FC_ARGS="console=ttyS0 reboot=k panic=1 pci=off nomodules quiet i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
api() { # METHOD PATH BODY: fails unless the answer is 204
	code=$(curl -s -o "$logs/api-body" -w '%{http_code}' --unix-socket "$logs/api.sock" \
		-X "$1" "http://localhost$2" -H 'Content-Type: application/json' -d "$3")
	[ "$code" = 204 ] || { echo "api: $1 $2 -> $code $(cat "$logs/api-body")" >>"$logs/$name.log"; return 1; }
}
api_start() { # NAME EXTRA_BOOT_ARGS: ember waits on the socket, gets configured, starts
	name=$1
	rm -f "$logs/api.sock"
	timeout -s KILL "$T" "$EMBER" --api-sock "$logs/api.sock" </dev/null >"$logs/$name.log" 2>&1 &
	api_pid=$!
	i=0
	while [ ! -S "$logs/api.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	dd if=/dev/zero of="$logs/rootfs.ext4" bs=1M count=8 2>/dev/null
	api PUT /boot-source "{\"kernel_image_path\": \"$GUEST_VMLINUX\", \"initrd_path\": \"$GUEST_INITRD\", \"boot_args\": \"$FC_ARGS $2\"}" &&
	api PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$logs/rootfs.ext4\", \"is_root_device\": true, \"is_read_only\": false}" &&
	api PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}' &&
	api PUT /actions '{"action_type": "InstanceStart"}'
}

scenario_api_getting_started() {
	t0=$(now)
	rc=0
	api_start api-getting-started "" || rc=1
	wait "$api_pid" || rc=$?
	result api-getting-started "$t0" "$(why api-getting-started 'ember: cpus online 2')"
}

# SendCtrlAltDel: the guest's i8042/atkbd/VT drivers reboot it, ember exits 0.
scenario_ctrl_alt_del() {
	t0=$(now)
	rc=0
	api_start ctrl-alt-del "ember.test=echo" || rc=1
	i=0
	while ! grep -q 'ember: hello from the guest' "$logs/ctrl-alt-del.log" && [ $i -lt $((T * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ $rc -eq 0 ] && { api PUT /actions '{"action_type": "SendCtrlAltDel"}' || rc=1; }
	wait "$api_pid" || rc=$?
	if [ $rc -eq 0 ] && grep -q 'ember: got' "$logs/ctrl-alt-del.log"; then rc=1; fi
	result ctrl-alt-del "$t0" "$(why ctrl-alt-del 'guest requested a reset (i8042)')"
}

if [ ! -x "${EMBER:-}" ]; then
	echo "FAIL setup: no ember binary at '${EMBER:-}'"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "tier3: $EMBER, guest $GUEST_VMLINUX, ${T}s per ember run"
scenario_boot_vmlinux
scenario_two_vcpus
scenario_boot_bzimage
scenario_reboot_exit
scenario_serial_input
scenario_boot_timer
scenario_config_file
scenario_api_getting_started
scenario_ctrl_alt_del
rm -rf "$logs"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
