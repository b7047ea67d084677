#!/usr/bin/env bash
# Benchmark: kprep trex against the original Python algorithm on the same
# generated T-REx input, at two sizes (MB, default 64 and 256).
#
#   bench/trex/run.sh [SIZE_MB SIZE_MB]      e.g. bench/trex/run.sh 16 64
#
# For each size it generates re-nlg_*.json files (bench/trex/gen, ~7 KB per
# document, about 64 MB per file like the dump), then runs:
#   python   bench/trex/clean_trex.py: json.load of each file + the original
#            loops, all examples dumped as one JSON list (what func() +
#            __main__ do, one process)
#   kprep-1  kprep trex --workers 1 with every filter off and --format json,
#            which writes the same examples (the script checks the bytes)
#   kprep-2  the same with --workers 2
#   arrow-1  kprep trex --workers 1 with the default parameters (Arrow out)
# and prints wall and CPU seconds, MB/s (input bytes / wall and / CPU time),
# examples/s, peak RSS (/usr/bin/time -v style, from GNU time or /proc) and
# the speed ratio against Python. CPU-time figures are the ones to trust on
# a busy machine. Work files go to $KADAPTER_BENCH_DIR (default
# /tmp/kadapter-bench-trex); nothing is written in the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("${@:-64 256}")
[ $# -eq 0 ] && sizes=(64 256)
work=${KADAPTER_BENCH_DIR:-/tmp/kadapter-bench-trex}
mkdir -p "$work"
go build -o "$work/kprep" ./cmd/kprep
go build -o "$work/gen" ./bench/trex/gen
python=${PYTHON:-python3}

# measure NAME CMD...: runs CMD, records wall/user/sys seconds and max RSS.
measure() {
  local name=$1; shift
  local tf="$work/time.$name"
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %U %S %M" -o "$tf" "$@" >"$work/out.$name" 2>"$work/err.$name" || { cat "$work/err.$name" >&2; return 1; }
  else
    "$python" - "$tf" "$@" >"$work/out.$name" 2>"$work/err.$name" <<'PY' || { cat "$work/err.$name" >&2; return 1; }
import resource, subprocess, sys, time
t = time.time(); r = subprocess.run(sys.argv[2:]); w = time.time() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.2f %.2f %.2f %d\n" % (w, u.ru_utime, u.ru_stime, u.ru_maxrss))
sys.exit(r.returncode)
PY
  fi
}

printf "machine: %s, %s CPUs, load average %s\n" "$(uname -m)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-6s %-8s %8s %8s %9s %9s %10s %8s %8s\n" size run wall_s cpu_s MB/s_wall MB/s_cpu examples/s RSS_MB x_python
for size in "${sizes[@]}"; do
  in="$work/in-$size"
  files=$(( (size + 63) / 64 )); [ "$files" -lt 2 ] && files=2
  if [ ! -d "$in" ]; then "$work/gen" --out "$in" --mb "$size" --files "$files" >/dev/null; fi
  bytes=$(cat "$in"/*.json | wc -c)
  measure python "$python" bench/trex/clean_trex.py "$work/py-$size.json" "$in"
  examples=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["examples"])' "$work/out.python")
  all=(--min-per-relation 1 --drop "" --dev-fraction 0 --format json --quiet)
  measure kprep-1 "$work/kprep" trex --in "$in" --out "$work/k1-$size" --workers 1 "${all[@]}"
  measure kprep-2 "$work/kprep" trex --in "$in" --out "$work/k2-$size" --workers 2 "${all[@]}"
  measure arrow-1 "$work/kprep" trex --in "$in" --out "$work/a1-$size" --workers 1 --quiet
  cmp -s "$work/py-$size.json" "$work/k1-$size/train.json" || { echo "MISMATCH: kprep and Python outputs differ at size $size" >&2; exit 1; }
  cmp -s "$work/k1-$size/train.json" "$work/k2-$size/train.json" || { echo "MISMATCH between 1 and 2 workers" >&2; exit 1; }
  read -r pw pu ps prss <"$work/time.python"
  for run in python kprep-1 kprep-2 arrow-1; do
    read -r w u s rss <"$work/time.$run"
    awk -v size="$size" -v run="$run" -v w="$w" -v u="$u" -v s="$s" -v rss="$rss" -v b="$bytes" -v ex="$examples" \
        -v pw="$pw" -v pc="$(awk -v a="$pu" -v b="$ps" 'BEGIN{print a+b}')" 'BEGIN{
      c = u + s; if (c <= 0) c = 0.01; if (w <= 0) w = 0.01
      printf "%-6s %-8s %8.2f %8.2f %9.1f %9.1f %10.0f %8.0f %7.1fx\n", size "MB", run, w, c, b/1e6/w, b/1e6/c, ex/w, rss/1024, pc/c }'
  done
done
echo "outputs of Python and kprep (1 and 2 workers) are byte-identical; x_python = Python CPU time / run CPU time"
