# Tier 2, snapshots (sourced by tier2.sh: uses EMBER, G, T, ok, bad).
# The counter guest (tests/guests/tiny/counter.c, 2 vCPUs: the second waits
# for a SIPI that never comes, its reset state saved and restored) counts in memory and
# prints "count 0xN sum 0xS" lines: paused, snapshotted, killed, restored
# (and cloned ten times), its output must go on with N+1 and the right sums.
# Then bad snapshots and refused requests through the API, each a 400 that
# leaves the ember as it was.

# snap_start NAME: an ember serving $T/NAME.sock, output in $T/NAME.out/.err
snap_start() {
	rm -f "$T/$1.sock"
	timeout 60 "$EMBER" --api-sock "$T/$1.sock" >"$T/$1.out" 2>"$T/$1.err" </dev/null &
	eval "pid_$1=$!"
	for _ in $(seq 200); do [ -S "$T/$1.sock" ] && return; sleep 0.05; done
}
# snap_api NAME METHOD PATH BODY: prints "CODE BODY"
snap_api() {
	local body
	body=$(curl -s -m 20 -o - -w '\n%{http_code}' --unix-socket "$T/$1.sock" -X "$2" \
		-H 'Content-Type: application/json' -d "$4" "http://localhost$3")
	echo "$(tail -n1 <<<"$body") $(head -n -1 <<<"$body")"
}
# snap_stop NAME: kill that ember (the child of its timeout) and reap both
snap_stop() {
	local p
	p=$(eval echo "\$pid_$1")
	kill -KILL $(pgrep -P "$p") 2>/dev/null
	wait "$p" 2>/dev/null
}
# snap_wait_count NAME N: until the guest printed count N (hex, no 0x)
snap_wait_count() {
	for _ in $(seq 300); do grep -q "^count 0x$2 " "$T/$1.out" && return 0; sleep 0.05; done
	return 1
}
# snap_check FIRST SECOND: FIRST's output then SECOND's is one unbroken count
# (consecutive numbers, every sum right) that goes on past FIRST's last count
# in SECOND, which never printed the guest's start line.
snap_check() {
	python3 - "$T/$1.out" "$T/$2.out" <<'PY'
import re, sys
a, b = (open(p, errors="replace").read() for p in sys.argv[1:])
if "tiny: counting" in b:
    sys.exit("the restored guest started again")
# Whole lines only: the guest may be paused (a) or killed (b) in the middle
# of one; a's unfinished line goes on at the start of b.
counts = [(int(n, 16), int(s, 16)) for n, s in re.findall(r"^count 0x([0-9a-f]+) sum 0x([0-9a-f]+)\n", a + b, re.M)]
last_a = max(int(n, 16) for n in re.findall(r"^count 0x([0-9a-f]+) sum 0x[0-9a-f]+\n", a, re.M))
for i, (n, s) in enumerate(counts):
    steps = n * 4096
    if n != i + 1 or s != (steps * (steps + 1) // 2) % 2**64:
        sys.exit(f"line {i}: count {n:#x} sum {s:#x} does not follow")
if counts[-1][0] < last_a + 2:
    sys.exit(f"no progress after the restore: last count {counts[-1][0]:#x}, paused at {last_a:#x}")
PY
}

# ---- a snapshot of the counting guest -----------------------------------------------
snap_start src
r1=$(snap_api src PUT /boot-source "{\"kernel_image_path\": \"$G/counter.elf\"}")
r2=$(snap_api src PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 32}')
r3=$(snap_api src PUT /actions '{"action_type": "InstanceStart"}')
snap_wait_count src 3
early=$(snap_api src PUT /snapshot/create "{\"snapshot_path\": \"$T/s.state\", \"mem_file_path\": \"$T/s.mem\"}")
r4=$(snap_api src PATCH /vm '{"state": "Paused"}')
diff=$(snap_api src PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$T/d.state\", \"mem_file_path\": \"$T/d.mem\"}")
r5=$(snap_api src PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$T/s.state\", \"mem_file_path\": \"$T/s.mem\"}")
snap_stop src
if [ "$r1 $r2 $r3 $r4 $r5" != "204  204  204  204  204 " ]; then
	bad snapshot_create_paused "answers: $r1 / $r2 / $r3 / $r4 / $r5"; sed 's/^/    | /' "$T/src.err" | tail -5
elif [ ! -s "$T/s.state" ] || [ "$(stat -c %s "$T/s.mem")" -ne $((32 << 20)) ]; then
	bad snapshot_create_paused "files: $(ls -l "$T"/s.*)"
else ok snapshot_create_paused; fi
case "$early" in 400*"must be paused"*) ok snapshot_create_refused_while_running ;;
	*) bad snapshot_create_refused_while_running "answer: $early" ;; esac
