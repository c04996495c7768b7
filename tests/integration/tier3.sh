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
# init or derived here: the default, ACPI-only kernel), GUEST_LEGACY_VMLINUX (the
# legacy kernel without ACPI, kernels/microvm-legacy.config), GUEST_DEBIAN_KERNEL and
# GUEST_DEBIAN_INITRD (Debian's stock cloud kernel, with tests/guests/debian.sh), GUEST_ROOTFS (the ext4 root of the block scenarios, built
# with tests/guests/mkrootfs.sh), EMBER_TIMEOUT (seconds per ember run, default 120),
# TIER3_ONLY (boot, acpi, block, net, vsock, jailer or snapshot: run that group of
# scenarios only; default all), TIER3_VMM=qemu (run the block, net and vsock scenarios on QEMU's
# microvm instead of ember, to check the scenarios themselves against a
# reference), XFER (the host's xfer, tests/guests/xfer; built when unset),
# SNAP_WRITER=1 (the snapshot group's guest writes its drive hard: see tier3_snapshot.sh).
# The net and vsock scenarios are in tier3_net.sh, the ones through ember-jailer
# in tier3_jailer.sh (EMBER_JAILER), the Linux snapshot in tier3_snapshot.sh, all
# sourced from here.
set -euo pipefail

# --- host side: pick where to run -------------------------------------------------
if [ -z "${EMBER_IN_L1:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	root=$(cd "$here/../.." && pwd)
	# shellcheck source=tests/harness/common.sh
	. "$root/tests/harness/common.sh"
	# debian_guest DIR: Debian's stock cloud kernel (the package the L1 machine
	# boots) as DIR/vmlinuz, and DIR/initrd: the test init, busybox, its
	# virtio-mmio and virtio-blk modules and tests/guests/debian.sh.
	debian_guest() {
		l1dir=$("$root/tests/harness/l1-kernel.sh" | tail -n1)
		mods=$(echo "$l1dir"/lib/modules/*/kernel/drivers)
		mkdir -p "$1"
		cp "$l1dir/vmlinuz" "$1/vmlinuz"
		"$root/tests/guests/mkinitramfs.sh" "$1/initrd" "$root/tests/guests/debian.sh:tests/debian" \
			"$mods/virtio/virtio_ring.ko:lib/debian/virtio_ring.ko" "$mods/virtio/virtio.ko:lib/debian/virtio.ko" \
			"$mods/virtio/virtio_mmio.ko:lib/debian/virtio_mmio.ko" \
			"$mods/block/virtio_blk.ko:lib/debian/virtio_blk.ko" >/dev/null
	}
	if ! have_hw_kvm; then
		log "no hardware virtualization here: running inside the L1 machine"
		work=$(mktemp -d)
		trap 'rm -rf "$work"' EXIT
		out=$work/out
		"$root/tests/guests/mkrootfs.sh" "$work/root.ext4" >/dev/null
		legacy=$("$root/kernels/build.sh" microvm-legacy | tail -n1)
		debian_guest "$work/debian"
		echo "TIER3_ONLY='${TIER3_ONLY:-}' TIER3_VMM='${TIER3_VMM:-}'" >"$work/env"
		for v in NET_TIMEOUT NET_BULK NET_RATE NET_RATE_SECS SNAP_WRITER; do
			eval "[ -z \"\${$v:-}\" ] || echo \"$v='\$$v'\"" >>"$work/env"
		done
		xfer=${XFER:-$work/xfer}
		[ -n "${XFER:-}" ] || gcc -static -O2 -s -std=gnu11 -Wall -Wextra -Werror -o "$xfer" "$root/tests/guests/xfer/xfer.c"
		curl=$(command -v curl) debugfs=$(command -v debugfs) e2fsck=$(command -v e2fsck)
		need_pkgs iproute2
		qemu=""
		[ "${TIER3_VMM:-}" != qemu ] || qemu=--with-qemu
		ember=""  # EMBER overrides build/ember (l1-run.sh's default); no arrays: L1 parses this too
		[ -z "${EMBER:-}" ] || ember="--ember $EMBER"
		rc=0
		"$root/tests/harness/l1-run.sh" --bin "$curl" --bin "$debugfs" --bin "$e2fsck" --bin /usr/sbin/ip $qemu \
			$ember --file "$xfer:opt/ember/bin/xfer" \
			--file "$here/tier3_net.sh:opt/ember/tier3_net.sh" \
			--file "$here/tier3_jailer.sh:opt/ember/tier3_jailer.sh" \
			--file "$here/tier3_snapshot.sh:opt/ember/tier3_snapshot.sh" \
			--file "$legacy/vmlinux:opt/ember/guest/legacy/vmlinux" \
			--file "$work/debian/vmlinuz:opt/ember/guest/debian/vmlinuz" \
			--file "$work/debian/initrd:opt/ember/guest/debian/initrd" \
			--file "$work/root.ext4:opt/ember/guest/root.ext4" --file "$work/env:opt/ember/tier3.env" \
			"$here/tier3.sh" | tee "$out" || rc=$?
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
	GUEST_LEGACY_VMLINUX=$("$root/kernels/build.sh" microvm-legacy | tail -n1)/vmlinux
	debian_guest "$work/debian"
	export GUEST_LEGACY_VMLINUX GUEST_DEBIAN_KERNEL=$work/debian/vmlinuz GUEST_DEBIAN_INITRD=$work/debian/initrd
	GUEST_INITRD=$("$root/tests/guests/mkinitramfs.sh" "$work/initrd.cpio.gz")
	GUEST_ROOTFS=$("$root/tests/guests/mkrootfs.sh" "$work/root.ext4")
	export GUEST_INITRD GUEST_ROOTFS
	if [ -z "${XFER:-}" ]; then
		gcc -static -O2 -s -std=gnu11 -Wall -Wextra -Werror -o "$work/xfer" "$root/tests/guests/xfer/xfer.c"
		export XFER=$work/xfer
	fi
	export IPR=${IPR:-$(command -v ip)} TIER3_NET=$here/tier3_net.sh TIER3_JAILER=$here/tier3_jailer.sh
	export TIER3_SNAPSHOT=$here/tier3_snapshot.sh
	export EMBER_JAILER=${EMBER_JAILER:-$root/build/ember-jailer}
fi
if [ -n "${EMBER_IN_L1:-}" ] && [ -f /opt/ember/tier3.env ]; then
	# shellcheck source=/dev/null # written by the host side above
	. /opt/ember/tier3.env
	GUEST_ROOTFS=/opt/ember/guest/root.ext4
	GUEST_LEGACY_VMLINUX=/opt/ember/guest/legacy/vmlinux
	GUEST_DEBIAN_KERNEL=/opt/ember/guest/debian/vmlinuz GUEST_DEBIAN_INITRD=/opt/ember/guest/debian/initrd
	TIER3_NET=/opt/ember/tier3_net.sh
	TIER3_JAILER=/opt/ember/tier3_jailer.sh
	TIER3_SNAPSHOT=/opt/ember/tier3_snapshot.sh
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

# ember_feed NAME LINE ARGS...: run ember (log in $logs/NAME.log, status in
# $rc) and write LINE on its console once the guest has greeted, so that
# init's fgets (or its shell) reads it.
ember_feed() {
	log=$logs/$1.log line=$2
	shift 2
	: >"$log"
	rc=0
	# shellcheck disable=SC2094 # the writer waits for the greeting in ember's log
	{
		i=0
		while ! grep -q 'ember: hello from the guest' "$log" && [ $i -lt $((T * 10)) ]; do
			sleep 0.1
			i=$((i + 1))
		done
		echo "$line"
	} | timeout -s KILL "$T" "$EMBER" "$@" >"$log" 2>&1 || rc=$?
}

scenario_serial_input() {
	t0=$(now)
	ember_feed serial-input "ping from the host 42" --kernel "$GUEST_VMLINUX" \
		--initrd "$GUEST_INITRD" --cmdline "$CMDLINE ember.test=echo"
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

# A CPU template (the config file's "cpu-config", Firecracker's format)
# clears AVX2 (leaf 7 EBX bit 5) and SSE4.2 (leaf 1 ECX bit 20) and sets EST
# (leaf 1 ECX bit 7, which KVM never offers; Linux only shows it): the
# guest's /proc/cpuinfo shows it, against the same guest without the
# template.  AVX2 is checked gone when the guest had it (the TCG-emulated
# EPYC of the L1 machine offers none; hardware does), SSE4.2 always.
cpu_flags_run() { # NAME CONFIG: boot, run "grep flags /proc/cpuinfo" in the shell
	ember_feed "$1" "grep -m1 '^flags' /proc/cpuinfo | sed 's/^/cpuinfo /'; exit" \
		--no-api --config-file "$2"
}
cpu_flags() { # NAME: the flags line of that run, space-padded
	tr -d '\r' <"$logs/$1.log" | sed -n 's/^cpuinfo flags[[:space:]]*: *\(.*\)/ \1 /p' | head -n1
}
scenario_cpu_template() {
	t0=$(now)
	cat >"$logs/cpu-mods.json" <<'JSON'
{ "cpuid_modifiers": [
    { "leaf": "0x7", "subleaf": "0x0", "flags": 1, "modifiers": [
      { "register": "ebx", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxxxxx0xxxxx" } ] },
    { "leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [
      { "register": "ecx", "bitmap": "0b0xxxxxxxxxxxx1xxxxxxx" } ] } ] }
JSON
	for v in base tmpl; do
		extra=
		[ $v = tmpl ] && extra=", \"cpu-config\": \"$logs/cpu-mods.json\""
		cat >"$logs/cpu-vm-$v.json" <<JSON
{ "boot-source": { "kernel_image_path": "$GUEST_VMLINUX", "initrd_path": "$GUEST_INITRD",
                   "boot_args": "$CMDLINE ember.test=shell" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 } $extra }
JSON
	done
	cpu_flags_run cpu-template-base "$logs/cpu-vm-base.json"
	base_rc=$rc base=$(cpu_flags cpu-template-base)
	cpu_flags_run cpu-template "$logs/cpu-vm-tmpl.json"
	tmpl=$(cpu_flags cpu-template)
	reason=$(why cpu-template 'CPU template (custom): 2 CPUID leaves')
	case "$base_rc:$base" in
	0:*" sse4_2 "*) ;;
	*) reason="without the template: status $base_rc, no sse4_2 in '$base'" ;;
	esac
	case "$base" in *" est "*) reason="without the template the guest has est: '$base'" ;; esac
	if [ -z "$reason" ]; then
		case "$tmpl" in
		"") reason="no flags line with the template" ;;
		*" avx2 "*) reason="avx2 still there: '$tmpl'" ;;
		*" sse4_2 "*) reason="sse4_2 still there: '$tmpl'" ;;
		*" est "*) ;;
		*) reason="no est: '$tmpl'" ;;
		esac
	fi
	result cpu-template "$t0" "$reason"
	for v in base:"$base" template:"$tmpl"; do
		echo "  cpu-template: ${v%%:*}: $(echo "${v#*:}" | tr ' ' '\n' | grep -xE 'avx|avx2|sse4_2|est|hypervisor' | tr '\n' ' ')"
	done
	echo "  cpu-template: base flags:$base"
}

# The Firecracker getting-started flow through the API socket, with curl.
FC_ARGS="console=ttyS0 reboot=k panic=1 pci=off nomodules quiet i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
api() { # METHOD PATH BODY: fails unless the answer is 204
	code=$(curl -s -o "$logs/api-body" -w '%{http_code}' --unix-socket "$logs/api.sock" \
		-X "$1" "http://localhost$2" -H 'Content-Type: application/json' -d "$3")
	[ "$code" = 204 ] || { echo "api: $1 $2 -> $code $(cat "$logs/api-body")" >>"$logs/$name.log"; return 1; }
}
api_start() { # NAME EXTRA_BOOT_ARGS [BASE_BOOT_ARGS [KERNEL]]: ember waits on the socket, gets configured, starts
	name=$1 base=${3:-$FC_ARGS} kernel=${4:-$GUEST_VMLINUX}
	rm -f "$logs/api.sock"
	timeout -s KILL "$T" "$EMBER" --api-sock "$logs/api.sock" </dev/null >"$logs/$name.log" 2>&1 &
	api_pid=$!
	i=0
	while [ ! -S "$logs/api.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	dd if=/dev/zero of="$logs/rootfs.ext4" bs=1M count=8 2>/dev/null
	api PUT /boot-source "{\"kernel_image_path\": \"$kernel\", \"initrd_path\": \"$GUEST_INITRD\", \"boot_args\": \"$base $2\"}" &&
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

# ctrl_alt_del NAME EXTRA_BOOT_ARGS BASE_BOOT_ARGS EXIT_LINE [KERNEL]: SendCtrlAltDel
# once the guest has greeted; it must reboot (before reading a line) and ember
# exit 0 saying EXIT_LINE.
ctrl_alt_del() {
	t0=$(now)
	rc=0
	api_start "$1" "ember.test=echo $2" "$3" "${5:-}" || rc=1
	i=0
	while ! grep -q 'ember: hello from the guest' "$logs/$1.log" && [ $i -lt $((T * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ $rc -eq 0 ] && { api PUT /actions '{"action_type": "SendCtrlAltDel"}' || rc=1; }
	wait "$api_pid" || rc=$?
	if [ $rc -eq 0 ] && grep -q 'ember: got' "$logs/$1.log"; then rc=1; fi
	result "$1" "$t0" "$(why "$1" "$4")"
}

# SendCtrlAltDel: the guest's i8042/atkbd/VT drivers reboot it, ember exits 0.
# Firecracker's i8042.nopnp needs the legacy kernel: a hardware-reduced ACPI
# kernel has no fixed ISA IRQs, so its i8042 gets IRQ 1 only through PNP (the
# DSDT's PNP0303; ctrl-alt-del-acpi below).
scenario_ctrl_alt_del() {
	ctrl_alt_del ctrl-alt-del "" "$FC_ARGS" 'guest requested a reset (i8042)' "$GUEST_LEGACY_VMLINUX"
}

# --- ACPI: the default kernel finds CPUs and devices in ember's tables only;
# the legacy kernel (no ACPI) in the MP table and on the command line -------------

# The guest's check of its machine: 2 CPUs; virtio-blk, virtio-net and vsock
# bound to their drivers, on platform devices of the kind PARENT (LNRO0005:NN
# from the DSDT, or virtio-mmio.N from the command line); eth0 reaches the host.
hw_step() { # PARENT
	echo "parent=$1"
	cat <<'STEP'
cpus=$(grep -c ^processor /proc/cpuinfo)
[ "$cpus" = 2 ] || fail "the guest sees $cpus CPU(s)"
drivers=""
for d in /sys/bus/virtio/devices/*; do
	case $(readlink -f "$d") in */$parent*) ;; *) fail "$(basename "$d") is at $(readlink -f "$d")" ;; esac
	drivers="$drivers $(basename "$(readlink "$d/driver")")"
done
echo "hw: cpus $cpus, virtio drivers$drivers"
for want in virtio_blk virtio_net vmw_vsock_virtio_transport; do
	case "$drivers " in *" $want "*) ;; *) fail "no $want in:$drivers" ;; esac
