#!/usr/bin/env bash
# The HTTP API on a unix socket, driven with curl like a Firecracker user
# would: the getting-started flow with a tiny guest, then a corpus of bad
# requests, each answered with the right status and a fault_message while a
# valid request afterwards still succeeds.  One line per check, then
# "N passed, N failed".   usage: api.sh EMBER GUEST_DIR
set -uo pipefail

EMBER=${1:?ember binary} G=${2:?guest dir}
T=$(mktemp -d)
S=$T/api.sock
pid=
# ember runs in a network namespace of its own holding tap0, the tap the
# getting-started flow attaches (as root; elsewhere in this one, where the
# start then fails on the tap and the checks after it say so).
NS=() ns=ember-api-$$
if ip netns add "$ns" 2>/dev/null; then
	ip -n "$ns" tuntap add dev tap0 mode tap && ip -n "$ns" link set tap0 up
	NS=(ip netns exec "$ns")
fi
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"
	[ ${#NS[@]} -eq 0 ] || ip netns del "$ns"
}
trap cleanup EXIT
pass=0 fail=0
ok()  { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

start_ember() { # extra flags...
	rm -f "$S"
	"${NS[@]}" "$EMBER" --api-sock "$S" "$@" >"$T/out" 2>>"$T/err" </dev/null &
	pid=$!
	for _ in $(seq 100); do [ -S "$S" ] && return 0; sleep 0.05; done
	echo "ember did not create its socket"; cat "$T/err"; return 1
}

# req NAME METHOD PATH BODY WANT_STATUS [FAULT_SUBSTRING...]
req() {
	local name=$1 method=$2 path=$3 body=$4 want=$5 fault=${6:-}
	local more=("${@:7}")
	local args=(-s -m 30 -o "$T/body" -w '%{http_code}' --unix-socket "$S" -X "$method"
		    -H 'Accept: application/json' "http://localhost$path")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
	local code
	code=$(curl "${args[@]}" 2>/dev/null)
	if [ "$code" != "$want" ]; then bad "$name" "status $code, want $want: $(cat "$T/body")"; return; fi
	if [ "$want" -ge 400 ]; then
		if ! python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d["fault_message"], str) and d["fault_message"]' "$T/body" 2>/dev/null; then
			bad "$name" "no fault_message in $(cat "$T/body")"; return
		fi
		for f in "$fault" "${more[@]}"; do
			if [ -n "$f" ] && ! grep -qF -- "$f" "$T/body"; then
				bad "$name" "fault_message lacks '$f': $(cat "$T/body")"; return
			fi
		done
	fi
	ok "$name"
}

json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/body" "$2"; }

# ---- the getting-started flow, verbatim shapes ------------------------------
start_ember || exit 1
req get_instance_info GET / "" 200
[ "$(json_field x state)" = "Not started" ] && ok instance_state_not_started || bad instance_state_not_started "$(cat "$T/body")"
req get_version GET /version "" 200
# The swagger requires boot-source.kernel_image_path: "" before a PUT.
req get_vm_config_empty GET /vm/config "" 200
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["boot-source"]["kernel_image_path"] == "", d' "$T/body" \
	&& ok vm_config_empty_kernel_path || bad vm_config_empty_kernel_path "$(cat "$T/body")"
dd if=/dev/zero of="$T/rootfs.ext4" bs=1M count=4 status=none
req put_boot_source PUT /boot-source "{\"kernel_image_path\": \"$G/boot_params.elf\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 pci=off\"}" 204
req put_drive_rootfs PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": true, \"is_read_only\": false}" 204
req put_machine_config PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64}' 204
req get_machine_config GET /machine-config "" 200
[ "$(json_field x mem_size_mib)" = 64 ] && ok machine_config_read_back || bad machine_config_read_back "$(cat "$T/body")"
req patch_machine_config PATCH /machine-config '{"mem_size_mib": 48}' 204
req put_net PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}' 204
req put_vsock PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$T/v.sock\"}" 204
req put_metrics PUT /metrics "{\"metrics_path\": \"$T/metrics.json\"}" 204
req put_logger PUT /logger "{\"log_path\": \"$T/log.txt\", \"level\": \"Info\", \"show_level\": true, \"show_log_origin\": true}" 204
req get_vm_config GET /vm/config "" 200
python3 - "$T/body" "$T/rootfs.ext4" <<'PY' && ok vm_config_content || bad vm_config_content "$(cat "$T/body")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["machine-config"]["mem_size_mib"] == 48 and d["machine-config"]["vcpu_count"] == 2
assert d["drives"][0]["path_on_host"] == sys.argv[2] and d["drives"][0]["is_root_device"]
assert d["network-interfaces"][0]["guest_mac"] == "06:00:ac:10:00:02"
assert d["vsock"]["guest_cid"] == 3
PY

# ---- bad requests before start ----------------------------------------------
req bad_json PUT /machine-config '{"vcpu_count": 2,' 400 "invalid JSON"
req bad_not_object PUT /machine-config '[1, 2]' 400 "must be an object"
req bad_missing_body PUT /machine-config "" 400 "needs a JSON body"
req bad_unknown_field PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "foo": 1}' 400 "unknown field 'foo'"
req bad_type_vcpus PUT /machine-config '{"vcpu_count": "2", "mem_size_mib": 64}' 400 "'vcpu_count' must be an integer"
req bad_vcpus_zero PUT /machine-config '{"vcpu_count": 0, "mem_size_mib": 64}' 400 "vcpu_count"
req bad_vcpus_negative PUT /machine-config '{"vcpu_count": -1, "mem_size_mib": 64}' 400 "vcpu_count"
req bad_vcpus_huge PUT /machine-config '{"vcpu_count": 99999999999999999, "mem_size_mib": 64}' 400 "vcpu_count"
req bad_mem_small PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 1}' 400 "mem_size_mib"
req bad_mem_huge PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 1e30}' 400 "mem_size_mib"
req bad_mem_float PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64.5}' 400 "mem_size_mib"
req bad_missing_required PUT /machine-config '{"vcpu_count": 1}' 400 "missing required field 'mem_size_mib'"
req bad_smt_odd_vcpus PUT /machine-config '{"vcpu_count": 3, "mem_size_mib": 64, "smt": true}' 400 "1 or an even number"
req bad_patch_machine_config_empty PATCH /machine-config '{}' 400 "at least one field"
req bad_huge_pages PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64, "huge_pages": "1G"}' 400 "huge_pages"
req bad_cpu_template PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64, "cpu_template": "V1N1"}' 400 "is not one of None, C3, T2, T2S, T2CL, T2A"
req bad_cpu_template_case PATCH /machine-config '{"cpu_template": "t2"}' 400 "cpu_template"
# The deprecated static templates are accepted and read back (applied, or
# refused on the wrong vendor, at InstanceStart); "None" removes them.
for t in C3 T2 T2S T2CL T2A; do
	req "machine_config_cpu_template_$t" PATCH /machine-config "{\"cpu_template\": \"$t\"}" 204
	req "get_machine_config_$t" GET /machine-config "" 200
	[ "$(json_field x cpu_template)" = "$t" ] && ok "cpu_template_read_back_$t" || bad "cpu_template_read_back_$t" "$(cat "$T/body")"
