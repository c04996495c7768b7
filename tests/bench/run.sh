#!/usr/bin/env bash
# make bench: ember's benchmarks, each against QEMU's microvm machine in the
# same run where a peer figure exists.
#  1. start-up cost (exec -> first KVM_RUN, wall and CPU) and memory overhead
#     (RSS minus guest RAM touched), on this machine's /dev/kvm, tiny guest;
#  2. boot-to-init of the guest kernel, ember vs QEMU microvm, and both VMMs'
#     memory overhead with a Linux guest: directly on a host with hardware
#     KVM, inside the L1 machine otherwise (DESIGN.md §5);
#  3. block I/O: fio in the guest on a virtio-blk disk, ember vs QEMU microvm
#     (tests/bench/blk.sh, same place as 2);
#  4. network and vsock: iperf3 TCP over virtio-net on a tap and an xfer stream
#     over vsock, ember vs QEMU microvm (vhost off and on) (tests/bench/net.sh,
#     same place as 2);
#  5. snapshots of a Linux guest: create, restore to its first answer, clones'
#     PSS, ember vs QEMU microvm migration (tests/bench/snapshot.sh, same place
#     as 2);
#  6. guest memory page sizes (tests/bench/hugepages.sh, same place as 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/harness/common.sh
B=build
STARTUP_RUNS=${STARTUP_RUNS:-100}
RUNS=${RUNS:-10}

stats() { sort -n | awk '{ v[NR] = $1 } END { printf "%d / %d / %d", v[1], v[int((NR + 1) / 2)], v[NR] }'; }

echo "== start-up cost: exec -> first KVM_RUN, $STARTUP_RUNS runs, tiny guest, this host"
"$B/startup" "$STARTUP_RUNS" "first KVM_RUN" "$B/ember" --kernel "$B/guests/hello.elf" --level Debug >"$B/startup.txt"
echo "bench: ember start-up wall us (min / median / max) $(cut -d' ' -f1 "$B/startup.txt" | stats)"
echo "bench: ember start-up CPU us  (min / median / max) $(cut -d' ' -f2 "$B/startup.txt" | stats)"
# The same build without its seccomp filters, same run: what compiling and
# installing them costs (docs/seccomp.md).
"$B/startup" "$STARTUP_RUNS" "first KVM_RUN" "$B/ember" --no-seccomp --kernel "$B/guests/hello.elf" --level Debug >"$B/startup-noseccomp.txt"
echo "bench: ember start-up --no-seccomp wall us (min / median / max) $(cut -d' ' -f1 "$B/startup-noseccomp.txt" | stats)"
echo "bench: ember start-up --no-seccomp CPU us  (min / median / max) $(cut -d' ' -f2 "$B/startup-noseccomp.txt" | stats)"

echo "== start-up cost: exec -> API socket ready, $STARTUP_RUNS runs"
sock=$B/bench-api.sock
rm -f "$sock"
"$B/startup" "$STARTUP_RUNS" "API socket ready" "$B/ember" --api-sock "$sock" --level Debug >"$B/startup-api.txt"
echo "bench: ember API-ready wall us (min / median / max) $(cut -d' ' -f1 "$B/startup-api.txt" | stats)"
echo "bench: ember API-ready CPU us  (min / median / max) $(cut -d' ' -f2 "$B/startup-api.txt" | stats)"

echo "== API request latency: 10000 x PUT /machine-config, one keep-alive connection"
rm -f "$sock"
"$B/ember" --api-sock "$sock" 2>/dev/null </dev/null &
pid=$!
echo "bench: $("$B/apibench" latency "$sock" 10000)"
kill "$pid"; wait "$pid" || true

echo "== microVMs configured and started through the API (tiny guest), 100 in a row"
echo "bench: $("$B/apibench" starts "$B/ember" "$B/guests/hello.elf" 100)"

echo "== memory overhead: tiny guest halted, 128 MiB guest, this host"
"$B/ember" --kernel "$B/guests/halt.elf" --mem-mib 128 >"$B/halt.out" 2>&1 </dev/null &
pid=$!
for _ in $(seq 50); do grep -q "tiny: halting" "$B/halt.out" && break; sleep 0.1; done
read -r total guest over < <(tests/bench/rss.sh "$pid")
kill "$pid"; wait "$pid" || true
echo "bench: memory ember (tiny guest): rss $total KiB, guest touched $guest KiB, overhead $over KiB"

echo "== boot-to-init: ember vs QEMU microvm, $RUNS runs each"
# The demo's initramfs: the init alone, uncompressed, for both VMMs.
initrd=$B/bench-initrd.cpio
tests/guests/mkinitramfs.sh --no-busybox "$initrd" >/dev/null
# The ACPI-only kernel for both VMMs, and ember again with the legacy kernel.
legacy=$(kernels/build.sh microvm-legacy | tail -n1)
if have_hw_kvm; then
	kdir=$(kernels/build.sh | tail -n1)
	EMBER=$B/ember GUEST_VMLINUX=$kdir/vmlinux GUEST_BZIMAGE=$kdir/bzImage GUEST_INITRD=$initrd \
		BOOTWATCH=$B/bootwatch GUEST_LEGACY_VMLINUX=$legacy/vmlinux RUNS=$RUNS sh tests/bench/boot-l1.sh
else
	echo "(no hardware virtualization here: running inside the L1 machine)"
	sed "s/^RUNS=.*/RUNS=$RUNS/" tests/bench/boot-l1.sh >"$B/bench-l1.sh"
	tests/harness/l1-run.sh --with-qemu --timeout 1800 --quiet-timeout 300 --initrd "$initrd" \
		--file "$B/bootwatch:opt/ember/bin/bootwatch" --file tests/bench/rss.sh:opt/ember/rss.sh \
		--file "$legacy/vmlinux:opt/ember/guest/legacy/vmlinux" \
		"$B/bench-l1.sh" | grep --line-buffered -E '^(bench|l1):'
fi

echo "== block I/O: fio in the guest, virtio-blk on io_uring, ember vs QEMU microvm"
tests/bench/blk.sh

echo "== network and vsock: iperf3 TCP over virtio-net on a tap, xfer over vsock, ember vs QEMU microvm"
tests/bench/net.sh

# Snapshots of a Linux guest: create, restore to its first answer, clones'
# PSS, against QEMU microvm's migration to a file (same place as 2).
echo "== snapshots: create, restore, clones, ember vs QEMU microvm migration to a file"
tests/bench/snapshot.sh

# Guest RAM in 4 KiB pages, transparent huge pages or hugetlbfs: boot time,
# VM exits, the L1 kernel's nested page-table entries, guest RSS (same place as 2).
echo "== guest memory page sizes: huge_pages None / Transparent / 2M"
tests/bench/hugepages.sh
