# shellcheck shell=sh disable=SC2154,SC2034
# tier3.sh runs with `set -eu`: every command that may fail here is in a
# condition or ends in `|| true`.
# Tier 3, snapshots of a Linux guest (issue 16): sourced by
# tests/integration/tier3.sh after tier3_net.sh, whose helpers it uses
# (net_setup, net_vm, vm_start, prepare, alive, $NS, $NSX, $XFER, $UDS, ...).
#
# One scenario, `snapshot-linux`: the ext4 root (a writable drive), virtio-net
# on tap0 in the namespace $NS and vsock. The guest counts, once a loop: it
# appends the count to /count.txt on its root, syncs, prints
# `snap: count N up UPTIME date EPOCH end` on the console and waits a second
# for a command on the console (`date EPOCH` sets its clock, `check` stops the
# writer below, syncs, and checks /count.txt holds 1..N in order and /blob its
# md5, `stop` ends the loop; init then syncs, remounts / read-only and
# reboots, which ends the VMM). Meanwhile an xfer echo server listens on
# vsock port 5000, a shell loop spins (the vCPU is busy at the pause, with its
# timer tick armed: before the fix of the vCPU restore order the restored
# guest never got another timer interrupt and stopped counting), and with
# SNAP_WRITER=1 a writer rewrites /blob (512 KiB of random bytes, fsync) and
# its md5 over and over, so the pause likely finds block requests in flight.
# Before the snapshot the host pings the guest through tap0 and echoes over
# vsock (the setup works); then PATCH /vm Paused, PUT /snapshot/create (Full),
# kill -9. tap0 is deleted and tap1 made with the host's address; a new ember
# (in the namespace) loads the snapshot with `network_overrides` (eth0 ->
# tap1), `vsock_override` (a new uds_path) and `resume_vm: true`. Checked:
# the count goes on from the last one printed (N+1, or N+2 when the pause cut
# N+1's line), the guest's uptime neither goes back nor jumps past the time
# that passed on the host, its clock (set from the host at boot) is not ahead
# of the host's nor behind it by more than the time since the pause and a
# minute, the host pings the guest through tap1, a host `CONNECT 5000` on the
# new socket is accepted and echoes, the guest's `check` after a sync finds
# /count.txt whole (and /blob matching its md5), and after `stop` the image is
# clean (e2fsck -fn), its /count.txt is 1..M (M the last count) and its /blob
# matches the md5 beside it.
# ember only: with TIER3_VMM=qemu it is skipped.

SNAP_LINE='snap: count [0-9][0-9]* up [0-9.][0-9.]* date [0-9][0-9]* end'

# snap_api NAME METHOD PATH [BODY]: the HTTP status of the call to NAME's API
# socket ($logs/NAME.api); the answer's body in $logs/NAME.body.
snap_api() {
	curl -s -m 60 -o "$logs/$1.body" -w '%{http_code}' --unix-socket "$logs/$1.api" \
		-X "$2" "http://localhost$3" -H 'Content-Type: application/json' ${4:+-d "$4"} || echo "000"
}

# snap_counts NAME: "N UPTIME EPOCH" for each whole count line in NAME's log.
snap_counts() {
	tr -d '\r' <"$logs/$1.log" |
		sed -n 's/.*snap: count \([0-9][0-9]*\) up \([0-9.][0-9.]*\) date \([0-9][0-9]*\) end$/\1 \2 \3/p' || true
}

