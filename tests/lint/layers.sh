#!/usr/bin/env bash
# Includes point down only.  The layers, bottom first (written here once).  A source
# file may include headers of its own folder or of a lower layer; folders on one
# line are siblings and may not include each other (virtio/* is every device
# folder, so a new device needs no line here); vmm/main.c is the top of ember;
# jailer/ (ember-jailer, its own program) sits above it and includes only itself.
set -euo pipefail -o noglob
cd "$(dirname "$0")/../.."
layers=(
	"vmm/core"
	"vmm/x86"
	"vmm/kvm"
	"vmm/devices"
	"vmm/config"
	"virtio"
	"virtio/*"
	"vmm"
	"api-socket"
	"vmm/main.c"
	"jailer"
)
declare -A rank
for i in "${!layers[@]}"; do
	for l in ${layers[$i]}; do rank[$l]=$i; done
done
# The layer of a folder (or of vmm/main.c), empty when it has none.
layer_of() {
	local r=${rank[$1]:-}
	[[ -z $r && $1 == virtio/*/* ]] && return  # no deeper folders
	[[ -z $r && $1 == virtio/* ]] && r=${rank["virtio/*"]}
	echo "$r"
}
bad=0
while IFS= read -r f; do
	dir=$(dirname "$f")
	me=${rank[$f]:-$(layer_of "$dir")}
	[[ -n $me ]] || { echo "layers: $f: its folder $dir has no layer"; bad=1; continue; }
	while IFS= read -r inc; do
		if [[ $inc != */* ]]; then
			[[ -f $dir/$inc ]] && continue
			echo "layers: $f includes \"$inc\", which is not in $dir/"; bad=1; continue
		fi
		to=$(layer_of "$(dirname "$inc")")
		if [[ -z $to ]]; then
			echo "layers: $f includes \"$inc\", whose folder has no layer"; bad=1
		elif [[ $(dirname "$inc") != "$dir" ]] && ((to >= me)); then
			echo "layers: $f (${layers[$me]}) includes \"$inc\" (${layers[$to]}): not a lower layer"; bad=1
		fi
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done < <(git ls-files -co --exclude-standard 'vmm/*.[ch]' 'virtio/*.[ch]' 'api-socket/*.[ch]' 'jailer/*.[ch]')
((bad == 0)) && echo "  LAYERS  every include points down (${#layers[@]} layers)"
exit $bad
