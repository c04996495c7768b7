#!/usr/bin/env python3
"""Restore latency against a fresh boot of the same tiny guest (counter.elf).

usage: snapshot.py EMBER GUEST_DIR [RUNS]

Fresh boot: PUT /actions InstanceStart sent -> (a) its 204, (b) vcpu 0's first
KVM_RUN (ember's debug log, CLOCK_MONOTONIC like time.monotonic here), (c) the
guest's first byte on the console.  Restore: PUT /snapshot/load (File,
resume_vm) of a snapshot of that guest taken once -> the same three points;
(c) depends on where in its loop the guest was paused (the counter prints
every 4096 steps), so (b) is the figure to compare.  min/median/max of RUNS.
"uffd" is the same load with the Uffd backend, pages served by
tools/uffd_handler (UFFD_HANDLER, default next to EMBER; started before the
request, one per load).  Each for 128 MiB and 1 GiB of guest RAM.
"""
import os, re, socket, statistics, subprocess, sys, tempfile, time

EMBER, G = sys.argv[1], sys.argv[2]
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 10
T = tempfile.mkdtemp(prefix="ember-snapbench-")
HANDLER = os.environ.get("UFFD_HANDLER", os.path.join(os.path.dirname(EMBER), "uffd_handler"))


def api(sock, method, path, body):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    data = body.encode()
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    resp = s.recv(4096).decode()
    s.close()
    code = int(resp.split()[1])
    if code >= 300:
        raise SystemExit(f"{method} {path}: {resp}")
    return code


class Ember:
    def __init__(self, name):
        self.sock = f"{T}/{name}.sock"
        self.out, self.err = f"{T}/{name}.out", f"{T}/{name}.err"
        if os.path.exists(self.sock):  # left by the last one, killed
            os.unlink(self.sock)
        self.p = subprocess.Popen([EMBER, "--api-sock", self.sock, "--level", "Debug"],
                                  stdin=subprocess.DEVNULL, stdout=open(self.out, "w"),
                                  stderr=open(self.err, "w"))
        while not os.path.exists(self.sock):
            time.sleep(0.005)

    def first_output(self, t0, size0=0, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if os.path.getsize(self.out) > size0:
                return time.monotonic() - t0
            time.sleep(0.0005)
        return float("nan")

    def first_run_us(self):
        for _ in range(200):
            m = re.search(r"first KVM_RUN at monotonic (\d+) us", open(self.err).read())
            if m:
                return int(m.group(1))
            time.sleep(0.01)
        raise SystemExit("no first KVM_RUN line in " + self.err)

    def kill(self):
        self.p.kill()
        self.p.wait()


def boot(e, mib):
    api(e.sock, "PUT", "/boot-source", '{"kernel_image_path": "%s/counter.elf"}' % G)
    api(e.sock, "PUT", "/machine-config", '{"vcpu_count": 1, "mem_size_mib": %d}' % mib)
    t0 = time.monotonic()
    api(e.sock, "PUT", "/actions", '{"action_type": "InstanceStart"}')
    return t0, time.monotonic() - t0


def handler():
    hsock = f"{T}/h.sock"
    if os.path.exists(hsock):
        os.unlink(hsock)
    h = subprocess.Popen([HANDLER, hsock, f"{T}/s.mem"], stderr=open(f"{T}/h.err", "w"))
    while not os.path.exists(hsock):
        time.sleep(0.001)
    return h, hsock


def measure(kind, mib):
    e = Ember(kind)
    h = None
    if kind == "boot":
        t0, resp = boot(e, mib)
    else:
        if kind == "file":
            backend = '{"backend_type": "File", "backend_path": "%s/s.mem"}' % T
        else:
            h, hsock = handler()
            backend = '{"backend_type": "Uffd", "backend_path": "%s"}' % hsock
        t0 = time.monotonic()
        api(e.sock, "PUT", "/snapshot/load", '{"snapshot_path": "%s/s.state", "mem_backend": '
            '%s, "resume_vm": true}' % (T, backend))
        resp = time.monotonic() - t0
    out = e.first_output(t0)
    run = e.first_run_us() / 1e6 - t0
    e.kill()
    if h:
        h.wait()
    return resp * 1e3, run * 1e3, out * 1e3


for mib in (128, 1024):
    src = Ember("src")
    boot(src, mib)
    time.sleep(0.5)
    api(src.sock, "PATCH", "/vm", '{"state": "Paused"}')
    api(src.sock, "PUT", "/snapshot/create",
        '{"snapshot_path": "%s/s.state", "mem_file_path": "%s/s.mem"}' % (T, T))
    src.kill()

    res = {"boot": [], "file": [], "uffd": []}
    for _ in range(RUNS):
        for kind in res:
            res[kind].append(measure(kind, mib))
    print(f"tiny counter guest, 1 vCPU, {mib} MiB, {RUNS} runs each: min / median / max in ms")
    for i, what in enumerate(["request -> 204", "request -> vcpu 0 first KVM_RUN",
                              "request -> first console byte"]):
        for kind in res:
            v = [r[i] for r in res[kind]]
            print(f"  {kind:8} {what:34} {min(v):8.2f} {statistics.median(v):8.2f} {max(v):8.2f}")
    b = statistics.median(r[1] for r in res["boot"])
    for kind in ("file", "uffd"):
        r = statistics.median(r[1] for r in res[kind])
        print(f"  {kind} restore/boot (to first KVM_RUN, medians): {r / b:.2f}")
