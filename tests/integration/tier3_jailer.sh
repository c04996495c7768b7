# shellcheck shell=sh disable=SC2154,SC2034
# tier3.sh runs with `set -eu`: every command that may fail here is in a
# condition or ends in `|| true`.
# Tier 3 through ember-jailer: sourced by tests/integration/tier3.sh after
# tier3_net.sh (POSIX sh, busybox sh inside L1), whose helpers it uses
# (result, blk_why, put_step, wait_for, wait_file, host_bg, host_reap, sumof,
# hfail, $logs, $T, $CMDLINE, $GUEST_*, $EMBER, $XFER, $IPR, $HOST_IP).
#
# ember runs as uid 123/gid 100 in its jail (<base>/ember/<id>/root), in a
# new PID namespace, in the network namespace $JNS (whose tap0 belongs to
# that uid), in a cgroup v2 group with limits.  Inside L1 the root file
# system is the initramfs, which pivot_root cannot leave (as with
# Firecracker's jailer): the jailer then runs chrooted into a recursive bind
# of / in a mount namespace of its own, a root pivot_root accepts.
# Environment: EMBER_JAILER (the jailer binary).

JNS=ember-t3j
JUID=123
JGID=100
JBASE=$logs/jails
CGPARENT=ember-t3
NSJX="$IPR netns exec $JNS"

# jail_setup: the namespace with tap0 (owned by the jail's uid), the base
# directory, a cgroup2 mount (L1 has none). Prints why it failed.
jail_setup() {
	"$IPR" netns del "$JNS" 2>/dev/null || true
	{ "$IPR" netns add "$JNS" &&
		"$IPR" -n "$JNS" link set lo up &&
		"$IPR" -n "$JNS" tuntap add dev tap0 mode tap user "$JUID" group "$JGID" &&
		"$IPR" -n "$JNS" addr add "$HOST_IP/30" dev tap0 &&
		"$IPR" -n "$JNS" link set tap0 up; } >"$logs/jail-setup.log" 2>&1 ||
		{ echo "cannot set up netns $JNS with tap0: $(tail -n 3 "$logs/jail-setup.log")"; return 1; }
	if ! mkdir -p "$JBASE" || ! chmod 0755 "$JBASE"; then echo "cannot make $JBASE"; return 1; fi
	if ! grep -q ' cgroup2 ' /proc/mounts; then
		mount -t cgroup2 none /sys/fs/cgroup 2>>"$logs/jail-setup.log" ||
			{ echo "cannot mount cgroup2: $(tail -n 1 "$logs/jail-setup.log")"; return 1; }
	fi
}

# The cgroup v2 values: a core file always, pids and memory where available.
jail_cgroups() {
	cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	echo "--cgroup cgroup.max.descendants=4"
	! grep -qw pids "$cg2/cgroup.controllers" || echo "--cgroup pids.max=200"
	! grep -qw memory "$cg2/cgroup.controllers" || echo "--cgroup memory.max=1073741824"
}

# jail_root ID: creates (as the launcher does) <base>/ember/ID/root for the
# guest's files; prints its path.
jail_root() {
	rm -rf "${JBASE:?}/ember/$1"
	mkdir -p "$JBASE/ember/$1/root"
	echo "$JBASE/ember/$1/root"
}

# jail_files NAME ID: the jail root of ID ($jail) holding the guest kernel as
# /vmlinux and a copy of the root with $logs/NAME.step as /root.ext4 (the
# jail's user's); sets $reason when it could not.
jail_files() {
	jail=$(jail_root "$2")
	reason=$(prepare "$1")
	[ -n "$reason" ] || { mv "$logs/$1.ext4" "$jail/root.ext4" && cp "$GUEST_VMLINUX" "$jail/vmlinux" &&
		chown "$JUID:$JGID" "$jail/root.ext4"; } || reason="cannot place the guest's files in the jail"
}

# jail_give FILE...: the jail's user may read and write them.
jail_give() { chown "$JUID:$JGID" "$@"; }

