# shellcheck shell=sh disable=SC2154,SC2034
# tier3.sh runs with `set -eu`: every command that may fail here is in a
# condition or ends in `|| true`.
# Tier 3, networking and vsock: sourced by tests/integration/tier3.sh (POSIX sh,
# runs under busybox sh inside L1), which provides result, why, blk_why,
# put_step, wait_for, now, $logs, $T, $CMDLINE, $GUEST_* and $EMBER.
#
# Each scenario boots a copy of the ext4 root (tests/guests/mkrootfs.sh, which
# carries /bin/xfer from tests/guests/xfer/xfer.c) with its guest script as
# /step. The host side runs xfer too: over TCP through a tap in the network
# namespace $NS (tap0 = 172.16.0.1/30, the guest's eth0 = 172.16.0.2), and over
# vsock through the VMM's unix socket with Firecracker's `CONNECT <port>` handshake
# (guest-initiated connections arrive on `<uds_path>_<port>`). With TIER3_VMM=qemu
# the VMM is QEMU's microvm: virtio-net-device on the same tap, and
# vhost-vsock-device (guest CID 3), whose host side is AF_VSOCK itself; the
# Firecracker-handshake and rate-limiter scenarios are then skipped.
# Environment: XFER (host xfer binary), IPR (iproute2's ip, for netns),
# NET_TIMEOUT (seconds per VM run of the bulk scenarios, default 900),
# NET_BULK (bytes of the bulk transfers, default 100M), NET_RATE (bytes/s of the
# rate-limiter scenarios, default 4194304), NET_RATE_SECS (seconds each rate is
# measured for, default 6).

XFER=${XFER:-/opt/ember/bin/xfer}
IPR=${IPR:-/usr/sbin/ip}
NS=ember-t3
HOST_IP=172.16.0.1
GUEST_IP=172.16.0.2
NT=${NET_TIMEOUT:-900}
BULK=${NET_BULK:-100M}
RATE=${NET_RATE:-4194304}
RATE_SECS=${NET_RATE_SECS:-6}
UDS=$logs/v.sock
hostpids=""

qemu_vmm() { [ "${TIER3_VMM:-}" = qemu ]; }
NSX="$IPR netns exec $NS"  # run a command in the namespace (word-split on use)

# The guest side's common part: eth0 up with its address, or fail.
NETUP='ip link set lo up
ip addr add 172.16.0.2/30 dev eth0 2>/dev/null || fail "no eth0: $(ls /sys/class/net)"
ip link set eth0 up || fail "cannot bring eth0 up"
'

# net_setup: the namespace with tap0, once per run. Prints why it failed.
net_setup() {
	"$IPR" netns del "$NS" 2>/dev/null || true
	"$IPR" netns add "$NS" &&
		"$IPR" -n "$NS" link set lo up &&
		"$IPR" -n "$NS" tuntap add dev tap0 mode tap &&
		"$IPR" -n "$NS" addr add "$HOST_IP/30" dev tap0 &&
		"$IPR" -n "$NS" link set tap0 up >"$logs/net-setup.log" 2>&1 ||
		{ echo "cannot set up netns $NS with tap0: $(tail -n 3 "$logs/net-setup.log")"; return 1; }
}

# tap_bytes NAME rx|tx: tap0's byte counter, read through the VMM of NAME (in
# the namespace): rx is what the guest sent, tx what it was given.  Fails
# while the process has no tap0 yet: its pid is written before it enters
# the namespace (`ip netns exec`), and reading the root namespace's counters
# then gave an empty start value, so the first "second" counted all the
# tap's earlier traffic.
tap_bytes() {
	awk -v c="$([ "$2" = rx ] && echo 2 || echo 10)" '$1 == "tap0:" { print $c; found = 1 }
		END { exit !found }' "/proc/$(cat "$logs/$1.pid")/net/dev" 2>/dev/null
}

# vs_connect PORT / vs_listen PORT: the host's endpoints to the guest's vsock port
# PORT and for the guest's connections to host port PORT.
vs_connect() { if qemu_vmm; then echo "vsock:3:$1"; else echo "fc:$UDS:$1"; fi; }
vs_listen() { if qemu_vmm; then echo "vsock:$1"; else echo "unix:${UDS}_$1"; fi; }