done
req put_machine_config_keeps_template PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 48}' 204
req get_machine_config_kept GET /machine-config "" 200
[ "$(json_field x cpu_template)" = T2A ] && ok cpu_template_kept_without_field || bad cpu_template_kept_without_field "$(cat "$T/body")"
req machine_config_cpu_template_none PATCH /machine-config '{"cpu_template": "None"}' 204
req get_machine_config_none GET /machine-config "" 200
python3 -c 'import json,sys; assert "cpu_template" not in json.load(open(sys.argv[1]))' "$T/body" && ok cpu_template_none_read_back || bad cpu_template_none_read_back "$(cat "$T/body")"
# PUT /cpu-config: Firecracker's custom template; each malformed one is
# refused with the entry named, and leaves the configuration unchanged.
TMPL_OK='{"kvm_capabilities": ["!56"], "cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [{"register": "ecx", "bitmap": "0b0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]}], "msr_modifiers": [{"addr": "0x277", "bitmap": "0b00000001"}]}'
req put_cpu_config PUT /cpu-config "$TMPL_OK" 204
req get_machine_config_custom GET /machine-config "" 200
python3 -c 'import json,sys; assert "cpu_template" not in json.load(open(sys.argv[1]))' "$T/body" && ok cpu_config_not_a_static_template || bad cpu_config_not_a_static_template "$(cat "$T/body")"
leaf1() { echo "{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": [{\"register\": \"$1\", \"bitmap\": \"$2\"}]}]}"; }
req bad_cpu_config_bitmap_long PUT /cpu-config "$(leaf1 ecx 0b111111111111111111111111111111111)" 400 "(leaf 0x1, subleaf 0x0), register ecx: bitmap" "is longer than 32 bits"
req bad_cpu_config_bitmap_char PUT /cpu-config "$(leaf1 edx 0b10z1)" 400 "register edx: bitmap" "has the character 'z'"
req bad_cpu_config_register PUT /cpu-config "$(leaf1 rax 0b1)" 400 "(leaf 0x1, subleaf 0x0): invalid CPUID register" "rax"
req bad_cpu_config_leaf_prefix PUT /cpu-config '{"cpuid_modifiers": [{"leaf": "7", "subleaf": "0x0", "flags": 0, "modifiers": []}]}' 400 "cpuid_modifiers[0]:" "has no number prefix"
req bad_cpu_config_leaf_range PUT /cpu-config '{"cpuid_modifiers": [{"leaf": "0x100000000", "subleaf": "0x0", "flags": 0, "modifiers": []}]}' 400 "cpuid_modifiers[0]:" "0x100000000" "is out of range"
req bad_cpu_config_leaf_type PUT /cpu-config '{"cpuid_modifiers": [{"leaf": 1, "subleaf": "0x0", "flags": 0, "modifiers": []}]}' 400 "'leaf' must be a string"
req bad_cpu_config_flags PUT /cpu-config '{"cpuid_modifiers": [{"leaf": "0x7", "subleaf": "0x0", "flags": "1", "modifiers": []}]}' 400 "(leaf 0x7, subleaf 0x0): 'flags' must be an integer"
req bad_cpu_config_no_modifiers PUT /cpu-config '{"cpuid_modifiers": [{"leaf": "0x7", "subleaf": "0x0", "flags": 1}]}' 400 "missing 'modifiers'"
req bad_cpu_config_msr_addr PUT /cpu-config '{"msr_modifiers": [{"addr": "0jj0", "bitmap": "0b1"}]}' 400 "msr_modifiers[0]:" "0jj0" "has no number prefix"
req bad_cpu_config_msr_bitmap PUT /cpu-config "{\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": \"0b1$(printf '0%.0s' $(seq 64))\"}]}" 400 "(MSR 0x10a): bitmap"
req bad_cpu_config_capability PUT /cpu-config '{"kvm_capabilities": ["!KVM_CAP_XCRS"]}' 400 "kvm_capabilities[0]:" "KVM_CAP_XCRS" "is not a capability number"
req bad_cpu_config_unknown_field PUT /cpu-config '{"reg_modifiers": []}' 400 "unknown field 'reg_modifiers'"
req bad_cpu_config_array_type PUT /cpu-config '{"cpuid_modifiers": {}}' 400 "'cpuid_modifiers' must be an array"
req bad_cpu_config_get GET /cpu-config "" 400 "invalid request method and/or path"
req bad_patch_type PATCH /machine-config '{"mem_size_mib": "lots"}' 400 "must be an integer"
req bad_duplicate_key PUT /machine-config '{"vcpu_count": 1, "vcpu_count": 2, "mem_size_mib": 64}' 400 "duplicate"
req bad_boot_no_kernel PUT /boot-source '{"boot_args": "x"}' 400 "kernel_image_path"
req bad_boot_kernel_type PUT /boot-source '{"kernel_image_path": 7}' 400 "must be a string"
req bad_boot_source_no_kernel_file PUT /boot-source "{\"kernel_image_path\": \"$T/no-such-vmlinux\"}" 400 "cannot open '$T/no-such-vmlinux' ('kernel_image_path'): No such file"
req bad_boot_source_no_initrd_file PUT /boot-source "{\"kernel_image_path\": \"$G/halt.elf\", \"initrd_path\": \"$T/no-such-initrd\"}" 400 "('initrd_path'): No such file"
req bad_boot_source_kernel_is_dir PUT /boot-source "{\"kernel_image_path\": \"$T\"}" 400 "not a regular file"
req bad_boot_args_control_char PUT /boot-source "{\"kernel_image_path\": \"$G/halt.elf\", \"boot_args\": \"a\\nb\"}" 400 "printable ASCII"
req bad_boot_args_long PUT /boot-source "{\"kernel_image_path\": \"/k\", \"boot_args\": \"$(head -c 3000 /dev/zero | tr '\0' a)\"}" 400 "boot_args"
req bad_drive_id_mismatch PUT /drives/rootfs "{\"drive_id\": \"other\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": false}" 400 "differs from the path"
req bad_drive_id_chars PUT /drives/bad-id "{\"drive_id\": \"bad-id\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": false}" 400 "invalid drive_id"
req bad_drive_missing_file PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/nope\", \"is_root_device\": false}" 400 "No such file"
req bad_drive_second_root PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": true}" 400 "root block device already exists"
req bad_drive_cache PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": false, \"cache_type\": \"Fast\"}" 400 "cache_type"
req bad_drive_engine PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": false, \"io_engine\": \"Magic\"}" 400 "io_engine"
req bad_drive_missing_root_flag PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/rootfs.ext4\"}" 400 "is_root_device"
req bad_drive_rate_limiter PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": false, \"rate_limiter\": {\"bandwidth\": {\"size\": -5, \"refill_time\": 100}}}" 400 "negative"
req bad_drive_rate_limiter_refill PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": false, \"rate_limiter\": {\"ops\": {\"size\": 5, \"refill_time\": 0}}}" 400 "refill_time"
req bad_drive_patch_before_start PATCH /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/rootfs.ext4\"}" 400 "before the microVM has started"
req bad_drive_no_id PUT /drives/ "{}" 400 "invalid request method and/or path"
req bad_net_mac PUT /network-interfaces/eth1 '{"iface_id": "eth1", "host_dev_name": "tap1", "guest_mac": "zz:00:00:00:00:00"}' 400 "guest_mac"
req bad_net_dup_tap PUT /network-interfaces/eth1 '{"iface_id": "eth1", "host_dev_name": "tap0"}' 400 "already used"
req bad_net_dup_mac PUT /network-interfaces/eth1 '{"iface_id": "eth1", "host_dev_name": "tap1", "guest_mac": "06:00:ac:10:00:02"}' 400 "already used"
req bad_net_long_tap PUT /network-interfaces/eth1 '{"iface_id": "eth1", "host_dev_name": "a-very-long-tap-name"}' 400 "host_dev_name"
req bad_vsock_cid PUT /vsock "{\"guest_cid\": 2, \"uds_path\": \"$T/v.sock\"}" 400 "guest_cid"
req bad_vsock_no_path PUT /vsock '{"guest_cid": 3}' 400 "uds_path"
req bad_logger_level PUT /logger '{"level": "Loud"}' 400 "level"
req bad_logger_path PUT /logger '{"log_path": "/nonexistent/dir/log"}' 400 "cannot open"
req bad_metrics_twice PUT /metrics "{\"metrics_path\": \"$T/m2.json\"}" 400 "already initialised"
req bad_action_unknown PUT /actions '{"action_type": "Explode"}' 400 "unknown action_type"
req bad_action_type PUT /actions '{"action_type": 1}' 400 "action_type"
req bad_action_extra PUT /actions '{"action_type": "InstanceStart", "now": true}' 400 "action_type"
req bad_pause_before_start PATCH /vm '{"state": "Paused"}' 400 "not running"
req bad_vm_state PATCH /vm '{"state": "Sleeping"}' 400 "Paused"
req bad_unknown_path GET /nothing-here "" 400 "invalid request method and/or path"
req bad_method_delete DELETE /machine-config "" 400 "DELETE /machine-config"
req bad_method_post POST /actions '{"action_type": "InstanceStart"}' 400 "POST /actions"
req bad_method_get_on_put GET /boot-source "" 400 "GET /boot-source"
# Firecracker endpoints outside ember's scope: a clear refusal naming the
# endpoint, never the invalid-path message of a typo.
for ep in "GET /balloon" "PUT /balloon" "PATCH /balloon" "GET /balloon/statistics" \
	  "PATCH /balloon/statistics" "PATCH /balloon/hinting/start" "GET /balloon/hinting/status" \
	  "PATCH /balloon/hinting/stop" "PUT /entropy" "PUT /pmem/pm0" "PATCH /pmem/pm0" \
	  "PUT /hotplug/memory" "PATCH /hotplug/memory" "GET /hotplug/memory" \
	  "PUT /mmds" "PATCH /mmds" "GET /mmds" "PUT /mmds/config"; do
	m=${ep%% *} p=${ep#* } b='{}'
	[ "$m" = GET ] && b=
	req "out_of_scope_${m}_$(echo "$p" | tr / _)" "$m" "$p" "$b" 400 "$m $p: ember does not offer this Firecracker endpoint"
done
req bad_typo_not_out_of_scope PUT /baloon '{}' 400 "invalid request method and/or path: PUT /baloon"
req bad_oversized_body PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"pad\": \"$(head -c 60000 /dev/zero | tr '\0' a)\"}" 413
# JSON nested as deep as jansson parses (2048), on the API thread's 1 MiB
# stack (vmm/core/thread.h): refused, and ember still serves.
req bad_deeply_nested_json PUT /machine-config "{\"vcpu_count\": $(printf '[%.0s' $(seq 2040))1$(printf ']%.0s' $(seq 2040)), \"mem_size_mib\": 64}" 400
req still_works_after_errors GET /machine-config "" 200
[ "$(json_field x mem_size_mib)" = 48 ] && ok bad_requests_left_config_unchanged || bad bad_requests_left_config_unchanged "$(cat "$T/body")"

# huge_pages "Transparent" (issue 18): PATCH and PUT take it, GET reads it
# back; it stays set, so the microVM started below maps its RAM with
# MADV_HUGEPAGE under the vmm_boot seccomp filter.
req patch_huge_pages_transparent PATCH /machine-config '{"huge_pages": "Transparent"}' 204
req get_huge_pages_transparent GET /machine-config "" 200
[ "$(json_field x huge_pages)/$(json_field x mem_size_mib)" = Transparent/48 ] && ok huge_pages_transparent_patched || bad huge_pages_transparent_patched "$(cat "$T/body")"
req put_huge_pages_none PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 49, "huge_pages": "None"}' 204
req put_huge_pages_transparent PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 49, "huge_pages": "Transparent"}' 204
req get_vm_config_transparent GET /vm/config "" 200
python3 -c 'import json,sys; m = json.load(open(sys.argv[1]))["machine-config"]; assert m["huge_pages"] == "Transparent" and m["mem_size_mib"] == 49, m' "$T/body" && ok huge_pages_transparent_in_vm_config || bad huge_pages_transparent_in_vm_config "$(cat "$T/body")"
req bad_huge_pages_lowercase PATCH /machine-config '{"huge_pages": "transparent"}' 400 "huge_pages"
req bad_huge_pages_2m_odd_size PATCH /machine-config '{"huge_pages": "2M"}' 400 "mem_size_mib"