case "$diff" in 400*'\"Diff\" snapshots are not supported yet'*) ok snapshot_create_diff_not_yet ;;
	*) bad snapshot_create_diff_not_yet "answer: $diff" ;; esac
[ ! -e "$T/d.state" ] && [ ! -e "$T/d.mem" ] && ok snapshot_refused_create_writes_nothing \
	|| bad snapshot_refused_create_writes_nothing "$(ls "$T"/d.* 2>&1)"

# The state file holds no CPUID: a microVM with smt (or a CPU template) is refused.
snap_start smt
snap_api smt PUT /boot-source "{\"kernel_image_path\": \"$G/counter.elf\"}" >/dev/null
snap_api smt PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 32, "smt": true}' >/dev/null
snap_api smt PUT /actions '{"action_type": "InstanceStart"}' >/dev/null
snap_api smt PATCH /vm '{"state": "Paused"}' >/dev/null
smt=$(snap_api smt PUT /snapshot/create "{\"snapshot_path\": \"$T/t.state\", \"mem_file_path\": \"$T/t.mem\"}")
snap_stop smt
case "$smt" in 400*"smt or a CPU template are not supported yet"*) ok snapshot_create_smt_not_yet ;;
	*) bad snapshot_create_smt_not_yet "answer: $smt" ;; esac

# --describe-snapshot: the version and the layout; a damaged file refused.
"$EMBER" --describe-snapshot "$T/s.state" >"$T/out" 2>"$T/err"
rc=$?
expect snapshot_describe 0 "out:ember snapshot, version 1" \
	"out:region 0: guest 0x0, 33554432 bytes, file offset 0x0" "out:vCPUs: 2"
head -c 4000 "$T/s.state" >"$T/trunc.state"
"$EMBER" --describe-snapshot "$T/trunc.state" >"$T/out" 2>"$T/err"
rc=$?
expect snapshot_describe_damaged 1 "err:checksum mismatch"

# ---- restore: the count goes on ----------------------------------------------------------
load_body() { # STATE MEM RESUME
	echo "{\"snapshot_path\": \"$1\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$2\"}, \"resume_vm\": $3}"
}
snap_start dst
r1=$(snap_api dst PUT /snapshot/load "$(load_body "$T/s.state" "$T/s.mem" true)")
state=$(snap_api dst GET / '')
sleep 1
n=$(grep -c '^count' "$T/dst.out")
snap_stop dst
if [ "$r1" != "204 " ]; then bad snapshot_restore_continues "load: $r1"; sed 's/^/    | /' "$T/dst.err" | tail -5
elif ! why=$(snap_check src dst 2>&1); then bad snapshot_restore_continues "$why"
else ok snapshot_restore_continues; fi
case "$state" in *'"state":"Running"'*) ok snapshot_restore_state_running ;;
	*) bad snapshot_restore_state_running "GET /: $state" ;; esac
[ "$n" -ge 2 ] || bad snapshot_restore_continues "only $n lines in a second"

# Loaded paused (resume_vm false): nothing runs until PATCH /vm Resumed.
snap_start dst
r1=$(snap_api dst PUT /snapshot/load "$(load_body "$T/s.state" "$T/s.mem" false)")
state=$(snap_api dst GET / '')
sleep 0.5
quiet=$(grep -c '^count' "$T/dst.out")
r2=$(snap_api dst PATCH /vm '{"state": "Resumed"}')
sleep 1
snap_stop dst
if [ "$r1 $r2" != "204  204 " ] || [ "$quiet" -ne 0 ]; then
	bad snapshot_restore_paused_then_resume "answers $r1 / $r2, $quiet lines while paused"
elif ! why=$(snap_check src dst 2>&1); then bad snapshot_restore_paused_then_resume "$why"
else case "$state" in *'"state":"Paused"'*) ok snapshot_restore_paused_then_resume ;;
	*) bad snapshot_restore_paused_then_resume "GET /: $state" ;; esac; fi

