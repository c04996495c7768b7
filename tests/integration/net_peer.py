#!/usr/bin/env python3
"""The host's end of tier 2's virtio-net scenario (tests/guests/tiny/virtio_net.c).

Usage: net_peer.py TAP TIMEOUT_S READY_FILE

On TAP (inside the scenario's network namespace), through a packet socket:
waits for the guest's "EMBERNET-TX" frame (ethertype 0x88b5), answers it with
an "EMBERNET-RX" frame to the guest's MAC, then reports every frame of that
ethertype until "EMBERNET-OK" arrives or the time is up.  One line each:
"peer: got <payload> from <mac>", "peer: sent EMBERNET-RX", "peer: timeout".
The frames the guest's driver mangles ("EMBERNET-BAD") must never show here.
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
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        frame = s.recv(70000)
        if len(frame) < 14 or int.from_bytes(frame[12:14], "big") != ETHERTYPE:
            continue
        src = frame[6:12]
        payload = frame[14:].rstrip(b"\0").decode("ascii", "replace")
        print(f"peer: got {payload} ({len(frame)} bytes) from {src.hex(':')}", flush=True)
        if payload == "EMBERNET-TX":
            reply = src + bytes.fromhex("020000000001") + ETHERTYPE.to_bytes(2, "big")
            reply += b"EMBERNET-RX".ljust(46, b"\0")
            s.send(reply)
            print("peer: sent EMBERNET-RX", flush=True)
        elif payload == "EMBERNET-OK":
            return 0
    print("peer: timeout", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