# Transport-level abuse: raw bytes on the socket.
raw() { python3 - "$S" "$@" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(15)
data = sys.argv[2].encode().decode('unicode_escape').encode('latin-1')
s.sendall(data)
if len(sys.argv) > 3 and sys.argv[3]: time.sleep(float(sys.argv[3]))
out = b''
try:
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
except socket.timeout:
    pass
print(out.split(b'\r\n', 1)[0].decode(errors='replace'))
PY
}
check_raw() { # NAME WANT_PREFIX DATA [SLEEP]
	local got; got=$(raw "$3" "${4:-}")
	case "$got" in "$2"*) ok "$1" ;; *) bad "$1" "got '$got', want '$2...'" ;; esac
}
check_raw raw_garbage "HTTP/1.1 400" 'this is not http\r\n\r\n'
check_raw raw_bad_version "HTTP/1.1 400" 'GET / HTTP/9.9\r\n\r\n'
check_raw raw_header_no_end "HTTP/1.1 4" 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: y' 
check_raw raw_huge_header "HTTP/1.1 4" "GET / HTTP/1.1\\r\\nX: $(head -c 20000 /dev/zero | tr '\0' a)\\r\\n\\r\\n"
check_raw raw_content_length_lies "HTTP/1.1 4" 'PUT /machine-config HTTP/1.1\r\nContent-Length: 100\r\n\r\n{}'
check_raw raw_pipelined "HTTP/1.1 200" 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
python3 - "$S" <<'PY' && ok hundred_connections_at_once || bad hundred_connections_at_once "see above"
import socket, sys
# Three rounds: freeing a burst of connections once killed the seccomp-
# confined API thread (glibc trimmed a per-thread arena with an openat).
for rnd in range(3):
    socks = []
    for i in range(100):
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(20); socks.append(s)
    for s in socks:
        try:  # a connection over the limit may already have been answered and closed
            s.sendall(b'GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        except BrokenPipeError:
            pass
    codes = {}
    for s in socks:
        out = b''
        while True:
            try:
                b = s.recv(4096)
            except ConnectionResetError:  # refused connection: its answer came first
                break
            if not b: break
            out += b
        line = out.split(b'\r\n', 1)[0].decode()
        code = line.split(' ')[1] if line else 'none'
        codes[code] = codes.get(code, 0) + 1
        if code != '200':
            assert b'fault_message' in out, out
    print('    connections:', codes)
    assert codes.get('200', 0) >= 64, codes
    assert set(codes) <= {'200', '503', '400'}, codes
PY
python3 - "$S" <<'PY' && ok keep_alive_1000_requests || bad keep_alive_1000_requests "see above"
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(20)
f = s.makefile('rb')
for i in range(1000):
    s.sendall(b'GET /machine-config HTTP/1.1\r\nHost: x\r\n\r\n')
    status = f.readline()
    assert status.startswith(b'HTTP/1.1 200'), status
    length = 0
    while True:
        h = f.readline()
        if h == b'\r\n': break
        if h.lower().startswith(b'content-length:'): length = int(h.split(b':')[1])
    f.read(length)
PY
req still_works_after_abuse GET / "" 200
# 64 idle keep-alive connections (the limit) used to lock every other client
# out with 503 until they timed out (issue 12 item 9): the longest-idle one
# now makes room for a newcomer.
python3 - "$S" <<'PY' && ok idle_connections_do_not_lock_out || bad idle_connections_do_not_lock_out "see above"
import socket, sys
def get(s, path, close=False):
    s.sendall(b'GET ' + path + b' HTTP/1.1\r\nHost: x\r\n' +
              (b'Connection: close\r\n' if close else b'') + b'\r\n')
    f = s.makefile('rb')
    status = f.readline()
    length = 0
    while True:
        h = f.readline()
        if h in (b'\r\n', b''): break
        if h.lower().startswith(b'content-length:'): length = int(h.split(b':')[1])
    f.read(length)
    return status
idle = []
for i in range(64):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(20)
    status = get(s, b'/version')
    assert status.startswith(b'HTTP/1.1 200'), (i, status)
    idle.append(s)
n = socket.socket(socket.AF_UNIX); n.connect(sys.argv[1]); n.settimeout(20)
status = get(n, b'/', close=True)
print('    newcomer with 64 idle connections open:', status.strip().decode())
assert status.startswith(b'HTTP/1.1 200'), status
PY

# ---- start, pause, resume, post-start rules --------------------------------
req put_boot_source_halt PUT /boot-source "{\"kernel_image_path\": \"$G/halt.elf\"}" 204
req bad_start_broken_kernel_first PUT /boot-source "{\"kernel_image_path\": \"$T/rootfs.ext4\"}" 204
req bad_instance_start_broken_kernel PUT /actions '{"action_type": "InstanceStart"}' 400 "cannot start"
[ "$(curl -s --unix-socket "$S" http://localhost/ | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = "Not started" ] && ok failed_start_leaves_not_started || bad failed_start_leaves_not_started ""
# A FIFO as the kernel (or initrd) is refused at start, not opened blocking:
# the open used to wait for a writer for ever, with SIGTERM unanswered.
# PUT /boot-source refuses one at once (issue 15); a regular file replaced
# by a FIFO after the PUT is still refused at start.
mkfifo "$T/kernel.fifo"
req bad_boot_source_fifo_kernel PUT /boot-source "{\"kernel_image_path\": \"$T/kernel.fifo\"}" 400 "not a regular file"
req bad_boot_source_fifo_initrd PUT /boot-source "{\"kernel_image_path\": \"$G/halt.elf\", \"initrd_path\": \"$T/kernel.fifo\"}" 400 "not a regular file"
cp "$G/halt.elf" "$T/swapped.elf"
req bad_start_fifo_kernel_first PUT /boot-source "{\"kernel_image_path\": \"$T/swapped.elf\"}" 204
rm "$T/swapped.elf" && mkfifo "$T/swapped.elf"
req bad_instance_start_fifo_kernel PUT /actions '{"action_type": "InstanceStart"}' 400 "cannot start"
cat "$T/err" "$T/log.txt" 2>/dev/null | grep -q "swapped.elf is not a regular file" && ok fifo_kernel_named_in_log || bad fifo_kernel_named_in_log "not in the log"
cp "$G/halt.elf" "$T/initrd.img"
req bad_start_fifo_initrd_first PUT /boot-source "{\"kernel_image_path\": \"$G/halt.elf\", \"initrd_path\": \"$T/initrd.img\"}" 204
rm "$T/initrd.img" && mkfifo "$T/initrd.img"
req bad_instance_start_fifo_initrd PUT /actions '{"action_type": "InstanceStart"}' 400 "cannot start"
req put_boot_source_halt_again PUT /boot-source "{\"kernel_image_path\": \"$G/halt.elf\"}" 204
# A template that asks for what KVM does not offer is refused at InstanceStart
# (Firecracker checks there too), naming the leaf, MSR or capability; the
# microVM stays "Not started" and can still start.
req put_cpu_config_leaf_absent PUT /cpu-config '{"cpuid_modifiers": [{"leaf": "0x4fffffff", "subleaf": "0x0", "flags": 0, "modifiers": []}]}' 204
req bad_instance_start_cpu_leaf PUT /actions '{"action_type": "InstanceStart"}' 400 "cannot start the microVM: the CPU template changes leaf 0x4fffffff, subleaf 0x0, which is not in KVM's supported CPUID"
req put_cpu_config_msr_absent PUT /cpu-config '{"msr_modifiers": [{"addr": "0xdead0000", "bitmap": "0b1"}]}' 204
req bad_instance_start_cpu_msr PUT /actions '{"action_type": "InstanceStart"}' 400 "the CPU template changes MSR 0xdead0000, which KVM does not support"
req put_cpu_config_capability PUT /cpu-config '{"kvm_capabilities": ["100000"]}' 204
req bad_instance_start_cpu_capability PUT /actions '{"action_type": "InstanceStart"}' 400 "the CPU template needs KVM capability 100000"
if grep -qm1 AuthenticAMD /proc/cpuinfo; then other=T2 vendor=Intel; else other=T2A vendor=AMD; fi
req put_cpu_template_other_vendor PATCH /machine-config "{\"cpu_template\": \"$other\"}" 204
req bad_instance_start_cpu_vendor PUT /actions '{"action_type": "InstanceStart"}' 400 "CPU template $other: the CPU vendor of this host does not match the template's ($vendor)"
[ "$(curl -s --unix-socket "$S" http://localhost/ | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = "Not started" ] && ok failed_template_start_leaves_not_started || bad failed_template_start_leaves_not_started ""
req put_cpu_config_for_start PUT /cpu-config "$TMPL_OK" 204
req instance_start PUT /actions '{"action_type": "InstanceStart"}' 204
grep -q "CPU template (custom): 1 CPUID leaves, 1 MSRs, 1 KVM capabilities" "$T/log.txt" && ok instance_started_with_cpu_template || bad instance_started_with_cpu_template "$(grep -i template "$T/log.txt")"
req bad_cpu_config_after_start PUT /cpu-config "$TMPL_OK" 400 "cpu-config: the operation is not allowed after the microVM has started"
for _ in $(seq 50); do grep -q "tiny: halting" "$T/out" && break; sleep 0.1; done
grep -q "tiny: halting" "$T/out" && ok guest_runs_after_start || bad guest_runs_after_start "$(cat "$T/out")"
req get_state_running GET / "" 200
[ "$(json_field x state)" = "Running" ] && ok instance_state_running || bad instance_state_running "$(cat "$T/body")"
req bad_start_twice PUT /actions '{"action_type": "InstanceStart"}' 400 "already running"
req bad_boot_source_after_start PUT /boot-source "{\"kernel_image_path\": \"$G/halt.elf\"}" 400 "after the microVM has started"
req bad_machine_config_after_start PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}' 400 "after the microVM has started"
req bad_drive_put_after_start PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": false}" 400 "after the microVM has started"
req patch_drive_after_start PATCH /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/rootfs.ext4\"}" 204
dd if=/dev/zero of="$T/other.img" bs=1M count=8 status=none
req patch_drive_new_image PATCH /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/other.img\"}" 204
for _ in $(seq 20); do grep -q "blk rootfs: now backed by $T/other.img, 16384 sectors" "$T/log.txt" && break; sleep 0.1; done
grep -q "blk rootfs: now backed by $T/other.img, 16384 sectors" "$T/log.txt" && ok patch_drive_device_switched || bad patch_drive_device_switched "$(grep blk "$T/log.txt" | tail -3)"
req bad_patch_drive_missing_file PATCH /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/gone.img\"}" 400 "No such file"
req get_vm_config_after_patch GET /vm/config "" 200
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["drives"][0]["path_on_host"] == sys.argv[2]' "$T/body" "$T/other.img" && ok bad_patch_keeps_config || bad bad_patch_keeps_config "$(cat "$T/body")"
req bad_patch_drive_no_id PATCH /drives/rootfs "{\"path_on_host\": \"$T/rootfs.ext4\"}" 400 "missing required field 'drive_id'"
req bad_patch_drive_nothing PATCH /drives/rootfs '{"drive_id": "rootfs"}' 400 "needs 'path_on_host' or 'rate_limiter'"
req bad_patch_drive_other_id PATCH /drives/rootfs "{\"drive_id\": \"data\", \"path_on_host\": \"$T/rootfs.ext4\"}" 400 "differs from the path"
req bad_patch_net_no_id PATCH /network-interfaces/eth0 '{"rx_rate_limiter": {"ops": {"size": 10, "refill_time": 100}}}' 400 "missing required field 'iface_id'"
req bad_patch_net_other_id PATCH /network-interfaces/eth0 '{"iface_id": "eth1"}' 400 "differs from the path"
req patch_drive_unknown PATCH /drives/nope "{\"drive_id\": \"nope\", \"path_on_host\": \"$T/rootfs.ext4\"}" 400 "no drive"
req patch_net_rate_limiter PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "rx_rate_limiter": {"bandwidth": {"size": 1000000, "refill_time": 100}}}' 204
req pause PATCH /vm '{"state": "Paused"}' 204
[ "$(curl -s --unix-socket "$S" http://localhost/ | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = "Paused" ] && ok instance_state_paused || bad instance_state_paused ""
req pause_again PATCH /vm '{"state": "Paused"}' 204
req resume PATCH /vm '{"state": "Resumed"}' 204
req flush_metrics PUT /actions '{"action_type": "FlushMetrics"}' 204
python3 - "$T/metrics.json" <<'PY' && ok metrics_line_counts || bad metrics_line_counts "$(tail -c 600 "$T/metrics.json")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
m = lines[-1]
assert m["state"] == "Running", m
assert m["api_server"]["requests"]["machine_config"] >= 20, m["api_server"]
assert m["api_server"]["errors"]["machine_config"] >= 15, m["api_server"]
assert m["api_server"]["requests"]["vm"] >= 3
assert m["api_server"]["requests"]["cpu_config"] >= 18 and m["api_server"]["errors"]["cpu_config"] >= 14, m["api_server"]
assert m["vcpu"]["count"] == 2 and m["vcpu"]["exits"] > 0, m["vcpu"]
assert m["uart"]["write_count"] > 0 and m["uart"]["missed_write_count"] == 0, m["uart"]
assert m["block"]["read_count"] == 0 and m["block_rootfs"]["invalid_reqs_count"] == 0, m["block"]
PY
grep -q "INFO vmm/vmm.c:[0-9]* microVM paused" "$T/log.txt" && ok logger_file_with_level_and_origin || bad logger_file_with_level_and_origin "$(tail -3 "$T/log.txt")"
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ "$rc" -eq 0 ] && ok sigterm_after_start || bad sigterm_after_start "status $rc"
[ ! -e "$S" ] && ok socket_removed_at_exit || bad socket_removed_at_exit "socket still there"

# ---- SendCtrlAltDel reaches the guest's keyboard controller ------------------
start_ember
req cad_before_start PUT /actions '{"action_type": "SendCtrlAltDel"}' 400 "before the microVM has started"
req cad_boot_source PUT /boot-source "{\"kernel_image_path\": \"$G/kbd.elf\"}" 204
req cad_start PUT /actions '{"action_type": "InstanceStart"}' 204
for _ in $(seq 50); do grep -q "ready" "$T/out" && break; sleep 0.1; done
req send_ctrl_alt_del PUT /actions '{"action_type": "SendCtrlAltDel"}' 204
wait "$pid"; rc=$?; pid=
grep -q "kbd: selftest 0x55 id 0xfa0xab0x83 ready" "$T/out" && grep -q "kbd: keys 0x1d 0x38 0xe0 0x53 0xe0 0xd3 0xb8 0x9d" "$T/out" && [ "$rc" -eq 0 ] \
	&& ok ctrl_alt_del_scancodes || bad ctrl_alt_del_scancodes "status $rc: $(cat "$T/out")"

# ---- PUT /serial, network-interfaces mtu (issue 15) -------------------------
# The guest console goes to serial_out_path (opened read-write, non-blocking,
# created) instead of stdout; bad paths and a PUT after the start are 400.
start_ember
req serial_bad_empty PUT /serial '{"serial_out_path": ""}' 400 "serial_out_path"
req serial_bad_type PUT /serial '{"serial_out_path": 5}' 400 "serial_out_path"
req serial_bad_unknown PUT /serial '{"serial_in_path": "/x"}' 400 "serial_in_path"
req serial_bad_dir PUT /serial "{\"serial_out_path\": \"$T\"}" 400 "cannot open"
req serial_bad_missing_dir PUT /serial "{\"serial_out_path\": \"$T/no/such/dir\"}" 400 "cannot open"
req serial_bad_rate_limiter PUT /serial '{"rate_limiter": {"size": 10}}' 400 "refill_time"
req serial_put PUT /serial "{\"serial_out_path\": \"$T/serial.out\"}" 204
[ -f "$T/serial.out" ] && [ "$(stat -c %a "$T/serial.out")" = 600 ] && ok serial_file_created_0600 || bad serial_file_created_0600 "$(ls -l "$T/serial.out" 2>&1)"
req mtu_bad_low PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "mtu": 67}' 400 "mtu"
req mtu_bad_high PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "mtu": 65536}' 400 "mtu"
req mtu_bad_type PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "mtu": "9000"}' 400 "mtu"
req mtu_put PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "mtu": 9000}' 204
req mtu_get_vm_config GET /vm/config "" 200
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["network-interfaces"][0]["mtu"] == 9000' "$T/body" && ok mtu_read_back || bad mtu_read_back "$(cat "$T/body")"
req serial_boot_source PUT /boot-source "{\"kernel_image_path\": \"$G/halt.elf\"}" 204
: >"$T/out"
req serial_start PUT /actions '{"action_type": "InstanceStart"}' 204
for _ in $(seq 50); do grep -q "tiny: halting" "$T/serial.out" && break; sleep 0.1; done
grep -q "tiny: halting" "$T/serial.out" && ! grep -q "tiny: halting" "$T/out" && ok serial_console_in_file || bad serial_console_in_file "file: $(cat "$T/serial.out"), stdout: $(cat "$T/out")"
req serial_after_start PUT /serial "{\"serial_out_path\": \"$T/serial2.out\"}" 400 "after the microVM has started"
req mtu_patch_refused PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "mtu": 1500}' 400 "rate limiters"
if [ ${#NS[@]} -gt 0 ]; then
	ip -n "$ns" link show tap0 | grep -q " mtu 9000 " && ok mtu_set_on_tap || bad mtu_set_on_tap "$(ip -n "$ns" link show tap0)"
	ip -n "$ns" link set tap0 mtu 1500
fi
kill -TERM "$pid"; wait "$pid"; pid=
# The rate_limiter (a TokenBucket) replaces the console budget: 4 bytes,
# refilled over an hour, so the file holds the first 4 bytes and the rest
# is counted in uart.rate_limiter_dropped_bytes.
start_ember
req serial_put_limited PUT /serial "{\"serial_out_path\": \"$T/serial3.out\", \"rate_limiter\": {\"size\": 4, \"refill_time\": 3600000}}" 204
req serial_limited_metrics PUT /metrics "{\"metrics_path\": \"$T/metrics3.json\"}" 204
req serial_limited_boot PUT /boot-source "{\"kernel_image_path\": \"$G/hello.elf\"}" 204
req serial_limited_start PUT /actions '{"action_type": "InstanceStart"}' 204
wait "$pid"; rc=$?; pid=
[ "$rc" -eq 0 ] && [ "$(cat "$T/serial3.out")" = "tiny" ] && ok serial_rate_limited || bad serial_rate_limited "status $rc, file '$(cat "$T/serial3.out")'"
python3 - "$T/metrics3.json" <<'PY' && ok serial_rate_limiter_dropped_counted || bad serial_rate_limiter_dropped_counted "$(tail -c 400 "$T/metrics3.json")"
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])][-1]["uart"]
assert m["write_count"] == 4 and m["rate_limiter_dropped_bytes"] > 20, m
PY

