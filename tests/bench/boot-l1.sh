#!/bin/sh
# Boot benchmark, run where Linux guests boot (inside L1, or directly on a
# host with hardware KVM): ember and QEMU's microvm machine boot the same
# vmlinux and initramfs with the same vCPUs and memory, alternately, RUNS
# times each.  Boot-to-init is the wall time from exec to the init's greeting
# on the console, measured the same way for both; ember's boot timer (start
# to the init's MMIO write) is reported too.  GUEST_VMLINUX is the ACPI-only
# kernel (QEMU's microvm has ACPI on); with GUEST_LEGACY_VMLINUX (the kernel
# without ACPI) ember boots that one too in the same rounds, which prices ACPI.
# QEMU boots twice a round: "qemu" is microvm without its RTC (rtc=off, as the
# L1 recipe runs it: the stricter peer), "qemu-default" is microvm as it comes
# (its CMOS RTC on), the peer issue 18 names.  With GUEST_BZIMAGE (the same
# kernel compressed) ember and both QEMUs boot that too.
# Then each VMM's memory overhead (RSS minus guest RAM touched) with the guest
# idle at its prompt.
# VM exits come with every boot figure, "to init" (when the greeting appears)
# and "to exit": for both VMMs from the host kernel's KVM statistics of that VM
# (debugfs, the same counters for ember and QEMU), and for ember from its own
# metrics (KVM_RUN returns by reason, and those up to the boot-timer write).
# With tracefs, one more boot of each kind breaks the exits down by hardware
# exit reason, I/O port, MMIO page and MSR (kvm tracepoint histograms; not
# in the timed boots, whose figures the tracing would skew).
# env: EMBER GUEST_VMLINUX GUEST_INITRD BOOTWATCH RSS [RUNS=10] [QEMU] [GUEST_LEGACY_VMLINUX]
#      [GUEST_BZIMAGE] [EXIT_TRACE=1]
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

# The L1 kernel's per-VM KVM statistics live in debugfs.
mountpoint -q /sys/kernel/debug 2>/dev/null || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
KVMSTATS=; [ -d /sys/kernel/debug/kvm ] && KVMSTATS=1
[ -n "$KVMSTATS" ] || echo "bench: no KVM statistics in debugfs: exits from ember's metrics only"

# ember_cmd [KERNEL [METRICS_FILE]]
ember_cmd() {
	cfg=
	if [ -n "${2:-}" ]; then
		: >"$2"
		echo "{\"metrics\": {\"metrics_path\": \"$2\"}}" >"$2.cfg"
		cfg="--config-file $2.cfg"
	fi
	echo "$EMBER $cfg --kernel ${1:-$GUEST_VMLINUX} --initrd $GUEST_INITRD --vcpus 1 --mem-mib $MEM --boot-timer --cmdline"
}
# qemu_cmd [KERNEL [MACHINE]]: microvm without its RTC unless MACHINE says otherwise
qemu_cmd() {
	echo "$QEMU -M ${2:-microvm,isa-serial=on,rtc=off} -accel kvm -cpu host -smp 1 -m $MEM -nodefaults -no-user-config -nographic -serial stdio -kernel ${1:-$GUEST_VMLINUX} -initrd $GUEST_INITRD -no-reboot -append"
}

# stats FILE COLUMN -> "min median max"
stats() {
	cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 } END { printf "%d %d %d", v[1], v[int((NR + 1) / 2)], v[NR] }'
}