# snap_wait_count NAME N: until a count line of at least N shows in NAME's log.
snap_wait_count() {
	i=0
	while :; do
		last=$(snap_counts "$1" | tail -n1 | cut -d' ' -f1)
		[ -z "$last" ] || [ "$last" -lt "$2" ] || return 0
		[ $i -lt $((T * 10)) ] || return 1
		[ ! -s "$logs/$1.pid" ] || kill -0 "$(cat "$logs/$1.pid")" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

scenario_snapshot_linux() {
	t0=$(now) n=snapshot-linux src=snap-src dst=snap-dst
	if qemu_vmm; then
		echo "SKIP $n: ember's snapshot API"
		return
	fi
	{ echo "$NETUP"; echo "WRITER=${SNAP_WRITER:-0}"; cat <<'STEP'; } >"$logs/$n.step"
xfer serve-echo -k 0 -t 60 vsock:5000 &
xpid=$! wpid=""
# a spinner: the vCPU is busy at the pause, its timer tick armed (an idle
# guest re-arms it when an interrupt wakes it; a busy one only from the tick)
( while :; do :; done ) &
spid=$!
# SNAP_WRITER=1: a writer keeps the drive busy, so the pause likely finds a
# request in flight
if [ "$WRITER" = 1 ]; then
	( while [ ! -e /stopw ]; do
		dd if=/dev/urandom of=/blob bs=64k count=8 conv=fsync 2>/dev/null || fail "cannot write /blob"
		md5sum </blob | cut -d' ' -f1 >/blob.md5
	done ) &
	wpid=$!
fi
i=0
while :; do
	i=$((i + 1))
	echo "$i" >>/count.txt || fail "cannot append to /count.txt"
	sync
	echo "snap: count $i up $(cut -d' ' -f1 /proc/uptime) date $(date +%s) end"
	cmd="" arg=""
	read -r -t 1 cmd arg || true
	case $cmd in
	date) date -s "@$arg" >/dev/null && echo "snap: date set $(date +%s)" ;;
	check)
		touch /stopw
		[ -z "$wpid" ] || wait $wpid
		sync
		if seq 1 "$i" | cmp -s - /count.txt; then ok=yes; else ok=no; fi
		bok=yes
		[ -z "$wpid" ] || [ "$(md5sum </blob | cut -d' ' -f1)" = "$(cat /blob.md5)" ] || bok=no
		echo "snap: check $i lines in order: $ok ($(wc -l </count.txt) lines), /blob matches its md5: $bok"
		;;
	stop) break ;;
	esac
