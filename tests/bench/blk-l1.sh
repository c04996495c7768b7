#!/bin/sh
# Block benchmark, run where Linux guests boot (inside L1, or directly on a
# host with hardware KVM): fio in the guest (tests/bench/fio-guest.sh, from the
# initramfs of tests/bench/mkfioinitramfs.sh) against a virtio-blk disk backed
# by the same raw image, under ember and under QEMU's microvm machine, with the
# same kernel, initramfs, vCPUs and memory.  The VMMs alternate (and take turns
# going first) for ROUNDS rounds; per fio job, each VMM's min / median / max and
# the ember / QEMU ratio of the medians are printed.
#
# Both back the disk with io_uring and the host page cache, and neither makes a
# guest flush reach the disk: ember's drive is cache_type "Unsafe",
# io_engine "Async"; QEMU's is aio=io_uring,cache=unsafe.  The image is on
# L1's tmpfs and prefilled, so reads hit real data.
# env: EMBER GUEST_VMLINUX GUEST_INITRD [ROUNDS=3] [VMMS="ember qemu"] [QEMU]
#      [DISK_MIB=256] [FIO_RUNTIME=4] [TMPDIR]
ROUNDS=${ROUNDS:-3}
VMMS=${VMMS:-ember qemu}
QEMU=${QEMU:-qemu-system-x86_64}
DISK_MIB=${DISK_MIB:-256}
FIO_RUNTIME=${FIO_RUNTIME:-4}
MEM=256
ARGS="console=ttyS0 reboot=t panic=-1 pci=off nomodules quiet ember.test=fio ember.fio_runtime=$FIO_RUNTIME"
JOBS="randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 read-1m-qd1 write-1m-qd1"
LIMIT=$((120 + 12 * FIO_RUNTIME))  # seconds for one guest run: six jobs of runtime + 1 s
D=$(mktemp -d)
IMG=$D/disk.img

# A raw image of DISK_MIB MiB, every block written (a 1 MiB random chunk repeated).
head -c 1048576 /dev/urandom >"$D/chunk"
i=0
while [ "$i" -lt "$DISK_MIB" ]; do cat "$D/chunk"; i=$((i + 1)); done >"$IMG"

cat >"$D/ember.json" <<EOF
{
  "boot-source": { "kernel_image_path": "$GUEST_VMLINUX", "initrd_path": "$GUEST_INITRD",
                   "boot_args": "$ARGS" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": $MEM },
  "drives": [ { "drive_id": "data", "path_on_host": "$IMG", "is_root_device": false,
                "is_read_only": false, "cache_type": "Unsafe", "io_engine": "Async" } ]
}
EOF
run_ember() { timeout "$LIMIT" "$EMBER" --no-api --config-file "$D/ember.json"; }
run_qemu() {
	timeout "$LIMIT" "$QEMU" -M microvm,isa-serial=on,rtc=off,acpi=off -accel kvm -cpu host -smp 1 -m $MEM \
		-nodefaults -no-user-config -nographic -serial stdio -no-reboot \
		-kernel "$GUEST_VMLINUX" -initrd "$GUEST_INITRD" -append "$ARGS" \
		-drive id=d0,file="$IMG",format=raw,if=none,aio=io_uring,cache=unsafe \
		-device virtio-blk-device,drive=d0
}

# One guest run of VMM; appends "JOB IOPS BW_KIB LAT_US" lines to $D/VMM.
# A run without all six results drops the VMM from the next rounds.
failed=""
run() {
	vmm=$1
	t0=$(date +%s)
	"run_$vmm" </dev/null >"$D/console" 2>&1
	rc=$?
	[ $(($(date +%s) - t0)) -lt "$LIMIT" ] || rc="timed out after $LIMIT s"
	tr -d '\r' <"$D/console" | sed -n 's/^fio: job=\([^ ]*\) engine=\([^ ]*\) bw_kib=\([0-9]*\) iops=\([0-9]*\) lat_us=\([0-9]*\)$/\1 \4 \3 \5 \2/p' >"$D/run"
	if [ "$(wc -l <"$D/run")" -ne 6 ]; then
		echo "bench: blk: $vmm run failed (exit status: $rc), console:"
		tr -d '\r' <"$D/console" | tail -n 40 | sed 's/^/bench:   | /'
		failed="$failed $vmm"
		VMMS=$(echo " $VMMS " | sed "s/ $vmm / /")
		return
	fi
	cat "$D/run" >>"$D/$vmm"
	[ -n "$engine" ] || engine=$(head -n1 "$D/run" | cut -d' ' -f5)
}

engine=""
r=1
while [ "$r" -le "$ROUNDS" ]; do
	order=$VMMS
	[ $((r % 2)) -eq 0 ] && order=$(echo "$VMMS" | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
	for v in $order; do run "$v"; done
	r=$((r + 1))
done

# stats VMM JOB COLUMN -> "min median max" (nothing if no run)
stats() {
	awk -v j="$2" -v c="$3" '$1 == j { print $c }' "$D/$1" 2>/dev/null | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%d %d %d", v[1], v[int((NR + 1) / 2)], v[NR] }'
}
slashes() { echo "$1" | sed 's| | / |g'; }

echo "bench: block I/O, fio in the guest on /dev/vda ($DISK_MIB MiB raw image), direct=1, engine ${engine:-?}, ${FIO_RUNTIME} s per job, $ROUNDS rounds"
echo "bench: (min / median / max; 4k jobs in IOPS, 1m jobs in KiB/s; ratio of the medians)"
# shellcheck disable=SC2002 # the file may not exist
for v in ember qemu; do echo "bench:   $v: $(($(cat "$D/$v" 2>/dev/null | wc -l) / 6)) complete runs"; done
for job in $JOBS; do
	col=2; unit=IOPS
	case $job in *-1m-*) col=3; unit=KiB/s ;; esac
	e=$(stats ember "$job" $col) q=$(stats qemu "$job" $col)
	printf "bench:   %-17s %-6s ember %-26s qemu %-26s ember/qemu %s\n" "$job" "$unit" \
		"$(slashes "$e")" "$(slashes "$q")" \
		"$(echo "$e $q" | awk 'NF == 6 && $5 > 0 { printf "%.3f", $2 / $5 }')"
	e=$(stats ember "$job" 4) q=$(stats qemu "$job" 4)
	printf "bench:   %-17s %-6s ember %-26s qemu %s\n" "" "lat us" "$(slashes "$e")" "$(slashes "$q")"
done
rm -rf "$D"
[ -z "$failed" ]
