#!/usr/bin/env python3
"""The host's end of tier 2's virtio-vsock scenario (tests/guests/tiny/virtio_vsock.c).

Usage: vsock_peer.py UDS_PATH TIMEOUT_S READY_FILE

Listens on UDS_PATH_6000 for the guest's connection (then writes READY_FILE),
waits for ember's socket at UDS_PATH, and then, through Firecracker's
handshake: malformed handshake lines, each of which ember must answer by
closing the connection without an "OK"; "CONNECT 5000" to the guest's
listener, "PING-FROM-HOST" and the guest's "PONG-FROM-GUEST"; and the
guest's own connection to port 6000 with its "HELLO-HOST".  One "peer: ..."
line per step; exit status 0 when every step went as expected.
"""
import os
import socket
import sys
import time

MALFORMED = [
    b"GARBAGE\n",
    b"CONNECT abc\n",
    b"CONNECT 99999999999\n",
    b"CONNECT -1\n",
    b"CONNECT 5000",            # no newline, then the writer's end closes
    b"A" * 200,                 # an overlong line
]


def read_until(sock, want, timeout):
    """Bytes read until `want` shows up, EOF or the timeout."""
    sock.settimeout(timeout)
    data = b""
    end = time.monotonic() + timeout
    while want not in data and time.monotonic() < end:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def malformed(uds, i, line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(uds)
    s.sendall(line)
    if not line.endswith(b"\n"):
        s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    try:
        got = s.recv(100)
        verdict = "closed" if not got else "answered " + repr(got)
    except socket.timeout:
        verdict = "still open after 10 s"
    except ConnectionResetError:
        verdict = "closed"
    s.close()
    print(f"peer: malformed {i} {verdict}", flush=True)
    return verdict == "closed"


def main():
    uds, timeout, ready = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(uds + "_6000"):
        os.unlink(uds + "_6000")
    listener.bind(uds + "_6000")
    listener.listen(4)
    with open(ready, "w") as f:
        f.write("ready\n")
    end = time.monotonic() + 10
    while not os.path.exists(uds) and time.monotonic() < end:
        time.sleep(0.05)
    good = all([malformed(uds, i, line) for i, line in enumerate(MALFORMED)])

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(uds)
    s.sendall(b"CONNECT 5000\n")
    line = read_until(s, b"\n", timeout)
    print(f"peer: handshake answer {line!r}", flush=True)
    if not line.startswith(b"OK ") or not line.endswith(b"\n"):
        return 1
    s.sendall(b"PING-FROM-HOST")
    got = read_until(s, b"PONG-FROM-GUEST", timeout)
    print(f"peer: from the guest {got!r}", flush=True)
    good = good and got == b"PONG-FROM-GUEST"

    listener.settimeout(timeout)
    try:
        conn, _ = listener.accept()
    except socket.timeout:
        print("peer: the guest never connected to port 6000", flush=True)
        return 1
    got = read_until(conn, b"HELLO-HOST", timeout)
    print(f"peer: guest said {got!r}", flush=True)
    good = good and got == b"HELLO-HOST"
    conn.close()
    s.close()
    os.unlink(uds + "_6000")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
