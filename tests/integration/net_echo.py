#!/usr/bin/env python3
"""The host's end of the snapshot tests' network loop (tests/guests/tiny/net_loop.c).

Usage: net_echo.py TAP TIMEOUT_S READY_FILE

On TAP (inside the test's network namespace), through a packet socket: every
frame of ethertype 0x88b5 saying "PING <16 hex digits>" is answered with
"PONG <the same digits>" to its sender, until the time is up.  Prints one
line per answer ("echo: N", N counting them), and "echo: done N" at the end.
"""
import select
import socket
import sys
import time

ETHERTYPE = 0x88B5


def main():
    tap, timeout, ready = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
    s.bind((tap, ETHERTYPE))
    with open(ready, "w") as f:
        f.write("ready\n")
    end = time.monotonic() + timeout
    answered = 0
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        frame = s.recv(70000)
        if len(frame) < 35 or int.from_bytes(frame[12:14], "big") != ETHERTYPE:
            continue
        if frame[14:19] != b"PING ":
            continue
        reply = frame[6:12] + bytes.fromhex("020000000001") + ETHERTYPE.to_bytes(2, "big")
        reply += (b"PONG " + frame[19:35]).ljust(46, b"\0")
        s.send(reply)
        answered += 1
        print(f"echo: {answered}", flush=True)
    print(f"echo: done {answered}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
