# Sourced by the project's scripts and benches, never run: the few helpers they share.

# pinned GO_MOD MODULE: the version GO_MOD requires of MODULE.
pinned() { sed -n "s|^[[:space:]]*\(require \)\{0,1\}$2 \(v[^ ]*\).*|\2|p" "$1" | head -1; }

# now: a timestamp for took; took START: seconds since START, two decimals.
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
