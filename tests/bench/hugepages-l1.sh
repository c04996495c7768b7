#!/bin/sh
# Guest-memory page-size benchmark, run where Linux guests boot (inside L1, or
# on a host with hardware KVM).  ember boots the same vmlinux and initramfs,
# 1 vCPU, MEM MiB, with each guest-RAM backing in turn, alternating within
# each round, RUNS rounds, under each host THP mode in THP_MODES:
#   unaligned  EMBER_UNALIGNED (an older ember whose RAM mapping is not
#              2 MiB-aligned), huge_pages "None"   [only when given]
#   none       ember, huge_pages "None" (2 MiB-aligned, no madvise)
#   default    ember, huge_pages not given (ember's default: as thp)
#   thp        ember, huge_pages "Transparent" (aligned + MADV_HUGEPAGE)
#   2m         ember, huge_pages "2M" (hugetlbfs pool reserved here)
# Per boot: boot-to-init (bootwatch, exec to the init's greeting) and ember's
# boot timer; then a second boot that stops at a prompt (the guest's /tests/touch):
# with the guest idle, the VMM's guest-RAM RSS and the L1 kernel's KVM
# statistics (debugfs: vCPU exits, page faults KVM handled, the 4 KiB and
# 2 MiB entries in the nested page tables); then again after the guest
# wrote every page of a tenth of its RAM.
# env: EMBER GUEST_VMLINUX GUEST_INITRD BOOTWATCH [RUNS=5] [MEM=128]
#      [THP_MODES="always madvise"] [EMBER_UNALIGNED] [VARIANTS]
RUNS=${RUNS:-5}
MEM=${MEM:-128}
THP_MODES=${THP_MODES:-always madvise}
BW=${BOOTWATCH:-bootwatch}
MARK="ember: hello from the guest"
ARGS="console=ttyS0 reboot=t panic=-1 pci=off nomodules quiet"
THP=/sys/kernel/mm/transparent_hugepage
KD=/sys/kernel/debug/kvm
D=$(mktemp -d)
[ -n "${EMBER_UNALIGNED:-}" ] || [ ! -x /opt/ember/bin/ember-unaligned ] ||
	EMBER_UNALIGNED=/opt/ember/bin/ember-unaligned

mountpoint -q /sys/kernel/debug 2>/dev/null || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
[ -r "$KD/exits" ] || echo "bench: hugepages: no KVM debugfs statistics here ($KD)"
# The hugetlbfs pool for "2M", a little more than the guest needs.
echo $((MEM / 2 + 8)) >/proc/sys/vm/nr_hugepages
echo "bench: hugepages: host $(uname -r), THP $(cat $THP/enabled), defrag $(cat $THP/defrag)," \
	"hugetlb pool $(cat /proc/sys/vm/nr_hugepages) x 2 MiB"