done
STEP
	echo "$NETUP"
	echo 'ping -c 1 -W 10 172.16.0.1 >/dev/null || fail "eth0 does not reach the host"'
}

# hw_boot NAME KERNEL ENDING PARENT: boot KERNEL with 2 vCPUs, the root drive,
# virtio-net and vsock; the guest checks what it sees, then ENDING (a command
# run after the check).  Sets $reason.
hw_boot() {
	{ hw_step "$4"; echo 'echo "rootfs: step ok"'; echo "sync; $3"; } >"$logs/$1.step"
	reason=$(prepare "$1")
	[ -n "$reason" ] && return
	net_vm "$1" "$logs/$1.ext4" net vsock
	sed -i -e "s|\"kernel_image_path\": \"[^\"]*\"|\"kernel_image_path\": \"$2\"|" \
		-e 's|"vcpu_count": 1|"vcpu_count": 2|' "$logs/$1.json"
	vm_start "$1"
	vm_finish
	reason=$(blk_why "$1")
}

# The ACPI-only kernel: 2 CPUs (MADT), every device (DSDT); `poweroff -f`
# reaches the FADT's sleep control register (S5) and ember exits 0.
scenario_acpi_poweroff() {
	t0=$(now) n=acpi-devices-poweroff
	hw_boot $n "$GUEST_VMLINUX" "poweroff -f" LNRO0005
	[ -n "$reason" ] || grep -q 'guest powered off (ACPI S5)' "$logs/$n.log" ||
		reason="no 'guest powered off (ACPI S5)' from ember"
	grep -m1 'hw: cpus' "$logs/$n.log" | tr -d '\r' | sed "s/^/  $n: /" || true
	finish $n "$t0" "$reason"
}

