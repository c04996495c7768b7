#!/usr/bin/env bash
# Tier 2: ember on this machine's /dev/kvm with tiny freestanding guests,
# plus the command-line and image validation ember does before any guest
# code runs.  One line per scenario, then "N passed, N failed".
# usage: tier2.sh EMBER GUEST_DIR
set -uo pipefail

EMBER=${1:?ember binary} G=${2:?guest dir}
T=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
pass=0 fail=0

ok()  { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); sed 's/^/    | /' "$T/out" "$T/err" | head -20; }

# run NAME TIMEOUT ARGS... : runs ember, output in $T/out, log in $T/err, status in $rc
run() {
	local t=$1; shift
	timeout "$t" "$EMBER" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}
has() { grep -qF -- "$2" "$T/$1"; }

# expect NAME RC 'out:TEXT' 'err:TEXT' ... (after run)
expect() {
	local name=$1 want=$2; shift 2
	if [ "$rc" -ne "$want" ]; then bad "$name" "exit status $rc, want $want"; return; fi
	for m in "$@"; do
		if ! has "${m%%:*}" "${m#*:}"; then bad "$name" "no '${m#*:}' in ${m%%:*}"; return; fi
	done
	if has err "Sanitizer" || has err "runtime error"; then bad "$name" "sanitizer report"; return; fi
	ok "$name"
}

# ---- guests on /dev/kvm --------------------------------------------------
# virtio-blk driven by a tiny driver: read, write + flush, a read past the end,
# then a looping chain (DEVICE_NEEDS_RESET + config interrupt), reset, read again.
blk_cfg() { # IMAGE READ_ONLY ENGINE
	cat >"$T/blk.json" <<JSON
{ "boot-source": { "kernel_image_path": "$G/virtio_blk.elf" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 32 },
  "drives": [ { "drive_id": "d0", "path_on_host": "$1", "is_root_device": false,
                "is_read_only": $2, "cache_type": "Writeback", "io_engine": "$3" } ] }
JSON
}
blk_image() { head -c 1048576 /dev/zero >"$T/blk.img"; printf EMBERBLK | dd of="$T/blk.img" conv=notrunc status=none; }
blk_sector1() { dd if="$T/blk.img" bs=512 skip=1 count=1 status=none | head -c 8; }
blk_image
blk_cfg "$T/blk.img" false Async
run 20 --no-api --config-file "$T/blk.json"
expect virtio_blk_async 0 "out:blk: capacity 0x800" "out:blk: init 0x0" "out:blk: read status 0x0" \
	"out:blk: sector 0 says EMBERBLK" "out:blk: write status 0x0" "out:blk: flush status 0x0" \
	"out:blk: read past end status 0x1" "out:blk: device status 0x4f" "out:blk: interrupt status 0x3" \
	"out:blk: re-init 0x0" "out:blk: sector 0 again says EMBERBLK" "err:blk d0: device needs reset" \
	"err:guest requested a reset (i8042)"
[ "$(blk_sector1)" = GUESTWRT ] && ok virtio_blk_write_reached_image || bad virtio_blk_write_reached_image "sector 1 is '$(blk_sector1)'"
blk_image
sum=$(md5sum <"$T/blk.img")
blk_cfg "$T/blk.img" true Sync
run 20 --no-api --config-file "$T/blk.json"
expect virtio_blk_read_only_sync 0 "out:blk: read status 0x0" "out:blk: sector 0 says EMBERBLK" \
	"out:blk: write status 0x1" "out:blk: flush status 0x0" "out:blk: device status 0x4f" \
	"out:blk: sector 0 again says EMBERBLK" "err:Sync engine"
[ "$(md5sum <"$T/blk.img")" = "$sum" ] && ok virtio_blk_read_only_image_unchanged || bad virtio_blk_read_only_image_unchanged "the image changed"
# A drive rate limiter of one operation per 200 ms delays the guest's requests
# (counted in the metrics) without failing any.
blk_image
blk_cfg "$T/blk.img" false Async
python3 - "$T/blk.json" "$T/metrics.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["drives"][0]["rate_limiter"] = {"ops": {"size": 1, "refill_time": 200}}
c["metrics"] = {"metrics_path": sys.argv[2]}
json.dump(c, open(sys.argv[1], "w"))
PY
: >"$T/metrics.json"
run 30 --no-api --config-file "$T/blk.json"
expect virtio_blk_rate_limited 0 "out:blk: read status 0x0" "out:blk: write status 0x0" \
	"out:blk: flush status 0x0" "out:blk: sector 0 again says EMBERBLK"
python3 -c 'import json,sys; m=[json.loads(l) for l in open(sys.argv[1])][-1]; b=m["block_d0"]; assert b["rate_limiter_throttled_events"] >= 2 and b["read_count"] == 2 and b["write_count"] == 1, b' "$T/metrics.json" \
	&& ok virtio_blk_rate_limiter_throttles || bad virtio_blk_rate_limiter_throttles "$(tail -c 400 "$T/metrics.json")"
blk_cfg "$T/missing.img" false Async
run 10 --no-api --config-file "$T/blk.json"
expect virtio_blk_missing_image 1 "err:missing.img"

# virtio-net driven by a tiny driver on a real tap in a network namespace: a
# frame each way with tests/integration/net_peer.py on the tap, four frames
# the device must drop (bad gso type, GSO not negotiated, checksum past the
# frame, > 64 KiB) and count, a good frame after them, then a writable
# transmit descriptor (DEVICE_NEEDS_RESET).
net_ns=ember-t2-$$
if ip netns add "$net_ns" 2>/dev/null; then
	ip -n "$net_ns" tuntap add dev tap0 mode tap
	ip netns exec "$net_ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
	ip -n "$net_ns" link set tap0 up
	cat >"$T/net.json" <<JSON
{ "boot-source": { "kernel_image_path": "$G/virtio_net.elf" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 32 },
  "network-interfaces": [ { "iface_id": "eth0", "host_dev_name": "tap0",
                            "guest_mac": "06:00:ac:10:00:02" } ],
  "metrics": { "metrics_path": "$T/net-metrics.json" } }