# ten_clones PREFIX BODY_FN: ten embers PREFIX1..PREFIX10 load at once, each
# the body `BODY_FN i` prints, and count for two seconds; prints those that
# did not go on (nothing when all did).
ten_clones() {
	local p=$1 f=$2 i out=""
	for i in $(seq 10); do snap_start "$p$i"; done
	for i in $(seq 10); do
		snap_api "$p$i" PUT /snapshot/load "$($f "$i")" >"$T/$p$i.code" &
	done
	for i in $(seq 10); do while [ ! -s "$T/$p$i.code" ]; do sleep 0.05; done; done
	sleep 2
	for i in $(seq 10); do
		snap_stop "$p$i"
		if [ "$(cat "$T/$p$i.code")" != "204 " ] || ! snap_check src "$p$i" >/dev/null 2>&1; then
			out="$out $p$i($(cat "$T/$p$i.code"); $(snap_check src "$p$i" 2>&1 | tail -1))"
		fi
	done
	echo "$out"
}

# Ten clones from the one snapshot at once: each goes on counting.
file_clone() { load_body "$T/s.state" "$T/s.mem" true; }
bad_clones=$(ten_clones c file_clone)
[ -z "$bad_clones" ] && ok snapshot_ten_clones_continue || bad snapshot_ten_clones_continue "$bad_clones"

# ---- the Uffd memory backend: pages from a page-fault handler ------------------------------
# tools/uffd_handler (UFFD_HANDLER) serves the memory file; it prints what it
# served when ember has ended.
HANDLER=${UFFD_HANDLER:-$(dirname "$EMBER")/uffd_handler}
uffd_body() { # STATE SOCKET RESUME [EXTRA]
	echo "{\"snapshot_path\": \"$1\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$2\"}, \"resume_vm\": $3${4:-}}"
}
# handler_start NAME MEM: a handler on $T/NAME.hsock, its stderr in $T/NAME.herr
handler_start() {
	rm -f "$T/$1.hsock"
	timeout 60 "$HANDLER" "$T/$1.hsock" "$2" 2>"$T/$1.herr" &
	eval "hpid_$1=$!"
	for _ in $(seq 200); do [ -S "$T/$1.hsock" ] && return; sleep 0.05; done
}
# handler_served NAME: after its ember ended, the handler ended and copied pages
handler_served() {
	local p
	p=$(eval echo "\$hpid_$1")
	wait "$p" 2>/dev/null
	grep -Eq "the VMM ended: served [1-9][0-9]* faults \([1-9][0-9]* pages copied" "$T/$1.herr"
}

handler_start hu "$T/s.mem"
snap_start du
r1=$(snap_api du PUT /snapshot/load "$(uffd_body "$T/s.state" "$T/hu.hsock" true)")
state=$(snap_api du GET / '')
sleep 1
snap_stop du
if [ "$r1" != "204 " ]; then bad snapshot_uffd_restore_continues "load: $r1"; sed 's/^/    | /' "$T/du.err" | tail -5
elif ! why=$(snap_check src du 2>&1); then bad snapshot_uffd_restore_continues "$why"
elif ! handler_served hu; then bad snapshot_uffd_restore_continues "handler: $(cat "$T/hu.herr")"
else case "$state" in *'"state":"Running"'*) ok snapshot_uffd_restore_continues ;;
	*) bad snapshot_uffd_restore_continues "GET /: $state" ;; esac; fi

# Ten clones, each with its own handler, at once.
for i in $(seq 10); do handler_start "hu$i" "$T/s.mem"; done
uffd_clone() { uffd_body "$T/s.state" "$T/hu$1.hsock" true; }
bad_clones=$(ten_clones u uffd_clone)
for i in $(seq 10); do
	handler_served "hu$i" || bad_clones="$bad_clones hu$i($(tail -1 "$T/hu$i.herr"))"
done
[ -z "$bad_clones" ] && ok snapshot_uffd_ten_clones_continue || bad snapshot_uffd_ten_clones_continue "$bad_clones"

