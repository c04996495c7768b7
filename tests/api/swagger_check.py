#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The swagger-driven API check: ember against Firecracker's own contract.

For every path and method in tests/api/firecracker.yaml (Firecracker's
swagger, see tests/api/README.md) this builds a valid request body from the
operation's schema, sends it to an ember started here on a unix socket, and
checks the answer: the status must be one the swagger lists for that
operation (or its "default"), and the returned JSON must match the schema
given for that status, checked by the small validator below (the subset of
JSON Schema the file uses: type, properties, required, enum, minimum,
maximum, items, additionalProperties, $ref, int32/int64 formats).  Every
4xx must carry a non-empty fault_message.

Endpoints outside ember's scope (balloon, entropy, pmem, memory hot-plug,
MMDS) must be refused with a 400 whose fault_message names the endpoint and
is not the unknown-path message.  EXPECTED lists what ember does not do yet;
those are reported as "not yet" and do not fail the check, and one that
starts passing is reported so the list can shrink.

A real tiny guest (build/guests/halt.elf) is started for the post-boot
operations (PATCH /drives, PATCH /network-interfaces, PATCH /vm,
SendCtrlAltDel, /snapshot/create).  As root, ember runs in a network
namespace of its own holding the tap the interface names.

usage: swagger_check.py EMBER GUEST_DIR [SWAGGER]
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import yaml

# ---- what ember does not do yet (the lead shrinks this after merges) --------
# key: "METHOD /path" (or "METHOD /path [probe]"), value: why.
EXPECTED = {
    "PUT /snapshot/load": "the fresh ember is probed before the running one has written "
                          "a snapshot: there is no state file to load yet",
}

OUT_OF_SCOPE = ("/balloon", "/entropy", "/pmem", "/hotplug", "/mmds")

# Operations that need a running microVM, and the one that needs a fresh one.
POST_BOOT = {("patch", "/drives/{drive_id}"), ("patch", "/network-interfaces/{iface_id}"),
             ("patch", "/vm"), ("put", "/snapshot/create")}
FRESH = {("put", "/snapshot/load")}
PATH_IDS = {"drive_id": "rootfs", "iface_id": "eth0", "id": "pmem0"}


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.sock_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.sock_path)


# ---- the validator: the JSON Schema subset firecracker.yaml uses ----------------
class Schema:
    def __init__(self, doc):
        self.defs = doc.get("definitions", {})

    def resolve(self, s):
        while "$ref" in s:
            s = self.defs[s["$ref"].split("/")[-1]]
        return s

    def validate(self, value, s, where="$"):
        """A list of problems ('' when valid)."""
        s = self.resolve(s)
        errs = []
        t = s.get("type")
        if "enum" in s and value not in [str(e) if isinstance(value, str) else e
                                         for e in s["enum"]]:
            errs.append(f"{where}: {value!r} not in {s['enum']}")
        if t == "object" or (t is None and "properties" in s):
            if not isinstance(value, dict):
                return errs + [f"{where}: {type(value).__name__}, want object"]
            for r in s.get("required", []):
                if r not in value:
                    errs.append(f"{where}: required '{r}' missing")
            props = s.get("properties", {})
            for k, v in value.items():
                if k in props:
                    errs += self.validate(v, props[k], f"{where}.{k}")
                elif s.get("additionalProperties") is False:
                    errs.append(f"{where}: '{k}' not allowed")
        elif t == "array":
            if not isinstance(value, list):
                return errs + [f"{where}: {type(value).__name__}, want array"]
            for i, item in enumerate(value):
                errs += self.validate(item, s.get("items", {}), f"{where}[{i}]")
        elif t == "string":
            if not isinstance(value, str):
                errs.append(f"{where}: {value!r} is not a string")
        elif t == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                return errs + [f"{where}: {value!r} is not an integer"]
            bits = {"int32": 31, "int64": 63}.get(s.get("format"))
            if bits and not -(1 << bits) <= value < (1 << bits):
                errs.append(f"{where}: {value} outside {s['format']}")
        elif t == "number":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                errs.append(f"{where}: {value!r} is not a number")
        elif t == "boolean":
            if not isinstance(value, bool):
                errs.append(f"{where}: {value!r} is not a boolean")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in s and value < s["minimum"]:
                errs.append(f"{where}: {value} < minimum {s['minimum']}")
            if "maximum" in s and value > s["maximum"]:
                errs.append(f"{where}: {value} > maximum {s['maximum']}")
        return errs

    def extra_keys(self, value, s, where="$"):
        """Keys the schema does not name (allowed by JSON Schema; reported)."""
        s = self.resolve(s)
        out = []
        if isinstance(value, dict) and "properties" in s:
            for k, v in value.items():
                if k not in s["properties"]:
                    out.append(f"{where}.{k}")
                else:
                    out += self.extra_keys(v, s["properties"][k], f"{where}.{k}")
        elif isinstance(value, list) and "items" in s:
            for i, item in enumerate(value):
                out += self.extra_keys(item, s["items"], f"{where}[{i}]")
        return out