# The legacy kernel: 2 CPUs (MP table), every device (virtio_mmio.device=).
scenario_legacy_devices() {
	t0=$(now) n=legacy-devices
	hw_boot $n "$GUEST_LEGACY_VMLINUX" ":" virtio-mmio
	grep -m1 'hw: cpus' "$logs/$n.log" | tr -d '\r' | sed "s/^/  $n: /" || true
	finish $n "$t0" "$reason"
}

# SendCtrlAltDel on the ACPI kernel without i8042.nopnp: the keyboard is found
# through the DSDT's PNP0303 device, and reboot=a resets through the FADT's
# reset register.
scenario_acpi_ctrl_alt_del() {
	ctrl_alt_del ctrl-alt-del-acpi "reboot=a" "$CMDLINE" 'guest requested a reset (ACPI)'
}

# The same with the i8042 flags of ember's default command line: atkbd binds
# without probing the keyboard (i8042.dumbkbd) and still turns the injected
# scancodes into a reboot.
scenario_acpi_ctrl_alt_del_dumbkbd() {
	ctrl_alt_del ctrl-alt-del-acpi-dumbkbd "reboot=a i8042.noaux i8042.nomux i8042.dumbkbd" "$CMDLINE" \
		'guest requested a reset (ACPI)'
}