JSON
	: >"$T/net-metrics.json"
	rm -f "$T/peer.ready"
	ip netns exec "$net_ns" python3 "$(dirname "$0")/net_peer.py" tap0 60 "$T/peer.ready" >"$T/peer" 2>&1 &
	peer=$!
	for _ in $(seq 50); do [ -s "$T/peer.ready" ] && break; sleep 0.1; done
	timeout 60 ip netns exec "$net_ns" "$EMBER" --no-api --config-file "$T/net.json" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	wait "$peer"
	cat "$T/peer" >>"$T/out"
	expect virtio_net_tap 0 "out:net: init 0x0" "out:net: mac 0x6 0x0 0xac 0x10 0x0 0x2" \
		"out:net: tx used 0x0" "out:peer: got EMBERNET-TX" "out:from 06:00:ac:10:00:02" \
		"out:net: rx says EMBERNET-RX" "out:net: bad gso type used 0x0" \
		"out:net: gso not negotiated used 0x0" "out:net: csum past frame used 0x0" \
		"out:net: oversize used 0x0" "out:net: good tx used 0x0" "out:peer: got EMBERNET-OK" \
		"out:net: device status 0x4f" "out:net: interrupt status 0x2" \
		"err:net eth0: device needs reset" "err:guest requested a reset (i8042)"
	has out "EMBERNET-BAD" && bad virtio_net_drops_mangled_frames "a mangled frame reached the tap" \
		|| ok virtio_net_drops_mangled_frames
	python3 -c 'import json,sys; m=[json.loads(l) for l in open(sys.argv[1])][-1]; n=m["net_eth0"]; assert n["tx_malformed_frames"] == 3 and n["tx_oversize_frames"] == 1 and n["tx_packets_count"] == 2 and n["rx_packets_count"] >= 1 and n["device_needs_reset"] == 1 and m["net"]["tx_packets_count"] == 2, n' "$T/net-metrics.json" \
		&& ok virtio_net_metrics || bad virtio_net_metrics "$(tail -c 600 "$T/net-metrics.json")"
	# The interface on a host device that is not a tap (lo): a clear start-up error.
	sed 's/"tap0"/"lo"/' "$T/net.json" >"$T/net-missing.json"
	timeout 20 ip netns exec "$net_ns" "$EMBER" --no-api --config-file "$T/net-missing.json" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	expect virtio_net_not_a_tap 1 "err:lo"
	# A tap that does not exist is not created behind the user's back.
	sed 's/"tap0"/"nosuchtap"/' "$T/net.json" >"$T/net-missing.json"
	timeout 20 ip netns exec "$net_ns" "$EMBER" --no-api --config-file "$T/net-missing.json" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	expect virtio_net_missing_tap 1 "err:no network device nosuchtap"
	ip -n "$net_ns" link show nosuchtap >/dev/null 2>&1 && bad virtio_net_missing_tap_not_created "ember created it" \
		|| ok virtio_net_missing_tap_not_created
	ip netns del "$net_ns"
else
	echo "SKIP virtio_net_tap: cannot create a network namespace (not root?)"
fi

# virtio-vsock driven by a tiny driver speaking the packet protocol, against
# tests/integration/vsock_peer.py on the unix sockets: malformed handshakes
# closed, a host-initiated connection each way, a guest-initiated one to a
# listener and one to nobody (RST), a SEQPACKET request (RST), then a
# writable transmit descriptor (DEVICE_NEEDS_RESET).
cat >"$T/vsock.json" <<JSON
{ "boot-source": { "kernel_image_path": "$G/virtio_vsock.elf" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 32 },
  "vsock": { "guest_cid": 42, "uds_path": "$T/v.sock" },
  "metrics": { "metrics_path": "$T/vsock-metrics.json" } }
JSON
: >"$T/vsock-metrics.json"
rm -f "$T/peer.ready"
python3 "$(dirname "$0")/vsock_peer.py" "$T/v.sock" 90 "$T/peer.ready" >"$T/peer" 2>&1 &
peer=$!
for _ in $(seq 50); do [ -s "$T/peer.ready" ] && break; sleep 0.1; done
run 120 --no-api --config-file "$T/vsock.json"
wait "$peer"
peer_rc=$?
cat "$T/peer" >>"$T/out"
expect virtio_vsock 0 "out:vsock: init 0x0" "out:vsock: guest cid 0x2a" \
	"out:peer: malformed 0 closed" "out:peer: malformed 1 closed" "out:peer: malformed 2 closed" \
	"out:peer: malformed 3 closed" "out:peer: malformed 4 closed" "out:peer: malformed 5 closed" \
	"out:vsock: request to port 0x1388" "out:vsock: request from cid 0x2" \
	"out:peer: handshake answer b'OK " "out:vsock: payload PING-FROM-HOST" \
	"out:peer: from the guest b'PONG-FROM-GUEST'" "out:vsock: connect to 6000 answered op 0x2" \
	"out:peer: guest said b'HELLO-HOST'" "out:vsock: connect to 6001 answered op 0x3" \
	"out:vsock: seqpacket request answered op 0x3" "out:vsock: device status 0x4f" \
	"out:vsock: interrupt status 0x2" "err:guest requested a reset (i8042)"
[ "$peer_rc" -eq 0 ] && ok vsock_peer_saw_every_step || bad vsock_peer_saw_every_step "peer status $peer_rc"
python3 -c 'import json,sys; v=[json.loads(l) for l in open(sys.argv[1])][-1]["vsock"]; assert v["handshake_fails"] == 6 and v["connect_fails"] == 1 and v["bad_packets"] >= 1 and v["conns_added"] == 2 and v["device_needs_reset"] == 1, v' "$T/vsock-metrics.json" \
	&& ok virtio_vsock_metrics || bad virtio_vsock_metrics "$(tail -c 600 "$T/vsock-metrics.json")"
[ ! -e "$T/v.sock" ] && ok vsock_socket_removed_at_exit || bad vsock_socket_removed_at_exit "$T/v.sock is left behind"

run 10 --kernel "$G/hello.elf" --mem-mib 32
expect long_mode_entry 0 "out:hello from long mode" "out:cr0 0x8" "out:cs 0x8" \
	"err:guest requested a reset (i8042)"
has err "start-up stage" && bad startup_stages_only_at_debug "stage lines below debug level" \
	|| ok startup_stages_only_at_debug
# At debug level: the start-up benchmark's line, then where the CPU went, stage
# by stage (vmm/core/stages.h, docs/benchmarks.md).
run 10 --kernel "$G/hello.elf" --mem-mib 32 --level Debug
expect startup_stages_at_debug 0 "err:vcpu 0: first KVM_RUN at monotonic" \
	"err:start-up stage: exec and libc start-up: " "err:start-up stage: KVM_GET_SUPPORTED_CPUID: " \
	"err:start-up stage: KVM_CREATE_VCPU: " \
	"err:start-up stage: vCPU thread creation: " \
	"err:start-up stage: vCPU 0's seccomp filter (the vmm thread's in parallel): " \
	"out:hello from long mode"

