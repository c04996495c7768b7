#!/bin/sh
# Snapshot benchmark with a Linux guest, run where Linux guests boot (inside
# L1, or directly on a host with hardware KVM), ember against QEMU's microvm
# machine in the same run.  The guest (the project's kernel, an initramfs
# whose /tests/snapecho prints "ember: snap ready" and then answers every
# console read with "ember: pong N") with SIZES MiB of RAM (1 vCPU), each:
#  - fresh boot: exec -> READY, one ping, -> its answer (the point a restore
#    reaches: the guest waiting in read()), ember and QEMU alternately;
#  - ember create: the booted guest answered, then PATCH /vm Paused +
#    PUT /snapshot/create Full (each timed); QEMU: QMP migrate
#    "exec:cat > FILE" of the running guest until query-migrate says
#    completed (QEMU stops the VM at the end itself; a stream saved from a
#    stopped VM would load into a VM left paused);
#  - ember restore, per memory backend in BACKENDS: PUT /snapshot/load
#    (resume_vm) sent -> 204, and -> the guest's answer (pinged every 2 ms
#    from the 204 on); and exec -> answer (process start, API socket, load).
#    QEMU: exec with -incoming "exec:cat FILE" -> answer;
#  - CLONES embers loading the one snapshot at once: PSS and RSS of each
#    (smaps_rollup) once all answered, against the guest's RAM.
# All timing by snapwatch (tests/bench/snapwatch.c), the same for both VMMs.
# env: EMBER GUEST_VMLINUX GUEST_INITRD SNAPWATCH [RUNS=30] [QEMU_RUNS=5]
#      [FRESH_RUNS=3] [CREATES=2] [CLONES=10] [SIZES="128 1024"]
# (fewer than 50 restores by default: every VM started is a chance for the
# nested L1 to hang, and three of four runs with 50 did; docs/benchmarks.md)
#      [BACKENDS="File Uffd"] (a backend's name is sent as mem_backend.backend_type;
#      Uffd: UFFD_HANDLER (tools/uffd_handler) serves the memory file, one per restore)
#      [QEMU]
RUNS=${RUNS:-30}
QEMU_RUNS=${QEMU_RUNS:-5}
FRESH_RUNS=${FRESH_RUNS:-3}
CREATES=${CREATES:-2}
CLONES=${CLONES:-10}
SIZES=${SIZES:-128 1024}
BACKENDS=${BACKENDS:-File Uffd}
UFFD_HANDLER=${UFFD_HANDLER:-uffd_handler}
QEMU=${QEMU:-qemu-system-x86_64}
SW=${SNAPWATCH:-snapwatch}
READY="ember: snap ready"
ANSWER="ember: pong"
ARGS="console=ttyS0 reboot=t panic=-1 pci=off nomodules quiet ember.test=snapecho"
D=$(mktemp -d)
command -v "$QEMU" >/dev/null 2>&1 || QEMU=

# stats FILE COLUMN -> "min / median / max"
stats() {
	cut -d' ' -f"$2" "$1" | sort -n |
		awk '{ v[NR] = $1 } END { printf "%d / %d / %d", v[1], v[int((NR + 1) / 2)], v[NR] }'
}
med() { stats "$1" "$2" | cut -d/ -f2 | tr -d ' '; }
qemu_cmd() { # MEM [extra args...]: the arguments end with -append, ARGS follows
	m=$1; shift
	echo "$QEMU -M microvm,isa-serial=on,rtc=off -accel kvm -cpu host -smp 1 -m $m -nodefaults -no-user-config -nographic -serial stdio -kernel $GUEST_VMLINUX -initrd $GUEST_INITRD -no-reboot $* -append"
}
ember_fresh() { echo "$EMBER --kernel $GUEST_VMLINUX --initrd $GUEST_INITRD --vcpus 1 --mem-mib $1 --cmdline"; }
fail() { # WHAT: snapwatch's reason (the VMM's last output) on bench: lines
	echo "bench: snapshot: $*:"; tail -c 3000 "$D/err" | sed 's/^/bench:   | /'; rm -rf "$D"; exit 1
}