# 2 MiB huge pages: the handler copies whole huge pages (page_size 2097152).
if [ -w /proc/sys/vm/nr_hugepages ]; then
	old_huge=$(cat /proc/sys/vm/nr_hugepages)
	echo $((old_huge + 16)) >/proc/sys/vm/nr_hugepages
	handler_start hh "$T/s.mem"
	snap_start dh
	r1=$(snap_api dh PUT /snapshot/load "$(uffd_body "$T/s.state" "$T/hh.hsock" true ', "huge_pages": "2M"')")
	cfg=$(snap_api dh GET /machine-config '')
	sleep 1
	snap_stop dh
	echo "$old_huge" >/proc/sys/vm/nr_hugepages
	if [ "$r1" != "204 " ]; then bad snapshot_uffd_huge_pages "load: $r1"; sed 's/^/    | /' "$T/dh.err" | tail -5
	elif ! why=$(snap_check src dh 2>&1); then bad snapshot_uffd_huge_pages "$why"
	elif ! handler_served hh; then bad snapshot_uffd_huge_pages "handler: $(cat "$T/hh.herr")"
	else case "$cfg" in *'"huge_pages":"2M"'*) ok snapshot_uffd_huge_pages ;;
		*) bad snapshot_uffd_huge_pages "GET /machine-config: $cfg" ;; esac; fi
fi

# Refused: no socket, a socket nobody listens on; then the same ember loads.
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); time.sleep(60)' "$T/deaf.hsock" &
deaf=$!
for _ in $(seq 100); do [ -S "$T/deaf.hsock" ] && break; sleep 0.05; done
snap_start ub
got1=$(snap_api ub PUT /snapshot/load "$(uffd_body "$T/s.state" "$T/none.hsock" true)")
got2=$(snap_api ub PUT /snapshot/load "$(uffd_body "$T/s.state" "$T/deaf.hsock" true)")
got3=$(snap_api ub PUT /snapshot/load "$(uffd_body "$T/s.state" "$T/deaf.hsock" true ', "huge_pages": "Transparent"')")
kill "$deaf" 2>/dev/null; wait "$deaf" 2>/dev/null
case "$got1" in 400*"cannot connect to the page-fault handler's socket $T/none.hsock: No such file"*)
	ok snapshot_uffd_refused_no_socket ;; *) bad snapshot_uffd_refused_no_socket "answer: $got1" ;; esac
case "$got2" in 400*"cannot connect to the page-fault handler's socket"*"Connection refused"*)
	ok snapshot_uffd_refused_not_listening ;; *) bad snapshot_uffd_refused_not_listening "answer: $got2" ;; esac
case "$got3" in 400*"'huge_pages' \\\"Transparent\\\" is not supported"*)
	ok snapshot_uffd_refused_transparent ;; *) bad snapshot_uffd_refused_transparent "answer: $got3" ;; esac
handler_start hb "$T/s.mem"
r1=$(snap_api ub PUT /snapshot/load "$(uffd_body "$T/s.state" "$T/hb.hsock" true)")
sleep 1
snap_stop ub
if [ "$r1" != "204 " ]; then bad snapshot_uffd_load_after_refusals "load: $r1"
elif ! why=$(snap_check src ub 2>&1); then bad snapshot_uffd_load_after_refusals "$why"
elif ! handler_served hb; then bad snapshot_uffd_load_after_refusals "handler: $(cat "$T/hb.herr")"
else ok snapshot_uffd_load_after_refusals; fi

# A handler that takes the userfaultfd and goes away without serving a page:
# the vCPUs wait for their pages (as with Firecracker), but ember still
# answers, and SIGTERM ends it cleanly (its teardown wakes the vCPUs).
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.recvmsg(65536, socket.CMSG_SPACE(4))' "$T/quit.hsock" &
quitter=$!
for _ in $(seq 100); do [ -S "$T/quit.hsock" ] && break; sleep 0.05; done
snap_start uq
r1=$(snap_api uq PUT /snapshot/load "$(uffd_body "$T/s.state" "$T/quit.hsock" true)")
wait "$quitter"
sleep 0.5
r2=$(snap_api uq GET / '')
r3=$(snap_api uq PUT /actions '{"action_type": "SendCtrlAltDel"}')
kill -TERM $(pgrep -P "$pid_uq") 2>/dev/null
wait "$pid_uq"
rc=$?
if [ "$r1" != "204 " ] || [ "${r2%% *}" != 200 ] || [ "$r3" != "204 " ]; then
	bad snapshot_uffd_handler_gone_sigterm "answers: $r1 / $r2 / $r3"
elif [ "$rc" -ne 0 ] || ! grep -q "stopping the microVM: Terminated" "$T/uq.err"; then
	bad snapshot_uffd_handler_gone_sigterm "exit $rc: $(tail -3 "$T/uq.err")"
elif grep -q '^count' "$T/uq.out"; then
	bad snapshot_uffd_handler_gone_sigterm "the guest ran without its pages: $(head -2 "$T/uq.out")"
else ok snapshot_uffd_handler_gone_sigterm; fi