# Debian's stock cloud kernel (ACPI only: no MP table parsing, no command-line
# virtio-mmio devices), 2 vCPUs: the guest sees 2 CPUs and the drive, loads
# virtio-mmio and virtio-blk from its own package, mounts the ext4 root drive
# and powers off.  Its 27 MB bzImage takes over a minute to boot nested.
scenario_debian_cloud() {
	t0=$(now) n=debian-cloud
	if [ ! -f "${GUEST_DEBIAN_KERNEL:-}" ]; then
		echo "SKIP $n: no Debian cloud kernel"
		return
	fi
	img=$logs/$n.ext4
	cp "$GUEST_ROOTFS" "$img"
	cat >"$logs/$n.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$GUEST_DEBIAN_KERNEL", "initrd_path": "$GUEST_DEBIAN_INITRD",
                   "boot_args": "console=ttyS0 reboot=k panic=1 pci=off quiet ember.test=debian" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 512 },
  "drives": [ { "drive_id": "rootfs", "path_on_host": "$img", "is_root_device": true,
                "is_read_only": false } ]
}
JSON
	rc=0
	timeout -s KILL 600 "$EMBER" --no-api --config-file "$logs/$n.json" </dev/null >"$logs/$n.log" 2>&1 || rc=$?
	reason=$(why $n 'guest powered off (ACPI S5)')
	[ -n "$reason" ] || grep -q 'debian: vda mounted ext4, init found' "$logs/$n.log" ||
		reason="the guest did not mount the ext4 root drive"
	[ -n "$reason" ] || grep -q 'debian: cpus 2, virtio 1, LNRO0005 1' "$logs/$n.log" ||
		reason="the guest does not see 2 CPUs and 1 virtio device"
	tr -d '\r' <"$logs/$n.log" | grep -E 'debian: (cpus|vda)|Guest-boot|ember: uptime' | sed "s/^/  $n: /" || true
	result $n "$t0" "$reason"
	rm -f "$img"
}

