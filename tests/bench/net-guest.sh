#!/bin/sh
# Network benchmark, run inside the guest as /tests/net (kernel parameter
# ember.test=net, initramfs of tests/bench/mknetinitramfs.sh).
#   ember.net=tcp:   iperf3 against the host's server (172.16.0.1), guest -> host
#                    then host -> guest (-R), ember.net_secs seconds each (default 5,
#                    the first second omitted); one line per direction:
#                    net: dir=g2h|h2g mbps=N
#   ember.net=vsock: xfer (tests/guests/xfer) servers on vsock ports 5000
#                    (receives ember.net_bytes) and 5001 (sends them); the host
#                    side connects and measures.
arg() { sed -n "s/.*ember\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
mode=$(arg net)
secs=$(arg net_secs)
secs=${secs:-5}
bytes=$(arg net_bytes)
bytes=${bytes:-64M}
if [ "$mode" = vsock ]; then
	xfer serve-recv -k 1 -n "$bytes" -t 120 vsock:5000 || echo "net: FAIL vsock receive"
	xfer serve-send -k 1 -q -n "$bytes" -t 120 vsock:5001 || echo "net: FAIL vsock send"
	echo "net: done"
	exit 0
fi
ip link set lo up
ip addr add 172.16.0.2/30 dev eth0 && ip link set eth0 up || { echo "net: FAIL no eth0"; exit 1; }
# The host's iperf3 server may still be starting: try for a while.
i=0
while ! ping -c 1 -w 2 172.16.0.1 >/dev/null 2>&1 && [ $i -lt 10 ]; do i=$((i + 1)); done
for dir in g2h h2g; do
	r=""
	[ $dir = h2g ] && r=-R
	# shellcheck disable=SC2086 # $r is empty or one option
	out=$(iperf3 -c 172.16.0.1 $r -t $((secs + 1)) -O 1 -f m 2>&1)
	mbps=$(echo "$out" | awk '/receiver$/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1) }' | tail -n1)
	if [ -n "$mbps" ]; then echo "net: dir=$dir mbps=$mbps"; else echo "net: FAIL $dir: $(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
done
echo "net: done"
