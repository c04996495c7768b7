# Tier 2, snapshots (sourced by tier2.sh: uses EMBER, G, T, ok, bad, and the CPU
# template tests' $T/tmpl.json).
# The counter guest (tests/guests/tiny/counter.c, 2 vCPUs: the second waits
# for a SIPI that never comes, its reset state saved and restored) counts in memory and
# prints "count 0xN sum 0xS" lines: paused, snapshotted, killed, restored
# (and cloned ten times), its output must go on with N+1 and the right sums.
# Diff snapshots (track_dirty_pages): only the pages written since the Full,
# rebased onto it with --rebase-snapshot-memory, give the later state.
# Then bad snapshots and refused requests through the API, each a 400 that
# leaves the ember as it was.

# snap_start NAME: an ember serving $T/NAME.sock, output in $T/NAME.out/.err
# (inside the network namespace $SNAP_NS when set)
SNAP_NS=
snap_start() {
	rm -f "$T/$1.sock"
	timeout 60 ${SNAP_NS:+ip netns exec "$SNAP_NS"} "$EMBER" --api-sock "$T/$1.sock" >"$T/$1.out" 2>"$T/$1.err" </dev/null &
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
case "$diff" in 400*'\"Diff\" snapshot needs dirty page tracking'*) ok snapshot_create_diff_refused_untracked ;;
	*) bad snapshot_create_diff_refused_untracked "answer: $diff" ;; esac
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
expect snapshot_describe 0 "out:ember snapshot, version 2" \
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

# ---- Diff snapshots: the pages dirtied since the last snapshot ---------------------------
# snap_last NAME: the last count NAME's guest printed (hex, no 0x)
snap_last() { grep -o '^count 0x[0-9a-f]* ' "$T/$1.out" | tail -1 | sed 's/count 0x//; s/ //'; }
# snap_alloc FILE: bytes the file occupies on disk (holes excluded)
snap_alloc() { echo $(($(stat -c '%b * %B' "$1"))); }
snap_body() { # TYPE STATE MEM
	echo "{\"snapshot_type\": \"$1\", \"snapshot_path\": \"$2\", \"mem_file_path\": \"$3\"}"
}
snap_start dsrc
snap_api dsrc PUT /metrics "{\"metrics_path\": \"$T/dsrc.metrics\"}" >/dev/null
snap_api dsrc PUT /boot-source "{\"kernel_image_path\": \"$G/counter.elf\"}" >/dev/null
r1=$(snap_api dsrc PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 32, "track_dirty_pages": true}')
r2=$(snap_api dsrc PUT /actions '{"action_type": "InstanceStart"}')
snap_wait_count dsrc 3
running=$(snap_api dsrc PUT /snapshot/create "$(snap_body Diff "$T/x.state" "$T/x.mem")")
r3=$(snap_api dsrc PATCH /vm '{"state": "Paused"}')
r4=$(snap_api dsrc PUT /snapshot/create "$(snap_body Full "$T/f.state" "$T/f.mem")")
# Paused, nothing written since the Full: an empty Diff (the Full reset the baseline).
r5=$(snap_api dsrc PUT /snapshot/create "$(snap_body Diff "$T/e.state" "$T/e.mem")")
full_at=$(snap_last dsrc)
r6=$(snap_api dsrc PATCH /vm '{"state": "Resumed"}')
snap_wait_count dsrc "$(printf %x $((0x$full_at + 3)))"
r7=$(snap_api dsrc PATCH /vm '{"state": "Paused"}')
r8=$(snap_api dsrc PUT /snapshot/create "$(snap_body Diff "$T/d.state" "$T/d.mem")")
snap_api dsrc PUT /actions '{"action_type": "FlushMetrics"}' >/dev/null
snap_stop dsrc
python3 - "$T/dsrc.metrics" >"$T/out" 2>&1 <<'PY' && ok snapshot_diff_latency_metric || bad snapshot_diff_latency_metric "$(cat "$T/out")"
import json, sys
lat = json.loads(open(sys.argv[1]).read().splitlines()[-1])["latencies_us"]
assert lat["diff_create_snapshot"] > 0 and lat["full_create_snapshot"] > 0, lat
PY
if [ "$r1 $r2 $r3 $r4 $r5 $r6 $r7 $r8" != "204  204  204  204  204  204  204  204 " ]; then
	bad snapshot_diff_create "answers: $r1 / $r2 / $r3 / $r4 / $r5 / $r6 / $r7 / $r8"
	sed 's/^/    | /' "$T/dsrc.err" | tail -5