# The config file's "serial" section: the same object, the file opened at start-up.
cat >"$T/serial.json" <<JSON
{"boot-source": {"kernel_image_path": "$G/hello.elf"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 32},
 "serial": {"serial_out_path": "$T/serial4.out"}}
JSON
timeout 60 "$EMBER" --no-api --config-file "$T/serial.json" >"$T/out4" 2>>"$T/err" </dev/null; rc=$?
[ "$rc" -eq 0 ] && grep -q "tiny: hello from long mode" "$T/serial4.out" && ! grep -q "tiny:" "$T/out4" \
	&& ok serial_config_file || bad serial_config_file "status $rc, file '$(cat "$T/serial4.out" 2>&1)', stdout '$(cat "$T/out4")'"

# ---- the socket file: stale replaced, live refused ---------------------------
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$S"
start_ember && ok stale_socket_replaced || bad stale_socket_replaced "$(cat "$T/err")"
first=$pid
"$EMBER" --api-sock "$S" >"$T/out2" 2>"$T/err2" </dev/null; rc=$?
[ "$rc" -ne 0 ] && grep -q "Address already in use" "$T/err2" && ok live_socket_refused || bad live_socket_refused "status $rc: $(cat "$T/err2")"
req first_instance_still_serves GET / "" 200
kill "$first"; wait "$first" 2>/dev/null; pid=