run 10 --kernel "$G/boot_params.elf" --mem-mib 64 --cmdline "ember tier2 cmdline"
expect boot_params_zero_page 0 "out:header 0x53726448" "out:boot_flag 0xaa55" "out:loader 0xff" \
	"out:cmdline 'ember tier2 cmdline'" "out:e820 entries 0x3" \
	"out:e820 0x0 0x9fc00 0x1" "out:e820 0xe0000 0x20000 0x3" "out:e820 0x100000 0x3f00000 0x1"

head -c 12345 /dev/urandom >"$T/initrd"
run 10 --kernel "$G/boot_params.elf" --mem-mib 64 --initrd "$T/initrd"
expect boot_params_initrd_at_top 0 "out:ramdisk 0x3ffc000 size 0x3039"

run 10 --kernel "$G/boot_params.elf" --mem-mib 16
expect default_cmdline 0 "out:cmdline 'console=ttyS0 reboot=k panic=1 pci=off nomodules i8042.noaux i8042.nomux i8042.dumbkbd'" \
	"out:e820 0x100000 0xf00000 0x1"

# ACPI: the guest finds the RSDP through boot_params and the BIOS-area scan,
# checks every table, counts the MADT's CPUs, then powers off (S5) or resets
# through the FADT's registers; either ends ember with status 0.
run 10 --kernel "$G/acpi.elf" --vcpus 3 --mem-mib 64
expect acpi_tables_poweroff 0 "out:acpi: rsdp 0xe0000 scan 0xe0000 RSDP ok XSDT ok FACP ok APIC ok DSDT ok" \
	"out:acpi: madt cpus 0x3" "err:guest powered off (ACPI S5)"
run 10 --kernel "$G/acpi.elf" --mem-mib 5120 --cmdline "acpi-reset"
expect acpi_tables_reset_above_4g 0 "out:RSDP ok XSDT ok FACP ok APIC ok DSDT ok" \
	"out:acpi: madt cpus 0x1" "err:guest requested a reset (ACPI)"

run 10 --kernel "$G/boot_timer.elf" --boot-timer
expect boot_timer_mmio_write 0 "out:boot timer written" "err:Guest-boot-time = "
# Exits by reason in the metrics, and those up to the boot-timer write ("to
# init"): this guest's first exit is that MMIO write, then the console's port
# writes (one per byte of its line) and the reset.
echo "{\"metrics\": {\"metrics_path\": \"$T/bt-metrics.json\"}}" >"$T/bt-config.json"
: >"$T/bt-metrics.json"
run 10 --config-file "$T/bt-config.json" --kernel "$G/boot_timer.elf" --boot-timer
python3 -c '
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])][-1]
v, b = m["vcpu"], m["boot_timer"]["exits"]
kinds = ["exit_io_in", "exit_io_out", "exit_mmio_read", "exit_mmio_write", "exit_hlt", "exit_other"]
assert sum(v[k] for k in kinds) == v["exits"], v
assert v["exit_mmio_write"] == 1 and v["exit_io_out"] >= len("tiny: boot timer written\n"), v
assert b["exits"] == 1 and b["exit_mmio_write"] == 1 and sum(b[k] for k in kinds) == 1, b
' "$T/bt-metrics.json" && [ "$rc" -eq 0 ] && ok exits_by_reason_metrics ||
	bad exits_by_reason_metrics "status $rc: $(tail -c 600 "$T/bt-metrics.json")"
run 10 --kernel "$G/boot_timer.elf"
if [ "$rc" -eq 0 ] && ! has err "Guest-boot-time"; then ok boot_timer_off_by_default
else bad boot_timer_off_by_default "status $rc or unexpected boot time line"; fi

run 10 --kernel "$G/ports.elf"
expect unclaimed_pio_mmio_read_zero 0 "out:ports 0x0 0x0 mmio 0x0"

printf 'abc def\n' | timeout 10 "$EMBER" --kernel "$G/echo.elf" >"$T/out" 2>"$T/err"
rc=$?
expect serial_input_reaches_guest 0 "out:tiny: got 'abc def'"

head -c 300 /dev/zero | tr '\0' 'x' >"$T/long-line"
echo >>"$T/long-line"
timeout 10 "$EMBER" --kernel "$G/echo.elf" <"$T/long-line" >"$T/out" 2>"$T/err"
rc=$?
expect serial_input_fifo_full_nothing_lost 0 "out:tiny: got '$(head -c 127 "$T/long-line")'"

head -c 300 /dev/zero | tr '\0' 'y' >"$T/long-pipe"
echo >>"$T/long-pipe"
cat "$T/long-pipe" | timeout 10 "$EMBER" --kernel "$G/echo.elf" >"$T/out" 2>"$T/err"
rc=$?
expect serial_input_pipe_nothing_lost 0 "out:tiny: got '$(head -c 127 "$T/long-pipe")'"

run 10 --kernel "$G/triple_fault.elf"
expect triple_fault_ends_vm_cleanly 0 "err:guest shut down (triple fault)"

run 10 --kernel "$G/int3.elf"
if [ -d /sys/module/kvm_pvm ]; then
	# kvm_pvm cannot emulate int3: an internal error, a register dump, status 1.
	expect internal_error_dumps_registers 1 "err:KVM internal error" "err:vcpu 0 registers:" \
		"err:rip 0000000000100"
else
	expect int3_triple_fault 0 "err:guest shut down (triple fault)"
fi

timeout 10 "$EMBER" --kernel "$G/halt.elf" >"$T/out" 2>"$T/err" </dev/null &
pid=$!
for _ in $(seq 50); do has out "tiny: halting" && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
rc=$?
expect sigterm_stops_cleanly 0 "out:tiny: halting" "err:stopping the microVM: Terminated"