acpi_scenarios() {
	t0=$(now)
	scenario_acpi_ctrl_alt_del
	scenario_acpi_ctrl_alt_del_dumbkbd
	r=$(net_setup)
	if [ -n "$r" ]; then
		echo "$r" >"$logs/net-setup.log"
		result acpi-net-setup "$t0" "$r"
		return
	fi
	scenario_acpi_poweroff
	scenario_legacy_devices
	"$IPR" netns del "$NS" 2>/dev/null || true
	scenario_debian_cloud
}

# --- block devices: the ext4 root from tests/guests/mkrootfs.sh and raw data drives ---
# Each scenario boots a fresh copy of the root with its guest script added as /step
# (run by the root's init, which prints `rootfs: step ok` or `rootfs: FAIL reason`);
# the host then reads the images without mounting them (debugfs, e2fsck, md5sum).

# put_step IMG: the guest script on stdin becomes /step in IMG.
put_step() {
	cat >"$logs/step"
	debugfs -w -R "rm /step" "$1" >/dev/null 2>&1 || true
	debugfs -w -R "write $logs/step /step" "$1" >/dev/null 2>&1 || true
	debugfs -R "cat /step" "$1" 2>/dev/null | cmp -s - "$logs/step"
}

# blk_vm NAME DRIVE...: $logs/NAME.vm, a script that writes its pid to $logs/NAME.pid
# and execs the VMM with the guest kernel and the drives (PATH, PATH:ro or PATH:sync
# for the Sync I/O engine), the first one the root (vda, Writeback cache).
blk_vm() {
	name=$1
	shift
	if [ "${TIER3_VMM:-}" = qemu ]; then
		args="" n=0 rootmode=rw
		for d in "$@"; do
			case $d in *:ro) d=${d%:ro} ro=,readonly=on ;; *) d=${d%:sync} ro="" ;; esac
			[ $n -gt 0 ] || [ -z "$ro" ] || rootmode=ro
			args="$args -device virtio-blk-device,drive=d$n -drive id=d$n,file=$d,format=raw,if=none$ro"
			n=$((n + 1))
		done
		# acpi=off: microvm then lists its virtio-mmio devices on the command line,
		# which only the legacy kernel reads; reboot=t: it has no i8042 to reset through.
		echo "echo \$\$ >$logs/$name.pid; exec qemu-system-x86_64 -M microvm,isa-serial=on,rtc=off,acpi=off -accel kvm -cpu host -m 128" \
			"-nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel $GUEST_LEGACY_VMLINUX" \
			"$args -append '$CMDLINE reboot=t root=/dev/vda $rootmode'" >"$logs/$name.vm"
		return
	fi
	drives="" id=rootfs n=0
	for d in "$@"; do
		extra='"is_root_device": false'
		[ $n -gt 0 ] || extra='"is_root_device": true, "cache_type": "Writeback"'
		case $d in
		*:ro) d=${d%:ro} ro=true ;;
		*:sync) d=${d%:sync} ro=false extra="$extra, \"io_engine\": \"Sync\"" ;;
		*) ro=false ;;
		esac
		drives="$drives${drives:+,
    }{ \"drive_id\": \"$id\", \"path_on_host\": \"$d\", \"is_read_only\": $ro, $extra }"
		n=$((n + 1))
		id=data$n
	done
	cat >"$logs/$name.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$GUEST_VMLINUX", "boot_args": "$CMDLINE" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "drives": [
    $drives
  ]
}
JSON
	echo "echo \$\$ >$logs/$name.pid; exec $EMBER --no-api --config-file $logs/$name.json" >"$logs/$name.vm"
}

# blk_run NAME: run $logs/NAME.vm like ember_run.
blk_run() {
	rc=0
	timeout -s KILL "$T" sh "$logs/$1.vm" </dev/null >"$logs/$1.log" 2>&1 || rc=$?
}

# blk_why NAME: why the last run failed: the guest's FAIL line, the run's status,
# or no `rootfs: step ok`.
blk_why() {
	f=$(tr -d '\r' <"$logs/$1.log" | sed -n 's/.*rootfs: FAIL //p' | head -n1)
	if [ -n "$f" ]; then echo "guest: $f"; else why "$1" 'rootfs: step ok'; fi
}