elif [ "$(stat -c %s "$T/d.mem")" -ne $((32 << 20)) ] || [ "$(stat -c %s "$T/e.mem")" -ne $((32 << 20)) ]; then
	bad snapshot_diff_create "sizes: $(stat -c '%n %s' "$T/d.mem" "$T/e.mem")"
elif [ "$(snap_alloc "$T/d.mem")" -eq 0 ] || [ "$(snap_alloc "$T/d.mem")" -gt $((1 << 20)) ]; then
	bad snapshot_diff_create "the Diff occupies $(snap_alloc "$T/d.mem") bytes of 32 MiB"
else ok snapshot_diff_create; fi
[ -f "$T/e.mem" ] && [ "$(snap_alloc "$T/e.mem")" -eq 0 ] && ok snapshot_diff_after_full_empty \
	|| bad snapshot_diff_after_full_empty "$(snap_alloc "$T/e.mem") bytes allocated"
case "$running" in 400*"must be paused"*) ok snapshot_diff_refused_while_running ;;
	*) bad snapshot_diff_refused_while_running "answer: $running" ;; esac
# The Full's memory alone with the Diff's state does not go on (the control).
snap_start dl
r1=$(snap_api dl PUT /snapshot/load "$(load_body "$T/d.state" "$T/f.mem" true)")
sleep 1
snap_stop dl
if [ "$r1" != "204 " ]; then bad snapshot_diff_needed "load: $r1"
elif snap_check dsrc dl >/dev/null 2>&1; then bad snapshot_diff_needed "the Full's memory gave the later state"
else ok snapshot_diff_needed; fi
# Rebased: the Full's memory with the Diff's pages, loaded with the Diff's state.
cp "$T/f.mem" "$T/r.mem"
"$EMBER" --rebase-snapshot-memory "$T/r.mem" "$T/d.mem" >"$T/out" 2>"$T/err"
rc=$?
expect snapshot_rebase_memory 0 "out:bytes from $T/d.mem"
snap_start dl
r1=$(snap_api dl PUT /snapshot/load "{\"snapshot_path\": \"$T/d.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$T/r.mem\"}, \"resume_vm\": true, \"track_dirty_pages\": true}")
snap_wait_count dl "$(printf %x $((0x$(snap_last dsrc) + 3)))"
r2=$(snap_api dl PATCH /vm '{"state": "Paused"}')
r3=$(snap_api dl PUT /snapshot/create "$(snap_body Diff "$T/d2.state" "$T/d2.mem")")
snap_stop dl
if [ "$r1 $r2 $r3" != "204  204  204 " ]; then bad snapshot_diff_rebased_continues "answers: $r1 / $r2 / $r3"
	sed 's/^/    | /' "$T/dl.err" | tail -5
elif ! why=$(snap_check dsrc dl 2>&1); then bad snapshot_diff_rebased_continues "$why"
else ok snapshot_diff_rebased_continues; fi
# A second Diff, of the loaded microVM (enable_diff_snapshots, the older name,
# would do as well), rebased onto the first rebase: the count goes on again.
"$EMBER" --rebase-snapshot-memory "$T/r.mem" "$T/d2.mem" >/dev/null 2>&1
snap_start dl2
snap_api dl2 PUT /snapshot/load "$(load_body "$T/d2.state" "$T/r.mem" true)" >/dev/null
sleep 1
snap_stop dl2
cat "$T/dsrc.out" "$T/dl.out" >"$T/dchain.out"
if ! why=$(snap_check dchain dl2 2>&1); then bad snapshot_diff_of_loaded_rebased "$why"
else ok snapshot_diff_of_loaded_rebased; fi
# track_dirty_pages in a config file's machine-config (booted at once, the
# API on the side): a Diff works there too.
cat >"$T/dirty.json" <<JSON
{ "boot-source": { "kernel_image_path": "$G/counter.elf" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 32, "track_dirty_pages": true } }
JSON
rm -f "$T/cf.sock"
timeout 60 "$EMBER" --config-file "$T/dirty.json" --api-sock "$T/cf.sock" >"$T/cf.out" 2>"$T/cf.err" </dev/null &
pid_cf=$!
snap_wait_count cf 2
r1=$(snap_api cf PATCH /vm '{"state": "Paused"}')
r2=$(snap_api cf PUT /snapshot/create "$(snap_body Diff "$T/cf.state" "$T/cf.mem")")
r3=$(snap_api cf PUT /snapshot/create "$(snap_body Full "$T/cff.state" "$T/cff.mem")")
snap_stop cf
if [ "$r1 $r2 $r3" != "204  204  204 " ]; then bad snapshot_diff_config_file "answers: $r1 / $r2 / $r3"
	sed 's/^/    | /' "$T/cf.err" | tail -5