# ---- issue 12: hostile clients, process hygiene --------------------------------
# ember starts with umask 000 and fd 9 open on a file: the API socket is
# still 0600, and fd 9 is closed before anything else happens.
: >"$T/fd9"
old_umask=$(umask); umask 000
start_ember 9>>"$T/fd9"
umask "$old_umask"
[ "$(stat -c %a "$S")" = 600 ] && ok api_socket_mode_0600 || bad api_socket_mode_0600 "mode $(stat -c %a "$S")"
if [ -e "/proc/$pid/fd/9" ] || ls -l "/proc/$pid/fd" | grep -qF "$T/fd9"; then
	bad inherited_fd_closed "$(ls -l "/proc/$pid/fd")"
else
	ok inherited_fd_closed
fi
# Log injection: a client's JSON key quoted in an error may not start a line.
req inj_logger PUT /logger "{\"log_path\": \"$T/inj.log\", \"level\": \"Info\"}" 204
req inj_bad_key PUT /boot-source '{"kernel_image_path": "/x", "x\nINJECTED LINE\n": 1}' 400 "unknown field"
if grep -q 'INJECTED LINE' "$T/inj.log" && ! grep -q '^INJECTED' "$T/inj.log"; then
	ok log_injection_escaped
else
	bad log_injection_escaped "$(grep -n INJECTED "$T/inj.log")"