# ---- bodies built from the schemas -------------------------------------------
class BodyMaker:
    """A valid instance of a schema: every property the schema lists (so the
    whole shape is exercised), values from the schema (default, enum,
    minimum) unless VALUES names one that means something on this host."""

    # Properties a valid x86 virtio-block/net body leaves out: the swagger's
    # alternatives (vhost-user's socket), aarch64-only lists, deprecated ids.
    OMIT = {("Drive", "socket"), ("CpuConfig", "reg_modifiers"),
            ("CpuConfig", "vcpu_features"), ("SnapshotLoadParams", "mem_file_path"),
            ("SnapshotLoadParams", "enable_diff_snapshots"),
            ("Vsock", "vsock_id")}

    def __init__(self, schema, values):
        self.schema = schema
        self.values = values

    def make(self, s, owner=None, prop=None):
        """`s` is property `prop` of definition `owner` (None: top level)."""
        if (owner, prop) in self.values:
            return self.values[(owner, prop)]
        name = owner
        if "$ref" in s:
            name = s["$ref"].split("/")[-1]
            if (name, None) in self.values:
                return self.values[(name, None)]
        s = self.schema.resolve(s)
        t = s.get("type")
        if t == "object" or "properties" in s:
            return {p: self.make(ps, name, p) for p, ps in s.get("properties", {}).items()
                    if (name, p) not in self.OMIT}
        if t == "array":
            return [self.make(s.get("items", {}), name, None)]
        if "default" in s:
            return s["default"]
        if "enum" in s:
            return s["enum"][0]
        if t == "integer":
            return s.get("minimum", 1)
        if t == "boolean":
            return False
        if t == "number":
            return 1.0
        return "x"