elif [ "$(snap_alloc "$T/cf.mem")" -gt $((8 << 20)) ]; then
	bad snapshot_diff_config_file "the Diff occupies $(snap_alloc "$T/cf.mem") bytes of 32 MiB"
else ok snapshot_diff_config_file; fi
# That Diff holds every page written since the boot, by the guest or by
# ember (kernel, boot parameters, command line, ACPI and MP tables, page
# tables): rebased onto zeros it is the Full byte for byte, and runs.
truncate -s $((32 << 20)) "$T/zero.mem"
"$EMBER" --rebase-snapshot-memory "$T/zero.mem" "$T/cf.mem" >/dev/null 2>&1
cmp "$T/zero.mem" "$T/cff.mem" >"$T/out" 2>&1 && ok snapshot_diff_since_boot_is_full \
	|| bad snapshot_diff_since_boot_is_full "$(cat "$T/out")"
snap_start cfl
r1=$(snap_api cfl PUT /snapshot/load "$(load_body "$T/cf.state" "$T/zero.mem" true)")
sleep 1
snap_stop cfl
if [ "$r1" != "204 " ]; then bad snapshot_diff_since_boot_runs "load: $r1"
elif ! why=$(snap_check cf cfl 2>&1); then bad snapshot_diff_since_boot_runs "$why"
else ok snapshot_diff_since_boot_runs; fi
# The rebase refuses files that cannot belong together, the base untouched.
head -c $((16 << 20)) "$T/f.mem" >"$T/small.mem"
cp "$T/small.mem" "$T/small.copy"
"$EMBER" --rebase-snapshot-memory "$T/small.mem" "$T/d.mem" >"$T/out" 2>"$T/err"
rc=$?
expect snapshot_rebase_refuses_larger_diff 1 "err:not the same microVM's memory"
cmp -s "$T/small.mem" "$T/small.copy" || bad snapshot_rebase_refuses_larger_diff "the base changed"
"$EMBER" --rebase-snapshot-memory "$T/r.mem" >"$T/out" 2>"$T/err"
rc=$?
expect snapshot_rebase_needs_two_files 1 "err:takes two files"
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
# snap_edit SRC DST PYTHON: DST is SRC with the state file's bytes `b`
# (a bytearray) edited by PYTHON and the checksum made to match (a crafted
# file, not damage)
snap_edit() {
	python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
exec(sys.argv[3])
def crc64(d):
    poly, c = 0xc96c5795d7870f42, 0xffffffffffffffff
    for x in d:
        c ^= x
        for _ in range(8): c = (c >> 1) ^ poly if c & 1 else c >> 1
    return c ^ 0xffffffffffffffff
b[-8:] = struct.pack("<Q", crc64(bytes(b[:-8])))
open(sys.argv[2], "wb").write(b)
PY
}
snap_edit "$T/s.state" "$T/v1.state" 'b[8:12] = struct.pack("<I", 1)'
head -c $((16 << 20)) "$T/s.mem" >"$T/short.mem"
snap_start bad
declare -a cases=(
	"truncated|$(load_body "$T/trunc.state" "$T/s.mem" true)|checksum mismatch"
	"wrong_version|$(load_body "$T/v1.state" "$T/s.mem" true)|snapshot version 1 is not supported"
	"short_memory_file|$(load_body "$T/s.state" "$T/short.mem" true)|shorter than the 33554432"
	"missing_file|$(load_body "$T/nothing.state" "$T/s.mem" true)|cannot open the state file"
	"network_override|{\"snapshot_path\": \"$T/s.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$T/s.mem\"}, \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}]}|no network interface \\\"eth0\\\""
	"vsock_override_without_vsock|{\"snapshot_path\": \"$T/s.state\", \"mem_file_path\": \"$T/s.mem\", \"vsock_override\": {\"uds_path\": \"$T/x.sock\"}}|the snapshot has no vsock device"
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

# ---- a drive: block I/O goes on across a snapshot ------------------------------------------------
# The blk_loop guest writes step N into sector N % 16 and reads it back, for
# ever; paused mid-stream, snapshotted, killed and restored, its steps go
# on one by one, each read back right, and the image holds in every sector
# the last step written there.  The drive's rate limiter lets 41 requests
# through, then one every 2 s: when the guest is paused and snapshotted it
# waits on a throttled request, which the create drains into the used ring
# first (the log says so).  The restored drive gets a fast limiter by PATCH.
head -c 65536 /dev/zero >"$T/loop.img"
snap_start bsrc
r1=$(snap_api bsrc PUT /boot-source "{\"kernel_image_path\": \"$G/blk_loop.elf\"}")
r2=$(snap_api bsrc PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}')
r3=$(snap_api bsrc PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$T/loop.img\", \"is_root_device\": false, \"rate_limiter\": {\"ops\": {\"size\": 1, \"one_time_burst\": 40, \"refill_time\": 2000}}}")
r4=$(snap_api bsrc PUT /actions '{"action_type": "InstanceStart"}')
for _ in $(seq 300); do grep -q '^blkloop 0x14 ' "$T/bsrc.out" && break; sleep 0.05; done
r5=$(snap_api bsrc PATCH /vm '{"state": "Paused"}')
r6=$(snap_api bsrc PUT /snapshot/create "{\"snapshot_path\": \"$T/b.state\", \"mem_file_path\": \"$T/b.mem\"}")
snap_stop bsrc
# blk_check FIRST SECOND: the steps of both outputs follow each other, all
# ok, past FIRST's last in SECOND; the image agrees with the last step.
blk_check() {
	python3 - "$T/$1.out" "$T/$2.out" "$T/loop.img" <<'PY'
import re, struct, sys
a, b = (open(p, errors="replace").read() for p in sys.argv[1:3])
img = open(sys.argv[3], "rb").read()
if "blkloop: start" in b:
    sys.exit("the restored guest started again")
if " BAD " in a + b:
    sys.exit("a step read back wrong: " + re.search(r"^blkloop .* BAD .*$", a + b, re.M).group(0))
steps = [int(n, 16) for n in re.findall(r"^blkloop 0x([0-9a-f]+) ok\n", a + b, re.M)]
last_a = max(int(n, 16) for n in re.findall(r"^blkloop 0x([0-9a-f]+) ok\n", a, re.M))
for i, n in enumerate(steps):
    if n != i + 1:
        sys.exit(f"step {i + 1} is {n:#x}: a step lost or done twice")
last = steps[-1]
if last < last_a + 3:
    sys.exit(f"no progress after the restore: {last:#x}, paused at {last_a:#x}")
for k in range(16):
    words = set(struct.unpack_from("<64Q", img, 512 * k))
    if len(words) != 1:
        sys.exit(f"sector {k} is torn: {sorted(words)[:4]}")
    v = words.pop()
    if v % 16 != k or not last - 16 <= v <= last + 1:
        sys.exit(f"sector {k} holds step {v:#x}, the guest's last is {last:#x}")
PY
}
bad_blk() { bad "$1" "$2"; sed 's/^/    | /' "$T/$3.err" | tail -5; }
if [ "$r1 $r2 $r3 $r4 $r5 $r6" != "204  204  204  204  204  204 " ]; then
	bad_blk snapshot_create_with_drive "answers: $r1 / $r2 / $r3 / $r4 / $r5 / $r6" bsrc
else ok snapshot_create_with_drive; fi
grep -q "requests in flight completed before the snapshot" "$T/bsrc.err" \
	|| echo "note: snapshot_create_with_drive found no request in flight to drain this time"
"$EMBER" --describe-snapshot "$T/b.state" >"$T/out" 2>"$T/err"
rc=$?
expect snapshot_describe_drive 0 "out:virtio devices: 1" "out:virtio 0: device id 2, status 0xf" \
	"out:queue 0: size 8" "out:\"drive_id\":\"d0\""

# Refused loads of that snapshot, each leaving the ember fresh: the drive's
# file gone, an iface_id the snapshot lacks, a queue outside guest RAM.
snap_edit "$T/b.state" "$T/bq.state" '
nreg, nsec = struct.unpack_from("<II", b, 12)
off = 32 + 24 * nreg
for _ in range(nsec):
    typ, idx, ln = struct.unpack_from("<IIQ", b, off)
    if typ == 9:   # SNAP_SEC_VIRTIO: struct virtio_mmio_state, queues[0].desc_gpa at 48
        struct.pack_into("<Q", b, off + 16 + 48, 0x7fff0000)
    off += 16 + ln
'
snap_start bdst
mv "$T/loop.img" "$T/loop.away"
gone=$(snap_api bdst PUT /snapshot/load "$(load_body "$T/b.state" "$T/b.mem" true)")
mv "$T/loop.away" "$T/loop.img"
iface=$(snap_api bdst PUT /snapshot/load "{\"snapshot_path\": \"$T/b.state\", \"mem_file_path\": \"$T/b.mem\", \"network_overrides\": [{\"iface_id\": \"eth9\", \"host_dev_name\": \"tap9\"}]}")
queue=$(snap_api bdst PUT /snapshot/load "$(load_body "$T/bq.state" "$T/b.mem" true)")
case "$gone" in 400*"cannot use '$T/loop.img'"*) ok snapshot_load_refused_drive_file_gone ;;
	*) bad snapshot_load_refused_drive_file_gone "answer: $gone" ;; esac