# net_vm NAME IMG OPTION...: $logs/NAME.vm runs the VMM with root IMG and
#   net            virtio-net on tap0 (in $NS; the VMM runs there)
#   tx=SIZE:MS     ... with a tx rate limiter (bandwidth SIZE bytes per MS ms)
#   rx=SIZE:MS     ... with an rx rate limiter
#   mtu=N          ... with "mtu": N (VIRTIO_NET_F_MTU, the tap's MTU)
#   vsock          a vsock device, guest CID 3 (uds_path $UDS)
#   api            the API socket $logs/NAME.api as well (ember only)
net_vm() {
	name=$1 img=$2
	shift 2
	net="" vsock="" api="" tx="" rx="" mtu=""
	for o in "$@"; do
		case $o in
		net) net=1 ;;
		vsock) vsock=1 ;;
		api) api=1 ;;
		tx=*) o=${o#tx=}; tx="\"tx_rate_limiter\": { \"bandwidth\": { \"size\": ${o%:*}, \"refill_time\": ${o#*:} } }," ;;
		rx=*) o=${o#rx=}; rx="\"rx_rate_limiter\": { \"bandwidth\": { \"size\": ${o%:*}, \"refill_time\": ${o#*:} } }," ;;
		mtu=*) mtu="\"mtu\": ${o#mtu=}," ;;
		esac
	done
	rm -f "$UDS" "$logs/$name.api"
	pre="echo \$\$ >$logs/$name.pid; exec"
	[ -z "$net" ] || pre="$pre $IPR netns exec $NS"
	if qemu_vmm; then
		args="-device virtio-blk-device,drive=d0 -drive id=d0,file=$img,format=raw,if=none"
		[ -z "$net" ] || args="$args -device virtio-net-device,netdev=n0,mac=06:00:ac:10:00:02 -netdev tap,id=n0,ifname=tap0,script=no,downscript=no"
		[ -z "$vsock" ] || args="$args -device vhost-vsock-device,guest-cid=3"
		echo "$pre qemu-system-x86_64 -M microvm,isa-serial=on,rtc=off,acpi=off -accel kvm -cpu host -m 128" \
			"-nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel $GUEST_LEGACY_VMLINUX" \
			"$args -append '$CMDLINE reboot=t root=/dev/vda rw'" >"$logs/$name.vm"
		return
	fi
	ifaces="" vs=""
	[ -z "$net" ] || ifaces=",
  \"network-interfaces\": [ { \"iface_id\": \"eth0\", $tx $rx $mtu
    \"host_dev_name\": \"tap0\", \"guest_mac\": \"06:00:ac:10:00:02\" } ]"
	[ -z "$vsock" ] || vs=",
  \"vsock\": { \"guest_cid\": 3, \"uds_path\": \"$UDS\" }"
	cat >"$logs/$name.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$GUEST_VMLINUX", "boot_args": "$CMDLINE" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "drives": [ { "drive_id": "rootfs", "path_on_host": "$img", "is_root_device": true,
                "is_read_only": false } ]$ifaces$vs
}
JSON
	mode=--no-api
	[ -z "$api" ] || mode="--api-sock $logs/$name.api"
	echo "$pre $EMBER $mode --config-file $logs/$name.json" >"$logs/$name.vm"
}

# vm_start NAME: run $logs/NAME.vm in the background (limit $NT s), its serial
# input a fifo kept open on fd 8 until vm_finish.
vm_start() {
	rm -f "$logs/$1.in" "$logs/$1.pid"
	mkfifo "$logs/$1.in"
	: >"$logs/$1.log"
	timeout -s KILL "$NT" sh "$logs/$1.vm" <"$logs/$1.in" >"$logs/$1.log" 2>&1 &
	vm_pid=$!
	exec 8>"$logs/$1.in"
}

# vm_finish: tell the guest to go on (a line on its console) and wait for the
# VMM to end; its status in $rc.
vm_finish() {
	(echo go >&8) 2>/dev/null || true  # a subshell: SIGPIPE if the VMM has gone
	exec 8>&-
	rc=0
	wait "$vm_pid" || rc=$?
}

