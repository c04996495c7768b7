# Tier 2, snapshots (sourced by tier2.sh: uses EMBER, G, T, ok, bad, and the CPU
# template tests' $T/tmpl.json).
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

load_body() { # STATE MEM RESUME
	echo "{\"snapshot_path\": \"$1\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$2\"}, \"resume_vm\": $3}"
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

# ---- the CPUID and MSRs a CPU template and smt give, restored (issue 16) ----------------
# The cpu_loop guest prints leaf 1 ECX, the brand's first word, leaf 0xb's
# threads per core and the PAT MSR, over and over.  Built with smt and a
# custom template (PUT /cpu-config with tier2.sh's $T/tmpl.json: hypervisor
# bit cleared, a brand bit set, PAT's low byte 1), snapshotted and restored into a fresh ember (which
# builds its vCPUs with its default CPUID), it must go on seeing the
# template's values.  The ember before the CPUID section refused this
# create; with only the refusal lifted the restored guest saw ember's
# default CPUID (hypervisor bit set, 1 thread per core).
# cpu_lines FILE: the whole "cpu:" lines as "ECX BRAND THREADS PAT", one a line
cpu_lines() { sed -n 's/^cpu: n 0x[0-9a-f]* ecx \(0x[0-9a-f]*\) brand \(0x[0-9a-f]*\) threads \(0x[0-9a-f]*\) pat \(0x[0-9a-f]*\)$/\1 \2 \3 \4/p' "$T/$1"; }
snap_start tsrc
r1=$(snap_api tsrc PUT /boot-source "{\"kernel_image_path\": \"$G/cpu_loop.elf\"}")
r2=$(snap_api tsrc PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 32, "smt": true}')
r3=$(snap_api tsrc PUT /cpu-config "$(cat "$T/tmpl.json")")
r4=$(snap_api tsrc PUT /actions '{"action_type": "InstanceStart"}')
for _ in $(seq 200); do [ "$(cpu_lines tsrc.out | wc -l)" -ge 2 ] && break; sleep 0.05; done
r5=$(snap_api tsrc PATCH /vm '{"state": "Paused"}')
r6=$(snap_api tsrc PUT /snapshot/create "{\"snapshot_path\": \"$T/t.state\", \"mem_file_path\": \"$T/t.mem\"}")
snap_stop tsrc
before=$(cpu_lines tsrc.out | tail -1)
snap_start tdst
r7=$(snap_api tdst PUT /snapshot/load "$(load_body "$T/t.state" "$T/t.mem" true)")
for _ in $(seq 200); do [ "$(cpu_lines tdst.out | wc -l)" -ge 2 ] && break; sleep 0.05; done
mcfg=$(snap_api tdst GET /machine-config '')
snap_stop tdst
after=$(cpu_lines tdst.out | sort -u)
read -r ecx brand threads pat <<<"$before"
if [ "$r1 $r2 $r3 $r4 $r5 $r6 $r7" != "204  204  204  204  204  204  204 " ]; then
	bad snapshot_cpu_template_restored "answers: $r1 / $r2 / $r3 / $r4 / $r5 / $r6 / $r7"
	sed 's/^/    | /' "$T/tsrc.err" "$T/tdst.err" | tail -8
elif [ -z "$before" ] || (( (ecx >> 31) != 0 || (brand & 2) != 2 || threads != 2 || (pat & 0xff) != 1 )); then
	bad snapshot_cpu_template_restored "the template did not apply before the snapshot: '$before'"
elif grep -q "tiny: cpu loop" "$T/tdst.out" || [ -z "$after" ] || [ "$after" != "$before" ]; then
	bad snapshot_cpu_template_restored "before the snapshot '$before', restored: '$(echo $after)'"
	head -c 600 "$T/tdst.out" | sed 's/^/    | /'
else ok snapshot_cpu_template_restored; fi
case "$mcfg" in *'"smt":true'*) ok snapshot_restore_smt_in_machine_config ;;
	*) bad snapshot_restore_smt_in_machine_config "GET /machine-config: $mcfg" ;; esac
"$EMBER" --describe-snapshot "$T/t.state" >"$T/out" 2>"$T/err"
rc=$?
n0=$(sed -n 's/^  vcpu 0: .*, \([0-9]*\) CPUID entries$/\1/p' "$T/out")
n1=$(sed -n 's/^  vcpu 1: .*, \([0-9]*\) CPUID entries$/\1/p' "$T/out")
if [ "$rc" -eq 0 ] && [ -n "$n0" ] && [ "$n0" -gt 10 ] && [ "$n0" = "$n1" ] && has out "vCPUs: 2 (smt)"; then
	ok snapshot_describe_cpuid
else bad snapshot_describe_cpuid "exit $rc, CPUID entries '$n0' '$n1'"; fi

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

# Ten clones from the one snapshot at once: each goes on counting.
for i in $(seq 10); do snap_start "c$i"; done
for i in $(seq 10); do
	snap_api "c$i" PUT /snapshot/load "$(load_body "$T/s.state" "$T/s.mem" true)" >"$T/c$i.code" &
done
for i in $(seq 10); do while [ ! -s "$T/c$i.code" ]; do sleep 0.05; done; done
sleep 2
bad_clones=""
for i in $(seq 10); do
	snap_stop "c$i"
	if [ "$(cat "$T/c$i.code")" != "204 " ] || ! snap_check src "c$i" >/dev/null 2>&1; then
		bad_clones="$bad_clones c$i($(cat "$T/c$i.code"); $(snap_check src "c$i" 2>&1 | tail -1))"
	fi
done
[ -z "$bad_clones" ] && ok snapshot_ten_clones_continue || bad snapshot_ten_clones_continue "$bad_clones"

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
	"uffd_not_yet|{\"snapshot_path\": \"$T/s.state\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$T/u.sock\"}}|\\\"Uffd\\\" memory backend is not supported yet"
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