def host_values(tmp, guests):
    """Values that make sense on this host, keyed by (definition, property)."""
    def touch(name, size=4096):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.truncate(size)
        return path
    bucket = {"size": 1000000, "one_time_burst": 0, "refill_time": 100}
    return {
        ("BootSource", "kernel_image_path"): os.path.join(guests, "halt.elf"),
        ("BootSource", "initrd_path"): touch("initrd.img"),
        ("BootSource", "boot_args"): "console=ttyS0 reboot=k panic=1 pci=off",
        ("Drive", "path_on_host"): touch("rootfs.ext4", 1 << 20),
        ("Drive", "partuuid"): "7e7b6f06-8aaf-42c6-9c3b-6ede014885a6",
        ("Drive", "drive_id"): "rootfs", ("Drive", "is_root_device"): True,
        ("PartialDrive", "drive_id"): "rootfs",
        ("PartialDrive", "path_on_host"): touch("other.img", 1 << 20),
        ("NetworkInterface", "iface_id"): "eth0",
        ("NetworkInterface", "host_dev_name"): "tap0",
        ("NetworkInterface", "guest_mac"): "06:00:ac:10:00:02",
        ("NetworkInterface", "mtu"): 1500,
        ("PartialNetworkInterface", "iface_id"): "eth0",
        ("TokenBucket", None): bucket,
        ("SerialDevice", "serial_out_path"): os.path.join(tmp, "serial.out"),
        ("Logger", "log_path"): os.path.join(tmp, "log.txt"),
        ("Logger", "module"): "api_server::request",   # the swagger's example
        ("Metrics", "metrics_path"): os.path.join(tmp, "metrics.json"),
        ("Vsock", "uds_path"): os.path.join(tmp, "v.sock"),
        ("Vsock", "guest_cid"): 3,
        ("MachineConfiguration", "vcpu_count"): 1,
        ("MachineConfiguration", "mem_size_mib"): 64,
        ("SnapshotCreateParams", "mem_file_path"): os.path.join(tmp, "snap.mem"),
        ("SnapshotCreateParams", "snapshot_path"): os.path.join(tmp, "snap.state"),
        ("SnapshotLoadParams", "snapshot_path"): os.path.join(tmp, "snap.state"),
        ("MemoryBackend", "backend_path"): os.path.join(tmp, "snap.mem"),
        ("VsockOverride", "uds_path"): os.path.join(tmp, "v2.sock"),
        ("NetworkOverride", "iface_id"): "eth0",
        ("NetworkOverride", "host_dev_name"): "tap0",
        ("Pmem", "id"): "pmem0", ("Pmem", "path_on_host"): touch("pmem.img", 2 << 20),
        ("PartialPmem", "id"): "pmem0",
        ("MmdsConfig", "network_interfaces"): ["eth0"],
        ("MmdsConfig", "ipv4_address"): "169.254.169.254",
        ("CpuidLeafModifier", "leaf"): "0x1", ("CpuidLeafModifier", "subleaf"): "0x0",
        ("CpuidRegisterModifier", "bitmap"): "0b" + "x" * 32,
        ("MsrModifier", "addr"): "0x10a", ("MsrModifier", "bitmap"): "0b" + "x" * 64,
        ("CpuConfig", "kvm_capabilities"): [],
        ("MemoryHotplugConfig", "total_size_mib"): 1024,
        ("MemoryHotplugSizeUpdate", "requested_size_mib"): 128,
    }


# ---- ember -------------------------------------------------------------------------
class Ember:
    def __init__(self, binary, tmp, netns):
        self.sock = os.path.join(tmp, "api.sock")
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        prefix = ["ip", "netns", "exec", netns] if netns else []
        self.out = open(os.path.join(tmp, "ember.out"), "ab")
        self.proc = subprocess.Popen(prefix + [binary, "--api-sock", self.sock],
                                     stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=self.out)
        for _ in range(200):
            if os.path.exists(self.sock):
                return
            time.sleep(0.05)
        raise RuntimeError("ember did not create its API socket")

    def request(self, method, path, body):
        t0 = time.monotonic()
        try:
            return self._request(method, path, body)
        finally:
            if os.environ.get("SWAGGER_CHECK_TIMES"):
                print(f"    {time.monotonic() - t0:.3f} s {method.upper()} {path}")

    def _request(self, method, path, body):
        c = UnixHTTPConnection(self.sock)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        c.request(method.upper(), path, body=data, headers=headers)
        r = c.getresponse()
        text = r.read()
        c.close()
        return r.status, text

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


