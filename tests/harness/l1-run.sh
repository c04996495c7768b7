#!/usr/bin/env bash
# Run a test script inside the L1 machine: a QEMU TCG x86_64 VM with emulated AMD SVM
# whose Debian cloud kernel offers a real /dev/kvm (DESIGN.md §5).
#
# Usage: tests/harness/l1-run.sh [options] TEST_SCRIPT
#   --ember PATH       ember binary to include (repeatable; default: build/ember and
#                      build/ember-jailer when present) -> /opt/ember/bin/
#   --kernel-dir DIR   guest kernel directory (default: the one kernels/build.sh prints)
#   --initrd PATH      guest initramfs (default: built with tests/guests/mkinitramfs.sh)
#   --file SRC:DEST    extra file for the L1 image, at /DEST (repeatable)
#   --bin PATH         a host program to include with its shared libraries, at the
#                      same path (repeatable; e.g. /usr/bin/curl)
#   --with-qemu        include qemu-system-x86_64, its libraries and x86 firmware
#   --smp N            L1 vCPUs (default 2; 1 runs TCG single-threaded)
#   --mem MIB          L1 memory (default 2048)
#   --timeout SEC      limit for one L1 run (default 900)
#   --boot-timeout SEC limit for L1 to reach its init (default 60)
#   --quiet-timeout SEC  limit for a console that prints nothing but kernel messages
#                        (default 300; 0: none):
#                      L1 with 2 vCPUs sometimes hangs mid-run, and waiting for
#                      --timeout then costs a quarter of an hour
#
# Inside L1 the test runs as `sh /opt/ember/test.sh` with EMBER, EMBER_JAILER,
# GUEST_VMLINUX, GUEST_BZIMAGE, GUEST_INITRD and EMBER_IN_L1=1 in its environment.
# The console is streamed to stdout. A run that hangs or ends without the test's exit
# status is retried (up to 4 attempts). Exit status: the test script's, or 1 if it never finished.
set -euo pipefail
# shellcheck source=tests/harness/common.sh
source "$(dirname "$0")/common.sh"

embers=() files=() bins=() kdir="" initrd="" with_qemu=0 smp=2 mem=2048 limit=900 boot_limit=60 quiet_limit=300
while [[ $# -gt 1 ]]; do
	case $1 in
	--ember) embers+=("$2"); shift 2 ;;
	--kernel-dir) kdir=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--file) files+=("$2"); shift 2 ;;
	--bin) bins+=("$2"); shift 2 ;;
	--with-qemu) with_qemu=1; shift ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--timeout) limit=$2; shift 2 ;;
	--boot-timeout) boot_limit=$2; shift 2 ;;
	--quiet-timeout) quiet_limit=$2; shift 2 ;;
	*) die "unknown option $1" ;;
	esac