# ---- console output never parks a vCPU (issue 12 item 3) -------------------
# stdout a FIFO that a reader holds open but never reads, the guest writing
# for ever: once the pipe is full, the API still answers (GET /, pause), the
# dropped bytes are counted, and SIGTERM ends ember.  (Before, the vCPU sat
# in a blocking write() holding the UART lock: pause and SIGTERM waited on
# it for ever.)
api_t2() { # NAME METHOD PATH BODY WANT_STATUS
	local code
	code=$(curl -s -m 10 -o "$T/body" -w '%{http_code}' --unix-socket "$T/api.sock" -X "$2" \
		-H 'Content-Type: application/json' ${4:+-d "$4"} "http://localhost$3" 2>/dev/null)
	[ "$code" = "$5" ] && ok "$1" || bad "$1" "status $code, want $5: $(cat "$T/body" 2>/dev/null)"
}
# term_wait NAME: SIGTERM to $pid; its status in $rc, or NAME fails when
# ember is still running 10 s later (killed then).
term_wait() {
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"; wait "$pid" 2>/dev/null
		bad "$1" "ember still running 10 s after SIGTERM"
		return 1
	fi
	wait "$pid"; rc=$?
}
pipe_fill() { # bytes waiting in the FIFO and its capacity
	python3 - "$T/console.fifo" <<'PY'
import fcntl, os, struct, sys, termios
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
n = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
print(n, fcntl.fcntl(fd, 1032))  # F_GETPIPE_SZ
PY
}
mkfifo "$T/console.fifo"
exec {hold}<>"$T/console.fifo"  # the reader that never reads
rm -f "$T/api.sock"
"$EMBER" --api-sock "$T/api.sock" >"$T/console.fifo" 2>"$T/err" </dev/null &
pid=$!
for _ in $(seq 100); do [ -S "$T/api.sock" ] && break; sleep 0.05; done
: >"$T/out"
api_t2 console_stalled_boot_source PUT /boot-source "{\"kernel_image_path\": \"$G/flood.elf\"}" 204
api_t2 console_stalled_metrics PUT /metrics "{\"metrics_path\": \"$T/console-metrics.json\"}" 204
api_t2 console_stalled_start PUT /actions '{"action_type": "InstanceStart"}' 204
full=0
for _ in $(seq 600); do
	read -r queued cap < <(pipe_fill)
	[ "$queued" -ge "$cap" ] && { full=1; break; }
	sleep 0.1
done
[ "$full" = 1 ] && ok console_stalled_pipe_full || bad console_stalled_pipe_full "$queued of $cap bytes queued"
api_t2 console_stalled_get_instance GET / "" 200
api_t2 console_stalled_pause PATCH /vm '{"state": "Paused"}' 204
api_t2 console_stalled_get_paused GET / "" 200
grep -q '"Paused"' "$T/body" && ok console_stalled_state_paused || bad console_stalled_state_paused "$(cat "$T/body")"
api_t2 console_stalled_resume PATCH /vm '{"state": "Resumed"}' 204
api_t2 console_stalled_flush_metrics PUT /actions '{"action_type": "FlushMetrics"}' 204
python3 -c 'import json,sys; u=[json.loads(l) for l in open(sys.argv[1])][-1]["uart"]; assert u["missed_write_count"] > 0 and u["write_count"] >= int(sys.argv[2]) and u["error_count"] == 0 and u["budget_dropped_count"] == 0, u' "$T/console-metrics.json" "$cap" \
	&& ok console_stalled_drops_counted || bad console_stalled_drops_counted "$(tail -c 600 "$T/console-metrics.json")"
term_wait console_stalled_sigterm && expect console_stalled_sigterm 0 "err:stopping the microVM: Terminated"
exec {hold}<&-
rm -f "$T/console.fifo" "$T/api.sock"

# ---- a stalled stderr never parks the thread that logs ----------------------
# ember's log on stderr, a FIFO already full that nobody reads: bad requests
# (each logged as a warning by the API thread) are still answered, lost lines
# are counted in the metrics (logger.missed_log_count), SIGTERM ends ember.
# (Before, the API thread sat in a blocking write() to stderr for ever.)
mkfifo "$T/log.fifo"
exec {hold}<>"$T/log.fifo"
python3 - "$T/log.fifo" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
try:
    while True:
        os.write(fd, b'x' * 4096)
except BlockingIOError:
    pass
PY
rm -f "$T/api.sock"
"$EMBER" --api-sock "$T/api.sock" >"$T/out" 2>"$T/log.fifo" </dev/null &
pid=$!
for _ in $(seq 100); do [ -S "$T/api.sock" ] && break; sleep 0.05; done
: >"$T/err"
api_t2 log_stalled_metrics PUT /metrics "{\"metrics_path\": \"$T/log-metrics.json\"}" 204
for i in 1 2 3; do
	api_t2 "log_stalled_bad_request_$i" PUT /machine-config '{"vcpu_count": 0}' 400
done
api_t2 log_stalled_get_instance GET / "" 200
api_t2 log_stalled_flush_metrics PUT /actions '{"action_type": "FlushMetrics"}' 204
python3 -c 'import json,sys; l=[json.loads(l) for l in open(sys.argv[1])][-1]["logger"]; assert l["missed_log_count"] >= 3, l' "$T/log-metrics.json" \
	&& ok log_stalled_lines_counted || bad log_stalled_lines_counted "$(tail -c 300 "$T/log-metrics.json")"
term_wait log_stalled_sigterm && expect log_stalled_sigterm 0
exec {hold}<&-
rm -f "$T/log.fifo" "$T/api.sock"

# The same with an anonymous pipe nobody reads and a guest that sends three
# pipes' worth then resets: it must get to the end.
timeout 120 "$EMBER" --kernel "$G/flood.elf" --cmdline "flood=200000" 2>"$T/err" </dev/null \
	> >(echo "$BASHPID" >"$T/sleeper"; exec sleep 150 >/dev/null 2>&1)
rc=$?
# $! does not name the reader (a process substitution): it kept the shared
# test lock held for 150 s after the suite ended.
kill "$(cat "$T/sleeper")" 2>/dev/null
: >"$T/out"
expect console_stalled_anonymous_pipe_guest_finishes 0 "err:guest requested a reset (i8042)"

# The byte budget: a 4096-byte bucket that takes an hour to refill lets the
# first 4096 bytes of 20025 into the file (plus at most a byte per second
# of refill), drops the rest and counts them.
cat >"$T/flood.json" <<JSON
{ "boot-source": { "kernel_image_path": "$G/flood.elf", "boot_args": "flood=20000" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 32 },
  "metrics": { "metrics_path": "$T/flood-metrics.json" } }