case "$iface" in 400*'no network interface \"eth9\"'*) ok snapshot_load_refused_unknown_iface ;;
	*) bad snapshot_load_refused_unknown_iface "answer: $iface" ;; esac
case "$queue" in 400*"queue 0's rings"*"not in guest RAM"*) ok snapshot_load_refused_queue_outside_ram ;;
	*) bad snapshot_load_refused_queue_outside_ram "answer: $queue" ;; esac
# ... and then the right one: the I/O goes on.
r1=$(snap_api bdst PUT /snapshot/load "$(load_body "$T/b.state" "$T/b.mem" true)")
r2=$(snap_api bdst PATCH /drives/d0 '{"drive_id": "d0", "rate_limiter": {"ops": {"size": 100000, "refill_time": 1000}}}')
for _ in $(seq 100); do [ "$(grep -c '^blkloop' "$T/bdst.out")" -ge 8 ] && break; sleep 0.05; done
cfg=$(snap_api bdst GET /vm/config '')
snap_stop bdst
if [ "$r1 $r2" != "204  204 " ]; then bad_blk snapshot_restore_drive_io_continues "load: $r1, patch: $r2" bdst
elif ! why=$(blk_check bsrc bdst 2>&1); then bad_blk snapshot_restore_drive_io_continues "$why" bdst
else ok snapshot_restore_drive_io_continues; fi
case "$cfg" in *'"drive_id":"d0","path_on_host":"'"$T"'/loop.img"'*) ok snapshot_restore_drive_config ;;
	*) bad snapshot_restore_drive_config "GET /vm/config: $cfg" ;; esac

