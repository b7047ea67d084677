#!/usr/bin/env bash
# Feature-building benchmark (issue #3): builds TACRED features for N
# synthetic TACRED-style examples with `kprep features` on 2 cores and
# prints wall time and examples/s. Target: 1,000,000 examples in < 60 s.
#
# Usage: bench/features/run.sh [N] [CORES]      (defaults 1000000 2)
# Env:   KADAPTER_SHARED (default ../shared), BENCH_DIR (default /tmp/features-bench)
set -euo pipefail
N=${1:-1000000}
CORES=${2:-2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${KADAPTER_SHARED:-$ROOT/../shared}
DIR=${BENCH_DIR:-/tmp/features-bench}
mkdir -p "$DIR"
cd "$ROOT"
go build -o "$DIR/kprep" ./cmd/kprep
IN="$DIR/tacred-$N.json"
if [ ! -s "$IN" ]; then
  go run ./bench/features/gentacred -n "$N" -words "$SHARED/data/books" -out "$IN.tmp"
  mv "$IN.tmp" "$IN"
fi
echo "input: $IN ($(du -h "$IN" | cut -f1), $N examples); $CORES cores; $(nproc) CPUs on this machine"
CPUS=$(seq -s, 0 $((CORES - 1)))
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
GOMAXPROCS=$CORES /usr/bin/time -f "%e %U %S %M" -o "$DIR/time.txt" taskset -c "$CPUS" "$DIR/kprep" features --task tacred --in "$IN" \
  --vocab "$SHARED/data/roberta" --out "$DIR/tacred-$N.arrow" --workers "$CORES" --json --quiet > "$DIR/summary.json"
python3 - "$DIR/summary.json" "$DIR/time.txt" "$CORES" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
wall, user, sys_, rss = open(sys.argv[2]).read().split()[-4:]
wall, cpu, cores = float(wall), float(user) + float(sys_), int(sys.argv[3])
print(f"records {s['records']}, kept {s['kept']}, dropped {s['dropped']}")
print(f"wall {wall:.1f} s = {s['records']/wall:,.0f} examples/s; CPU {cpu:.1f} s (user {user} + sys {sys_}), max RSS {int(rss)//1024} MB")
print(f"CPU-bound estimate on {cores} idle cores: {cpu/cores:.1f} s (wall above is inflated when the machine is shared)")
PY