# host_bg LOG CMD...: a host-side command in the background, killed by host_reap.
host_bg() {
	log=$1
	shift
	"$@" >"$log" 2>&1 &
	hostpids="$hostpids $!"
}
host_reap() {
	for p in $hostpids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	hostpids=""
}
# wait_file FILE PATTERN [SECONDS]: until PATTERN shows in FILE (default 20 s).
wait_file() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		[ $i -lt $((${3:-20} * 10)) ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# prepare NAME: a fresh copy of the root with $logs/NAME.step as /step; prints
# a reason on failure.
prepare() {
	cp "$GUEST_ROOTFS" "$logs/$1.ext4"
	put_step "$logs/$1.ext4" <"$logs/$1.step" || echo "debugfs could not add /step to the image"
}

# alive NAME: the VMM of NAME still runs.
alive() { [ -s "$logs/$1.pid" ] && kill -0 "$(cat "$logs/$1.pid")" 2>/dev/null; }

# sumof ROLE FILE: the sum of the first `xfer: ROLE` line in FILE; bytesof likewise.
# hfail FILE: the first FAIL line of a host-side xfer run.
hfail() { grep -m1 FAIL "$1" 2>/dev/null || echo "no FAIL line in $(basename "$1")"; }
# (No `| head` in pipelines: with pipefail, a writer's SIGPIPE would end tier3.sh.)
sumof() { tr -d '\r' <"$2" | sed -n "/^xfer: $1 /{s/.*sum=\([0-9a-f]*\).*/\1/p;q;}"; }
bytesof() { tr -d '\r' <"$2" | sed -n "/^xfer: $1 /{s/.*bytes=\([0-9]*\).*/\1/p;q;}"; }
secsof() { tr -d '\r' <"$2" | sed -n "/^xfer: $1 /{s/.*secs=\([0-9.]*\).*/\1/p;q;}"; }

finish() { # NAME T0 REASON: reap, the guest's verdict unless REASON, the result
	host_reap
	[ -n "$3" ] || set -- "$1" "$2" "$(blk_why "$1")"
	result "$1" "$2" "$3"
	rm -f "$logs/$1.ext4" "$logs/$1.rates" "$UDS" "$UDS"_*
}

# --- networking -------------------------------------------------------------------

# The host pings the guest and the guest pings the host.
scenario_net_ping() {
	t0=$(now) n=net-ping
	{ echo "$NETUP"; cat <<'STEP'; } >"$logs/$n.step"
ping -c 3 -w 30 172.16.0.1 || fail "the guest cannot ping the host"
echo "net: guest pinged the host"
read -r line
STEP
	reason=$(prepare $n)
	if [ -z "$reason" ]; then
		net_vm $n "$logs/$n.ext4" net
		vm_start $n
		if ! wait_for $n 'net: guest pinged the host'; then
			reason="" # the guest's FAIL line says why
		elif ! $NSX ping -c 3 -w 30 "$GUEST_IP" >>"$logs/$n.log" 2>&1; then
			reason="the host cannot ping the guest"
		fi
		vm_finish
	fi
	finish $n "$t0" "$reason"
}

# network-interfaces mtu (Firecracker 1.16): the Linux guest's eth0 takes the
# MTU offered through VIRTIO_NET_F_MTU, ember set it on tap0 too, and a ping
# larger than 1500 bytes crosses unfragmented.  ember only (QEMU's is
# host_mtu=, not the scenario's point).
scenario_net_mtu() {
	t0=$(now) n=net-mtu
	if qemu_vmm; then
		echo "  $n: skipped (ember's API field)"
		return
	fi
	{ echo "$NETUP"; cat <<'STEP'; } >"$logs/$n.step"
m=$(cat /sys/class/net/eth0/mtu)
[ "$m" = 4000 ] || fail "eth0's mtu is $m, want the 4000 offered through VIRTIO_NET_F_MTU"
ping -c 2 -w 30 -s 3500 172.16.0.1 || fail "no 3500-byte ping to the host"
echo "net: guest mtu 4000"
read -r line
STEP
	reason=$(prepare $n)
	if [ -z "$reason" ]; then
		net_vm $n "$logs/$n.ext4" net mtu=4000
		vm_start $n
		if ! wait_for $n 'net: guest mtu 4000'; then
			reason=""
		elif ! "$IPR" -n "$NS" link show tap0 | grep -q ' mtu 4000 '; then
			reason="tap0's MTU is not 4000: $("$IPR" -n "$NS" link show tap0 | tr '\n' ' ')"
		fi
		vm_finish
		"$IPR" -n "$NS" link set tap0 mtu 1500 || true
	fi
	finish $n "$t0" "$reason"
}

# $BULK bytes over TCP each way; the four ends agree on bytes and checksum.
scenario_net_bulk() {
	t0=$(now) n=net-tcp-bulk
	{ echo "$NETUP"; echo "BULK=$BULK"; cat <<'STEP'; } >"$logs/$n.step"
xfer send -n $BULK -t 120 tcp:172.16.0.1:5002 || fail "guest -> host transfer"
xfer serve-recv -k 1 -n $BULK -t 120 tcp:5001 || fail "host -> guest transfer"
STEP
	reason=$(prepare $n)
	if [ -z "$reason" ]; then
		host_bg "$logs/$n.hrecv" $NSX "$XFER" serve-recv -k 1 -n "$BULK" -t 120 tcp:5002
		net_vm $n "$logs/$n.ext4" net
		vm_start $n
		if ! wait_for $n 'listening on tcp:5001'; then
			reason=""
		else
			$NSX "$XFER" send -n "$BULK" -t 120 "tcp:$GUEST_IP:5001" >"$logs/$n.hsend" 2>&1 ||
				reason="host -> guest: $(hfail "$logs/$n.hsend")"
		fi
		vm_finish
		reason=${reason:-$(bulk_check $n)}
		echo "  $n: guest->host $(secsof recv "$logs/$n.hrecv") s, host->guest $(secsof send "$logs/$n.hsend") s for $BULK each"
	fi
	finish $n "$t0" "$reason"
}

# bulk_check NAME: the guest's send = the host's recv, the host's send = the guest's recv.
bulk_check() {
	gs=$(sumof send "$logs/$1.log") hr=$(sumof recv "$logs/$1.hrecv")
	hs=$(sumof send "$logs/$1.hsend") gr=$(sumof recv "$logs/$1.log")
	want=$("$XFER" gen -n "$BULK" 2>&1 >/dev/null | sed -n 's/.*sum=//p')
	if [ -z "$gs" ] || [ "$gs" != "$hr" ] || [ "$hr" != "$want" ]; then
		echo "guest -> host: guest sent sum '$gs', host received '$hr' ($(bytesof recv "$logs/$1.hrecv") bytes), expected '$want'"
	elif [ -z "$hs" ] || [ "$hs" != "$gr" ] || [ "$gr" != "$want" ]; then
		echo "host -> guest: host sent sum '$hs', guest received '$gr' ($(bytesof recv "$logs/$1.log") bytes), expected '$want'"
	fi
}

# rate_window NAME DIR: tap0's DIR counter in bytes/s once the transfer runs
# (a second in which at least RATE/2 bytes passed): the median of $RATE_SECS
# one-second deltas after it. The deltas are appended to $logs/NAME.rates
# (shown when it fails).
rate_window() {
	wait_file "$logs/$1.pid" . 20 || return 1
	i=0
	until prev=$(tap_bytes "$1" "$2"); do  # until the VMM is in the namespace
		[ $i -lt 200 ] && alive "$1" || return 1
		sleep 0.1
		i=$((i + 1))
	done
	i=0 series="" a=$(now)
	while :; do
		sleep 1
		b=$(now) cur=$(tap_bytes "$1" "$2") || return 1
		d=$(awk -v x="$prev" -v y="$cur" -v s="$a" -v e="$b" 'BEGIN { printf "%d", (y - x) / (e - s) }')
		a=$b prev=$cur i=$((i + 1))
		if [ -n "$series" ] || [ "$d" -ge $((RATE / 2)) ]; then
			series="$series${series:+ }$d"
			[ "$(echo "$series" | wc -w)" -lt "$RATE_SECS" ] || break
		fi
		[ $i -lt "$NT" ] && alive "$1" || { echo "$2 bytes/s on tap0, each second: $series (ended early)" >>"$logs/$1.rates"; return 1; }
	done
	echo "$2 bytes/s on tap0, each second (from the first >= RATE/2): $series" >>"$logs/$1.rates"
	echo "$series" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# avg_rate FILE ROLE: the payload rate of a host-side xfer line, bytes/s.
avg_rate() {
	tr -d '\r' <"$1" | sed -n "s/^xfer: $2 bytes=\([0-9]*\) .*secs=\([0-9.]*\).*/\1 \2/p" |
		awk 'NR == 1 && $2 > 0 { printf "%d", $1 / $2 }'
}

# within NAME GOT WANT [RATES]: GOT within 10% of WANT, else a reason.
within() {
	awk -v g="$2" -v w="$3" 'BEGIN { exit !(g >= w * 0.9 && g <= w * 1.1) }' ||
		echo "$1: $2 bytes/s, not within 10% of $3 ($(tr '\n' ';' <"$4" 2>/dev/null))"
}

# A tx (guest -> host) or rx (host -> guest) rate limiter of $RATE bytes/s
# (a bucket of RATE/10 bytes refilled every 100 ms) holds the rate on the tap.
scenario_net_ratelimit() { # DIR
	t0=$(now) n=net-$1-ratelimit dir=$1
	if qemu_vmm; then echo "SKIP $n: QEMU has no per-interface rate limiter"; return; fi
	bytes=$((RATE * (RATE_SECS + 8)))
	{ echo "$NETUP"; echo "BYTES=$bytes DIR=$dir"; cat <<'STEP'; } >"$logs/$n.step"
if [ $DIR = tx ]; then
	xfer send -n $BYTES -t 120 tcp:172.16.0.1:5002 || fail "guest -> host transfer"
else
	xfer serve-recv -k 1 -n $BYTES -t 120 tcp:5001 || fail "host -> guest transfer"
fi
STEP
	reason=$(prepare $n)
	if [ -z "$reason" ]; then
		net_vm $n "$logs/$n.ext4" net "$dir=$((RATE / 10)):100"
		if [ "$dir" = tx ]; then
			host_bg "$logs/$n.host" $NSX "$XFER" serve-recv -k 1 -n "$bytes" -t 120 tcp:5002
			vm_start $n
			got=$(rate_window $n rx) || reason="the transfer did not start"
		else
			vm_start $n
			wait_for $n 'listening on tcp:5001' &&
				host_bg "$logs/$n.host" $NSX "$XFER" send -n "$bytes" -t 120 "tcp:$GUEST_IP:5001"
			got=$(rate_window $n tx) || reason="the transfer did not start"
		fi
		[ -n "$reason" ] || reason=$(within "$dir rate" "$got" "$RATE" "$logs/$n.rates")
		[ -n "$reason" ] || wait_for $n 'rootfs: reboot' || reason=$(blk_why $n)
		vm_finish
		role=recv
		[ "$dir" = tx ] || role=send
		avg=$(avg_rate "$logs/$n.host" $role)
		echo "  $n: $got bytes/s on the tap (median of ${RATE_SECS} s), ${avg:-?} bytes/s payload over the whole transfer, limit $RATE"
		[ -n "$reason" ] || reason=$(within "$dir payload rate over the whole transfer" "${avg:-0}" "$RATE" "$logs/$n.rates")
	fi
	finish $n "$t0" "$reason"
}

# PATCH /network-interfaces/eth0 with a new tx limiter while data flows: the
# rate on the tap follows, from $RATE to $RATE/2.
scenario_net_patch_ratelimit() {
	t0=$(now) n=net-patch-ratelimit
	if qemu_vmm; then echo "SKIP $n: QEMU has no per-interface rate limiter"; return; fi
	bytes=$((RATE * (RATE_SECS + 4) + RATE / 2 * (RATE_SECS + 8)))
	{ echo "$NETUP"; echo "BYTES=$bytes"; cat <<'STEP'; } >"$logs/$n.step"
xfer send -n $BYTES -t 120 tcp:172.16.0.1:5002 || fail "guest -> host transfer"
STEP
	reason=$(prepare $n)
	if [ -z "$reason" ]; then
		net_vm $n "$logs/$n.ext4" net api "tx=$((RATE / 10)):100"
		host_bg "$logs/$n.host" $NSX "$XFER" serve-recv -k 1 -n "$bytes" -t 120 tcp:5002
		vm_start $n
		got1=$(rate_window $n rx) || reason="the transfer did not start"
		code=$(curl -s -o "$logs/$n.body" -w '%{http_code}' --unix-socket "$logs/$n.api" \
			-X PATCH http://localhost/network-interfaces/eth0 -H 'Content-Type: application/json' \
			-d "{\"iface_id\": \"eth0\", \"tx_rate_limiter\": { \"bandwidth\": { \"size\": $((RATE / 20)), \"refill_time\": 100 } } }")
		[ -n "$reason" ] || [ "$code" = 204 ] || reason="PATCH answered $code: $(cat "$logs/$n.body")"
		got2=$(rate_window $n rx) || reason=${reason:-"the transfer stopped after the PATCH"}
		echo "  $n: $got1 bytes/s before, $got2 after the PATCH (limits $RATE, $((RATE / 2)))"
		[ -n "$reason" ] || reason=$(within "before the PATCH" "$got1" "$RATE" "$logs/$n.rates")
		[ -n "$reason" ] || reason=$(within "after the PATCH" "$got2" $((RATE / 2)) "$logs/$n.rates")
		[ -n "$reason" ] || wait_for $n 'rootfs: reboot' || reason=$(blk_why $n)
		vm_finish
	fi
	finish $n "$t0" "$reason"
}

# --- vsock ------------------------------------------------------------------------

# vs_boot NAME: boot with a vsock device and $logs/NAME.step as the guest's
# script; sets $reason and starts nothing when the image cannot be made.
# The caller drives the host side, then calls vm_finish.
vs_boot() {
	reason=$(prepare "$1")
	[ -n "$reason" ] && return
	net_vm "$1" "$logs/$1.ext4" vsock
	vm_start "$1"
}

# vs_good NAME PORT: a good echo connection to the guest's port PORT works and
# the VMM still runs; prints a reason otherwise.
vs_good() {
	alive "$1" || { echo "the VMM is gone"; return; }
	"$XFER" echo -n 64K -t 60 "$(vs_connect "$2")" >"$logs/$1.good" 2>&1 ||
		echo "the good connection after it failed: $(hfail "$logs/$1.good")"
}


# Echo of 256 KiB host -> guest (the guest listens on port 5000) and guest ->
# host (the host listens on port 5001).
scenario_vsock_echo() {
	t0=$(now) n=vsock-echo
	cat >"$logs/$n.step" <<'STEP'
xfer serve-echo -k 1 -t 120 vsock:5000 &
read -r line
xfer echo -n 256K -t 60 vsock:2:5001 || fail "guest -> host echo"
wait $! || fail "the guest's echo server"
STEP
	reason=$(prepare $n)
	if [ -z "$reason" ]; then
		net_vm $n "$logs/$n.ext4" vsock
		host_bg "$logs/$n.hserve" "$XFER" serve-echo -k 1 -t 120 "$(vs_listen 5001)"
		vm_start $n
		if wait_for $n 'listening on vsock:5000'; then
			"$XFER" echo -n 256K -t 60 "$(vs_connect 5000)" >"$logs/$n.hecho" 2>&1 ||
				reason="host -> guest echo: $(hfail "$logs/$n.hecho")"
		fi
		vm_finish
		# the host's server ends when the guest's connection is closed
		[ -n "$reason" ] || wait_file "$logs/$n.hserve" '^xfer: ok' 30 ||
			reason="the host's echo server: $(hfail "$logs/$n.hserve")"
	fi
	finish $n "$t0" "$reason"
}

# $BULK bytes each way: guest -> host (host port 5001), host -> guest (guest port 5000).
scenario_vsock_bulk() {
	t0=$(now) n=vsock-bulk
	{ echo "BULK=$BULK"; cat <<'STEP'; } >"$logs/$n.step"
xfer send -n $BULK -t 120 vsock:2:5001 || fail "guest -> host transfer"
xfer serve-recv -k 1 -n $BULK -t 120 vsock:5000 || fail "host -> guest transfer"
STEP
	reason=$(prepare $n)
	if [ -z "$reason" ]; then
		net_vm $n "$logs/$n.ext4" vsock
		host_bg "$logs/$n.hrecv" "$XFER" serve-recv -k 1 -n "$BULK" -t 300 "$(vs_listen 5001)"
		vm_start $n
		if wait_for $n 'listening on vsock:5000'; then
			"$XFER" send -n "$BULK" -t 120 "$(vs_connect 5000)" >"$logs/$n.hsend" 2>&1 ||
				reason="host -> guest: $(hfail "$logs/$n.hsend")"
		fi
		vm_finish
		reason=${reason:-$(bulk_check $n)}
		echo "  $n: guest->host $(secsof recv "$logs/$n.hrecv") s, host->guest $(secsof send "$logs/$n.hsend") s for $BULK each"
	fi
	finish $n "$t0" "$reason"
}

# 200 connections at once host -> guest, 16 KiB echoed on each.
scenario_vsock_many() {
	t0=$(now) n=vsock-200-conns
	cat >"$logs/$n.step" <<'STEP'
xfer serve-echo -k 200 -q -t 120 vsock:5000 || fail "the guest's echo server"
STEP
	vs_boot $n
	if [ -z "$reason" ]; then
		if wait_for $n 'listening on vsock:5000'; then
			"$XFER" many -m 200 -n 16K -q -t 120 "$(vs_connect 5000)" >"$logs/$n.hmany" 2>&1 ||
				reason="host side: $(grep -m3 FAIL "$logs/$n.hmany" | tr '\n' ' ')"
			[ -n "$reason" ] || wait_for $n 'rootfs: step' || reason="the guest's server did not finish"
		fi
		vm_finish
	fi
	finish $n "$t0" "$reason"
}

# A host peer resets its connection mid-transfer: the guest's receive ends (no
# hang), and a new connection then carries data (the VMM still serves).
scenario_vsock_abort() {
	t0=$(now) n=vsock-abort
	cat >"$logs/$n.step" <<'STEP'
xfer serve-recv -k 1 -n 64M -t 120 vsock:5000 && fail "the aborted transfer completed"
echo "vsock: first connection ended"
xfer serve-recv -k 1 -n 1M -t 120 vsock:5000 || fail "the connection after the abort"
STEP
	vs_boot $n
	if [ -z "$reason" ]; then
		if wait_for $n 'listening on vsock:5000'; then
			"$XFER" abort -n 2M -t 60 "$(vs_connect 5000)" >"$logs/$n.habort" 2>&1 ||
				reason="the host could not send before aborting: $(hfail "$logs/$n.habort")"
			if [ -z "$reason" ] && ! wait_for $n 'vsock: first connection ended'; then
				reason="the guest did not see the connection end"
			elif [ -z "$reason" ]; then
				tr -d '\r' <"$logs/$n.log" | sed -n "/^xfer: recv/{s/^/  $n: guest: /p;q;}" || true
				i=0  # the second server's listening line
				while [ "$(grep -c 'listening on vsock:5000' "$logs/$n.log")" -lt 2 ] && [ $i -lt 300 ]; do
					sleep 0.1
					i=$((i + 1))
				done
				"$XFER" send -n 1M -t 60 "$(vs_connect 5000)" >"$logs/$n.hsend" 2>&1 ||
					reason="the connection after the abort: $(hfail "$logs/$n.hsend")"
			fi
		fi
		vm_finish
		if [ -z "$reason" ] && [ "$(sumof send "$logs/$n.hsend")" != \
			"$(tr -d '\r' <"$logs/$n.log" | grep '^xfer: recv' | sed -n '2s/.*sum=\([0-9a-f]*\).*/\1/p')" ]; then
			reason="the data after the abort differs"
		fi
	fi
	finish $n "$t0" "$reason"
}

# CONNECT to a port nobody listens on: ember closes the host's socket without
# an OK; a good connection follows. (On QEMU: AF_VSOCK's connect is refused.)
scenario_vsock_no_listener() {
	t0=$(now) n=vsock-no-listener
	cat >"$logs/$n.step" <<'STEP'
xfer serve-echo -k 1 -t 120 vsock:5000 || fail "the guest's echo server"
STEP
	vs_boot $n
	if [ -z "$reason" ]; then
		if wait_for $n 'listening on vsock:5000'; then
			if qemu_vmm; then
				"$XFER" echo -n 1K -t 30 vsock:3:7777 >"$logs/$n.raw" 2>&1 &&
					reason="a connection to port 7777 succeeded"
			else
				"$XFER" raw -t 15 -d 'CONNECT 7777\n' "unix:$UDS" >"$logs/$n.raw" 2>&1 || true
				grep -Eq "result=(closed|reset) reply=''" "$logs/$n.raw" ||
					reason="CONNECT 7777: $(cat "$logs/$n.raw")"
			fi
			cat "$logs/$n.raw" >>"$logs/$n.log"
			[ -n "$reason" ] || reason=$(vs_good $n 5000)
		fi
		vm_finish
	fi
	finish $n "$t0" "$reason"
}

# Malformed handshakes: each one closed without an OK and the VMM alive after
# it, then a good connection.
scenario_vsock_bad_handshake() {
	t0=$(now) n=vsock-bad-handshake
	if qemu_vmm; then echo "SKIP $n: QEMU has no Firecracker handshake"; return; fi
	cat >"$logs/$n.step" <<'STEP'
xfer serve-echo -k 1 -t 120 vsock:5000 || fail "the guest's echo server"
STEP
	vs_boot $n
	if [ -z "$reason" ]; then
		if wait_for $n 'listening on vsock:5000'; then
			for v in 'garbage\x00\xff\x7f\n' 'CONNECT abc\n' 'CONNECT\n' 'CONNECT -1\n' \
				'CONNECT 99999999999\n' 'CONNECT 5000\x00\n' 'CONNEC 5000\n' long noeol empty; do
				case $v in
				long) "$XFER" raw -t 15 -d 'CONNECT 5000' -L 8192 "unix:$UDS" ;;
				noeol) "$XFER" raw -t 15 -c -d 'CONNECT 5000' "unix:$UDS" ;;
				empty) "$XFER" raw -t 15 -c -d '' "unix:$UDS" ;;
				*) "$XFER" raw -t 15 -d "$v" "unix:$UDS" ;;
				esac >"$logs/$n.raw" 2>&1 || true
				sed "s/^/[$v] /" "$logs/$n.raw" >>"$logs/$n.log"
				if grep -q 'result=answered' "$logs/$n.raw"; then
					reason="'$v' was answered: $(cat "$logs/$n.raw")"
				elif ! grep -Eq 'result=(closed|reset|sent) ' "$logs/$n.raw"; then
					reason="'$v': $(cat "$logs/$n.raw")"
				elif ! alive $n; then
					reason="the VMM is gone after '$v'"
				fi
				[ -z "$reason" ] || break
			done
			[ -n "$reason" ] || reason=$(vs_good $n 5000)
		fi
		vm_finish
	fi
	finish $n "$t0" "$reason"
}

