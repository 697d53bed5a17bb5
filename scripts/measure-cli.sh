#!/usr/bin/env bash
# How fast the compiled CLI starts: `leaseflow list` on a migrated SQLite store, N runs (default 10),
# as installed (dist/). Prints the wall times, their median, and the median CPU time (user+sys,
# what the process itself costs: wall time on a machine shared with other work is mostly
# waiting for a core). Needs `npm run build` first. Usage: bash scripts/measure-cli.sh [runs]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-10}"
[ -f "$root/dist/runner/cli.js" ] || { echo "measure-cli: run npm run build first" >&2; exit 1; }
work="$(mktemp -d -t leaseflow-measure.XXXXXX)"
trap 'rm -rf "$work"' EXIT
url="sqlite:$work/measure.db"
node "$root/dist/runner/cli.js" migrate --create --db "$url" >/dev/null
node "$root/dist/runner/cli.js" list --db "$url" >/dev/null # warm the file cache
times=()
cpus=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  cpu="$( { TIMEFORMAT='%U %S'; time node "$root/dist/runner/cli.js" list --db "$url" >/dev/null; } 2>&1 )"
  times+=($(( ($(date +%s%N) - start) / 1000000 )))
  cpus+=("$(awk '{ printf "%d", ($1 + $2) * 1000 }' <<<"$cpu")")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
echo "leaseflow list (SQLite, compiled): wall ${times[*]} ms; median wall $(median "${times[@]}") ms, median CPU $(median "${cpus[@]}") ms; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