JSON
: >"$T/flood-metrics.json"
run 60 --no-api --config-file "$T/flood.json" --console-budget 4096,3600000
expect console_budget_guest_finishes 0 "out:flood: start" "err:guest requested a reset (i8042)"
size=$(stat -c %s "$T/out")
[ "$size" -ge 4096 ] && [ "$size" -le 4160 ] && ! has out "flood: done" \
	&& ok console_budget_caps_file || bad console_budget_caps_file "$size bytes in the console file"
python3 -c 'import json,sys; u=[json.loads(l) for l in open(sys.argv[1])][-1]["uart"]; assert u["write_count"] == int(sys.argv[2]) and u["missed_write_count"] == 20025 - int(sys.argv[2]) and u["budget_dropped_count"] == u["missed_write_count"] and u["error_count"] == 0, u' "$T/flood-metrics.json" "$size" \
	&& ok console_budget_drops_counted || bad console_budget_drops_counted "$(tail -c 600 "$T/flood-metrics.json")"
run 5 --kernel "$G/hello.elf" --console-budget 4096
expect bad_console_budget 1 "err:--console-budget: '4096' is not BYTES,REFILL_MS"

run 10 --kernel "$G/cpuid.elf" --vcpus 2
expect cpuid_normalised 0 "out:apic 0x0 hypervisor 0x1 sig KVMKVMKVM brand 'ember microVM vCPU' threads/core 0x1"
# machine-config "smt": the guest sees two threads per core (issue 15; the
# old ember refused smt true).
cat >"$T/smt.json" <<JSON
{ "boot-source": { "kernel_image_path": "$G/cpuid.elf" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 32, "smt": true } }
JSON
run 10 --no-api --config-file "$T/smt.json"
expect cpuid_smt_two_threads_per_core 0 "out:threads/core 0x2 x2apic 0x0"

# CPU templates (Firecracker's custom format, the config file's "cpu-config",
# and machine-config's static cpu_template): the guest prints CPUID leaf 1,
# leaf 7 EBX, the brand's first word and the PAT MSR, without a template and
# with one.  The bits checked are those ember itself decides (this host's
# kvm_pvm shows leaf 1 EDX and leaf 7 as the host has them, whatever
# KVM_SET_CPUID2 says; tier 3 checks AVX2 in a Linux guest on real KVM).
cpu_cfg() { # FILE EXTRA-JSON
	cat >"$1" <<JSON
{ "boot-source": { "kernel_image_path": "$G/cpu_regs.elf" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 32 $2 } $3 }
JSON
}
cpu_val() { sed -n "s/^cpu: $1 //p" "$T/$2" | head -1; }
cpu_cfg "$T/cpu-base.json" "" ""
run 20 --no-api --config-file "$T/cpu-base.json"
cp "$T/out" "$T/cpu-base.out"
cat >"$T/tmpl.json" <<'JSON'
{ "cpuid_modifiers": [
    { "leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [
      { "register": "ecx", "bitmap": "0b0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" } ] },
    { "leaf": "0x80000002", "subleaf": "0b0", "flags": 0, "modifiers": [
      { "register": "eax", "bitmap": "0b1_x" } ] } ],
  "msr_modifiers": [ { "addr": "0x277", "bitmap": "0b0000_0001" } ] }
JSON
cpu_cfg "$T/cpu-tmpl.json" "" ", \"cpu-config\": \"$T/tmpl.json\""
run 20 --no-api --config-file "$T/cpu-tmpl.json"
b_ecx=$(cpu_val leaf1.ecx cpu-base.out) b_brand=$(cpu_val brand.eax cpu-base.out) b_pat=$(cpu_val pat cpu-base.out)
t_ecx=$(cpu_val leaf1.ecx out) t_brand=$(cpu_val brand.eax out) t_pat=$(cpu_val pat out)
if [ "$rc" -ne 0 ] || [ -z "$b_ecx" ] || [ -z "$t_ecx" ] || [ -z "$t_pat" ]; then
	bad cpu_template_custom "exit status $rc, base '$b_ecx' template '$t_ecx'"
elif (( (b_ecx >> 31) != 1 || (b_brand & 2) != 0 )); then
	bad cpu_template_custom "without a template: hypervisor bit not set or brand bit 1 set ($b_ecx, $b_brand)"
elif (( t_ecx != (b_ecx & ~(1 << 31)) || t_brand != (b_brand | 2) ||
	t_pat != ((b_pat & ~0xff) | 1) )); then
	bad cpu_template_custom "ecx $b_ecx -> $t_ecx, brand $b_brand -> $t_brand, PAT $b_pat -> $t_pat"
else
	ok cpu_template_custom
fi
# The static templates: T2A on an AMD host, the Intel ones (T2 here) on an
# Intel host, each refused on the other vendor as Firecracker does; both
# give the vCPU the same signature in leaf 1 EAX.
if grep -qm1 AuthenticAMD /proc/cpuinfo; then mine=T2A other=T2 vendor=Intel; else mine=T2 other=T2A vendor=AMD; fi
cpu_cfg "$T/cpu-static.json" ", \"cpu_template\": \"$mine\"" ""
run 20 --no-api --config-file "$T/cpu-static.json"
b_eax=$(cpu_val leaf1.eax cpu-base.out) t_eax=$(cpu_val leaf1.eax out)
if [ "$rc" -eq 0 ] && [ -n "$t_eax" ] && (( t_eax == ((b_eax & ~0x0fff3fff) | 0x000306f2) )) &&
   has err "CPU template $mine: 6 CPUID leaves"; then
	ok cpu_template_static_$mine
else
	bad cpu_template_static_$mine "exit status $rc, leaf 1 EAX $b_eax -> $t_eax"
fi
cpu_cfg "$T/cpu-static.json" ", \"cpu_template\": \"$other\"" ""
run 20 --no-api --config-file "$T/cpu-static.json"
expect cpu_template_static_wrong_vendor 1 "err:CPU template $other: the CPU vendor of this host does not match the template's ($vendor)"
# What KVM does not offer is refused at start, with the entry named.
cpu_refused() { # NAME TEMPLATE MESSAGE
	printf '%s\n' "$2" >"$T/tmpl-bad.json"
	cpu_cfg "$T/cpu-bad.json" "" ", \"cpu-config\": \"$T/tmpl-bad.json\""
	run 20 --no-api --config-file "$T/cpu-bad.json"
	expect "$1" 1 "err:$3"
}
cpu_refused cpu_template_leaf_not_offered \
	'{"cpuid_modifiers": [{"leaf": "0x4fffffff", "subleaf": "0x0", "flags": 0, "modifiers": []}]}' \
	"cannot start the microVM: the CPU template changes leaf 0x4fffffff, subleaf 0x0, which is not in KVM's supported CPUID"