# Run the groups tier3.sh asks for: net_scenarios / vsock_scenarios.
net_scenarios() {
	t0=$(now)
	r=$(net_setup)
	if [ -n "$r" ]; then
		echo "$r" >"$logs/net-setup.log"
		result net-setup "$t0" "$r"
		return
	fi
	scenario_net_ping
	scenario_net_mtu
	scenario_net_bulk
	scenario_net_ratelimit tx
	scenario_net_ratelimit rx
	scenario_net_patch_ratelimit
	"$IPR" netns del "$NS" 2>/dev/null || true
}

# xfer's AF_VSOCK side without a VM: echo and a stream over the host's own
# vsock loopback (module vsock_loopback, CID 1), so a vsock failure below is
# not the tool's.
scenario_xfer_vsock_loopback() {
	t0=$(now) n=xfer-vsock-loopback
	if ! grep -q '^vsock_loopback ' /proc/modules 2>/dev/null; then
		echo "SKIP $n: no vsock_loopback module loaded here"
		return
	fi
	reason=""
	host_bg "$logs/$n.log" "$XFER" serve-echo -k 21 -q -t 30 vsock:4000
	wait_file "$logs/$n.log" 'listening on vsock:4000' || reason="the echo server did not start"
	[ -n "$reason" ] || "$XFER" echo -n 1M -t 30 vsock:1:4000 >>"$logs/$n.log" 2>&1 || reason="echo over vsock loopback failed"
	[ -n "$reason" ] || "$XFER" many -m 20 -n 16K -q -t 30 vsock:1:4000 >>"$logs/$n.log" 2>&1 ||
		reason="20 connections over vsock loopback failed"
	host_reap
	result $n "$t0" "$reason"
}

vsock_scenarios() {
	scenario_xfer_vsock_loopback
	if qemu_vmm && [ ! -c /dev/vhost-vsock ]; then
		echo "SKIP vsock: no /dev/vhost-vsock for QEMU's vhost-vsock-device"
		return
	fi
	scenario_vsock_echo
	scenario_vsock_bulk
	scenario_vsock_many
	scenario_vsock_abort
	scenario_vsock_no_listener
	scenario_vsock_bad_handshake
}