fi
# partuuid goes into the kernel command line: only a partition UUID passes.
dd if=/dev/zero of="$T/p.img" bs=1M count=1 status=none
req bad_drive_partuuid PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/p.img\", \"is_root_device\": true, \"partuuid\": \"0eaa91a0-01 init=/bin/sh\"}" 400 "partuuid"
req drive_partuuid_mbr PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/p.img\", \"is_root_device\": true, \"partuuid\": \"0eaa91a0-01\"}" 204
req drive_partuuid_gpt PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/p.img\", \"is_root_device\": true, \"partuuid\": \"7e7b6f06-8aaf-42c6-9c3b-6ede014885a6\"}" 204
# vsock: a live listener at uds_path is another program's, refused and kept
# (it still answers its own clients: "MINE").
python3 - "$T/live.sock" "$T/live.ready" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); s.settimeout(120)
open(sys.argv[2], 'w').close()
while True:
    c, _ = s.accept()
    try:  # ember's probe connects and closes at once
        c.sendall(b'MINE\n')
    except OSError:
        pass
    c.close()
PY
lpid=$!
for _ in $(seq 100); do [ -e "$T/live.ready" ] && break; sleep 0.05; done
req h12_boot_source PUT /boot-source "{\"kernel_image_path\": \"$G/halt.elf\"}" 204
req h12_machine_config PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 80}' 204
req h12_vsock_live PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$T/live.sock\"}" 204
req bad_start_vsock_live_socket PUT /actions '{"action_type": "InstanceStart"}' 400 "cannot start"
python3 - "$T/live.sock" <<'PY' && ok vsock_live_listener_kept || bad vsock_live_listener_kept "$T/live.sock no longer reaches its listener"
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
assert s.recv(16) == b'MINE\n'
PY
grep -q "live.sock is a live socket" "$T/inj.log" && ok vsock_live_socket_named || bad vsock_live_socket_named "not in the log"
kill "$lpid"; wait "$lpid" 2>/dev/null
kill -TERM "$pid"; wait "$pid"; pid=
# A stale socket file is still replaced (by a 0600 one, umask 000 or not).
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/v2.sock"
umask 000; start_ember; umask "$old_umask"
req h12_boot_source_2 PUT /boot-source "{\"kernel_image_path\": \"$G/halt.elf\"}" 204
req h12_machine_config_2 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 80}' 204
req h12_vsock_stale PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$T/v2.sock\"}" 204
req h12_instance_start PUT /actions '{"action_type": "InstanceStart"}' 204
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$T/v2.sock" 2>/dev/null \
	&& ok vsock_stale_socket_replaced || bad vsock_stale_socket_replaced "nobody listens on $T/v2.sock"