cpu_refused cpu_template_msr_not_offered \
	'{"msr_modifiers": [{"addr": "0xdead0000", "bitmap": "0b1"}]}' \
	"cannot start the microVM: the CPU template changes MSR 0xdead0000, which KVM does not support"
cpu_refused cpu_template_kvm_capability \
	'{"kvm_capabilities": ["!7", "100000"]}' \
	"cannot start the microVM: the CPU template needs KVM capability 100000, which this host's KVM does not offer"
cpu_refused cpu_template_malformed_file \
	'{"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [{"register": "rax", "bitmap": "0b1"}]}]}' \
	'cpu-config: cpuid_modifiers[0] (leaf 0x1, subleaf 0x0): invalid CPUID register "rax"'

run 10 --kernel "$G/hello.elf" --vcpus 32 --mem-mib 64
expect thirty_two_vcpus 0 "out:hello from long mode"

run 10 --kernel "$G/pvh.elf" --cmdline "pvh works" --initrd "$T/initrd"
expect pvh_entry 0 "out:pvh: 32-bit entry, start_info magic ok, cmdline 'pvh works' memmap entries 3 modules 1"

run 10 --kernel "$G/boot_params.elf" --mem-mib 5120
expect ram_above_4g 0 "out:e820 entries 0x4" "out:e820 0x100000 0xbff00000 0x1" \
	"out:e820 0x100000000 0x80000000 0x1"

if [ -w /proc/sys/vm/nr_hugepages ]; then
	old_huge=$(cat /proc/sys/vm/nr_hugepages)
	echo $((old_huge + 32)) >/proc/sys/vm/nr_hugepages
	run 10 --kernel "$G/hello.elf" --mem-mib 64 --huge-pages
	expect huge_pages_2m 0 "out:hello from long mode"
	run 10 --kernel "$G/hello.elf" --mem-mib 4096 --huge-pages
	expect huge_pages_pool_too_small 1 "err:cannot map 4096 MiB of guest memory in huge pages"
	echo "$old_huge" >/proc/sys/vm/nr_hugepages
fi

# ---- guest RAM on a 2 MiB boundary (issue 18) ------------------------------
# 63 MiB, a size the kernel never aligns by itself: ember's guest-RAM mapping
# (the one of exactly that size: under ASan the shadow is larger) must start on a 2 MiB boundary, or neither THP nor KVM can map
# the guest in 2 MiB pages.  With huge_pages "Transparent" (MADV_HUGEPAGE), and
# with nothing said (ember's default), the RAM ember and the guest wrote is in
# transparent huge pages unless the host has THP "never"; an explicit "None"
# on a host whose THP is "madvise" leaves it in 4 KiB pages.
guest_ram() { # PID -> "start_address_hex anon_huge_kib" of the 63 MiB mapping
	awk '/^[0-9a-f]+-[0-9a-f]+ / { split($1, r, "-"); addr = r[1]; size = ahp = 0 }
		/^Size:/ { size = $2 } /^AnonHugePages:/ { ahp = $2 }
		/^VmFlags:/ { if (size == 63 * 1024) { a = addr; h = ahp } }
		END { print a, h }' "/proc/$1/smaps"
}
ram_run() { # HUGE_PAGES|default: boot halt.elf, sample the mapping into $ram_start $ram_ahp
	local huge=", \"huge_pages\": \"$1\""
	[ "$1" = default ] && huge=
	cat >"$T/ram.json" <<JSON
{ "boot-source": { "kernel_image_path": "$G/halt.elf" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 63$huge } }
JSON
	"$EMBER" --no-api --config-file "$T/ram.json" >"$T/out" 2>"$T/err" </dev/null &
	pid=$!  # ember itself (not under timeout): its smaps are read
	for _ in $(seq 200); do has out "tiny: halting" && break; sleep 0.1; done
	read -r ram_start ram_ahp < <(guest_ram "$pid" 2>/dev/null)
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
}
thp_mode=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
for pages in None Transparent default; do
	ram_run "$pages"
	name=guest_ram_2m_aligned_$pages
	if [ "$rc" -ne 0 ] || ! has out "tiny: halting"; then bad "$name" "exit status $rc"
	elif [ -z "$ram_start" ] || (( 0x$ram_start % 0x200000 )); then
		bad "$name" "guest RAM mapping starts at 0x$ram_start"
	else ok "$name"; fi
	name=guest_ram_thp_$pages
	if [ -z "$thp_mode" ] || [ "$thp_mode" = never ]; then
		echo "SKIP $name: host THP is '${thp_mode:-absent}'"
	elif [ "$pages" = None ]; then
		if [ "$thp_mode" != madvise ]; then echo "SKIP $name: host THP is '$thp_mode', not madvise"
		elif [ "${ram_ahp:-x}" = 0 ]; then ok "$name"
		else bad "$name" "AnonHugePages ${ram_ahp:-?} kB with \"None\" (THP madvise)"; fi
	elif [ "${ram_ahp:-0}" -gt 0 ]; then ok "$name"
	else bad "$name" "AnonHugePages ${ram_ahp:-?} kB in the guest RAM mapping (THP $thp_mode)"
	fi
done

cat >"$T/vm.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$G/boot_params.elf", "boot_args": "from json" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 48, "smt": false }
}
JSON
run 10 --config-file "$T/vm.json"
expect config_file_boots 0 "out:cmdline 'from json'" "out:e820 0x100000 0x2f00000 0x1"
run 10 --config-file "$T/vm.json" --cmdline "flag wins" --mem-mib 32
expect config_file_cli_override 0 "out:cmdline 'flag wins'" "out:e820 0x100000 0x1f00000 0x1"

# ---- bad input: each is a clear error and a non-zero status --------------
patch() { # patch FILE OFFSET HEXBYTES
	python3 - "$@" <<'PY'
import sys
path, off, data = sys.argv[1], int(sys.argv[2], 0), bytes.fromhex(sys.argv[3])
b = bytearray(open(path, 'rb').read()); b[off:off + len(data)] = data
open(path, 'wb').write(b)
PY
}