# kstat FILE NAME: one KVM statistic from a bootwatch -k snapshot (0 if none)
kstat() { [ -f "$1" ] || { echo 0; return; }; awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }' "$1" 2>/dev/null || echo 0; }
# mstat FILE OBJ KEY: a counter of ember's last metrics line; OBJ is vcpu
# (to exit) or boot (to the boot-timer write)
mstat() {
	case $2 in
	vcpu) sed -n 's/.*"vcpu":{\([^}]*\)}.*/\1/p' "$1" ;;
	boot) sed -n 's/.*"boot_timer":{[^}]*"exits":{\([^}]*\)}.*/\1/p' "$1" ;;
	esac | tail -n1 | tr ',' '\n' | sed -n "s/^\"$3\":\([0-9]*\)\$/\1/p" | awk '{ v = $1 } END { print v + 0 }'
}
KSTATS="exits io_exits mmio_exits halt_exits irq_exits irq_window_exits"
MKEYS="exits exit_io_in exit_io_out exit_mmio_read exit_mmio_write exit_hlt exit_other"
# boot NAME RUN ember KERNEL | boot NAME RUN qemu KERNEL [MACHINE]: one timed
# boot, its exits appended to $D/NAME.x (for each KVM statistic: to init, to
# exit; then ember's, to init, to exit)
boot() {
	name=$1 run=$2 k=$D/k.$1.$2 x= kopt=
	[ -z "$KVMSTATS" ] || kopt="-k $k"
	if [ "$3" = qemu ]; then
		set -- $BW $kopt "$MARK" $(qemu_cmd "$4" "${5:-}") "$ARGS"
	else
		set -- $BW $kopt "$MARK" $(ember_cmd "$4" "$D/m.$name.$run") "$ARGS"
	fi
	"$@" >>"$D/$name" 2>>"$D/bw.err" || exit 1
	for st in $KSTATS; do x="$x $(kstat "$k.init" $st) $(kstat "$k.exit" $st)"; done
	[ -f "$D/m.$name.$run" ] && for key in $MKEYS; do
		x="$x $(mstat "$D/m.$name.$run" boot $key) $(mstat "$D/m.$name.$run" vcpu $key)"
	done
	echo $x >>"$D/$name.x"
}

QEMU_DEFAULT=microvm
VARIANTS="ember qemu qemu-default"
[ -z "${GUEST_BZIMAGE:-}" ] || VARIANTS="$VARIANTS ember-bz qemu-bz qemu-default-bz"
[ -z "${GUEST_LEGACY_VMLINUX:-}" ] || VARIANTS="$VARIANTS legacy"
i=0
while [ "$i" -lt "$RUNS" ]; do
	boot ember $i ember "$GUEST_VMLINUX"
	boot qemu $i qemu "$GUEST_VMLINUX"
	boot qemu-default $i qemu "$GUEST_VMLINUX" $QEMU_DEFAULT
	if [ -n "${GUEST_BZIMAGE:-}" ]; then
		boot ember-bz $i ember "$GUEST_BZIMAGE"
		boot qemu-bz $i qemu "$GUEST_BZIMAGE"
		boot qemu-default-bz $i qemu "$GUEST_BZIMAGE" $QEMU_DEFAULT
	fi
	[ -z "${GUEST_LEGACY_VMLINUX:-}" ] || boot legacy $i ember "$GUEST_LEGACY_VMLINUX"
	i=$((i + 1))
	echo "bench: round $i of $RUNS booted: $VARIANTS"  # also keeps l1-run.sh's quiet timer fed
done
for v in $VARIANTS; do
	if awk '$1 == 0 || $4 != 0 { bad = 1 } END { exit !bad }' "$D/$v"; then
		echo "bench: $v failed to boot:"; cat "$D/$v"; exit 1
	fi
done