done
[[ $# -eq 1 && -f $1 ]] || die "usage: $0 [options] TEST_SCRIPT"
test_script=$1

need_pkgs qemu-system-x86 busybox-static cpio kmod coreutils
if ((${#embers[@]} == 0)); then
	for b in "$ROOT/build/ember" "$ROOT/build/ember-jailer"; do [[ -x $b ]] && embers+=("$b"); done
fi
[[ -n $kdir ]] || kdir=$("$ROOT/kernels/build.sh" | tail -n1)
l1=$("$(dirname "$0")/l1-kernel.sh" | tail -n1)
ver=${l1##*/}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
[[ -n $initrd ]] || initrd=$("$ROOT/tests/guests/mkinitramfs.sh" "$work/guest-initrd.cpio.gz")

# --- L1 image ------------------------------------------------------------------
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,var,lib/modules,opt/ember/bin,opt/ember/guest}
ln -s ../run "$root/var/run"  # ip netns keeps its namespaces in /var/run/netns
cp /bin/busybox "$root/bin/"
for applet in $(busybox --list-full); do
	[[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
done

# Modules with their dependencies, in load order.
mods=()
add_module() {
	local name=$1 ko dep
	[[ " ${mods[*]} " == *" $name "* ]] && return 0
	ko=$(find "$l1/lib/modules/$ver/kernel" -name "$name.ko" | head -n1)
	[[ -n $ko ]] || { log "L1 kernel has no module $name"; return 0; }
	for dep in $(modinfo -F depends "$ko" | tr ',' ' '); do add_module "$dep"; done
	cp "$ko" "$root/lib/modules/"
	mods+=("$name")
}
# vhost_net, vhost_vsock: QEMU's vhost=on and vhost-vsock-device (the net and
# vsock references); vsock_loopback: AF_VSOCK within L1 itself; sch_tbf: tc.
for m in irqbypass kvm kvm-amd tun veth bridge vhost_net vhost_vsock vsock_loopback sch_tbf; do add_module "$m"; done

for b in ${embers[@]+"${embers[@]}"}; do cp "$b" "$root/opt/ember/bin/"; done
cp "$kdir/vmlinux" "$kdir/bzImage" "$root/opt/ember/guest/"
cp "$initrd" "$root/opt/ember/guest/initrd"
cp "$test_script" "$root/opt/ember/test.sh"
for spec in ${files[@]+"${files[@]}"}; do
	mkdir -p "$(dirname "$root/${spec#*:}")"
	cp "${spec%%:*}" "$root/${spec#*:}"
done

# A program and every shared library it loads, at their host paths.
add_program() {
	local f
	for f in "$1" $(ldd "$1" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$f")"
		rm -f "$root$f"  # a busybox applet link there would be written through
		cp -L "$f" "$root$f"
	done
}
for b in ${bins[@]+"${bins[@]}"}; do add_program "$b"; done

if ((with_qemu)); then
	add_program /usr/bin/qemu-system-x86_64
	mkdir -p "$root/usr/share/qemu"
	for fw in bios-microvm.bin qboot.rom pvh.bin linuxboot.bin linuxboot_dma.bin kvmvapic.bin multiboot.bin multiboot_dma.bin; do
		cp -L "/usr/share/qemu/$fw" "$root/usr/share/qemu/"
	done
fi

cat >"$root/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
d=\$(sed -n 's/.*ember\.date=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -z "\$d" ] || date -s "@\$d" >/dev/null
echo "l1: init reached after \$(cut -d' ' -f1 /proc/uptime) s"
for m in ${mods[*]}; do insmod /lib/modules/\$m.ko || echo "l1: insmod \$m failed"; done
[ -c /dev/kvm ] || echo "l1: no /dev/kvm"
export PATH=/opt/ember/bin:/bin:/sbin:/usr/bin:/usr/sbin HOME=/tmp EMBER_IN_L1=1
export EMBER=/opt/ember/bin/ember EMBER_JAILER=/opt/ember/bin/ember-jailer
export GUEST_VMLINUX=/opt/ember/guest/vmlinux GUEST_BZIMAGE=/opt/ember/guest/bzImage
export GUEST_INITRD=/opt/ember/guest/initrd
cd /tmp
sh /opt/ember/test.sh
echo "l1: test exit status \$?"
reboot -f
INIT
chmod +x "$root/init"
# Uncompressed: the L1 kernel unpacks it at TCG speed, decompression would cost more.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$work/l1.cpio"
log "L1 image $(du -h "$work/l1.cpio" | cut -f1), kernel $ver, $smp vCPU(s), ${mem} MiB"

# --- run ------------------------------------------------------------------------
# TCG's TSC is the host's, but the L1 kernel fails to calibrate it against the emulated
# PIT here; KVM then never enters a guest (tsc_khz 0). Hand it the host's frequency.
tsc_khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
append="console=ttyS0 reboot=t panic=-1 quiet${tsc_khz:+ tsc_early_khz=$tsc_khz}"
accel=tcg
((smp > 1)) && accel=tcg,thread=multi
# shellcheck disable=SC2054 # commas belong to -M
qemu_cmd=(qemu-system-x86_64 -M microvm,isa-serial=on,rtc=off -accel "$accel" -smp "$smp"
	-cpu EPYC,+svm,+npt -m "$mem" -nodefaults -no-user-config -nographic -serial stdio
	-kernel "$l1/vmlinuz" -initrd "$work/l1.cpio" -no-reboot)

# One L1 run; prints the console on stdout, returns the test's status or 255.
run_once() {
	local console=$work/console.log start=$SECONDS qpid tpid status size=-1 lines heard=$SECONDS
	: >"$console"
	timeout "$limit" "${qemu_cmd[@]}" -append "$append ember.date=$(date +%s)" </dev/null >"$console" 2>"$work/qemu.err" &
	qpid=$!
	tail -n +1 -f --pid="$qpid" "$console" | tr -d '\r' &
	tpid=$!
	while kill -0 "$qpid" 2>/dev/null; do
		if ((SECONDS - start > boot_limit)) && ! grep -q '^l1: init reached' "$console"; then
			log "L1 did not reach its init within ${boot_limit}s"
			kill "$qpid"
			break
		fi
		# Progress is a line that is not the kernel's own: a wedged L1 can
		# print soft-lockup and RCU-stall reports for ever.
		lines=$(grep -cv '^\[ *[0-9]*\.[0-9]*\] ' "$console" || true)
		if [[ $lines != "$size" ]]; then
			size=$lines heard=$SECONDS
		elif ((quiet_limit > 0 && SECONDS - heard > quiet_limit)); then
			log "L1 printed nothing for ${quiet_limit}s: taken as a hang"
			kill "$qpid"
			break
		fi
		sleep 1
	done
	wait "$qpid" || true
	wait "$tpid" || true
	grep -v "TCG doesn't support requested feature" "$work/qemu.err" >&2 || true
	status=$(tr -d '\r' <"$console" | sed -n 's/^l1: test exit status \([0-9]*\)$/\1/p' | tail -n1)
	log "L1 run took $((SECONDS - start)) s"
	[[ -n $status ]] || return 255
	return "$status"
}

for attempt in 1 2 3 4; do
	rc=0
	run_once || rc=$?
	((rc != 255)) && exit "$rc"
	log "attempt $attempt: no result from L1 (hang, crash or timeout)"
done
exit 1