run 5 --kernel "$T/does-not-exist"
expect bad_kernel_missing 1 "err:cannot open"
: >"$T/empty"
run 5 --kernel "$T/empty"
expect bad_kernel_empty 1 "err:neither an ELF vmlinux nor a bzImage"
head -c 4096 /dev/urandom >"$T/garbage"
run 5 --kernel "$T/garbage"
expect bad_kernel_garbage 1 "err:neither an ELF vmlinux nor a bzImage"
head -c 40 "$G/hello.elf" >"$T/trunc-hdr"
run 5 --kernel "$T/trunc-hdr"
expect bad_kernel_truncated_header 1 "err:ELF header truncated"
head -c 4200 "$G/hello.elf" >"$T/trunc-seg"
run 5 --kernel "$T/trunc-seg"
expect bad_kernel_truncated_segment 1 "err:is truncated"
cp "$G/hello.elf" "$T/elf32" && patch "$T/elf32" 4 01
run 5 --kernel "$T/elf32"
expect bad_kernel_32bit_elf 1 "err:32-bit ELF kernels are not supported"
cp "$G/hello.elf" "$T/high" && patch "$T/high" $((64 + 24)) 0000000002000000  # p_paddr = 2 GiB
run 5 --kernel "$T/high" --mem-mib 64
expect bad_kernel_larger_than_memory 1 "err:does not fit in 64 MiB of guest memory"
python3 - "$T/oldbz" <<'PY'
import struct, sys
b = bytearray(8192)
b[0x1f1] = 4; b[0x1fe:0x200] = b'\x55\xaa'; b[0x200:0x202] = b'\xeb\x66'; b[0x202:0x206] = b'HdrS'
struct.pack_into('<H', b, 0x206, 0x020a)
open(sys.argv[1], 'wb').write(b)
PY
run 5 --kernel "$T/oldbz"
expect bad_bzimage_old_protocol 1 "err:boot protocol 2.10 is too old"
head -c $((40 << 20)) /dev/zero >"$T/big-initrd"
run 5 --kernel "$G/hello.elf" --mem-mib 32 --initrd "$T/big-initrd"
expect bad_initrd_does_not_fit 1 "err:initrd: 41943040 bytes do not fit"
run 5 --kernel "$G/hello.elf" --cmdline "$(head -c 3000 /dev/zero | tr '\0' a)"
expect bad_cmdline_too_long 1 "err:--cmdline: 3000 bytes, the limit is 2047"
run 5 --kernel "$G/hello.elf" --vcpus 0
expect bad_vcpus_zero 1 "err:--vcpus: '0' is not a number from 1 to 32"
run 5 --kernel "$G/hello.elf" --vcpus 33
expect bad_vcpus_too_many 1 "err:--vcpus: '33'"
run 5 --kernel "$G/hello.elf" --mem-mib 12x
expect bad_mem_not_a_number 1 "err:--mem-mib: '12x'"
run 5 --kernel "$G/hello.elf" --frobnicate
expect bad_unknown_option 1 "err:unknown option"
run 5
expect bad_no_kernel 1 "err:no kernel"
echo '{"boot-source": {"kernel_image_path": 5}}' >"$T/bad.json"
run 5 --config-file "$T/bad.json"
expect bad_config_wrong_type 1 "err:field 'kernel_image_path' must be a string"
echo '{"boot-source": ' >"$T/bad2.json"
run 5 --config-file "$T/bad2.json"
expect bad_config_malformed_json 1 "err:invalid JSON at line"

# ---- seccomp ------------------------------------------------------------------
# Every thread of a running ember is confined (NoNewPrivs: 1, Seccomp: 2 in each
# task's status):
# the API flow, so the vmm thread runs "vmm_boot" and then "vmm", 2 vCPUs.
sc_api() { # PATH BODY
	curl -s -m 10 -o /dev/null -w '%{http_code}' --unix-socket "$T/sc.sock" -X PUT \
		-H 'Content-Type: application/json' -d "$2" "http://localhost$1"
}
rm -f "$T/sc.sock"
timeout 30 "$EMBER" --api-sock "$T/sc.sock" >"$T/out" 2>"$T/err" </dev/null &
tpid=$!
for _ in $(seq 100); do [ -S "$T/sc.sock" ] && break; sleep 0.05; done
pid=$(pgrep -P "$tpid")  # ember, under timeout
codes="$(sc_api /boot-source "{\"kernel_image_path\": \"$G/halt.elf\"}") $(sc_api /machine-config '{"vcpu_count": 2, "mem_size_mib": 32}') $(sc_api /actions '{"action_type": "InstanceStart"}')"
for _ in $(seq 100); do has out "tiny: halting" && break; sleep 0.05; done
: >"$T/tasks"
for t in /proc/"$pid"/task/*; do
	echo "$(cat "$t/comm") $(awk '/^NoNewPrivs:/ {n = $2} /^Seccomp:/ {s = $2} END {print n s}' "$t/status")" >>"$T/tasks"
done
kill -TERM "$pid"
wait "$tpid"
rc=$?
cat "$T/tasks" >>"$T/out"
if [ "$codes" != "204 204 204" ]; then
	bad seccomp_every_thread_confined "API answers $codes"
elif ! grep -qx "vmm 12" "$T/tasks" || ! grep -qx "api 12" "$T/tasks" || ! grep -qx "vcpu 0 12" "$T/tasks" ||
     ! grep -qx "vcpu 1 12" "$T/tasks" || grep -qv ' 12$' "$T/tasks"; then
	bad seccomp_every_thread_confined "threads, NoNewPrivs and Seccomp: $(tr '\n' ';' <"$T/tasks")"
else
	expect seccomp_every_thread_confined 0 "out:tiny: halting" "err:stopping the microVM: Terminated"
fi
# --no-seccomp: no thread is confined.
timeout 10 "$EMBER" --no-seccomp --kernel "$G/halt.elf" >"$T/out" 2>"$T/err" </dev/null &
tpid=$!
for _ in $(seq 100); do has out "tiny: halting" && break; sleep 0.05; done
pid=$(pgrep -P "$tpid")
sc=$(cat /proc/"$pid"/task/*/status | awk '/^Seccomp:/ {print $2}' | sort -u | tr '\n' ' ')
kill -TERM "$pid"
wait "$tpid"
rc=$?
[ "$sc" = "0 " ] && expect seccomp_off_with_no_seccomp 0 "err:seccomp is off" \
	|| bad seccomp_off_with_no_seccomp "Seccomp fields: $sc"

