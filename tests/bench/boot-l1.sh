#!/bin/sh
# Boot benchmark, run where Linux guests boot (inside L1, or directly on a
# host with hardware KVM): ember and QEMU's microvm machine boot the same
# vmlinux and initramfs with the same vCPUs and memory, alternately, RUNS
# times each.  Boot-to-init is the wall time from exec to the init's greeting
# on the console, measured the same way for both; ember's boot timer (start
# to the init's MMIO write) is reported too.  GUEST_VMLINUX is the ACPI-only
# kernel (QEMU's microvm has ACPI on); with GUEST_LEGACY_VMLINUX (the kernel
# without ACPI) ember boots that one too in the same rounds, which prices ACPI.
# Then each VMM's memory overhead (RSS minus guest RAM touched) with the guest
# idle at its prompt.
# env: EMBER GUEST_VMLINUX GUEST_INITRD BOOTWATCH RSS [RUNS=10] [QEMU] [GUEST_LEGACY_VMLINUX]
RUNS=${RUNS:-10}
QEMU=${QEMU:-qemu-system-x86_64}
BW=${BOOTWATCH:-bootwatch}
MEM=128
MARK="ember: hello from the guest"
ARGS="console=ttyS0 reboot=t panic=-1 pci=off nomodules quiet"
D=$(mktemp -d)
# Inside L1, l1-run.sh's --file puts the legacy kernel here.
[ -n "${GUEST_LEGACY_VMLINUX:-}" ] || [ ! -f /opt/ember/guest/legacy/vmlinux ] ||
	GUEST_LEGACY_VMLINUX=/opt/ember/guest/legacy/vmlinux

ember_cmd() { echo "$EMBER --kernel ${1:-$GUEST_VMLINUX} --initrd $GUEST_INITRD --vcpus 1 --mem-mib $MEM --boot-timer --cmdline"; }
qemu_cmd() {
	echo "$QEMU -M microvm,isa-serial=on,rtc=off -accel kvm -cpu host -smp 1 -m $MEM -nodefaults -no-user-config -nographic -serial stdio -kernel $GUEST_VMLINUX -initrd $GUEST_INITRD -no-reboot -append"
}

# stats FILE COLUMN -> "min median max"
stats() {
	cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 } END { printf "%d %d %d", v[1], v[int((NR + 1) / 2)], v[NR] }'
}

i=0
while [ "$i" -lt "$RUNS" ]; do
	$BW "$MARK" $(ember_cmd) "$ARGS" >>"$D/ember" || exit 1
	$BW "$MARK" $(qemu_cmd) "$ARGS" >>"$D/qemu" || exit 1
	[ -z "${GUEST_LEGACY_VMLINUX:-}" ] ||
		$BW "$MARK" $(ember_cmd "$GUEST_LEGACY_VMLINUX") "$ARGS" >>"$D/legacy" || exit 1
	i=$((i + 1))
done
for v in ember qemu ${GUEST_LEGACY_VMLINUX:+legacy}; do
	if awk '$1 == 0 || $4 != 0 { bad = 1 } END { exit !bad }' "$D/$v"; then
		echo "bench: $v failed to boot:"; cat "$D/$v"; exit 1
	fi
done

set -- $(stats "$D/ember" 1); e_min=$1 e_med=$2 e_max=$3
set -- $(stats "$D/qemu" 1); q_min=$1 q_med=$2 q_max=$3
set -- $(stats "$D/ember" 3); t_min=$1 t_med=$2 t_max=$3
set -- $(stats "$D/ember" 2); ee_min=$1 ee_med=$2 ee_max=$3
set -- $(stats "$D/qemu" 2); qe_min=$1 qe_med=$2 qe_max=$3
echo "bench: boot-to-init over $RUNS runs, us (min / median / max)"
echo "bench:   ember exec->init      $e_min / $e_med / $e_max"
echo "bench:   qemu microvm exec->init $q_min / $q_med / $q_max"
echo "bench:   ember boot timer      $t_min / $t_med / $t_max"
echo "bench:   ember exec->exit      $ee_min / $ee_med / $ee_max"
echo "bench:   qemu exec->exit       $qe_min / $qe_med / $qe_max"
awk -v e="$e_med" -v q="$q_med" -v ee="$ee_med" -v qe="$qe_med" 'BEGIN {
	printf "bench: ratio ember/qemu boot-to-init (median) %.3f\n", e / q
	printf "bench: ratio ember/qemu exec-to-exit (median) %.3f\n", ee / qe }'
if [ -n "${GUEST_LEGACY_VMLINUX:-}" ]; then
	set -- $(stats "$D/legacy" 1); l_min=$1 l_med=$2 l_max=$3
	set -- $(stats "$D/legacy" 3); lt_min=$1 lt_med=$2 lt_max=$3
	echo "bench:   ember legacy kernel (no ACPI) exec->init $l_min / $l_med / $l_max"
	echo "bench:   ember legacy kernel boot timer $lt_min / $lt_med / $lt_max"
	awk -v e="$e_med" -v l="$l_med" 'BEGIN {
		printf "bench: ratio ACPI/legacy kernel under ember, boot-to-init (median) %.3f\n", e / l }'
fi

# Memory overhead: the guest waits at a prompt (ember.test=echo) while we look.
mem_overhead() { # NAME CMD...
	name=$1; shift
	rm -f "$D/in"; mkfifo "$D/in"
	"$@" <"$D/in" >"$D/$name.out" 2>&1 &
	pid=$!
	exec 3>"$D/in"
	n=0
	while ! grep -q "$MARK" "$D/$name.out" && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
	sleep 1
	set -- $(sh "${RSS:-$(dirname "$0")/rss.sh}" "$pid")
	echo "bench: memory $name: rss ${1} KiB, guest touched ${2} KiB, overhead ${3} KiB"
	echo "done" >&3
	exec 3>&-
	wait "$pid"
}
mem_overhead ember $(ember_cmd) "$ARGS ember.test=echo"
mem_overhead qemu $(qemu_cmd) "$ARGS ember.test=echo"
rm -rf "$D"
