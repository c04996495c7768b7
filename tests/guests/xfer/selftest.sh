#!/usr/bin/env bash
# Self-test of xfer (tests/guests/xfer/xfer.c) on the host, no VM: TCP and unix
# sockets, and the Firecracker vsock handshake against a stand-in for the VMM's
# host side (a small Python muxer: `CONNECT <port>\n` -> `OK <n>\n`, then the
# stream relayed to TCP port <port> on 127.0.0.1; a port nobody listens on, a
# malformed or an overlong line: the connection is closed).
# Usage: tests/guests/xfer/selftest.sh XFER_BINARY
# Output: `PASS name` / `FAIL name: reason` lines, then `N passed, N failed`.
set -uo pipefail
X=${1:?usage: $0 XFER_BINARY}
D=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$D"' EXIT
passed=0 failed=0
ok() { echo "PASS $1"; passed=$((passed + 1)); }
ko() { echo "FAIL $1: $2"; sed 's/^/  | /' "$D/out" 2>/dev/null | tail -n 8; failed=$((failed + 1)); }
sum() { sed -n "s/^xfer: $1 .*sum=\([0-9a-f]*\).*/\1/p" "$2" | head -n1; }
port=$((20000 + RANDOM % 20000))
serve() { # OUT ARGS...: a server in the background, ready when it says so
	"$X" "${@:2}" >"$1" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do grep -q listening "$1" && return; sleep 0.05; done
}

# --- the stand-in for the VMM's vsock host side -------------------------------
cat >"$D/fc.py" <<'PY'
import os, re, socket, sys, threading
path = sys.argv[1]
if os.path.exists(path): os.unlink(path)
ls = socket.socket(socket.AF_UNIX); ls.bind(path); ls.listen(512)
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
        b.shutdown(socket.SHUT_WR)
    except OSError: pass
def conn(c):
    c.settimeout(5); line = b""
    try:
        while not line.endswith(b"\n") and len(line) < 32:
            d = c.recv(1)
            if not d: break
            line += d
    except OSError: pass
    m = re.fullmatch(rb"CONNECT (\d{1,10})\n", line)
    if not m: c.close(); return
    try: t = socket.create_connection(("127.0.0.1", int(m.group(1))))
    except OSError: c.close(); return
    c.settimeout(None); c.sendall(b"OK 1073741824\n")
    threading.Thread(target=pump, args=(t, c), daemon=True).start()
    pump(c, t)
while True:
    c, _ = ls.accept()
    threading.Thread(target=conn, args=(c,), daemon=True).start()
PY
uds=$D/v.sock
python3 "$D/fc.py" "$uds" &
pids+=($!)
for _ in $(seq 50); do [ -S "$uds" ] && break; sleep 0.05; done

# --- cases ------------------------------------------------------------------------
# stream NAME SERVER_MODE CLIENT_MODE CLIENT_ENDPOINT LISTEN_ENDPOINT: both ends agree
stream() {
	local s=$D/s.out
	serve "$s" "$2" -k 1 -n 3M -t 10 "$5"
	"$X" "$3" -n 3M -t 10 "$4" >"$D/out" 2>&1
	wait "${pids[-1]}"
	cat "$s" >>"$D/out"
	local a b
	a=$(grep -o 'sum=[0-9a-f]*' "$D/out" | sort -u | wc -l)
	b=$(grep -c 'bytes=3145728 ' "$D/out")
	if [ "$a" -eq 1 ] && [ "$b" -eq 2 ] && [ "$(grep -c '^xfer: ok' "$D/out")" -eq 2 ]; then ok "$1"; else ko "$1" "the ends disagree"; fi
}
p=$((port++)); stream tcp-send serve-recv send "tcp:127.0.0.1:$p" "tcp:$p"
p=$((port++)); stream tcp-recv serve-send recv "tcp:127.0.0.1:$p" "tcp:$p"
stream unix-send serve-recv send "unix:$D/u.sock" "unix:$D/u.sock"
p=$((port++)); stream fc-send serve-recv send "fc:$uds:$p" "tcp:$p"
p=$((port++)); stream fc-recv serve-send recv "fc:$uds:$p" "tcp:$p"

"$X" gen -n 3M -s 7 2>"$D/g1" | md5sum >"$D/m1"
"$X" gen -n 3M -s 7 2>"$D/g2" | md5sum >"$D/m2"
"$X" gen -n 3M -s 8 2>/dev/null | md5sum >"$D/m3"
if cmp -s "$D/m1" "$D/m2" && ! cmp -s "$D/m1" "$D/m3" && cmp -s "$D/g1" "$D/g2"; then ok gen-deterministic; else ko gen-deterministic "seeds"; fi