# ---- a network interface: frames go on across a snapshot, on another tap ---------------------
# The net_loop guest sends "PING N" and waits for "PONG N" from net_echo.py on
# the tap, for ever.  Paused, snapshotted (the rx buffers held for frames to
# come are given back to the ring, the tap read cancelled), killed and
# restored onto another tap through network_overrides, its steps go on one
# by one and the new tap's peer answers them.
net_ns=ember-t2s-$$
if ip netns add "$net_ns" 2>/dev/null; then
	ip netns exec "$net_ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
	for tap in tap0 tap1; do
		ip -n "$net_ns" tuntap add dev "$tap" mode tap
		ip -n "$net_ns" link set "$tap" up
		rm -f "$T/$tap.ready"
		ip netns exec "$net_ns" python3 "$(dirname "$0")/net_echo.py" "$tap" 60 "$T/$tap.ready" \
			>"$T/$tap.echo" 2>&1 &
		eval "echo_$tap=$!"
	done
	for _ in $(seq 100); do [ -e "$T/tap0.ready" ] && [ -e "$T/tap1.ready" ] && break; sleep 0.05; done
	SNAP_NS=$net_ns
	snap_start nsrc
	r1=$(snap_api nsrc PUT /boot-source "{\"kernel_image_path\": \"$G/net_loop.elf\"}")
	r2=$(snap_api nsrc PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}')
	r3=$(snap_api nsrc PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02", "tx_rate_limiter": {"ops": {"size": 1000, "refill_time": 1000}}}')
	r4=$(snap_api nsrc PUT /actions '{"action_type": "InstanceStart"}')
	for _ in $(seq 300); do grep -q '^netloop 0x10 ' "$T/nsrc.out" && break; sleep 0.05; done
	r5=$(snap_api nsrc PATCH /vm '{"state": "Paused"}')
	r6=$(snap_api nsrc PUT /snapshot/create "{\"snapshot_path\": \"$T/n.state\", \"mem_file_path\": \"$T/n.mem\"}")
	snap_stop nsrc
	snap_start ndst
	r7=$(snap_api ndst PUT /snapshot/load "{\"snapshot_path\": \"$T/n.state\", \"mem_file_path\": \"$T/n.mem\", \"resume_vm\": true, \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap1\"}]}")
	for _ in $(seq 200); do [ "$(grep -c '^netloop 0x' "$T/ndst.out")" -ge 8 ] && break; sleep 0.05; done
	cfg=$(snap_api ndst GET /vm/config '')
	snap_stop ndst
	SNAP_NS=
	kill "$echo_tap0" "$echo_tap1" 2>/dev/null
	wait "$echo_tap0" "$echo_tap1" 2>/dev/null
	ip netns del "$net_ns"
	if [ "$r1 $r2 $r3 $r4 $r5 $r6 $r7" != "204  204  204  204  204  204  204 " ]; then
		bad_blk snapshot_restore_net_continues "answers: $r1 / $r2 / $r3 / $r4 / $r5 / $r6 / $r7" ndst
	elif ! why=$(python3 - "$T/nsrc.out" "$T/ndst.out" <<'PY' 2>&1
import re, sys
a, b = (open(p, errors="replace").read() for p in sys.argv[1:3])
if "netloop: start" in b:
    sys.exit("the restored guest started again")
steps = [int(n, 16) for n in re.findall(r"^netloop 0x([0-9a-f]+) ok\n", a + b, re.M)]
last_a = max(int(n, 16) for n in re.findall(r"^netloop 0x([0-9a-f]+) ok\n", a, re.M))
for i, n in enumerate(steps):
    if n != i + 1:
        sys.exit(f"step {i + 1} is {n:#x}")
if steps[-1] < last_a + 3:
    sys.exit(f"no progress after the restore: {steps[-1]:#x}, paused at {last_a:#x}")
PY
	); then bad_blk snapshot_restore_net_continues "$why" ndst
	elif ! grep -q '^echo: 1$' "$T/tap1.echo"; then
		bad snapshot_restore_net_continues "the override's tap1 answered nothing: $(tail -2 "$T/tap1.echo")"
	else ok snapshot_restore_net_continues; fi
	case "$cfg" in *'"iface_id":"eth0","host_dev_name":"tap1"'*'"guest_mac":"06:00:ac:10:00:02"'*) ok snapshot_restore_net_override_config ;;
		*) bad snapshot_restore_net_override_config "GET /vm/config: $cfg" ;; esac
