#!/usr/bin/env bash
# rss.sh PID: print "total_kib guest_kib overhead_kib" for a running VMM: its
# RSS, the RSS of its guest-RAM mapping (its largest mapping), and the
# difference, the VMM's own memory overhead.  Runs under bash or busybox sh.
awk '
	/^[0-9a-f]+-[0-9a-f]+ / { size = 0 }
	/^Size:/ { size = $2 }
	/^Rss:/ { total += $2; if (size > best) { best = size; guest = $2 } }
	END { printf "%d %d %d\n", total, guest, total - guest }
' "/proc/$1/smaps"