echo "bench: snapshot benchmark: guest RAM ${SIZES} MiB, $RUNS restores per backend ($BACKENDS), $QEMU_RUNS QEMU restores, $FRESH_RUNS fresh boots, $CREATES creates, $CLONES clones"
[ -n "$QEMU" ] || echo "bench: snapshot: no $QEMU here: ember only"
for mem in $SIZES; do
	st=$D/vm.state mf=$D/vm.mem qf=$D/q.mig
	# -- fresh boots, alternately
	i=0
	while [ "$i" -lt "$FRESH_RUNS" ]; do
		$SW fresh "$READY" "$ANSWER" $(ember_fresh "$mem") "$ARGS" >>"$D/fresh.ember" 2>"$D/err" ||
			fail "ember fresh boot failed"
		[ -z "$QEMU" ] || $SW fresh "$READY" "$ANSWER" $(qemu_cmd "$mem") "$ARGS" >>"$D/fresh.qemu" 2>"$D/err" ||
			fail "qemu fresh boot failed"
		i=$((i + 1))
	done
	echo "bench: snapshot: $mem MiB: fresh boots done"  # progress: L1's quiet-console watch
	# -- create (the last one's files are restored below)
	i=0
	while [ "$i" -lt "$CREATES" ]; do
		rm -f "$st" "$mf" "$qf"
		$SW ember-create "$D/c.sock" "$READY" "$ANSWER" "$st" "$mf" "$GUEST_VMLINUX" \
			"$GUEST_INITRD" "$mem" "$ARGS" "$EMBER" >>"$D/create.ember" 2>"$D/err" || fail "ember create failed"
		[ -z "$QEMU" ] || $SW qemu-save "$D/qmp.sock" "$READY" "$ANSWER" "$qf" \
			$(qemu_cmd "$mem" -qmp "unix:$D/qmp.sock,server=on,wait=off") "$ARGS" >>"$D/create.qemu" 2>"$D/err" ||
			fail "qemu save failed"
		i=$((i + 1))
	done
	sfile=$(ls -l "$st" | awk '{ print $5 }') mfile=$(ls -l "$mf" | awk '{ print $5 }')
	qfile=0; [ -z "$QEMU" ] || qfile=$(ls -l "$qf" | awk '{ print $5 }')
	echo "bench: snapshot: $mem MiB: creates done"
	# -- restores: every backend, QEMU's in between the first QEMU_RUNS
	for be in $BACKENDS; do
		i=0
		while [ "$i" -lt "$RUNS" ]; do
			src=$mf
			if [ "$be" = Uffd ]; then  # a page-fault handler serving $mf, one per restore
				src=$D/h.sock
				rm -f "$src"
				$UFFD_HANDLER "$src" "$mf" >/dev/null 2>&1 &
				hp=$!
				n=0
				while [ ! -S "$src" ] && [ "$n" -lt 500 ]; do sleep 0.01; n=$((n + 1)); done
			fi
			$SW ember-restore "$D/r.sock" "$ANSWER" "$st" "$src" "$be" "$EMBER" >>"$D/restore.$be" 2>"$D/err" ||
				fail "ember restore ($be) failed"
			# the handler leaves when its ember has ended
			[ "$be" != Uffd ] || wait "$hp" 2>/dev/null || true
			if [ -n "$QEMU" ] && [ "$be" = "${BACKENDS%% *}" ] && [ "$i" -lt "$QEMU_RUNS" ]; then
				$SW qemu-restore "$ANSWER" $(qemu_cmd "$mem" -incoming "exec:cat<$qf") "$ARGS" \
					>>"$D/restore.qemu" 2>"$D/err" || fail "qemu restore failed"
			fi
			i=$((i + 1))
		done
	done
	echo "bench: snapshot: $mem MiB: restores done"
	# -- clones
	$SW ember-clones "$CLONES" "$D/clone" "$ANSWER" "$st" "$mf" "${BACKENDS%% *}" "$EMBER" \
		>"$D/clones" 2>"$D/err" || fail "clones failed"

	echo "bench: snapshot, guest RAM $mem MiB (us, min / median / max)"
	echo "bench:   fresh boot exec->answer   ember $(stats "$D/fresh.ember" 2) ($FRESH_RUNS runs)"
	[ -z "$QEMU" ] || echo "bench:   fresh boot exec->answer   qemu  $(stats "$D/fresh.qemu" 2) ($FRESH_RUNS runs)"
	echo "bench:   ember pause               $(stats "$D/create.ember" 1) ($CREATES runs)"
	echo "bench:   ember create (Full)       $(stats "$D/create.ember" 2)"
	echo "bench:   ember pause+create        $(stats "$D/create.ember" 3); state file $sfile B, memory file $mfile B"
	[ -z "$QEMU" ] || echo "bench:   qemu migrate to file      $(stats "$D/create.qemu" 3) ($CREATES runs; migration stream $qfile B)"
	for be in $BACKENDS; do
		echo "bench:   ember restore $be: load->204      $(stats "$D/restore.$be" 2) ($RUNS runs)"
		echo "bench:   ember restore $be: load->answer   $(stats "$D/restore.$be" 3)"
		echo "bench:   ember restore $be: exec->answer   $(stats "$D/restore.$be" 4) (exec->API socket $(stats "$D/restore.$be" 1))"
		awk -v f="$(med "$D/fresh.ember" 2)" -v l="$(med "$D/restore.$be" 3)" -v e="$(med "$D/restore.$be" 4)" 'BEGIN {
			printf "bench:   ratio ember fresh boot / restore %s (medians): %.1fx (load->answer), %.1fx (exec->answer)\n", "'"$be"'", f / l, f / e }'
		[ -z "$QEMU" ] || awk -v q="$(med "$D/restore.qemu" 1)" -v e="$(med "$D/restore.$be" 4)" 'BEGIN {
			printf "bench:   ratio qemu -incoming / ember restore %s, exec->answer (medians): %.1fx\n", "'"$be"'", q / e }'
	done
	[ -z "$QEMU" ] || echo "bench:   qemu -incoming exec->answer $(stats "$D/restore.qemu" 1) ($QEMU_RUNS runs)"
	[ -z "$QEMU" ] || awk -v f="$(med "$D/fresh.qemu" 2)" -v r="$(med "$D/restore.qemu" 1)" 'BEGIN {
		printf "bench:   ratio qemu fresh boot / qemu -incoming (medians): %.1fx\n", f / r }'
	echo "bench:   $CLONES clones at once: load->answer $(stats "$D/clones" 1); PSS KiB $(stats "$D/clones" 2), RSS KiB $(stats "$D/clones" 3)"
	awk -v m="$mem" '{ p += $2 } END { printf "bench:   clones: PSS total %d KiB for %d clones of a %d MiB guest (%.1f%% of one guest RAM each)\n", p, NR, m, 100 * p / NR / (m * 1024) }' "$D/clones"
	rm -f "$D"/fresh.* "$D"/create.* "$D"/restore.* "$D/clones" "$st" "$mf" "$qf"
done
rm -rf "$D"