else
	echo "SKIP snapshot_restore_net_continues: cannot create a network namespace (not root?)"
fi

# ---- vsock: connections end at a snapshot, the guest is told, new ones work -------------------
# The vsock_loop guest counts and answers every host connection's data with
# "PONG <data>".  A host connection works before the snapshot; restored with
# vsock_override on another socket path, the guest gets a TRANSPORT_RESET
# event on its event queue, goes on counting, and a new host connection on
# the new path works.
# vsock_client SOCK PORT MSG: prints the handshake answer and the reply
vsock_client() {
	python3 - "$1" "$2" "$3" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
    s.sendall(f"CONNECT {sys.argv[2]}\n".encode())
    line = b""
    while not line.endswith(b"\n"):
        line += s.recv(1)
    s.sendall(sys.argv[3].encode())
    reply = b""
    while len(reply) < len(sys.argv[3]) + 5:
        reply += s.recv(64)
    print("handshake", line.decode().strip(), "reply", reply.decode())
except OSError as e:
    print("failed:", e)
PY
}
snap_start vsrc
r1=$(snap_api vsrc PUT /boot-source "{\"kernel_image_path\": \"$G/vsock_loop.elf\"}")
r2=$(snap_api vsrc PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}')
r3=$(snap_api vsrc PUT /vsock "{\"guest_cid\": 42, \"uds_path\": \"$T/v1.sock\"}")
r4=$(snap_api vsrc PUT /actions '{"action_type": "InstanceStart"}')
for _ in $(seq 200); do grep -q '^vsockloop: turn 0x2' "$T/vsrc.out" && break; sleep 0.05; done
before=$(vsock_client "$T/v1.sock" 5000 PING-1)
r5=$(snap_api vsrc PATCH /vm '{"state": "Paused"}')
r6=$(snap_api vsrc PUT /snapshot/create "{\"snapshot_path\": \"$T/vs.state\", \"mem_file_path\": \"$T/vs.mem\"}")
snap_stop vsrc
snap_start vdst
r7=$(snap_api vdst PUT /snapshot/load "{\"snapshot_path\": \"$T/vs.state\", \"mem_file_path\": \"$T/vs.mem\", \"resume_vm\": true, \"vsock_override\": {\"uds_path\": \"$T/v2.sock\"}}")
for _ in $(seq 200); do grep -q '^vsockloop: event' "$T/vdst.out" && break; sleep 0.05; done
after=$(vsock_client "$T/v2.sock" 5000 PING-2)
for _ in $(seq 200); do [ "$(grep -c '^vsockloop: turn' "$T/vdst.out")" -ge 3 ] && break; sleep 0.05; done
cfg=$(snap_api vdst GET /vm/config '')
snap_stop vdst
if [ "$r1 $r2 $r3 $r4 $r5 $r6 $r7" != "204  204  204  204  204  204  204 " ]; then
	bad_blk snapshot_restore_vsock "answers: $r1 / $r2 / $r3 / $r4 / $r5 / $r6 / $r7" vdst
