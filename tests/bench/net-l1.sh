#!/bin/sh
# Network and vsock benchmark, run where Linux guests boot (inside L1, or
# directly on a host with hardware KVM), the guest's initramfs from
# tests/bench/mknetinitramfs.sh (its /tests/net is tests/bench/net-guest.sh).
#  - TCP: iperf3 in the guest against an iperf3 server on the host end of a tap
#    (tap0, 172.16.0.1/30, in the network namespace ember-bench), guest -> host
#    and host -> guest (-R), under ember (virtio-net), QEMU microvm with
#    virtio-net-device (vhost=off) and the same with vhost=on (a reference:
#    the data path in the host kernel);
#  - vsock: VSOCK_BYTES each way with xfer (tests/guests/xfer), the guest
#    listening, the host connecting: to ember's unix socket with the Firecracker
#    handshake, and for reference to QEMU's vhost-vsock-device with AF_VSOCK
#    (when L1 has /dev/vhost-vsock).
# Same kernel, initramfs, one vCPU and memory for all; the VMMs alternate (and
# take turns going first) for ROUNDS rounds; min / median / max per VMM and the
# ratios of the medians are printed.
# env: EMBER GUEST_VMLINUX GUEST_INITRD [ROUNDS=3] [NET_SECS=5] [VSOCK_BYTES=32M]
#      [KINDS="tcp vsock"] [VMMS="ember qemu qemu-vhost"] [QEMU] [XFER] [IPR]
ROUNDS=${ROUNDS:-3}
KINDS=${KINDS:-tcp vsock}
NET_SECS=${NET_SECS:-5}
VSOCK_BYTES=${VSOCK_BYTES:-32M}
VMMS=${VMMS:-ember qemu qemu-vhost}
QEMU=${QEMU:-qemu-system-x86_64}
XFER=${XFER:-/opt/ember/bin/xfer}
IPR=${IPR:-/usr/sbin/ip}
[ -x "$IPR" ] || IPR=$(command -v ip)
MEM=256
NS=ember-bench
ARGS="console=ttyS0 reboot=t panic=-1 pci=off nomodules quiet ember.test=net"
LIMIT=$((120 + 4 * NET_SECS))
D=$(mktemp -d)
UDS=$D/v.sock

"$IPR" netns del $NS 2>/dev/null
"$IPR" netns add $NS && "$IPR" -n $NS link set lo up && "$IPR" -n $NS tuntap add dev tap0 mode tap &&
	"$IPR" -n $NS addr add 172.16.0.1/30 dev tap0 && "$IPR" -n $NS link set tap0 up ||
	{ echo "bench: net: cannot set up the tap in a network namespace"; exit 1; }
"$IPR" netns exec $NS iperf3 -s >"$D/iperf3.log" 2>&1 &
iperf_pid=$!