done
kill $xpid $spid 2>/dev/null
echo "snap: stopped at $i"
STEP
	reason=$(prepare $n)
	img=$logs/$n.ext4 uds2=$logs/v2.sock tp="" tc="" tk="" tl="" tr="" ta=""
	[ -n "$reason" ] || reason=$(net_setup) || true
	if [ -z "$reason" ]; then
		# --- the source: boot, set the clock, the devices work
		net_vm $src "$img" net vsock api
		vm_start $src
		if ! snap_wait_count $src 2; then
			reason="the guest did not start counting: $(blk_why $src)"
		else
			(echo "date $(date +%s)" >&8) 2>/dev/null || true
			wait_for $src 'snap: date set' || reason="the guest did not set its clock"
		fi
		if [ -z "$reason" ] && ! $NSX ping -c 2 -w 30 "$GUEST_IP" >>"$logs/$n.log" 2>&1; then
			reason="before the snapshot: the host cannot ping the guest through tap0"
		fi
		if [ -z "$reason" ] && ! "$XFER" echo -n 64K -t 60 "fc:$UDS:5000" >"$logs/$n.vs1" 2>&1; then
			reason="before the snapshot: vsock echo: $(hfail "$logs/$n.vs1")"
		fi
		if [ -z "$reason" ]; then
			c=$(snap_counts $src | tail -n1 | cut -d' ' -f1)
			snap_wait_count $src $((c + 2)) || reason="the guest stopped counting before the pause"
		fi
		# --- pause, snapshot, kill
		if [ -z "$reason" ]; then
			tp=$(now)
			code=$(snap_api $src PATCH /vm '{"state": "Paused"}')
			tc=$(now)
			[ "$code" = 204 ] || reason="PATCH /vm Paused: $code $(cat "$logs/$src.body")"
		fi
		if [ -z "$reason" ]; then
			code=$(snap_api $src PUT /snapshot/create \
				"{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$logs/snap.state\", \"mem_file_path\": \"$logs/snap.mem\"}")
			tk=$(now)
			[ "$code" = 204 ] || reason="PUT /snapshot/create: $code $(cat "$logs/$src.body")"
		fi
		before=$(snap_counts $src | tail -n1)
		kill -9 "$(cat "$logs/$src.pid")" 2>/dev/null || true
		exec 8>&-
		wait "$vm_pid" 2>/dev/null || true
		[ -n "$reason" ] || [ -n "$before" ] || reason="no count line before the pause"
		# --- another tap with the host's address, a new ember loads
		if [ -z "$reason" ]; then
			{ "$IPR" -n "$NS" link del tap0 &&
				"$IPR" -n "$NS" tuntap add dev tap1 mode tap &&
				"$IPR" -n "$NS" addr add "$HOST_IP/30" dev tap1 &&
				"$IPR" -n "$NS" link set tap1 up; } >>"$logs/$n.log" 2>&1 ||
				reason="cannot replace tap0 with tap1 in $NS"
		fi
		if [ -z "$reason" ]; then
			rm -f "$logs/$dst.api"
			echo "echo \$\$ >$logs/$dst.pid; exec $IPR netns exec $NS $EMBER --api-sock $logs/$dst.api" >"$logs/$dst.vm"
			vm_start $dst
			i=0
			while [ ! -S "$logs/$dst.api" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
			code=$(snap_api $dst PUT /metrics "{\"metrics_path\": \"$logs/$dst.metrics\"}")
			[ "$code" = 204 ] || reason="PUT /metrics: $code $(cat "$logs/$dst.body")"
			tl=$(now)
			[ -n "$reason" ] || code=$(snap_api $dst PUT /snapshot/load "{\"snapshot_path\": \"$logs/snap.state\",
				\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$logs/snap.mem\"},
				\"resume_vm\": true, \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap1\"}],
				\"vsock_override\": {\"uds_path\": \"$uds2\"}}")
			tr=$(now)
			[ -n "$reason" ] || [ "$code" = 204 ] || reason="PUT /snapshot/load: $code $(cat "$logs/$dst.body")"
		fi
		# --- the restored guest
		if [ -z "$reason" ]; then
			b=${before%% *}
			# two lines: the first is then whole
			if ! snap_wait_count $dst $((b + 3)); then
				reason="the restored guest does not count on (last before: $b; after: '$(snap_counts $dst | tr '\n' ';')')"
			fi
			ta=$(now) hnow=$(date +%s)
			after=$(snap_counts $dst | head -n1)
		fi
		if [ -z "$reason" ]; then
			a=${after%% *}
			ub=$(echo "$before" | cut -d' ' -f2) ua=$(echo "$after" | cut -d' ' -f2)
			db=$(echo "$before" | cut -d' ' -f3) da=$(echo "$after" | cut -d' ' -f3)
			echo "  $n: before: count $b up $ub s date $db; restored: count $a up $ua s date $da (host $hnow)"
			if [ "$a" -ne $((b + 1)) ] && [ "$a" -ne $((b + 2)) ]; then
				reason="the count went on at $a after $b"
			elif ! awk -v a="$ua" -v b="$ub" -v s="$(awk -v x="$tp" -v y="$ta" 'BEGIN { print y - x }')" \
				'BEGIN { exit !(a >= b && a - b <= s + 10) }'; then
				reason="the guest's uptime went from $ub to $ua s across a snapshot $(awk -v x="$tp" -v y="$ta" 'BEGIN { print y - x }') s long on the host"
			elif [ "$da" -lt "$db" ] || [ "$da" -gt $((hnow + 5)) ] ||
				[ "$da" -lt $((hnow - ${ta%.*} + ${tp%.*} - 60)) ]; then
				reason="the guest's clock reads $da (before the pause $db, the host $hnow)"
			fi
		fi
		if [ -z "$reason" ] && ! $NSX ping -c 3 -w 30 "$GUEST_IP" >>"$logs/$dst.log" 2>&1; then
			reason="after the restore: the host cannot ping the guest through tap1"
		fi
		if [ -z "$reason" ] && ! "$XFER" echo -n 64K -t 60 "fc:$uds2:5000" >"$logs/$n.vs2" 2>&1; then
			reason="after the restore: vsock echo on the new uds_path: $(hfail "$logs/$n.vs2")"
		fi
		if [ -z "$reason" ]; then
			(echo check >&8) 2>/dev/null || true
			if ! wait_for $dst 'snap: check [0-9]* lines in order: '; then
				reason="the restored guest did not answer 'check'"
			elif ! grep -q 'snap: check [0-9]* lines in order: yes.*md5: yes' "$logs/$dst.log"; then
				reason="after a sync the guest finds its files broken: $(tr -d '\r' <"$logs/$dst.log" | grep -m1 'snap: check')"
			fi
		fi
		if [ -z "$reason" ]; then
			(echo stop >&8) 2>/dev/null || true
			wait_for $dst 'rootfs: reboot' || true
		fi
		exec 8>&-
		rc=0
		if [ -n "$reason" ] && alive $dst; then  # what the restored devices did, for the log
			snap_api $dst PUT /actions '{"action_type": "FlushMetrics"}' >/dev/null
			sleep 1
			tail -n1 "$logs/$dst.metrics" >>"$logs/$n.metrics" 2>/dev/null || true
		fi
		if [ -n "$reason" ]; then
			kill -9 "$(cat "$logs/$dst.pid" 2>/dev/null)" 2>/dev/null || true
		fi
		wait "$vm_pid" 2>/dev/null || rc=$?
		if [ -z "$reason" ]; then
			last=$(tr -d '\r' <"$logs/$dst.log" | sed -n 's/.*snap: stopped at \([0-9][0-9]*\).*/\1/p' | head -n1)
			fsck=0
			e2fsck -fn "$img" >>"$logs/$n.log" 2>&1 || fsck=$?
			if [ $rc -ne 0 ]; then
				reason="the restored ember ended with status $rc after 'stop'"
			elif [ -z "$last" ]; then
				reason="the guest did not stop: $(blk_why $dst)"
			elif [ $fsck -ne 0 ]; then
				reason="e2fsck -fn finds the image unclean (status $fsck)"
			elif ! { seq 1 "$last" >"$logs/$n.want" &&
				debugfs -R "cat /count.txt" "$img" 2>/dev/null | cmp -s - "$logs/$n.want"; }; then
				reason="/count.txt in the image is not 1..$last"
			elif [ "${SNAP_WRITER:-0}" = 1 ] &&
				[ "$(debugfs -R "cat /blob" "$img" 2>/dev/null | md5)" != "$(debugfs -R "cat /blob.md5" "$img" 2>/dev/null)" ]; then
				reason="/blob in the image does not match the md5 the guest wrote for it"
			fi
		fi
		echo "  $n: pause $(awk -v x="${tp:-0}" -v y="${tc:-0}" 'BEGIN { printf "%.2f", y - x }') s," \
			"create $(awk -v x="${tc:-0}" -v y="${tk:-0}" 'BEGIN { printf "%.2f", y - x }') s," \
			"load $(awk -v x="${tl:-0}" -v y="${tr:-0}" 'BEGIN { printf "%.2f", y - x }') s," \
			"load to two count lines $(awk -v x="${tl:-0}" -v y="${ta:-0}" 'BEGIN { printf "%.2f", y - x }') s" || true
		# the result shows $logs/$n.log: put both VMs' logs there
		[ ! -s "$logs/$n.metrics" ] || { echo "  $n: the restored ember's metrics:"; sed 's/^/  | /' "$logs/$n.metrics"; }
		{ echo "--- source"; tail -n 15 "$logs/$src.log"; echo "--- restored"; tail -n 25 "$logs/$dst.log"; } >>"$logs/$n.log" 2>/dev/null || true
	fi
	"$IPR" netns del "$NS" 2>/dev/null || true
	result $n "$t0" "$reason"
	rm -f "$img" "$logs/snap.state" "$logs/snap.mem" "$UDS" "$UDS"_* "$uds2" "$uds2"_*
}

snapshot_scenarios() {
	scenario_snapshot_linux
}