p=$((port++))
serve "$D/s.out" serve-echo -k 201 -q -t 10 "tcp:$p"
"$X" echo -n 1M -t 10 "tcp:127.0.0.1:$p" >"$D/out" 2>&1 && grep -q '^xfer: echo bytes=1048576 .*end=done$' "$D/out" && ok tcp-echo || ko tcp-echo "echo"
"$X" many -m 200 -n 64K -q -t 10 "tcp:127.0.0.1:$p" >"$D/out" 2>&1 && grep -qx 'xfer: ok' "$D/out" && ok tcp-many-200 || ko tcp-many-200 "many"
wait "${pids[-1]}" && ok tcp-echo-server-count || ko tcp-echo-server-count "the server did not end well after 201 connections"

p=$((port++))
serve "$D/s.out" serve-echo -k 100 -q -t 10 "tcp:$p"
"$X" many -m 100 -n 256K -q -t 10 "fc:$uds:$p" >"$D/out" 2>&1 && grep -qx 'xfer: ok' "$D/out" && ok fc-many-100 || ko fc-many-100 "many through the handshake"
wait "${pids[-1]}"

# A corrupted echo is caught: a server that echoes other bytes (serve-send, same length).
p=$((port++))
serve "$D/s.out" serve-send -k 1 -n 64K -s 99 -t 10 "tcp:$p"
if ! "$X" echo -n 64K -t 10 "tcp:127.0.0.1:$p" >"$D/out" 2>&1 && grep -q 'error=the echo differs' "$D/out"; then ok echo-detects-corruption; else ko echo-detects-corruption "a wrong echo passed"; fi
wait "${pids[-1]}"

# Abort: the receiver sees the connection end early, then takes the next one.
p=$((port++))
serve "$D/s.out" serve-recv -k 2 -t 10 "tcp:$p"
"$X" abort -n 8M -t 10 "tcp:127.0.0.1:$p" >"$D/out" 2>&1
"$X" send -n 1M -t 10 "tcp:127.0.0.1:$p" >>"$D/out" 2>&1
wait "${pids[-1]}"
cat "$D/s.out" >>"$D/out"
if grep -q 'end=reset-sent' "$D/out" && grep -q '^xfer: recv .*end=reset' "$D/s.out" &&
	grep -q '^xfer: recv bytes=1048576 .*end=eof$' "$D/s.out"; then ok abort-then-next; else ko abort-then-next "abort"; fi

# The handshake's failures: nobody on the port, malformed lines, an overlong line.
p=$((port++))
if ! "$X" echo -n 1K -t 10 "fc:$uds:$p" >"$D/out" 2>&1 && grep -q 'closed during the handshake' "$D/out"; then ok fc-no-listener; else ko fc-no-listener "no handshake failure"; fi
raw() { # NAME EXPECTED_RESULTS (a|b) ARGS...
	"$X" raw -t 5 "${@:3}" "unix:$uds" >"$D/out" 2>&1
	if grep -Eq "^xfer: raw result=($2) " "$D/out"; then ok "$1"; else ko "$1" "not $2"; fi
}
raw raw-no-listener 'closed|reset' -d "CONNECT $p\n"
raw raw-garbage 'closed|reset' -d 'hello\x00\xff\n'
raw raw-connect-abc 'closed|reset' -d 'CONNECT abc\n'
raw raw-overlong 'closed|reset' -d 'CONNECT 1' -L 4096
raw raw-no-newline-close sent -c -d 'CONNECT 5'
p=$((port++))
serve "$D/s.out" serve-echo -k 1 -t 10 "tcp:$p"
raw raw-good answered -d "CONNECT $p\n"
wait "${pids[-1]}"
grep -q "reply='OK 1073741824'" "$D/out" && ok raw-good-reply || ko raw-good-reply "reply"

# Timeouts: a silent peer ends a receive after -t seconds with a failure.
p=$((port++))
serve "$D/s.out" serve-recv -k 1 -t 10 "tcp:$p"
t0=$SECONDS
if ! "$X" recv -n 1K -t 2 "tcp:127.0.0.1:$p" >"$D/out" 2>&1 && grep -q 'nothing moved for 2 s' "$D/out" &&
	((SECONDS - t0 <= 4)); then ok idle-timeout; else ko idle-timeout "no timeout"; fi
wait "${pids[-1]}"
if ! "$X" serve-recv -k 1 -t 1 "tcp:$((port++))" >"$D/out" 2>&1; then ok server-timeout; else ko server-timeout "a server without clients succeeded"; fi
if ! "$X" send -n 1 -t 2 "tcp:127.0.0.1:$((port++))" >"$D/out" 2>&1 && grep -q 'connect:' "$D/out"; then ok connect-refused; else ko connect-refused "connect"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