VARIANTS=${VARIANTS:-${EMBER_UNALIGNED:+unaligned} none default thp 2m}
variant_bin() { if [ "$1" = unaligned ]; then echo "$EMBER_UNALIGNED"; else echo "$EMBER"; fi; }
variant_pages() { case $1 in thp) echo Transparent ;; 2m) echo 2M ;; *) echo None ;; esac; }
variant_machine() { # VARIANT -> the machine-config fields after the size
	[ "$1" = default ] || echo ", \"huge_pages\": \"$(variant_pages "$1")\""
}
config() { # VARIANT BOOT_ARGS -> config file path
	f=$D/$1.json
	cat >"$f" <<JSON
{ "boot-source": { "kernel_image_path": "$GUEST_VMLINUX", "initrd_path": "$GUEST_INITRD",
                   "boot_args": "$2" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": $MEM$(variant_machine "$1") } }
JSON
	echo "$f"
}
kstat() { cat "$KD/$1" 2>/dev/null || echo 0; }
# "rss_kib anon_huge_kib" of the guest-RAM mapping (the largest) of PID;
# hugetlbfs pages are not in Rss, they are counted apart.
guest_rss() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { size = rss = ahp = htlb = 0 }
		/^Size:/ { size = $2 } /^Rss:/ { rss = $2 } /^AnonHugePages:/ { ahp = $2 }
		/^(Shared|Private)_Hugetlb:/ { htlb += $2 }
		/^VmFlags:/ { if (size > best) { best = size; g = rss + htlb; a = ahp } }
		END { printf "%d %d", g, a }' "/proc/$1/smaps"
}
# "exits pf_taken pages_4k pages_2m rss_kib anon_huge_kib" of the one running VM
sample() { echo "$(kstat exits) $(kstat pf_taken) $(kstat pages_4k) $(kstat pages_2m) $(guest_rss "$1")"; }
wait_for() { # FILE TEXT
	n=0
	while ! grep -q "$2" "$1" && [ $n -lt 1200 ]; do sleep 0.1; n=$((n + 1)); done
	grep -q "$2" "$1"
}
# One boot stopped at the touch prompt: appends "idle... touched..." to $D/$MODE.$V.mem
mem_boot() { # VARIANT
	rm -f "$D/in"; mkfifo "$D/in"
	$(variant_bin "$1") --no-api --config-file "$(config "$1" "$ARGS ember.test=touch")" \
		<"$D/in" >"$D/out" 2>&1 &
	pid=$!
	exec 3>"$D/in"
	if ! wait_for "$D/out" "touch: idle"; then
		echo "bench: $1 did not reach the prompt:"; cat "$D/out"; kill "$pid"; return 1
	fi
	sleep 0.5
	idle=$(sample "$pid")
	echo go >&3
	wait_for "$D/out" "touch: touched" || { echo "bench: $1 did not touch:"; cat "$D/out"; }
	sleep 0.5
	touched=$(sample "$pid")
	echo done >&3
	exec 3>&-
	n=0
	while kill -0 "$pid" 2>/dev/null && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
	kill -9 "$pid" 2>/dev/null && echo "bench: $1 did not exit: killed"
	wait "$pid"
	echo "$idle $touched" >>"$D/$mode.$1.mem"
}

# stats FILE COLUMN -> "min median max"
stats() {
	cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 } END { printf "%d / %d / %d", v[1], v[int((NR + 1) / 2)], v[NR] }'
}
med() { cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 } END { printf "%d", v[int((NR + 1) / 2)] }'; }

for mode in $THP_MODES; do
	echo "$mode" >"$THP/enabled" || { echo "bench: cannot set THP $mode"; continue; }
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		for v in $VARIANTS; do
			timeout 300 $BW "$MARK" $(variant_bin "$v") --no-api --boot-timer \
				--config-file "$(config "$v" "$ARGS")" >>"$D/$mode.$v.boot" || exit 1
			mem_boot "$v" || exit 1
		done
		i=$((i + 1))
		echo "bench: hugepages: THP \"$mode\", round $i of $RUNS done"
	done
	echo "bench: hugepages: THP \"$mode\", $MEM MiB guest, $RUNS runs each (min / median / max)"
	for v in $VARIANTS; do
		if awk '$1 == 0 || $4 != 0 { bad = 1 } END { exit !bad }' "$D/$mode.$v.boot"; then
			echo "bench: $v failed to boot:"; cat "$D/$mode.$v.boot"; exit 1
		fi
		f=$D/$mode.$v.mem
		echo "bench:   $mode $v: boot-to-init us $(stats "$D/$mode.$v.boot" 1), boot timer us $(stats "$D/$mode.$v.boot" 3)"
		echo "bench:   $mode $v: idle: exits $(stats "$f" 1), KVM page faults $(stats "$f" 2)," \
			"NPT entries 4K $(med "$f" 3) 2M $(med "$f" 4), guest RSS KiB $(stats "$f" 5) (THP $(med "$f" 6))"
		echo "bench:   $mode $v: touched 10%: KVM page faults $(stats "$f" 8)," \
			"NPT entries 4K $(med "$f" 9) 2M $(med "$f" 10), guest RSS KiB $(stats "$f" 11) (THP $(med "$f" 12))"
	done
	for v in $VARIANTS; do
		sed "s/^/bench: raw $mode $v boot /" "$D/$mode.$v.boot"
		sed "s/^/bench: raw $mode $v mem /" "$D/$mode.$v.mem"
	done
done
rm -rf "$D"
