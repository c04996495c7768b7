#!/usr/bin/env bash
# Includes point down only.  The layers, bottom first (written here once; siblings
# on one line, separated by spaces, may not include each other).  A source file
# may include headers of its own folder or of a lower layer; vmm/main.c is the top.
set -euo pipefail
cd "$(dirname "$0")/../.."
layers=(
	"vmm/core"
	"vmm/x86"
	"vmm/kvm"
	"vmm/devices"
	"vmm/config"
	"virtio"
	"virtio/blk virtio/net virtio/vsock"
	"vmm"
	"api-socket"
	"vmm/main.c"
)
declare -A rank
for i in "${!layers[@]}"; do
	for l in ${layers[$i]}; do rank[$l]=$i; done
done
bad=0
while IFS= read -r f; do
	dir=$(dirname "$f")
	me=${rank[$f]:-${rank[$dir]:-}}
	[[ -n $me ]] || { echo "layers: $f: its folder $dir has no layer"; bad=1; continue; }
	while IFS= read -r inc; do
		if [[ $inc != */* ]]; then
			[[ -f $dir/$inc ]] && continue
			echo "layers: $f includes \"$inc\", which is not in $dir/"; bad=1; continue
		fi
		to=${rank[$(dirname "$inc")]:-}
		if [[ -z $to ]]; then
			echo "layers: $f includes \"$inc\", whose folder has no layer"; bad=1
		elif [[ $(dirname "$inc") != "$dir" ]] && ((to >= me)); then
			echo "layers: $f (${layers[$me]}) includes \"$inc\" (${layers[$to]}): not a lower layer"; bad=1
		fi
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done < <(git ls-files -co --exclude-standard 'vmm/*.[ch]' 'virtio/*.[ch]' 'api-socket/*.[ch]' 'jailer/*.[ch]')
((bad == 0)) && echo "  LAYERS  every include points down (${#layers[@]} layers)"
exit $bad