# ---- one operation ----------------------------------------------------------------
class Check:
    def __init__(self, doc, values):
        self.doc = doc
        self.schema = Schema(doc)
        self.maker = BodyMaker(self.schema, values)
        self.results = []   # (key, verdict, detail)

    def body_for(self, op, variant):
        for p in op.get("parameters", []):
            if p.get("in") == "body":
                body = self.maker.make(p["schema"])
                if variant is not None:
                    body = dict(body, **variant)
                errs = self.schema.validate(body, p["schema"])
                if errs:   # the generator's own mistake, not ember's
                    raise RuntimeError(f"built an invalid body: {errs}")
                return body
        return None

    def judge(self, ember, method, path, op, variant=None, probe=None):
        real = path
        for k, v in PATH_IDS.items():
            real = real.replace("{" + k + "}", v)
        key = f"{method.upper()} {path}" + (f" [{probe}]" if probe else "")
        body = self.body_for(op, variant)
        status, text = ember.request(method, real, body)
        problems, notes = self.check_answer(path, op, status, text)
        expected = EXPECTED.get(key) or EXPECTED.get(f"{method.upper()} {path}")
        if not problems:
            verdict = "ok" if not expected else "ok (listed as not yet: shrink EXPECTED)"
        else:
            verdict = "NOT YET" if expected else "FAIL"
        detail = "; ".join(problems + notes)
        self.results.append((key, verdict, f"{status} {detail}".strip(),
                             expected if problems else None))
        return status

    def check_answer(self, path, op, status, text):
        problems, notes = [], []
        responses = {str(k): v for k, v in op.get("responses", {}).items()}
        spec = responses.get(str(status), responses.get("default"))
        if spec is None:
            return [f"status {status} not in the swagger ({sorted(responses)})"], notes
        value = None
        if text:
            try:
                value = json.loads(text)
            except ValueError:
                return [f"answer is not JSON: {text[:80]!r}"], notes
        if "schema" in spec:
            if value is None:
                problems.append("no JSON body, the swagger gives a schema")
            else:
                problems += self.schema.validate(value, spec["schema"])
                extra = self.schema.extra_keys(value, spec["schema"])
                if extra:
                    notes.append("keys beyond the schema: " + ", ".join(extra))
        elif text:
            problems.append(f"body {text[:60]!r} where the swagger gives none")
        fault = value.get("fault_message") if isinstance(value, dict) else None
        if status >= 400 and not (isinstance(fault, str) and fault):
            problems.append("4xx without a fault_message")
        if path.startswith(OUT_OF_SCOPE):
            name = path.strip("/").split("/")[0]
            if status != 400:
                problems.append(f"out of scope: want a 400 refusal, got {status}")
            elif (name not in (fault or "") or
                  (fault or "").startswith("invalid request method and/or path")):
                problems.append(f"out of scope: the refusal must name '{name}' and not "
                                f"be the unknown-path message: {fault!r}")
        elif status >= 400:
            problems.append(f"refused: {fault}")
        return problems, notes


def validator_self_test(schema):
    """The validator must catch what it claims to (a check that cannot fail
    is no check): one wrong value per rule against the swagger's own
    definitions."""
    d = {"$ref": "#/definitions/MachineConfiguration"}
    good = {"vcpu_count": 2, "mem_size_mib": 64, "huge_pages": "2M", "smt": False}
    assert not schema.validate(good, d), schema.validate(good, d)
    for bad in ({"mem_size_mib": 64},                              # required
                dict(good, vcpu_count="2"), dict(good, vcpu_count=True),  # type
                dict(good, vcpu_count=33), dict(good, vcpu_count=0),      # bounds
                dict(good, huge_pages="1G"), dict(good, smt="no"), []):  # enum, type
        assert schema.validate(bad, d), bad
    fv = {"$ref": "#/definitions/FullVmConfiguration"}
    assert schema.validate({"boot-source": {}}, fv)                 # nested required
    assert schema.validate({"drives": [{"drive_id": 1, "is_root_device": True}]}, fv)
    assert schema.validate({"drives": {}}, fv)
    big = {"$ref": "#/definitions/TokenBucket"}
    assert schema.validate({"size": 1 << 63, "refill_time": 1}, big)  # int64
    assert schema.extra_keys({"vcpu_count": 1, "mem_size_mib": 8, "x": 1}, d) == ["$.x"]


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "put", "patch", "post", "delete"):
                yield path, method, op