ember_json() { # FILE MODE: ember's config for the tcp or vsock guest
	if [ "$2" = tcp ]; then
		dev='"network-interfaces": [ { "iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02" } ]'
	else
		dev="\"vsock\": { \"guest_cid\": 3, \"uds_path\": \"$UDS\" }"
	fi
	cat >"$1" <<JSON
{
  "boot-source": { "kernel_image_path": "$GUEST_VMLINUX", "initrd_path": "$GUEST_INITRD",
                   "boot_args": "$ARGS ember.net=$2 ember.net_secs=$NET_SECS ember.net_bytes=$VSOCK_BYTES" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": $MEM },
  $dev
}
JSON
}
ember_json "$D/tcp.json" tcp
ember_json "$D/vsock.json" vsock
qemu_run() { # MODE DEVICE_ARGS...
	m=$1
	shift
	timeout "$LIMIT" "$QEMU" -M microvm,isa-serial=on,rtc=off,acpi=off -accel kvm -cpu host -smp 1 -m $MEM \
		-nodefaults -no-user-config -nographic -serial stdio -no-reboot \
		-kernel "$GUEST_VMLINUX" -initrd "$GUEST_INITRD" "$@" \
		-append "$ARGS ember.net=$m ember.net_secs=$NET_SECS ember.net_bytes=$VSOCK_BYTES"
}
NETDEV="-device virtio-net-device,netdev=n0,mac=06:00:ac:10:00:02 -netdev tap,id=n0,ifname=tap0,script=no,downscript=no"
# shellcheck disable=SC2086 # $NETDEV is a list of options
run_tcp_ember() { timeout "$LIMIT" "$IPR" netns exec $NS "$EMBER" --no-api --config-file "$D/tcp.json"; }
# shellcheck disable=SC2086
run_tcp_qemu() { "$IPR" netns exec $NS sh -c "$(command -v timeout) $LIMIT $QEMU -M microvm,isa-serial=on,rtc=off,acpi=off -accel kvm -cpu host -smp 1 -m $MEM -nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel $GUEST_VMLINUX -initrd $GUEST_INITRD $NETDEV,vhost=${VHOST:-off} -append '$ARGS ember.net=tcp ember.net_secs=$NET_SECS'"; }
run_tcp_qemu_vhost() { VHOST=on run_tcp_qemu; }
run_vsock_ember() { rm -f "$UDS"; timeout "$LIMIT" "$EMBER" --no-api --config-file "$D/vsock.json"; }
run_vsock_qemu_vhost() { qemu_run vsock -device vhost-vsock-device,guest-cid=3; }

# One TCP guest run of VMM: appends "g2h MBPS" and "h2g MBPS" to $D/tcp-VMM.
failed=""
run_tcp() {
	vmm=$1 fn=run_tcp_$(echo "$1" | tr - _)
	"$fn" </dev/null >"$D/console" 2>&1
	rc=$?
	tr -d '\r' <"$D/console" | sed -n 's/^net: dir=\([a-z0-9]*\) mbps=\([0-9.]*\)$/\1 \2/p' >"$D/run"
	if [ "$(wc -l <"$D/run")" -ne 2 ]; then
		echo "bench: net: $vmm TCP run failed (exit status $rc), console:"
		tr -d '\r' <"$D/console" | tail -n 30 | sed 's/^/bench:   | /'
		failed="$failed tcp-$vmm"
		TCP_VMMS=$(echo " $TCP_VMMS " | sed "s/ $vmm / /")
		return
	fi
	cat "$D/run" >>"$D/tcp-$vmm"
}

# One vsock guest run: the guest receives on port 5000 (measured by the guest:
# its receive ends at the last byte, while the host's sender would wait for the
# connection's end), then sends on 5001 (measured by the host's receiver).
# Appends "h2g MIBPS" and "g2h MIBPS" to $D/vsock-VMM.
run_vsock() {
	vmm=$1 fn=run_vsock_$(echo "$1" | tr - _)
	ep=fc:$UDS:
	[ "$vmm" = ember ] || ep=vsock:3:
	: >"$D/console"
	"$fn" </dev/null >"$D/console" 2>&1 &
	pid=$!
	ok=1
	for port in 5000 5001; do
		i=0
		while [ "$(grep -c "listening on vsock:$port" "$D/console")" -lt 1 ]; do
			i=$((i + 1))
			[ $i -lt $((LIMIT * 10)) ] && kill -0 $pid 2>/dev/null || { ok=0; break; }
			sleep 0.1
		done
		[ $ok = 1 ] || break
		if [ $port = 5000 ]; then
			"$XFER" send -n "$VSOCK_BYTES" -t 60 "$ep$port" >"$D/x" 2>&1 &
			spid=$!
			i=0
			while ! tr -d '\r' <"$D/console" | grep -q '^xfer: recv '; do
				i=$((i + 1))
				[ $i -lt 600 ] && kill -0 $pid 2>/dev/null || { ok=0; break; }
				sleep 0.1
			done
			kill $spid 2>/dev/null
			wait $spid 2>/dev/null
			tr -d '\r' <"$D/console" | sed -n 's/^xfer: recv .*mibps=\([0-9.]*\) end=done$/h2g \1/p' >"$D/vrun"
		else
			"$XFER" recv -n "$VSOCK_BYTES" -t 60 "$ep$port" >"$D/x" 2>&1 || ok=0
			sed -n 's/^xfer: recv .*mibps=\([0-9.]*\).*/g2h \1/p' "$D/x" >>"$D/vrun"
		fi
		[ $ok = 1 ] || break
	done
	wait $pid
	rc=$?
	if [ $ok != 1 ] || [ "$(wc -l <"$D/vrun")" -ne 2 ]; then
		echo "bench: vsock: $vmm run failed (exit status $rc, ok $ok, results '$(tr '\n' ' ' <"$D/vrun")'): $(tail -n 2 "$D/x" | tr '\n' ' '), console:"
		tr -d '\r' <"$D/console" | tail -n 20 | sed 's/^/bench:   | /'
		failed="$failed vsock-$vmm"
		VSOCK_VMMS=$(echo " $VSOCK_VMMS " | sed "s/ $vmm / /")
		return
	fi
	cat "$D/vrun" >>"$D/vsock-$vmm"
}

TCP_VMMS=$VMMS
VSOCK_VMMS=""
for v in $VMMS; do
	case $v in ember) VSOCK_VMMS="$VSOCK_VMMS ember" ;; qemu-vhost) [ -c /dev/vhost-vsock ] && VSOCK_VMMS="$VSOCK_VMMS qemu-vhost" ;; esac