elif [ "$before" != "handshake OK 1073741824 reply PONG PING-1" ]; then
	bad_blk snapshot_restore_vsock "before the snapshot: $before" vsrc
elif grep -q '^vsockloop: event' "$T/vsrc.out" || ! grep -q '^vsockloop: event 0x0$' "$T/vdst.out"; then
	bad_blk snapshot_restore_vsock "no TRANSPORT_RESET event (0) after the restore only: $(grep event "$T"/vsrc.out "$T"/vdst.out)" vdst
elif [[ "$after" != "handshake OK "*" reply PONG PING-2" ]]; then
	bad_blk snapshot_restore_vsock "a new connection after the restore: $after" vdst
elif ! why=$(python3 - "$T/vsrc.out" "$T/vdst.out" <<'PY' 2>&1
import re, sys
a, b = (open(p, errors="replace").read() for p in sys.argv[1:3])
if "vsockloop: start" in b:
    sys.exit("the restored guest started again")
turns = [int(n, 16) for n in re.findall(r"^vsockloop: turn 0x([0-9a-f]+)\n", a + b, re.M)]
for i, n in enumerate(turns):
    if n != i + 1:
        sys.exit(f"turn line {i + 1} says {n:#x}")
PY
	); then bad_blk snapshot_restore_vsock "$why" vdst
else ok snapshot_restore_vsock; fi
case "$cfg" in *'"vsock":{"guest_cid":42,"uds_path":"'"$T"'/v2.sock"}'*) ok snapshot_restore_vsock_override_config ;;
	*) bad snapshot_restore_vsock_override_config "GET /vm/config: $cfg" ;; esac