def netns_setup():
    if os.geteuid() != 0:
        return None
    ns = f"ember-swagger-{os.getpid()}"
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
        subprocess.run(["ip", "-n", ns, "tuntap", "add", "dev", "tap0", "mode", "tap"],
                       check=True, capture_output=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "tap0", "up"], check=True,
                       capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        return None
    return ns


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.split("\n\n")[-1].strip())
    binary, guests = sys.argv[1], sys.argv[2]
    swagger = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "firecracker.yaml")
    with open(swagger) as f:
        doc = yaml.safe_load(f)
    validator_self_test(Schema(doc))
    tmp = tempfile.mkdtemp(prefix="ember-swagger-")
    ns = netns_setup()
    check = Check(doc, host_values(tmp, guests))
    ops = list(operations(doc))
    if not ns:   # no tap to start with: leave the interface out of the boot
        print("  (not root: no network namespace, the interface is not attached)")
    embers = []
    try:
        # 1. a fresh ember: the GETs before any configuration, /snapshot/load
        e = Ember(binary, tmp, ns)
        embers.append(e)
        for path, method, op in ops:
            if method == "get":
                check.judge(e, method, path, op, probe="fresh")
        for path, method, op in ops:
            if (method, path) in FRESH:
                check.judge(e, method, path, op)
        e.stop()
        # 2. configure everything pre-boot, then start a real tiny guest
        e = Ember(binary, tmp, ns)
        embers.append(e)
        late = []
        for path, method, op in ops:
            if (method, path) in POST_BOOT | FRESH or method == "get":
                continue
            if path == "/actions":
                continue
            if path == "/network-interfaces/{iface_id}" and not ns:
                check.results.append((f"{method.upper()} {path}", "skipped",
                                      "needs root (a tap)", None))
                continue
            check.judge(e, method, path, op)
        actions = doc["paths"]["/actions"]["put"]
        check.judge(e, "put", "/actions", actions, {"action_type": "FlushMetrics"},
                    probe="FlushMetrics")
        for path, method, op in ops:
            if method == "get":
                late.append((path, method, op))
                check.judge(e, method, path, op, probe="configured")
        status = check.judge(e, "put", "/actions", actions,
                             {"action_type": "InstanceStart"}, probe="InstanceStart")
        if status != 204:
            print(open(os.path.join(tmp, "ember.out")).read()[-2000:])
            raise RuntimeError("InstanceStart failed: the post-boot operations cannot run")
        # 3. post-boot: live updates, keys, pause (snapshot) and resume
        for path, method, op in ops:
            if (method, path) in POST_BOOT and path != "/vm" and \
               path != "/snapshot/create":
                check.judge(e, method, path, op)
        check.judge(e, "put", "/actions", actions, {"action_type": "SendCtrlAltDel"},
                    probe="SendCtrlAltDel")
        vm = doc["paths"]["/vm"]["patch"]
        check.judge(e, "patch", "/vm", vm, {"state": "Paused"}, probe="Paused")
        check.judge(e, "put", "/snapshot/create", doc["paths"]["/snapshot/create"]["put"])
        check.judge(e, "patch", "/vm", vm, {"state": "Resumed"}, probe="Resumed")
        for path, method, op in late:
            check.judge(e, method, path, op, probe="running")
    finally:
        for e in embers:
            e.stop()
        if ns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["rm", "-rf", tmp])

    # Every path and method of the swagger was exercised at least once.
    seen = {r[0].split(" [")[0] for r in check.results}
    missing = [f"{m.upper()} {p}" for p, m, _ in ops if f"{m.upper()} {p}" not in seen]
    fails = [r for r in check.results if r[1] == "FAIL"]
    for key, verdict, detail, why in check.results:
        line = f"{verdict.upper() if verdict == 'FAIL' else verdict:8} {key}: {detail}"
        if why:
            line += f"  (not yet: {why})"
        print(line)
    for m in missing:
        print(f"FAIL     {m}: never exercised")
    n_yet = sum(r[1] == "NOT YET" for r in check.results)
    print(f"swagger {doc['info']['version']}: {len(ops)} operations, {len(check.results)} "
          f"requests: {len(check.results) - len(fails) - n_yet} ok, {n_yet} not yet, "
          f"{len(fails) + len(missing)} failed")
    sys.exit(1 if fails or missing else 0)


if __name__ == "__main__":
    main()