# jail_start NAME ID EMBER_ARGS...: ember through the jailer, its console in
# $logs/NAME.log, its serial input the fifo $logs/NAME.in (kept open on fd 8),
# its pid (as this namespace sees it) in $logs/NAME.pid.  Sets $jreason (empty
# when it started).  Call it as `jail_start ... || true` (set -e).
jail_start() {
	name=$1 id=$2 jreason=""
	shift 2
	rm -f "$logs/$name.in" "$logs/$name.pid"
	mkfifo "$logs/$name.in" || { jreason="mkfifo failed"; return 1; }
	: >"$logs/$name.log"
	# shellcheck disable=SC2046 # one word per flag
	set -- "$EMBER_JAILER" --id "$id" --exec-file "$EMBER" --uid "$JUID" --gid "$JGID" \
		--chroot-base-dir "$JBASE" --netns "/run/netns/$JNS" --new-pid-ns \
		--cgroup-version 2 $(jail_cgroups) --parent-cgroup "$CGPARENT" -- "$@"
	if [ "$(awk '$2 == "/" { print $3; exit }' /proc/mounts)" = rootfs ]; then
		mkdir -p "$logs/r"
		timeout -s KILL 60 unshare -m sh -c 'mount -o rbind / "$0" && exec chroot "$0" "$@"' \
			"$logs/r" "$@" <"$logs/$name.in" >"$logs/$name.log" 2>&1 &
	else
		timeout -s KILL 60 "$@" <"$logs/$name.in" >"$logs/$name.log" 2>&1 &
	fi
	exec 8>"$logs/$name.in"
	wait $! || { jreason="the jailer failed: $(tail -n 3 "$logs/$name.log")"; return 1; }
	wait_file "$JBASE/ember/$id/root/ember.pid" . 10 || { jreason="no ember.pid in the jail"; return 1; }
	cp "$JBASE/ember/$id/root/ember.pid" "$logs/$name.pid"
}

