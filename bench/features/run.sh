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
start=$(date +%s.%N)
GOMAXPROCS=$CORES taskset -c "$CPUS" "$DIR/kprep" features --task tacred --in "$IN" \
  --vocab "$SHARED/data/roberta" --out "$DIR/tacred-$N.arrow" --workers "$CORES" --json --quiet > "$DIR/summary.json"
end=$(date +%s.%N)
python3 - "$DIR/summary.json" "$start" "$end" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); wall = float(sys.argv[3]) - float(sys.argv[2])
print(f"records {s['records']}, kept {s['kept']}, dropped {s['dropped']}")
print(f"wall {wall:.1f} s (process), {s['records']/wall:,.0f} examples/s; in-command {s['seconds']:.1f} s")
PY
