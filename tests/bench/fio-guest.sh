#!/bin/sh
# Block benchmark, run inside the guest as /tests/fio (kernel parameter
# ember.test=fio): fio against the raw disk /dev/vda, O_DIRECT, one job at a
# time, one line per job on the console:
#   fio: job=NAME engine=ENGINE bw_kib=KiB/s iops=N lat_us=MEAN
# 4 KiB random read and write at queue depth 1 and 32, 1 MiB sequential read
# and write at depth 1.  Each job runs for ember.fio_runtime seconds (default 4)
# after a one-second ramp.  With kernel AIO in the guest the engine is libaio
# (iodepth=N); without it (ember's guest kernel has no CONFIG_AIO nor
# CONFIG_IO_URING) psync with N threads (numjobs=N) keeps N requests in flight.
dev=/dev/vda
runtime=$(sed -n 's/.*ember\.fio_runtime=\([0-9]*\).*/\1/p' /proc/cmdline)
runtime=${runtime:-4}
[ -b $dev ] || { echo "fio: no block device $dev"; exit 1; }
echo "fio: disk $dev $(($(cat /sys/block/vda/size) / 2048)) MiB, runtime ${runtime} s per job"

# No SysV IPC in the guest kernel: fio's shared job table comes from sysvshm.c.
[ -d /proc/sysvipc ] || export LD_PRELOAD=/usr/lib/fio/sysvshm.so
engine=psync
[ -e /proc/sys/fs/aio-max-nr ] && engine=libaio

# job NAME RW BS DEPTH
job() {
	if [ $engine = libaio ]; then
		par="--ioengine=libaio --iodepth=$4"
	else
		par="--ioengine=psync --numjobs=$4 --thread --group_reporting"
	fi
	# shellcheck disable=SC2086 # $par is a list of options
	out=$(fio --name="$1" --filename=$dev --rw="$2" --bs="$3" $par --direct=1 \
		--norandommap --time_based --ramp_time=1 --runtime="$runtime" \
		--output-format=terse 2>&1)
	# terse v3: read kb;bw;iops at fields 6-8, mean total latency (us) at 40;
	# the write side 41 fields later.
	line=$(echo "$out" | awk -F';' '$1 == 3 {
		if ($6 > 0) print "bw_kib=" $7, "iops=" $8, "lat_us=" int($40)
		else print "bw_kib=" $48, "iops=" $49, "lat_us=" int($81) }')
	if [ -n "$line" ]; then
		echo "fio: job=$1 engine=$engine $line"
	else
		echo "fio: job=$1 failed: $out"
	fi
}

job randread-4k-qd1 randread 4k 1
job randread-4k-qd32 randread 4k 32
job randwrite-4k-qd1 randwrite 4k 1
job randwrite-4k-qd32 randwrite 4k 32
job read-1m-qd1 read 1m 1
job write-1m-qd1 write 1m 1
echo "fio: done"