echo "bench: boot-to-init over $RUNS runs, us (min / median / max)"
# line LABEL NAME COLUMN
line() { set -- "$1" $(stats "$D/$2" "$3"); echo "bench:   $1 $2 / $3 / $4"; }
# ratio WHAT A B: the medians' ratio, to init and to exit
ratio() {
	awk -v a="$(stats "$D/$2" 1 | cut -d' ' -f2)" -v b="$(stats "$D/$3" 1 | cut -d' ' -f2)" \
	    -v ae="$(stats "$D/$2" 2 | cut -d' ' -f2)" -v be="$(stats "$D/$3" 2 | cut -d' ' -f2)" -v w="$1" 'BEGIN {
		printf "bench: ratio %s boot-to-init (median) %.3f\n", w, a / b
		printf "bench: ratio %s exec-to-exit (median) %.3f\n", w, ae / be }'
}
line "ember exec->init     " ember 1
line "qemu microvm exec->init" qemu 1
line "qemu microvm default exec->init" qemu-default 1
line "ember boot timer     " ember 3
line "ember exec->exit     " ember 2
line "qemu exec->exit      " qemu 2
line "qemu default exec->exit" qemu-default 2
ratio ember/qemu ember qemu
ratio "ember/qemu-default" ember qemu-default
if [ -n "${GUEST_BZIMAGE:-}" ]; then
	line "ember bzImage exec->init" ember-bz 1
	line "qemu bzImage exec->init" qemu-bz 1
	line "qemu default bzImage exec->init" qemu-default-bz 1
	line "ember bzImage exec->exit" ember-bz 2
	line "qemu bzImage exec->exit" qemu-bz 2
	line "qemu default bzImage exec->exit" qemu-default-bz 2
	ratio "ember/qemu bzImage" ember-bz qemu-bz
	ratio "ember/qemu-default bzImage" ember-bz qemu-default-bz
fi
set -- $(stats "$D/ember" 1); e_med=$2
if [ -n "${GUEST_LEGACY_VMLINUX:-}" ]; then
	set -- $(stats "$D/legacy" 1); l_min=$1 l_med=$2 l_max=$3
	set -- $(stats "$D/legacy" 3); lt_min=$1 lt_med=$2 lt_max=$3
	echo "bench:   ember legacy kernel (no ACPI) exec->init $l_min / $l_med / $l_max"
	echo "bench:   ember legacy kernel boot timer $lt_min / $lt_med / $lt_max"
	awk -v e="$e_med" -v l="$l_med" 'BEGIN {
		printf "bench: ratio ACPI/legacy kernel under ember, boot-to-init (median) %.3f\n", e / l }'
fi

# exits_report NAME LABEL: medians (min-max) of each exit counter, to init / to exit
exits_report() {
	n=$1 col=1 line=
	for st in $KSTATS; do
		set -- $(stats "$D/$n.x" $col); a="$2"; r1="$1-$3"
		set -- $(stats "$D/$n.x" $((col + 1))); line="$line $st $a/$2 ($r1/$1-$3)"
		col=$((col + 2))
	done
	[ -z "$KVMSTATS" ] || echo "bench:   kvm $LABEL:$line"
	case $n in qemu*) return 0 ;; esac
	line=
	for key in $MKEYS; do
		set -- $(stats "$D/$n.x" $col); a="$2"; r1="$1-$3"
		set -- $(stats "$D/$n.x" $((col + 1))); line="$line $key $a/$2 ($r1/$1-$3)"
		col=$((col + 2))
	done
	echo "bench:   ember's own $LABEL:$line"
}
grep -v ' KVM statistics in ' "$D/bw.err" | sort | uniq -c | sed 's/^ */bench: bootwatch: /' | head -n 5
echo "bench: VM exits per boot over $RUNS runs, to init / to exit, median (min-max / min-max)"
echo "bench:   kvm = the L1 kernel's KVM statistics of the VM (same counters for both VMMs)"
echo "bench:   ember's own = KVM_RUN returns by reason, to the boot-timer write / to exit"
LABEL="ember ACPI kernel"; exits_report ember
LABEL="qemu microvm ACPI kernel"; exits_report qemu
LABEL="qemu microvm default ACPI kernel"; exits_report qemu-default
if [ -n "${GUEST_BZIMAGE:-}" ]; then
	LABEL="ember bzImage"; exits_report ember-bz
	LABEL="qemu microvm bzImage"; exits_report qemu-bz
	LABEL="qemu microvm default bzImage"; exits_report qemu-default-bz