[ "$(stat -c %a "$T/v2.sock")" = 600 ] && ok vsock_socket_mode_0600 || bad vsock_socket_mode_0600 "mode $(stat -c %a "$T/v2.sock")"
# Guest RAM is left out of core dumps: "dd" on the 80 MiB mapping.
python3 - "/proc/$pid/smaps" 81920 <<'PY' && ok guest_ram_madv_dontdump || bad guest_ram_madv_dontdump "see above"
import sys
maps, cur = [], None
for line in open(sys.argv[1]):
    if line.startswith('Size:'):
        cur = {'size': int(line.split()[1])}; maps.append(cur)
    elif line.startswith('VmFlags:') and cur is not None:
        cur['flags'] = line.split()[1:]
ram = [m for m in maps if m['size'] == int(sys.argv[2])]
print('    guest RAM mappings:', [' '.join(m['flags']) for m in ram])
assert ram and all('dd' in m['flags'] for m in ram), ram
PY
# At exit ember removes only the sockets it created: ones somebody else
# re-created at the paths since are left alone.
rm -f "$T/v2.sock" "$S"
python3 -c 'import socket,sys; [socket.socket(socket.AF_UNIX).bind(p) for p in sys.argv[1:]]' "$T/v2.sock" "$S"
kill -TERM "$pid"; wait "$pid"; pid=
[ -S "$T/v2.sock" ] && ok vsock_foreign_socket_kept_at_exit || bad vsock_foreign_socket_kept_at_exit "$T/v2.sock removed"
[ -S "$S" ] && ok api_foreign_socket_kept_at_exit || bad api_foreign_socket_kept_at_exit "$S removed"
rm -f "$S"