# The filters bite: a test build (TEST_EMBER, -DEMBER_TEST_HOOKS) makes a thread
# of the named class issue a forbidden call right after it is confined; the
# process must die of SIGSYS (status 159 through timeout) before the call returns.
# hook NAME CLASS:CALL ARGS...
hook() {
	local name=$1 h=$2; shift 2
	EMBER_TEST_SECCOMP=$h timeout 20 "$TEST_EMBER" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	if has err "was not stopped"; then bad "$name" "the forbidden call returned"
	elif ! has err "test hook: ${h%%:*} thread issues ${h#*:}"; then bad "$name" "the hook did not run"
	elif [ "$rc" -ne 159 ]; then bad "$name" "exit status $rc, want 159 (SIGSYS)"
	else ok "$name"; fi
}
if [ -n "${TEST_EMBER:-}" ]; then
	hook seccomp_kills_vcpu_kvm_create_vm vcpu:ioctl:0xae01 --kernel "$G/hello.elf" --mem-mib 32
	hook seccomp_kills_vcpu_open_new vcpu:open_new --kernel "$G/hello.elf" --mem-mib 32
	ls /tmp/ember-seccomp-hook-* >/dev/null 2>&1 && bad seccomp_vcpu_open_created_nothing "a file was created" \
		|| ok seccomp_vcpu_open_created_nothing
	hook seccomp_kills_vcpu_execve vcpu:execve --kernel "$G/hello.elf" --mem-mib 32
	hook seccomp_kills_vmm_socket_inet vmm:socket_inet --kernel "$G/hello.elf" --mem-mib 32
	hook seccomp_kills_vmm_execve vmm:execve --kernel "$G/hello.elf" --mem-mib 32
	hook seccomp_kills_vmm_kvm_create_vm_after_start vmm:ioctl:0xae01 --kernel "$G/hello.elf" --mem-mib 32
	rm -f "$T/hook.sock"
	hook seccomp_kills_vmm_boot_ptrace vmm_boot:ptrace --api-sock "$T/hook.sock"
	rm -f "$T/hook.sock"
	hook seccomp_kills_api_socket_inet api:socket_inet --api-sock "$T/hook.sock"
	rm -f "$T/hook.sock"
	hook seccomp_kills_api_execve api:execve --api-sock "$T/hook.sock"
	# The control: without filters the same hook's call goes through.
	EMBER_TEST_SECCOMP=vcpu:socket_inet timeout 20 "$TEST_EMBER" --no-seccomp --kernel "$G/hello.elf" \
		--mem-mib 32 >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	expect seccomp_hook_control_without_filters 0 "err:test hook: socket_inet was not stopped" \
		"out:hello from long mode"
else
	echo "SKIP seccomp_kills_*: no TEST_EMBER (make tier2 builds it)"
fi

# Custom filters in Firecracker's seccompiler JSON: ember's own printed policy
# boots; without the vcpu rule for KVM_RUN the first guest entry kills ember.
"$EMBER" --print-seccomp-policy >"$T/policy.json"
rc=$?
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); assert {"vmm","api","vcpu","vmm_boot"} <= set(p)' "$T/policy.json" \
	&& [ "$rc" -eq 0 ] && ok seccomp_print_policy || bad seccomp_print_policy "status $rc or not a policy"
run 10 --seccomp-filter "$T/policy.json" --kernel "$G/hello.elf" --mem-mib 32
expect seccomp_custom_filter_boots 0 "out:hello from long mode"
sc_edit() { # OUT PYTHON-STATEMENT (on p, the policy)
	python3 -c "import json,sys; p=json.load(open(sys.argv[1])); $2; json.dump(p, open(sys.argv[2], 'w'))" \
		"$T/policy.json" "$T/$1"
}
sc_edit no_run.json 'p["vcpu"]["filter"] = [r for r in p["vcpu"]["filter"] if not any(a["val"] == 0xae80 for a in r.get("args", []))]'
run 10 --seccomp-filter "$T/no_run.json" --kernel "$G/hello.elf" --mem-mib 32
if has out "hello from long mode"; then bad seccomp_custom_filter_forbids_kvm_run "the guest ran"
elif [ "$rc" -ne 159 ]; then bad seccomp_custom_filter_forbids_kvm_run "exit status $rc, want 159 (SIGSYS)"
else ok seccomp_custom_filter_forbids_kvm_run; fi
echo '{"vmm": {' >"$T/sc_bad.json"
run 5 --seccomp-filter "$T/sc_bad.json" --kernel "$G/hello.elf"
expect bad_seccomp_filter_json 1 "err:sc_bad.json: not valid JSON"
sc_edit sc_bad.json 'p["api"]["filter"][0]["syscall"] = "frobnicate"'
run 5 --seccomp-filter "$T/sc_bad.json" --kernel "$G/hello.elf"
expect bad_seccomp_filter_unknown_syscall 1 "err:api: filter[0]: unknown system call 'frobnicate'"
sc_edit sc_bad.json 'p["gpu"] = p["api"]'
run 5 --seccomp-filter "$T/sc_bad.json" --kernel "$G/hello.elf"
expect bad_seccomp_filter_unknown_thread 1 "err:unknown thread 'gpu'"
sc_edit sc_bad.json 'p["vcpu"]["default_action"] = "explode"'
run 5 --seccomp-filter "$T/sc_bad.json" --kernel "$G/hello.elf"
expect bad_seccomp_filter_bad_action 1 "err:vcpu: default_action: unknown action 'explode'"
sc_edit sc_bad.json 'p["vcpu"]["filter"][0]["args"][0]["index"] = 6'
run 5 --seccomp-filter "$T/sc_bad.json" --kernel "$G/hello.elf"
expect bad_seccomp_filter_arg_index 1 "err:vcpu: filter[0] (ioctl) args[0]: index 6"
sc_edit sc_bad.json 'del p["api"]'
run 5 --seccomp-filter "$T/sc_bad.json" --kernel "$G/hello.elf"
expect bad_seccomp_filter_missing_thread 1 "err:no filter for the 'api' thread"
run 5 --seccomp-filter "$T/missing.json" --kernel "$G/hello.elf"
expect bad_seccomp_filter_missing_file 1 "err:missing.json"
run 5 --no-seccomp --seccomp-filter "$T/policy.json" --kernel "$G/hello.elf"
expect bad_seccomp_both_flags 1 "err:--no-seccomp and --seccomp-filter exclude each other"

# ---- snapshots ------------------------------------------------------------------
. "$(dirname "$0")/tier2_snapshot.sh"

echo "tier2: $pass passed, $fail failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