# wait_for NAME PATTERN: until PATTERN shows in $logs/NAME.log; fails after $T
# seconds, or when the guest is rebooting or the VMM has ended.
wait_for() {
	i=0
	while ! grep -q "$2" "$logs/$1.log"; do
		[ $i -lt $((T * 10)) ] && ! grep -q 'rootfs: reboot' "$logs/$1.log" || return 1
		[ ! -s "$logs/$1.pid" ] || kill -0 "$(cat "$logs/$1.pid")" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

md5() { md5sum | cut -d' ' -f1; }

# The guest writes a small and a 2 MiB file on its rw root and reboots; the host
# finds the image clean and both files in it.
scenario_blk_root_write() {
	t0=$(now)
	img=$logs/root.ext4
	cp "$GUEST_ROOTFS" "$img"
	reason=""
	put_step "$img" <<'STEP' || reason="debugfs could not add /step to the image"
grep -q '^/dev/root / ext4 rw' /proc/mounts || fail "/ is not mounted rw: $(grep ' / ' /proc/mounts)"
echo "written by the guest on vda" >/hello.txt || fail "cannot write /hello.txt"
dd if=/dev/urandom of=/big.bin bs=64k count=32 2>/dev/null || fail "cannot write /big.bin"
md5sum /big.bin >/big.md5
echo "blk: big.bin md5 $(md5sum </big.bin | cut -d' ' -f1)"
STEP
	[ -n "$reason" ] || { blk_vm blk-root-write "$img" && blk_run blk-root-write; reason=$(blk_why blk-root-write); }
	log=$logs/blk-root-write.log
	if [ -z "$reason" ]; then
		fsck=0
		e2fsck -fn "$img" >>"$log" 2>&1 || fsck=$?
		got=$(debugfs -R "cat /hello.txt" "$img" 2>/dev/null)
		want=$(tr -d '\r' <"$log" | sed -n 's/^blk: big.bin md5 //p')
		if [ $fsck -ne 0 ]; then
			reason="e2fsck -fn finds the image unclean (status $fsck)"
		elif [ "$got" != "written by the guest on vda" ]; then
			reason="debugfs reads '$got' from /hello.txt"
		elif [ -z "$want" ] || [ "$(debugfs -R "cat /big.bin" "$img" 2>/dev/null | md5)" != "$want" ]; then
			reason="/big.bin in the image is not what the guest wrote (md5 '$want')"
		fi
	fi
	result blk-root-write "$t0" "$reason"
}

# A second boot of the same image reads the files back (a cold page cache).
scenario_blk_root_reread() {
	t0=$(now)
	img=$logs/root.ext4
	reason=""
	put_step "$img" <<'STEP' || reason="no image from blk-root-write, or debugfs could not add /step"
[ "$(cat /hello.txt)" = "written by the guest on vda" ] || fail "/hello.txt reads '$(cat /hello.txt)'"
md5sum -c -s /big.md5 || fail "/big.bin does not match its md5 from the first boot"
STEP
	[ -n "$reason" ] || { blk_vm blk-root-reread "$img" && blk_run blk-root-reread; reason=$(blk_why blk-root-reread); }
	result blk-root-reread "$t0" "$reason"
	rm -f "$img"
}

# A read-only second drive: the guest sees it read-only, its writes fail, and the
# image on the host is byte-identical afterwards.
scenario_blk_read_only() {
	t0=$(now)
	img=$logs/ro-root.ext4 data=$logs/ro.img
	cp "$GUEST_ROOTFS" "$img"
	dd if=/dev/urandom of="$data" bs=1M count=4 2>/dev/null
	sum=$(md5 <"$data")
	reason=""
	{ echo "sum=$sum"; cat <<'STEP'; } | put_step "$img" || reason="debugfs could not add /step to the image"
[ "$(cat /sys/block/vdb/ro)" = 1 ] || fail "/sys/block/vdb/ro is '$(cat /sys/block/vdb/ro)'"
[ "$(md5sum </dev/vdb | cut -d' ' -f1)" = "$sum" ] || fail "vdb reads back other bytes than the image holds"
echo "blk: write: $(dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=fsync 2>&1 && echo succeeded)"
blockdev --setrw /dev/vdb 2>/dev/null
echo "blk: forced write: $(dd if=/dev/zero of=/dev/vdb bs=4096 count=1 oflag=direct 2>&1 && echo succeeded)"
blockdev --flushbufs /dev/vdb 2>/dev/null
[ "$(md5sum </dev/vdb | cut -d' ' -f1)" = "$sum" ] || fail "vdb's contents changed"
STEP
	[ -n "$reason" ] || { blk_vm blk-read-only "$img" "$data:ro" && blk_run blk-read-only; reason=$(blk_why blk-read-only); }
	if [ -z "$reason" ] && grep -q 'write:.*succeeded' "$logs/blk-read-only.log"; then
		reason="a write to the read-only drive succeeded in the guest"
	elif [ -z "$reason" ] && [ "$(md5 <"$data")" != "$sum" ]; then
		reason="the read-only image changed on the host"
	fi
	result blk-read-only "$t0" "$reason"
	rm -f "$img" "$data"
}

# A read-only root: ember passes `ro`, the guest mounts / read-only and cannot
# write it, and the image is byte-identical afterwards.
scenario_blk_root_ro() {
	t0=$(now)
	img=$logs/ro-root.ext4
	cp "$GUEST_ROOTFS" "$img"
	reason=""
	put_step "$img" <<'STEP' || reason="debugfs could not add /step to the image"
grep -q '^/dev/root / ext4 ro' /proc/mounts || fail "/ is not mounted ro: $(grep ' / ' /proc/mounts)"
[ "$(cat /sys/block/vda/ro)" = 1 ] || fail "/sys/block/vda/ro is '$(cat /sys/block/vda/ro)'"
if echo x 2>/dev/null >/new.txt; then fail "writing /new.txt succeeded"; fi
STEP
	sum=$(md5 <"$img")
	[ -n "$reason" ] || { blk_vm blk-root-ro "$img:ro" && blk_run blk-root-ro; reason=$(blk_why blk-root-ro); }
	[ -n "$reason" ] || [ "$(md5 <"$img")" = "$sum" ] || reason="the read-only root image changed on the host"
	result blk-root-ro "$t0" "$reason"
	rm -f "$img"
}

# Reads past the end: a 4 MiB + 256 byte image shows 8192 sectors; reading at the
# end gives nothing; after the host shrinks the image to 1 MiB under the running
# guest, a read beyond it is an I/O error in the guest, and the drive and ember go on.
scenario_blk_past_end() {
	t0=$(now)
	img=$logs/end-root.ext4 data=$logs/end.img log=$logs/blk-past-end.log
	cp "$GUEST_ROOTFS" "$img"
	dd if=/dev/zero of="$data" bs=1M count=4 2>/dev/null
	printf MID-DISK | dd of="$data" bs=4096 seek=768 conv=notrunc 2>/dev/null
	printf LAST-SECTOR | dd of="$data" bs=512 seek=8191 conv=notrunc 2>/dev/null
	printf '%256s' "" >>"$data"
	reason=""
	put_step "$img" <<'STEP' || reason="debugfs could not add /step to the image"
[ "$(cat /sys/block/vdb/size)" = 8192 ] || fail "vdb has $(cat /sys/block/vdb/size) sectors, not 8192"
[ "$(dd if=/dev/vdb bs=512 skip=8191 count=1 2>/dev/null | head -c 11)" = LAST-SECTOR ] || fail "the last sector reads wrong"
n=$(dd if=/dev/vdb bs=512 skip=8192 count=1 2>/dev/null | wc -c)
[ "$n" -eq 0 ] || fail "a read at the end of vdb gave $n bytes"
[ "$(dd if=/dev/vdb bs=4096 skip=768 count=1 iflag=direct 2>/dev/null | head -c 8)" = MID-DISK ] || fail "block 768 reads wrong"
echo "blk: shrink the image now"
read -r line
if dd if=/dev/vdb of=/dev/null bs=4096 skip=768 count=1 iflag=direct 2>/dev/null; then
	fail "a read beyond the shrunk image succeeded"
fi
dd if=/dev/vdb of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null || fail "block 0 fails after the bad read"
echo "blk: vdb still works"
STEP
	if [ -z "$reason" ]; then
		blk_vm blk-past-end "$img" "$data"
		: >"$log"
		rc=0
		# shellcheck disable=SC2094 # the writer waits for the guest's line in the log
		{
			wait_for blk-past-end 'blk: shrink the image now' && truncate -s 1M "$data" && echo "shrunk"
		} | timeout -s KILL "$T" sh "$logs/blk-past-end.vm" >"$log" 2>&1 || rc=$?
		reason=$(blk_why blk-past-end)
	fi
	result blk-past-end "$t0" "$reason"
	rm -f "$img" "$data"
}

# Writes the guest has synced survive kill -9 of the VMM: the host replays the
# journal (e2fsck) and finds the file and a consistent filesystem.
scenario_blk_kill9() {
	t0=$(now)
	img=$logs/kill-root.ext4 log=$logs/blk-kill9.log
	cp "$GUEST_ROOTFS" "$img"
	reason=""
	put_step "$img" <<'STEP' || reason="debugfs could not add /step to the image"
seq 1 20000 >/kept.txt
sync
echo "blk: synced $(md5sum </kept.txt | cut -d' ' -f1)"
sleep 1000
STEP
	if [ -z "$reason" ]; then
		blk_vm blk-kill9 "$img"
		: >"$log"
		rc=0
		sh "$logs/blk-kill9.vm" </dev/null >"$log" 2>&1 &
		pid=$!
		# The whole md5 must be on the console before the kill: a prefix match
		# raced the serial output and compared a truncated sum.
		wait_for blk-kill9 'blk: synced [0-9a-f]\{32\}' || reason="no 'blk: synced <md5>' from the guest"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || rc=$?  # and no "Killed" from the shell
		[ -n "$reason" ] || [ $rc -eq 137 ] || reason="the VMM ended by itself (status $rc) before kill -9"
	fi
	if [ -z "$reason" ]; then
		want=$(tr -d '\r' <"$log" | sed -n 's/^blk: synced //p')
		e2fsck -y -E journal_only "$img" >>"$log" 2>&1 || true
		fsck=0
		e2fsck -fn "$img" >>"$log" 2>&1 || fsck=$?
		if [ $fsck -ne 0 ]; then
			reason="e2fsck -fn finds errors after the journal replay (status $fsck)"
		elif [ "$(debugfs -R "cat /kept.txt" "$img" 2>/dev/null | md5)" != "$want" ]; then
			reason="/kept.txt in the image is not what the guest synced"
		fi
	fi
	result blk-kill9 "$t0" "$reason"
	rm -f "$img"
}

# Root and three data drives: vda..vdd in configuration order, with their sizes,
# contents and read-only flags; a write to vdc (the Sync I/O engine) lands in its image.
scenario_blk_many_drives() {
	t0=$(now)
	img=$logs/many-root.ext4 b=$logs/b.img c=$logs/c.img d=$logs/d.img
	cp "$GUEST_ROOTFS" "$img"
	for x in b:1 c:3 d:2; do
		dd if=/dev/zero of="$logs/${x%:*}.img" bs=1M count="${x#*:}" 2>/dev/null
		printf "drive-%s" "${x%:*}" | dd of="$logs/${x%:*}.img" conv=notrunc 2>/dev/null
	done
	dsum=$(md5 <"$d")
	reason=""
	{ echo "root=$(($(wc -c <"$img") / 512))"; cat <<'STEP'; } | put_step "$img" || reason="debugfs could not add /step to the image"
[ "$(cd /sys/block && echo vd*)" = "vda vdb vdc vdd" ] || fail "block devices: $(cd /sys/block && echo vd*)"
check() { # DEV SECTORS MARKER RO
	[ "$(cat /sys/block/$1/size)" = "$2" ] || fail "$1 has $(cat /sys/block/$1/size) sectors, not $2"
	[ -z "$3" ] || [ "$(head -c 7 /dev/$1)" = "$3" ] || fail "$1 starts with '$(head -c 7 /dev/$1)', not $3"
	[ "$(cat /sys/block/$1/ro)" = "$4" ] || fail "/sys/block/$1/ro is $(cat /sys/block/$1/ro), not $4"
}
check vda "$root" "" 0
check vdb 2048 drive-b 0
check vdc 6144 drive-c 0
check vdd 4096 drive-d 1
echo "guest wrote vdc" | dd of=/dev/vdc bs=512 seek=1 conv=sync,fsync 2>/dev/null || fail "cannot write vdc"
STEP
	[ -n "$reason" ] || { blk_vm blk-many-drives "$img" "$b" "$c:sync" "$d:ro" && blk_run blk-many-drives; reason=$(blk_why blk-many-drives); }
	if [ -z "$reason" ] && [ "$(dd if="$c" bs=512 skip=1 count=1 2>/dev/null | head -c 15)" != "guest wrote vdc" ]; then
		reason="the guest's write to vdc is not in c.img"
	elif [ -z "$reason" ] && [ "$(md5 <"$d")" != "$dsum" ]; then
		reason="the read-only d.img changed"
	fi
	result blk-many-drives "$t0" "$reason"
	rm -f "$img" "$b" "$c" "$d"
}

# shellcheck source=tests/integration/tier3_net.sh
. "${TIER3_NET:?}"
# shellcheck source=tests/integration/tier3_jailer.sh
. "${TIER3_JAILER:?}"
# shellcheck source=tests/integration/tier3_snapshot.sh
. "${TIER3_SNAPSHOT:?}"

if [ ! -x "${EMBER:-}" ]; then
	echo "FAIL setup: no ember binary at '${EMBER:-}'"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "tier3: $EMBER, guest $GUEST_VMLINUX (legacy ${GUEST_LEGACY_VMLINUX:-none}), ${T}s per ember run"
if [ -z "${TIER3_ONLY:-}" ] || [ "$TIER3_ONLY" = boot ]; then
	scenario_boot_vmlinux
	scenario_two_vcpus
	scenario_boot_bzimage
	scenario_reboot_exit
	scenario_serial_input
	scenario_boot_timer
	scenario_config_file
	scenario_cpu_template
	scenario_api_getting_started
	scenario_ctrl_alt_del
fi
if [ -z "${TIER3_ONLY:-}" ] || [ "$TIER3_ONLY" = acpi ]; then
	acpi_scenarios
fi
if [ -z "${TIER3_ONLY:-}" ] || [ "$TIER3_ONLY" = block ]; then
	scenario_blk_root_write
	scenario_blk_root_reread
	scenario_blk_read_only
	scenario_blk_root_ro
	scenario_blk_past_end
	scenario_blk_kill9
	scenario_blk_many_drives
fi
if [ -z "${TIER3_ONLY:-}" ] || [ "$TIER3_ONLY" = net ]; then
	net_scenarios
fi
if [ -z "${TIER3_ONLY:-}" ] || [ "$TIER3_ONLY" = vsock ]; then
	vsock_scenarios
fi
if [ "${TIER3_VMM:-}" != qemu ] && { [ -z "${TIER3_ONLY:-}" ] || [ "$TIER3_ONLY" = jailer ]; }; then
	jailer_scenarios
fi
if [ -z "${TIER3_ONLY:-}" ] || [ "$TIER3_ONLY" = snapshot ]; then
	snapshot_scenarios
fi
rm -rf "$logs"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