# ---- issue 15: Firecracker's answers for machine-config, logger, metrics ----
start_ember --id vm_fifteen
# machine-config: smt and track_dirty_pages read back; PUT resets what it
# leaves out; PATCH changes only what it names.
req i15_put_machine_full PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64, "smt": true, "track_dirty_pages": true, "huge_pages": "2M"}' 204
req i15_get_machine_full GET /machine-config "" 200
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d == {"vcpu_count": 2, "mem_size_mib": 64, "smt": True, "track_dirty_pages": True, "huge_pages": "2M"}, d' "$T/body" \
	&& ok machine_config_smt_dirty_read_back || bad machine_config_smt_dirty_read_back "$(cat "$T/body")"
req i15_get_vm_config_full GET /vm/config "" 200
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["machine-config"]; assert d["smt"] is True and d["track_dirty_pages"] is True, d' "$T/body" \
	&& ok vm_config_smt_dirty_read_back || bad vm_config_smt_dirty_read_back "$(cat "$T/body")"
req i15_put_machine_huge PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64, "huge_pages": "2M"}' 204
req i15_put_machine_bare PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64}' 204
req i15_get_machine_bare GET /machine-config "" 200
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["huge_pages"] == "None" and d["smt"] is False and d["track_dirty_pages"] is False, d' "$T/body" \
	&& ok machine_config_put_resets_defaults || bad machine_config_put_resets_defaults "$(cat "$T/body")"
req i15_patch_dirty PATCH /machine-config '{"track_dirty_pages": true}' 204
req i15_get_machine_patched GET /machine-config "" 200
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d == {"vcpu_count": 2, "mem_size_mib": 64, "smt": False, "track_dirty_pages": True, "huge_pages": "None"}, d' "$T/body" \
	&& ok machine_config_patch_dirty_read_back || bad machine_config_patch_dirty_read_back "$(cat "$T/body")"
# logger: "Off" is Firecracker's level that silences the log (a refused
# request logs a warning at every other level).
req i15_logger_off PUT /logger "{\"log_path\": \"$T/off.log\", \"level\": \"Off\"}" 204
req i15_refused_while_off PUT /machine-config '{"vcpu_count": 0, "mem_size_mib": 64}' 400 "vcpu_count"
[ -e "$T/off.log" ] && [ ! -s "$T/off.log" ] && ok logger_off_writes_nothing || bad logger_off_writes_nothing "$(head -3 "$T/off.log" 2>/dev/null)"
# metrics: emit_id and properties on every line; properties are bounded.
req bad_metrics_properties_type PUT /metrics "{\"metrics_path\": \"$T/m15.json\", \"properties\": {\"n\": 1}}" 400 "must be a string"
req bad_metrics_properties_count PUT /metrics "{\"metrics_path\": \"$T/m15.json\", \"properties\": {$(for i in $(seq 11); do printf '"k%d": "v",' "$i"; done | sed 's/,$//')}}" 400 "at most 10"
req bad_metrics_emit_id_type PUT /metrics "{\"metrics_path\": \"$T/m15.json\", \"emit_id\": \"yes\"}" 400 "emit_id"
req i15_metrics PUT /metrics "{\"metrics_path\": \"$T/m15.json\", \"emit_id\": true, \"properties\": {\"bundle_id\": \"fn-abc\", \"customer_id\": \"1234\"}}" 204
req i15_flush PUT /actions '{"action_type": "FlushMetrics"}' 204
python3 - "$T/m15.json" <<'PY' && ok metrics_emit_id_and_properties || bad metrics_emit_id_and_properties "$(tail -c 400 "$T/m15.json")"
import json, sys
m = json.loads(open(sys.argv[1]).readline())
assert m["id"] == "vm_fifteen", m.get("id")
assert m["properties"] == {"bundle_id": "fn-abc", "customer_id": "1234"}, m.get("properties")
assert "api_server" in m and "utc_timestamp_ms" in m
PY
# smt reaches the guest: two threads per core in its CPUID topology.
req i15_boot_cpuid PUT /boot-source "{\"kernel_image_path\": \"$G/cpuid.elf\"}" 204
req i15_machine_smt PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 32, "smt": true}' 204
req i15_start_smt PUT /actions '{"action_type": "InstanceStart"}' 204
wait "$pid"; rc=$?; pid=
grep -q "threads/core 0x2" "$T/out" && [ "$rc" -eq 0 ] && ok smt_guest_sees_two_threads_per_core || bad smt_guest_sees_two_threads_per_core "status $rc: $(grep -a cpuid "$T/out")"

# ---- config file + API, and --no-api ----------------------------------------
cat >"$T/vm.json" <<JSON
{ "boot-source": { "kernel_image_path": "$G/boot_params.elf", "boot_args": "via file" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 32 } }
JSON
"$EMBER" --no-api --config-file "$T/vm.json" >"$T/out" 2>"$T/err" </dev/null; rc=$?
[ "$rc" -eq 0 ] && grep -q "cmdline 'via file'" "$T/out" && ok no_api_config_file || bad no_api_config_file "status $rc"
"$EMBER" --no-api >"$T/out" 2>"$T/err" </dev/null; rc=$?
[ "$rc" -ne 0 ] && grep -q "needs --config-file" "$T/err" && ok no_api_needs_config || bad no_api_needs_config "status $rc"
"$EMBER" --api-sock "$S" --http-api-max-payload-size 0 >"$T/out" 2>"$T/err" </dev/null; rc=$?
[ "$rc" -ne 0 ] && ok bad_max_payload_flag || bad bad_max_payload_flag "status $rc"
start_ember --http-api-max-payload-size 100
req small_payload_limit PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"x\": \"$(head -c 200 /dev/zero | tr '\0' a)\"}" 413
req small_payload_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}' 204
kill "$pid"; wait "$pid" 2>/dev/null; pid=

# Every ember above logged into $T/err: a sanitizer build must have found nothing.
if grep -qE "Sanitizer|runtime error:" "$T/err"; then
	bad sanitizers_silent "$(grep -m3 -E "Sanitizer|runtime error:" "$T/err")"
else
	ok sanitizers_silent
fi

echo "api: $pass passed, $fail failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