done
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for kind in $KINDS; do
		if [ $kind = tcp ]; then order=$TCP_VMMS; else order=$VSOCK_VMMS; fi
		[ $((r % 2)) -eq 0 ] && order=$(echo "$order" | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
		for v in $order; do "run_$kind" "$v"; done
	done
	r=$((r + 1))
done
kill $iperf_pid 2>/dev/null
"$IPR" netns del $NS 2>/dev/null

# stats FILE DIR -> "min median max" (nothing if no run)
stats() {
	awk -v d="$2" '$1 == d { print $2 }' "$1" 2>/dev/null | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.1f %.1f %.1f", v[1], v[int((NR + 1) / 2)], v[NR] }'
}
slashes() { echo "$1" | sed 's| | / |g'; }
ratio() { echo "$1 $2" | awk 'NF == 6 && $5 > 0 { printf "%.3f", $2 / $5 }'; }

report_tcp() {
	echo "bench: network: iperf3 TCP over virtio-net on a tap, ${NET_SECS} s per direction (first second omitted), $ROUNDS rounds"
	echo "bench: (Mbit/s, min / median / max; ratios of the medians; qemu = virtio-net-device vhost=off, qemu-vhost = vhost=on)"
	for v in ember qemu qemu-vhost; do echo "bench:   $v: $(($(cat "$D/tcp-$v" 2>/dev/null | wc -l) / 2)) complete runs"; done
	for dir in g2h h2g; do
		e=$(stats "$D/tcp-ember" $dir) q=$(stats "$D/tcp-qemu" $dir) h=$(stats "$D/tcp-qemu-vhost" $dir)
		printf "bench:   tcp %s ember %-22s qemu %-22s qemu-vhost %-22s ember/qemu %s ember/qemu-vhost %s\n" \
			"$dir" "$(slashes "$e")" "$(slashes "$q")" "$(slashes "$h")" "$(ratio "$e" "$q")" "$(ratio "$e" "$h")"
	done
}
report_vsock() {
	echo "bench: vsock: a $VSOCK_BYTES stream each way with xfer, the guest listening ($ROUNDS rounds; MiB/s)"
	echo "bench: (ember: unix socket + CONNECT handshake; qemu-vhost: vhost-vsock-device, AF_VSOCK on the host; h2g timed by the guest's receiver, g2h by the host's)"
	for v in ember qemu-vhost; do echo "bench:   $v: $(($(cat "$D/vsock-$v" 2>/dev/null | wc -l) / 2)) complete runs"; done
	for dir in h2g g2h; do
		e=$(stats "$D/vsock-ember" $dir) h=$(stats "$D/vsock-qemu-vhost" $dir)
		printf "bench:   vsock %s ember %-22s qemu-vhost %-22s ember/qemu-vhost %s\n" \
			"$dir" "$(slashes "$e")" "$(slashes "$h")" "$(ratio "$e" "$h")"
	done
}
for kind in $KINDS; do "report_$kind"; done
rm -rf "$D"
[ -z "$failed" ]