fi
[ -z "${GUEST_LEGACY_VMLINUX:-}" ] || { LABEL="ember legacy kernel"; exits_report legacy; }

# One traced boot of each kind: hardware exit reasons, ports, MMIO, MSRs.
T=/sys/kernel/tracing
mountpoint -q $T 2>/dev/null || mount -t tracefs tracefs $T 2>/dev/null
if [ "${EXIT_TRACE:-1}" = 1 ] && [ -f $T/events/kvm/kvm_exit/trigger ]; then
	HISTS="kvm_exit:exit_reason kvm_pio:port.hex,rw kvm_mmio:type,gpa.hex kvm_msr:ecx.hex,write"
	hist_on() { for h in $HISTS; do echo "$1hist:keys=${h#*:}:size=2048" >$T/events/kvm/${h%%:*}/trigger; done; }
	# SVM exit codes (arch/x86/include/uapi/asm/svm.h), the ones a boot shows
	names='0:cr0_read 3:cr3_read 4:cr4_read 16:cr0_write 19:cr3_write 20:cr4_write 24:cr8_write
35:dr3_read 48:dr0_write 65:db 70:ud 78:pf 96:intr 97:nmi 100:vintr 101:cr0_sel_write 114:cpuid 110:rdtsc 117:swint
119:pause 120:hlt 121:invlpg 123:ioio 124:msr 127:shutdown 129:vmmcall 135:rdtscp
137:wbinvd 138:monitor 139:mwait 141:xsetbv 143:efer_write_trap 1024:npf
1025:avic_incomplete_ipi 1026:avic_unaccelerated_access'
	# hist_print FILE.init FILE.exit: "key... to-init to-exit", by exit count
	hist_print() {
		awk -v names="$names" '
			BEGIN { n = split(names, a, /[ \n]+/); for (i = 1; i <= n; i++) { split(a[i], kv, ":"); nm[kv[1]] = kv[2] } }
			/^\{/ { sub(/^\{ */, ""); split($0, p, / *\} *hitcount: */); k = p[1]; gsub(/ +/, " ", k)
				if (k ~ /^exit_reason: [0-9]+$/) { split(k, e, " "); k = "reason " (e[2] in nm ? nm[e[2]] : e[2]) }
				if (FILENAME ~ /init$/) ini[k] = p[2]; else { ex[k] = p[2]; ord[k] = p[2] } }
			END { for (k in ord) printf "%s\t%d\t%d\n", k, ini[k], ex[k] }' "$1" "$2" | sort -t'	' -k3,3nr |
			head -n "${3:-25}" | awk -F'\t' -v t="$4" '{ printf "bench:   trace %s: %s  init %d  exit %d\n", t, $1, $2, $3 }'
	}
	traced() { # NAME KERNEL|qemu
		hist_on ""
		for h in $HISTS; do set -- "$@" -s "$T/events/kvm/${h%%:*}/hist:$D/h.$1.${h%%:*}"; done
		n=$1 kern=$2; shift 2
		if [ "$kern" = qemu ]; then $BW "$@" "$MARK" $(qemu_cmd) "$ARGS" >/dev/null
		else $BW "$@" "$MARK" $(ember_cmd "$kern") "$ARGS" >/dev/null; fi
		hist_on "!"
		for h in $HISTS; do hist_print "$D/h.$n.${h%%:*}.init" "$D/h.$n.${h%%:*}.exit" 25 "$n ${h%%:*}"; done
	}
	echo "bench: one traced boot each: KVM exits by hardware reason, port, MMIO address, MSR (to init, to exit)"
	traced ember "$GUEST_VMLINUX"
	traced qemu qemu
	[ -z "${GUEST_LEGACY_VMLINUX:-}" ] || traced legacy "$GUEST_LEGACY_VMLINUX"
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
