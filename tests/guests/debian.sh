#!/bin/sh
# /tests/debian of the initramfs tier 3 boots Debian's stock cloud kernel with
# (ember.test=debian, run by tests/guests/init): loads virtio-mmio and
# virtio-blk from the kernel's own package (ext4 is built in), mounts the ext4
# root drive, says what the guest sees, and powers off (ACPI S5).
for m in virtio_ring virtio virtio_mmio virtio_blk; do
	insmod "/lib/debian/$m.ko" || echo "debian: insmod $m failed"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
mkdir -p /mnt
if mount -t ext4 /dev/vda /mnt; then
	echo "debian: vda mounted $(grep ' /mnt ' /proc/mounts | cut -d' ' -f3), init $([ -e /mnt/sbin/init ] && echo found)"
	umount /mnt
else
	echo "debian: cannot mount /dev/vda"
fi
echo "debian: cpus $(grep -c ^processor /proc/cpuinfo), virtio $(ls /sys/bus/virtio/devices | wc -l), LNRO0005 $(ls /sys/bus/acpi/devices | grep -c LNRO0005)"
poweroff -f