# jail_end NAME: the guest goes on (a console line), ember must end within $T
# seconds (killed otherwise, and $jreason says so).  Call it with `|| true`.
jail_end() {
	jreason=""
	(echo go >&8) 2>/dev/null || true
	exec 8>&-
	p=$(cat "$logs/$1.pid" 2>/dev/null || true)
	i=0
	while [ -n "$p" ] && kill -0 "$p" 2>/dev/null; do
		if [ $i -ge $((T * 10)) ]; then
			kill -KILL "$p" 2>/dev/null || true
			jreason="ember did not end within ${T}s"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# jail_outside NAME ID: what the host sees of the running ember; a reason or nothing.
jail_outside() {
	p=$(cat "$logs/$1.pid")
	st=/proc/$p/status
	grep -qE "^Uid:[[:space:]]+${JUID}[[:space:]]+${JUID}[[:space:]]+${JUID}[[:space:]]+$JUID\$" "$st" ||
		{ echo "not running as uid $JUID: $(grep Uid: "$st")"; return; }
	grep -qE "^Gid:[[:space:]]+${JGID}[[:space:]]" "$st" || { echo "not gid $JGID: $(grep Gid: "$st")"; return; }
	grep -qE "^NSpid:[[:space:]]+${p}[[:space:]]+1\$" "$st" || { echo "not pid 1 of its namespace: $(grep NSpid: "$st")"; return; }
	grep -qx "0::/$CGPARENT/$2" "/proc/$p/cgroup" || { echo "cgroup: $(cat "/proc/$p/cgroup")"; return; }
	[ "$(stat -L -c %i "/proc/$p/ns/net")" = "$(stat -L -c %i "/run/netns/$JNS")" ] ||
		{ echo "not in netns $JNS"; return; }
	[ "$(stat -L -c %d:%i "/proc/$p/root")" = "$(stat -c %d:%i "$JBASE/ember/$2/root")" ] ||
		{ echo "its / is not the jail"; return; }
}

# jail_teardown NAME ID: nothing of the jail mounted, the jail and the group
# removable; a reason or nothing.
jail_teardown() {
	if grep -q "$JBASE" /proc/mounts; then echo "still mounted: $(grep "$JBASE" /proc/mounts)"; return; fi
	rm -rf "${JBASE:?}/ember/$2" 2>/dev/null || { echo "cannot remove the jail"; return; }
	cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	i=0
	until rmdir "$cg2/$CGPARENT/$2" 2>/dev/null; do
		[ $i -lt 50 ] || { echo "cannot remove cgroup $cg2/$CGPARENT/$2: $(cat "$cg2/$CGPARENT/$2/cgroup.procs")"; return; }
		sleep 0.1
		i=$((i + 1))
	done
}

# A Linux guest with its root drive, eth0 on tap0 in the joined namespace and
# vsock, all through the jailer: the guest pings the host and sends 4 MiB over
# TCP, echoes 256 KiB over vsock, writes a file on its root; checked from
# outside while it runs, and after it ends.
scenario_jailer_vm() {
	t0=$(now) n=jailer-vm id=t3-vm rc=0
	{ echo "$NETUP"; cat <<'STEP'; } >"$logs/$n.step"
ping -c 2 -w 30 172.16.0.1 >/dev/null || fail "the guest cannot ping the host"
xfer send -n 4M -t 120 tcp:172.16.0.1:5002 || fail "guest -> host over the tap"
xfer serve-echo -k 1 -t 120 vsock:5000 || fail "the vsock echo"
echo "written in the jail" >/jailer.txt && sync || fail "cannot write /jailer.txt"
STEP
	jail_files $n $id
	if [ -z "$reason" ]; then
		cat >"$jail/vm.json" <<JSON
{
  "boot-source": { "kernel_image_path": "/vmlinux", "boot_args": "$CMDLINE" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "drives": [ { "drive_id": "rootfs", "path_on_host": "/root.ext4", "is_root_device": true,
                "is_read_only": false } ],
  "network-interfaces": [ { "iface_id": "eth0", "host_dev_name": "tap0",
                            "guest_mac": "06:00:ac:10:00:02" } ],
  "vsock": { "guest_cid": 3, "uds_path": "/v.sock" }
}
JSON
		host_bg "$logs/$n.hrecv" $NSJX "$XFER" serve-recv -k 1 -n 4M -t 120 tcp:5002
		[ -n "$reason" ] || { jail_start $n $id --no-api --config-file /vm.json || true; reason=$jreason; }
		if [ -z "$reason" ] && wait_for $n 'listening on vsock:5000'; then
			reason=$(jail_outside $n $id)
			"$XFER" echo -n 256K -t 60 "fc:$jail/v.sock:5000" >"$logs/$n.hecho" 2>&1 ||
				reason=${reason:-"host -> guest vsock echo: $(hfail "$logs/$n.hecho")"}
		fi
		[ -n "$reason" ] || wait_for $n 'rootfs: reboot' || true
		jail_end $n || true
		reason=${reason:-$jreason}
		if [ -z "$reason" ] && [ -z "$(blk_why $n)" ]; then
			want=$("$XFER" gen -n 4M 2>&1 >/dev/null | sed -n 's/.*sum=//p')
			[ "$(sumof recv "$logs/$n.hrecv")" = "$want" ] ||
				reason="TCP: the host received sum '$(sumof recv "$logs/$n.hrecv")', expected '$want'"
			[ -n "$reason" ] || [ "$(debugfs -R 'cat /jailer.txt' "$jail/root.ext4" 2>/dev/null)" = "written in the jail" ] ||
				reason="/jailer.txt is not in the root image"
		fi
		[ -n "$reason" ] || [ -n "$(blk_why $n)" ] || reason=$(jail_teardown $n $id)
	fi
	finish $n "$t0" "$reason"
}

# Kata Containers' Firecracker flow: the jailer, then the API socket in the
# jail; the root and a pool of 8 placeholder drives (empty files) before boot;
# after boot each placeholder is PATCHed to a real image and the guest reads
# the new contents of all eight.
scenario_jailer_kata() {
	t0=$(now) n=jailer-kata id=t3-kata rc=0
	cat >"$logs/$n.step" <<'STEP'
[ "$(cd /sys/block && echo vd*)" = "vda vdb vdc vdd vde vdf vdg vdh vdi" ] || fail "block devices: $(cd /sys/block && echo vd*)"
for d in b c d e f g h i; do
	[ "$(cat /sys/block/vd$d/size)" = 0 ] || fail "placeholder vd$d has $(cat /sys/block/vd$d/size) sectors"
done
echo "jailer: placeholders attached"
read -r line
k=0
for d in b c d e f g h i; do
	i=0
	while [ "$(cat /sys/block/vd$d/size)" != 2048 ]; do
		[ $i -lt 300 ] || fail "vd$d still has $(cat /sys/block/vd$d/size) sectors"
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(head -c 6 /dev/vd$d)" = "disk-$k" ] || fail "vd$d starts with '$(head -c 6 /dev/vd$d)', not disk-$k"
	k=$((k + 1))
done
echo "jailer: all eight read"
STEP
	jail_files $n $id
	if [ -z "$reason" ]; then
		k=0
		while [ -z "$reason" ] && [ $k -lt 8 ]; do
			{ : >"$jail/drive_$k.placeholder" &&
				dd if=/dev/zero of="$jail/disk_$k.img" bs=1M count=1 2>/dev/null &&
				printf "disk-%s" $k | dd of="$jail/disk_$k.img" conv=notrunc 2>/dev/null; } ||
				reason="cannot make drive $k"
			k=$((k + 1))
		done
		[ -n "$reason" ] || jail_give "$jail"/*.placeholder "$jail"/*.img ||
			reason="cannot chown the drives"
		[ -n "$reason" ] || { jail_start $n $id --api-sock /run/api.sock || true; reason=$jreason; }
		S=$jail/run/api.sock
		[ -n "$reason" ] || wait_file "$S" . 10 || true
		kapi() { # METHOD PATH BODY: a reason unless 204
			c=$(curl -s -o "$logs/$n.body" -w '%{http_code}' --unix-socket "$S" -X "$1" \
				"http://localhost$2" -H 'Content-Type: application/json' -d "$3") || true
			[ "$c" = 204 ] || echo "$1 $2 -> $c $(cat "$logs/$n.body" 2>/dev/null)"
		}
		[ -n "$reason" ] || reason=$(kapi PUT /boot-source "{\"kernel_image_path\": \"/vmlinux\", \"boot_args\": \"$CMDLINE\"}")
		[ -n "$reason" ] || reason=$(kapi PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}')
		[ -n "$reason" ] || reason=$(kapi PUT /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "/root.ext4", "is_root_device": true, "is_read_only": false}')
		k=0
		while [ -z "$reason" ] && [ $k -lt 8 ]; do
			reason=$(kapi PUT /drives/drive_$k "{\"drive_id\": \"drive_$k\", \"path_on_host\": \"/drive_$k.placeholder\", \"is_root_device\": false, \"is_read_only\": false}")
			k=$((k + 1))
		done
		[ -n "$reason" ] || reason=$(kapi PUT /actions '{"action_type": "InstanceStart"}')
		if [ -z "$reason" ] && wait_for $n 'jailer: placeholders attached'; then
			reason=$(jail_outside $n $id)
			k=0
			while [ -z "$reason" ] && [ $k -lt 8 ]; do
				reason=$(kapi PATCH /drives/drive_$k "{\"drive_id\": \"drive_$k\", \"path_on_host\": \"/disk_$k.img\"}")
				k=$((k + 1))
			done
		fi
		# the guest reads the drives once told to go on
		[ -n "$reason" ] || { (echo go >&8) 2>/dev/null || true; }
		[ -n "$reason" ] || wait_for $n 'jailer: all eight read' || reason=$(blk_why $n)
		[ -n "$reason" ] || wait_for $n 'rootfs: reboot' || true
		jail_end $n || true
		reason=${reason:-$jreason}
		[ -n "$reason" ] || [ -n "$(blk_why $n)" ] || reason=$(jail_teardown $n $id)
	fi
	finish $n "$t0" "$reason"
}

jailer_scenarios() {
	t0=$(now)
	if [ ! -x "${EMBER_JAILER:-}" ]; then
		result jailer-setup "$t0" "no ember-jailer at '${EMBER_JAILER:-}'"
		return
	fi
	r=$(jail_setup) || true
	if [ -n "$r" ]; then
		result jailer-setup "$t0" "$r"
		return
	fi
	scenario_jailer_vm
	scenario_jailer_kata
	"$IPR" netns del "$JNS" 2>/dev/null || true
	rmdir "$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/$CGPARENT" 2>/dev/null || true
}
