#!/usr/bin/env bash
# ember-jailer on this machine (root): a tiny guest started through the
# jailer with a new PID namespace, a network namespace, cgroup v1 and v2
# values, resource limits and a non-root uid/gid, checked from outside
# (credentials, cgroups, namespaces, / being the jail, the device nodes,
# limits, environment, file descriptors), driven through the API socket
# inside the jail; then the attacks (symlinks planted at each component of
# the jail path, jail directories owned by another user, an exec file that
# is a symlink), bad arguments, and a rerun after a failed run.  One line
# per check, then "N passed, N failed".
#   usage: jailer.sh JAILER EMBER GUEST_DIR
set -uo pipefail

JAILER=$(realpath "${1:?ember-jailer binary}") EMBER=$(realpath "${2:?ember binary}")
G=$(realpath "${3:?guest dir}")
pass=0 fail=0
ok()  { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
check() { # NAME COMMAND...: passes when the command succeeds
	local name=$1; shift
	if "$@"; then ok "$name"; else bad "$name" "$*"; fi
}
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_gone() { for _ in $(seq 100); do gone "$1" && return 0; sleep 0.05; done; return 1; }

if [ "$(id -u)" != 0 ]; then
	echo "jailer.sh: needs root (mount namespaces, mknod, cgroups, chown)"; exit 1
fi

T=$(mktemp -d /tmp/ember-jailer.XXXXXX)       # root's, 0700, under the sticky /tmp
BASE=$T/base OUT=$T/outside
mkdir -m 0755 "$BASE" "$OUT"
JUID=31337 JGID=31338
PARENT=ember-jailer-test-$$
NS=ember-jailer-$$
# The cgroup v2 mount (the unified one on a hybrid machine).
CGV2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
v1_mount() { awk -v c="$1" '$9 == "cgroup" { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo; }
MEMV1=$(v1_mount memory) PIDSV1=$(v1_mount pids)
# Run A's cgroup v1 limits, where the machine has those v1 hierarchies (a
# hybrid like the development machines); a v2-only machine skips them.
V1ARGS=(--cgroup memory.limit_in_bytes=268435456 --cgroup pids.max=64)
[ -n "$MEMV1" ] && [ -n "$PIDSV1" ] || V1ARGS=()

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	sleep 0.2
	for d in "$MEMV1" "$PIDSV1" "$CGV2"; do
		[ -n "$d" ] || continue
		for id in "$d/$PARENT"/*/; do [ -d "$id" ] && rmdir "$id" 2>/dev/null; done
		[ -d "$d/$PARENT" ] && rmdir "$d/$PARENT" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# Runs the jailer in the foreground, output in $T/jout; returns its status.
jail() { "$JAILER" "$@" >"$T/jout" 2>&1 </dev/null; }

# outside_clean: nothing was created or changed under $OUT.
outside_clean() {
	[ -z "$(ls -A "$OUT")" ] && [ "$(stat -c '%u %a' "$OUT")" = "0 755" ]
}

# refused NAME WANT_IN_MESSAGE JAILER_ARGS...: the jailer exits non-zero, says
# WANT_IN_MESSAGE, and nothing is made outside the base directory.
refused() {
	local name=$1 want=$2; shift 2
	if jail "$@"; then bad "$name" "jailer succeeded: $(cat "$T/jout")"; return; fi
	if ! grep -qF -- "$want" "$T/jout"; then bad "$name" "message lacks '$want': $(cat "$T/jout")"; return; fi
	if ! outside_clean; then bad "$name" "something appeared in $OUT: $(ls -la "$OUT")"; return; fi
	ok "$name"
}

# ---- the network namespace with a tap the jail user may open -----------------
ip netns add "$NS" || { echo "jailer.sh: ip netns add failed"; exit 1; }
ip -n "$NS" tuntap add dev tap0 mode tap user "$JUID" group "$JGID"
ip -n "$NS" link set tap0 up

# ---- run A: new pid ns, netns, cgroup v1, limits, uid/gid, API flow ----------
ID=vm-a JAIL=$BASE/ember/vm-a/root
exec 7</etc/hostname      # an fd the jailer must not pass on
"$JAILER" --id "$ID" --exec-file "$EMBER" --uid "$JUID" --gid "$JGID" \
	--chroot-base-dir "$BASE" --netns "/run/netns/$NS" --new-pid-ns \
	"${V1ARGS[@]}" --parent-cgroup "$PARENT" \
	--resource-limit no-file=1024 --resource-limit fsize=1073741824 \
	-- --api-sock /run/api.sock >"$T/a.out" 2>"$T/a.err" </dev/null
rc=$?
exec 7<&-
check jailer_exits_0_with_new_pid_ns [ "$rc" = 0 ]
PID=$(cat "$JAIL/ember.pid" 2>/dev/null)
if [ -z "$PID" ] || ! kill -0 "$PID" 2>/dev/null; then
	bad pid_file "no live pid in $JAIL/ember.pid: '$PID'; $(cat "$T/a.err")"
	echo "$pass passed, $fail failed"; exit 1
fi
pids+=("$PID")
ok pid_file_names_a_live_process
S=$JAIL/run/api.sock
for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.05; done
check api_socket_inside_jail [ -S "$S" ]

st=/proc/$PID/status
check runs_as_uid grep -qE "^Uid:\s+$JUID\s+$JUID\s+$JUID\s+$JUID$" "$st"
check runs_as_gid grep -qE "^Gid:\s+$JGID\s+$JGID\s+$JGID\s+$JGID$" "$st"
check no_supplementary_groups grep -qE '^Groups:\s*$' "$st"
check no_capabilities grep -qE '^CapEff:\s+0+$' "$st"
check pid_1_in_its_namespace grep -qE "^NSpid:\s+$PID\s+1$" "$st"
check own_pid_namespace [ "$(readlink /proc/$PID/ns/pid)" != "$(readlink /proc/self/ns/pid)" ]
check own_mount_namespace [ "$(readlink /proc/$PID/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ]
check joined_netns [ "$(stat -L -c %i /proc/$PID/ns/net)" = "$(stat -L -c %i /run/netns/$NS)" ]
check root_is_the_jail [ "$(stat -L -c %d:%i /proc/$PID/root)" = "$(stat -c %d:%i "$JAIL")" ]
check one_mount_the_jail [ "$(awk '{ print $5 }' /proc/$PID/mountinfo)" = "/" ]
devs=$(cd "/proc/$PID/root" && find . \( -type c -o -type b \) | sort | tr '\n' ' ')
want="./dev/kvm ./dev/net/tun "
[ -c /dev/userfaultfd ] && want="./dev/kvm ./dev/net/tun ./dev/userfaultfd "
want=$(echo "$want" | tr ' ' '\n' | sort | grep . | tr '\n' ' ')
check only_three_device_nodes [ "$devs" = "$want" ]
check device_nodes_owned [ "$(stat -c '%u:%g %a' "$JAIL/dev/kvm" "$JAIL/dev/net/tun" | sort -u)" = "$JUID:$JGID 600" ]
check jail_root_owned_0700 [ "$(stat -c '%u:%g %a' "$JAIL")" = "$JUID:$JGID 700" ]
check exec_file_in_jail cmp -s "$EMBER" "$JAIL/ember"
cg=/proc/$PID/cgroup
if [ ${#V1ARGS[@]} -gt 0 ]; then
	check in_memory_v1_cgroup grep -qE ":memory:/$PARENT/$ID$" "$cg"
	check in_pids_v1_cgroup grep -qE ":pids:/$PARENT/$ID$" "$cg"
	check memory_limit_value [ "$(cat "$MEMV1/$PARENT/$ID/memory.limit_in_bytes")" = 268435456 ]
	check pids_max_value [ "$(cat "$PIDSV1/$PARENT/$ID/pids.max")" = 64 ]
	cpuv1=$(v1_mount cpu)
	[ -z "$cpuv1" ] || check other_v1_cgroups_untouched [ ! -e "$cpuv1/$PARENT" ]
else
	echo "SKIP cgroup v1 checks: no v1 memory and pids hierarchies on this machine"
fi
check rlimit_nofile grep -qE '^Max open files\s+1024\s+1024 ' /proc/$PID/limits
check rlimit_fsize grep -qE '^Max file size\s+1073741824\s+1073741824 ' /proc/$PID/limits
check empty_environment [ ! -s /proc/$PID/environ ]
check inherited_fd_closed [ "$(readlink /proc/$PID/fd/7 2>/dev/null)" != /etc/hostname ]
check id_passed [ "$(tr '\0' ' ' </proc/$PID/cmdline)" = "/ember --id $ID --api-sock /run/api.sock " ]
# Seccomp: 2 once ember installs its filters (it links libseccomp then).
if grep -qa seccomp_load "$EMBER"; then
	check seccomp_filter grep -qE '^Seccomp:\s+2$' "$st"
else
	echo "SKIP seccomp_filter: this ember has no seccomp yet ($(grep Seccomp: "$st"))"
fi

# The getting-started flow through the socket in the jail; paths are the jail's.
ln "$G/halt.elf" "$JAIL/halt.elf"
dd if=/dev/zero of="$JAIL/rootfs.ext4" bs=1M count=4 status=none
chown "$JUID:$JGID" "$JAIL/rootfs.ext4"
req() { # NAME METHOD PATH BODY WANT_STATUS
	local code
	code=$(curl -s -m 30 -o "$T/body" -w '%{http_code}' --unix-socket "$S" -X "$2" \
		-H 'Accept: application/json' ${4:+-H 'Content-Type: application/json' -d "$4"} \
		"http://localhost$3")
	if [ "$code" = "$5" ]; then ok "$1"; else bad "$1" "status $code, want $5: $(cat "$T/body")"; fi
}
req api_get_instance GET / "" 200
req api_boot_source PUT /boot-source '{"kernel_image_path": "/halt.elf", "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"}' 204
req api_drive PUT /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "/rootfs.ext4", "is_root_device": true, "is_read_only": false}' 204
req api_machine_config PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64}' 204
req api_net PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}' 204
req api_vsock PUT /vsock '{"guest_cid": 3, "uds_path": "/v.sock"}' 204
req api_host_path_refused PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/base/ember/$ID/root/rootfs.ext4\", \"is_root_device\": false}" 400
req api_instance_start PUT /actions '{"action_type": "InstanceStart"}' 204
for _ in $(seq 100); do grep -q "tiny: halting" "$T/a.out" && break; sleep 0.1; done
check guest_runs grep -q "tiny: halting" "$T/a.out"
req api_state_running GET / "" 200
check state_running grep -q '"Running"' "$T/body"
check vsock_socket_in_jail [ -S "$JAIL/v.sock" ]
# every thread (vCPUs, API, vmm) in the group
threads=$(ls /proc/$PID/task | sort | tr '\n' ' ')
[ ${#V1ARGS[@]} -eq 0 ] ||
	check all_threads_in_v1_cgroup [ "$(sort "$MEMV1/$PARENT/$ID/tasks" | tr '\n' ' ')" = "$threads" ]
kill -TERM "$PID"
check sigterm_ends_it wait_gone "$PID"
check nothing_mounted_on_host [ -z "$(grep -F "$T" /proc/self/mountinfo)" ]

# ---- run B: cgroup v2, --daemonize, no new pid ns -----------------------------
ID=vm-b JAIL=$BASE/ember/vm-b/root
if [ -z "$CGV2" ]; then
	bad cgroup_v2 "no cgroup2 mount on this machine"
else
	grep -qw hugetlb "$CGV2/cgroup.controllers" && V2CTL=(--cgroup hugetlb.2MB.max=2097152) || V2CTL=()
	"$JAILER" --id "$ID" --exec-file "$EMBER" --uid "$JUID" --gid "$JGID" \
		--chroot-base-dir "$BASE" --daemonize --cgroup-version 2 \
		--cgroup cgroup.max.descendants=2 "${V2CTL[@]}" --parent-cgroup "$PARENT" \
		-- --api-sock /run/api.sock >"$T/b.out" 2>&1 </dev/null &
	BPID=$!
	pids+=("$BPID")
	S=$JAIL/run/api.sock
	for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.05; done
	check b_api_socket [ -S "$S" ]
	check b_same_pid_as_jailer [ "$(tr '\0' ' ' </proc/$BPID/cmdline)" = "/ember --id $ID --api-sock /run/api.sock " ]
	check b_in_v2_cgroup grep -qx "0::/$PARENT/$ID" /proc/$BPID/cgroup
	check b_v2_value [ "$(cat "$CGV2/$PARENT/$ID/cgroup.max.descendants")" = 2 ]
	if [ ${#V2CTL[@]} -gt 0 ]; then
		check b_v2_controller_enabled grep -qw hugetlb "$CGV2/$PARENT/cgroup.subtree_control"
		check b_v2_controller_value [ "$(cat "$CGV2/$PARENT/$ID/hugetlb.2MB.max")" = 2097152 ]
	fi
	check b_v2_procs [ "$(cat "$CGV2/$PARENT/$ID/cgroup.procs")" = "$BPID" ]
	check b_session_leader [ "$(awk '{ print $6 }' /proc/$BPID/stat)" = "$BPID" ]
	check b_stdio_dev_null [ "$(readlink /proc/$BPID/fd/0) $(readlink /proc/$BPID/fd/1) $(readlink /proc/$BPID/fd/2)" = "/dev/null /dev/null /dev/null" ]
	check b_same_pid_namespace [ "$(readlink /proc/$BPID/ns/pid)" = "$(readlink /proc/self/ns/pid)" ]
	check b_own_mount_namespace [ "$(readlink /proc/$BPID/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ]
	check b_default_nofile grep -qE '^Max open files\s+2048\s+2048 ' /proc/$BPID/limits
	check b_no_pid_file [ ! -e "$JAIL/ember.pid" ]
	code=$(curl -s -m 30 -o /dev/null -w '%{http_code}' --unix-socket "$S" http://localhost/)
	check b_api_answers [ "$code" = 200 ]
	kill -TERM "$BPID"
	wait "$BPID" 2>/dev/null
	check b_sigterm_ends_it gone "$BPID"
fi

# ---- run C: a snapshot loaded in the jail with the Uffd backend ----------------
# The page-fault handler runs outside (root), its socket inside the jail (the
# only place ember can reach), owned by the jail's uid; ember, as that uid,
# gets its userfaultfd from the jail's /dev/userfaultfd.
HANDLER=${UFFD_HANDLER:-$(dirname "$EMBER")/uffd_handler}
ID=vm-c JAIL=$BASE/ember/vm-c/root
capi() { # SOCKET METHOD PATH BODY: prints the status
	curl -s -m 30 -o "$T/cbody" -w '%{http_code}' --unix-socket "$1" -X "$2" \
		-H 'Content-Type: application/json' -d "$4" "http://localhost$3"
}
"$EMBER" --api-sock "$T/snap.sock" >"$T/snap.out" 2>&1 </dev/null &
SPID=$!
pids+=("$SPID")
for _ in $(seq 100); do [ -S "$T/snap.sock" ] && break; sleep 0.05; done
capi "$T/snap.sock" PUT /boot-source "{\"kernel_image_path\": \"$G/counter.elf\"}" >/dev/null
capi "$T/snap.sock" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}' >/dev/null
capi "$T/snap.sock" PUT /actions '{"action_type": "InstanceStart"}' >/dev/null
sleep 0.5
capi "$T/snap.sock" PATCH /vm '{"state": "Paused"}' >/dev/null
capi "$T/snap.sock" PUT /snapshot/create "{\"snapshot_path\": \"$T/snap.state\", \"mem_file_path\": \"$T/snap.mem\"}" >/dev/null
kill -KILL "$SPID"; wait "$SPID" 2>/dev/null
"$JAILER" --id "$ID" --exec-file "$EMBER" --uid "$JUID" --gid "$JGID" \
	--chroot-base-dir "$BASE" -- --api-sock /run/api.sock >"$T/c.out" 2>"$T/c.err" </dev/null &
CPID=$!
pids+=("$CPID")
S=$JAIL/run/api.sock
for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.05; done
install -o "$JUID" -g "$JGID" -m 0600 "$T/snap.state" "$JAIL/snap.state"
"$HANDLER" "$JAIL/run/h.sock" "$T/snap.mem" 2>"$T/h.err" &
HPID=$!
pids+=("$HPID")
for _ in $(seq 100); do [ -S "$JAIL/run/h.sock" ] && break; sleep 0.05; done
chown "$JUID:$JGID" "$JAIL/run/h.sock"
code=$(capi "$S" PUT /snapshot/load '{"snapshot_path": "/snap.state", "mem_backend": {"backend_type": "Uffd", "backend_path": "/run/h.sock"}, "resume_vm": true}')
before=$(grep -c '^count' "$T/c.out")
sleep 1
after=$(grep -c '^count' "$T/c.out")
kill -TERM "$CPID"
wait "$CPID" 2>/dev/null
wait "$HPID" 2>/dev/null
if [ "$code" != 204 ]; then bad c_uffd_load_in_jail "load: $code $(cat "$T/cbody"; tail -3 "$T/c.err")"
elif [ "$after" -le "$before" ] || grep -q "tiny: counting" "$T/c.out"; then
	bad c_uffd_load_in_jail "counts $before then $after: $(tail -2 "$T/c.out")"
elif ! grep -q "the VMM ended: served [1-9]" "$T/h.err"; then bad c_uffd_load_in_jail "handler: $(cat "$T/h.err")"
else ok c_uffd_load_in_jail; fi

# ---- attacks: each refused, nothing created outside the base -----------------
A=$T/attack
fresh() { rm -rf "$A"; mkdir -m 0755 "$A"; }
ARGS=(--exec-file "$EMBER" --uid "$JUID" --gid "$JGID")

fresh; ln -s "$OUT" "$A/ember"
refused attack_symlink_exec_dir "is a symlink" --id x "${ARGS[@]}" --chroot-base-dir "$A"
fresh; mkdir "$A/ember"; ln -s "$OUT" "$A/ember/x"
refused attack_symlink_id_dir "is a symlink" --id x "${ARGS[@]}" --chroot-base-dir "$A"
fresh; mkdir -p "$A/ember/x"; ln -s "$OUT" "$A/ember/x/root"
refused attack_symlink_root_dir "is a symlink" --id x "${ARGS[@]}" --chroot-base-dir "$A"
fresh; ln -s "$OUT" "$A/link"
refused attack_symlink_base "is a symlink" --id x "${ARGS[@]}" --chroot-base-dir "$A/link"
fresh; mkdir "$A/real"; ln -s "$A/real" "$A/mid"
refused attack_symlink_inside_base_path "is a symlink" --id x "${ARGS[@]}" --chroot-base-dir "$A/mid/."
check attack_symlink_inside_base_path_nothing_made [ -z "$(ls -A "$A/real")" ]
# inside the jail root (an earlier VM's user owns it): /dev, /dev/net, /run
for d in dev run; do
	fresh; mkdir -p "$A/ember/x/root"; chown "$JUID:$JGID" "$A/ember/x/root"
	ln -s "$OUT" "$A/ember/x/root/$d"
	refused "attack_symlink_jail_$d" "/$d is a symlink" --id x "${ARGS[@]}" --chroot-base-dir "$A"
done
fresh; mkdir -p "$A/ember/x/root/dev"; chown -R "$JUID:$JGID" "$A/ember/x/root"
ln -s "$OUT" "$A/ember/x/root/dev/net"
refused attack_symlink_jail_dev_net "/dev/net is a symlink" --id x "${ARGS[@]}" --chroot-base-dir "$A"
# planted where the jailer puts files: replaced, never written through
fresh; mkdir -p "$A/ember/x/root/dev/net"; chown -R "$JUID:$JGID" "$A/ember/x/root"
ln -s "$OUT/planted" "$A/ember/x/root/ember"; ln -s "$OUT/planted" "$A/ember/x/root/dev/kvm"
ln -s "$OUT/planted" "$A/ember/x/root/ember.pid"
if jail --id x "${ARGS[@]}" --chroot-base-dir "$A" --new-pid-ns -- --version && outside_clean &&
   [ -f "$A/ember/x/root/ember" ] && [ ! -L "$A/ember/x/root/ember" ] && [ -c "$A/ember/x/root/dev/kvm" ] &&
   [ -f "$A/ember/x/root/ember.pid" ] && [ ! -L "$A/ember/x/root/ember.pid" ]; then
	ok attack_symlinked_files_replaced
else
	bad attack_symlinked_files_replaced "$(cat "$T/jout"); $(ls -laR "$A" "$OUT")"
fi
# jail directories owned by another user
fresh; mkdir -p "$A/ember/x"; chown 4242:4242 "$A/ember/x"
refused attack_id_dir_other_owner "owned by uid 4242" --id x "${ARGS[@]}" --chroot-base-dir "$A"
check attack_id_dir_other_owner_nothing_made [ ! -e "$A/ember/x/root" ]
fresh; mkdir -p "$A/ember/x/root"; chown 4242:4242 "$A/ember/x/root"
refused attack_root_dir_other_owner "owned by uid 4242" --id x "${ARGS[@]}" --chroot-base-dir "$A"
check attack_root_dir_other_owner_unchanged [ "$(stat -c %u "$A/ember/x/root"):$(ls -A "$A/ember/x/root")" = "4242:" ]
fresh; mkdir -p "$A/ember"; chown 4242:4242 "$A/ember"
refused attack_exec_dir_other_owner "owned by uid 4242" --id x "${ARGS[@]}" --chroot-base-dir "$A"
fresh; chown 4242:4242 "$A"
refused attack_base_other_owner "owned by uid 4242" --id x "${ARGS[@]}" --chroot-base-dir "$A"
fresh; mkdir -p "$A/ember"; chmod 0777 "$A/ember"
refused attack_exec_dir_world_writable "writable by group or others" --id x "${ARGS[@]}" --chroot-base-dir "$A"
# the exec file a symlink (to ember itself: still refused)
fresh; ln -s "$EMBER" "$T/ember-link"
refused attack_exec_file_symlink "is a symlink" --id x --exec-file "$T/ember-link" --uid "$JUID" --gid "$JGID" --chroot-base-dir "$A"
check attack_exec_file_symlink_nothing_made [ -z "$(ls -A "$A")" ]

# ---- bad arguments: refused before anything is made ------------------------
fresh
badarg() { # NAME WANT ARGS...
	local name=$1 want=$2; shift 2
	refused "$name" "$want" "$@"
	[ -z "$(ls -A "$A")" ] || bad "${name}_nothing_made" "$(ls -A "$A")"
}
badarg bad_id_slash "--id" --id a/b "${ARGS[@]}" --chroot-base-dir "$A"
badarg bad_id_dotdot "--id" --id .. "${ARGS[@]}" --chroot-base-dir "$A"
badarg bad_id_65 "--id" --id "$(printf 'a%.0s' $(seq 65))" "${ARGS[@]}" --chroot-base-dir "$A"
badarg bad_id_empty "--id" --id "" "${ARGS[@]}" --chroot-base-dir "$A"
badarg bad_no_uid "--uid is required" --id x --exec-file "$EMBER" --gid 1 --chroot-base-dir "$A"
badarg bad_uid_minus_one "--uid" --id x --exec-file "$EMBER" --uid 4294967295 --gid 1 --chroot-base-dir "$A"
badarg bad_exec_dir "not a regular file" --id x --exec-file "$G" --uid 1 --gid 1 --chroot-base-dir "$A"
badarg bad_exec_missing "No such file" --id x --exec-file "$T/nope" --uid 1 --gid 1 --chroot-base-dir "$A"
badarg bad_cgroup_key "--cgroup" --id x "${ARGS[@]}" --chroot-base-dir "$A" --cgroup ../../x.y=1
badarg bad_cgroup_version "--cgroup-version" --id x "${ARGS[@]}" --chroot-base-dir "$A" --cgroup-version 3
badarg bad_parent_cgroup "--parent-cgroup" --id x "${ARGS[@]}" --chroot-base-dir "$A" --parent-cgroup ../x
badarg bad_rlimit_name "unknown resource" --id x "${ARGS[@]}" --chroot-base-dir "$A" --resource-limit nproc=1
badarg bad_rlimit_value "not a number" --id x "${ARGS[@]}" --chroot-base-dir "$A" --resource-limit fsize=-1
badarg bad_netns_not_ns "not a network namespace" --id x "${ARGS[@]}" --chroot-base-dir "$A" --netns /etc/hostname
badarg bad_netns_missing "No such file" --id x "${ARGS[@]}" --chroot-base-dir "$A" --netns "$T/nope"
badarg bad_unknown_flag "unknown flag" --id x "${ARGS[@]}" --chroot-base-dir "$A" --seccomp-level 0
badarg bad_base_missing "No such file" --id x "${ARGS[@]}" --chroot-base-dir "$A/nope"
badarg bad_base_dotdot "'..' is refused" --id x "${ARGS[@]}" --chroot-base-dir "$A/../attack"

# ---- a failed step leaves nothing a rerun trips on ---------------------------
fresh
refused failed_cgroup_write_names_step "cgroups: write 'bogus'" --id x "${ARGS[@]}" --chroot-base-dir "$A" \
	--cgroup-version 2 --cgroup cgroup.max.descendants=bogus --parent-cgroup "$PARENT"
if jail --id x "${ARGS[@]}" --chroot-base-dir "$A" --cgroup-version 2 --cgroup cgroup.max.descendants=7 \
	--parent-cgroup "$PARENT" -- --version &&
   grep -q '^ember ' "$T/jout"; then
	ok rerun_after_failed_step
else
	bad rerun_after_failed_step "$(cat "$T/jout")"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