# ---- bad snapshots and refused loads: 400, and the ember stays fresh ---------------------------
cp "$T/s.state" "$T/v2.state"
python3 - "$T/v2.state" <<'PY'
import struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
b[8:12] = struct.pack("<I", 2)
def crc64(d):
    poly, c = 0xc96c5795d7870f42, 0xffffffffffffffff
    for x in d:
        c ^= x
        for _ in range(8): c = (c >> 1) ^ poly if c & 1 else c >> 1
    return c ^ 0xffffffffffffffff
b[-8:] = struct.pack("<Q", crc64(bytes(b[:-8])))
open(p, "wb").write(b)
PY
head -c $((16 << 20)) "$T/s.mem" >"$T/short.mem"
snap_start bad
declare -a cases=(
	"truncated|$(load_body "$T/trunc.state" "$T/s.mem" true)|checksum mismatch"
	"wrong_version|$(load_body "$T/v2.state" "$T/s.mem" true)|snapshot version 2 is not supported"
	"short_memory_file|$(load_body "$T/s.state" "$T/short.mem" true)|shorter than the 33554432"
	"missing_file|$(load_body "$T/nothing.state" "$T/s.mem" true)|cannot open the state file"
	"network_override|{\"snapshot_path\": \"$T/s.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$T/s.mem\"}, \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}]}|no network interface \\\"eth0\\\""
	"dirty_tracking_not_yet|{\"snapshot_path\": \"$T/s.state\", \"mem_file_path\": \"$T/s.mem\", \"track_dirty_pages\": true}|dirty page tracking"
	"two_memory_backends|{\"snapshot_path\": \"$T/s.state\", \"mem_file_path\": \"$T/s.mem\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$T/s.mem\"}}|exactly one of"
)
for c in "${cases[@]}"; do
	IFS='|' read -r name body words <<<"$c"
	got=$(snap_api bad PUT /snapshot/load "$body")
	case "$got" in 400*"$words"*) ok "snapshot_load_refused_$name" ;;
		*) bad "snapshot_load_refused_$name" "answer: $got" ;; esac
done
# After all those refusals the ember is still fresh: the right load works.
r1=$(snap_api bad PUT /snapshot/load "$(load_body "$T/s.state" "$T/s.mem" true)")
sleep 1
snap_stop bad
if [ "$r1" != "204 " ]; then bad snapshot_load_after_refusals "load: $r1"
elif ! why=$(snap_check src bad 2>&1); then bad snapshot_load_after_refusals "$why"
else ok snapshot_load_after_refusals; fi

# Only a fresh ember loads: not after the boot source, not twice.
snap_start bad
snap_api bad PUT /boot-source "{\"kernel_image_path\": \"$G/counter.elf\"}" >/dev/null
got=$(snap_api bad PUT /snapshot/load "$(load_body "$T/s.state" "$T/s.mem" true)")
snap_stop bad
case "$got" in 400*"not allowed after the boot source"*) ok snapshot_load_refused_after_config ;;
	*) bad snapshot_load_refused_after_config "answer: $got" ;; esac
snap_start bad
snap_api bad PUT /snapshot/load "$(load_body "$T/s.state" "$T/s.mem" false)" >/dev/null
got=$(snap_api bad PUT /snapshot/load "$(load_body "$T/s.state" "$T/s.mem" true)")
snap_stop bad
case "$got" in 400*"already started"*) ok snapshot_load_refused_twice ;;
	*) bad snapshot_load_refused_twice "answer: $got" ;; esac

# A microVM with a drive: refused, not yet supported.
head -c 1048576 /dev/zero >"$T/snapblk.img"
snap_start bad
snap_api bad PUT /boot-source "{\"kernel_image_path\": \"$G/counter.elf\"}" >/dev/null
snap_api bad PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$T/snapblk.img\", \"is_root_device\": false, \"is_read_only\": true}" >/dev/null
snap_api bad PUT /actions '{"action_type": "InstanceStart"}' >/dev/null
snap_api bad PATCH /vm '{"state": "Paused"}' >/dev/null
got=$(snap_api bad PUT /snapshot/create "{\"snapshot_path\": \"$T/b.state\", \"mem_file_path\": \"$T/b.mem\"}")
snap_stop bad
case "$got" in 400*"virtio devices"*"not supported yet"*) ok snapshot_create_with_drive_not_yet ;;
	*) bad snapshot_create_with_drive_not_yet "answer: $got" ;; esac
