#!/usr/bin/env bash
# Where krun train's update spends time and memory, on the model and data
# that bench/train/run.sh generated (run it first):
#
#   bench/train/profile.sh [TASK...]       # default: trex-rc tacred
#
# For each task: one `krun train` update with --save-graphs (step.onnx,
# adamw.onnx), its RSS sampled every 0.2 s (rss-TASK.tsv: seconds, MiB, with
# the log line krun printed last, to see which phase holds the peak); then
# each graph run under ONNX Runtime's profiler (train-bench profile: all
# optimizations, BENCH_THREADS threads, the warm-up run and one profiled run)
# and summarized by op type, scope and top nodes (profile_summary.py).
#
# Environment: BENCH_DIR (/tmp/kadapter-bench-train), BENCH_THREADS (1),
# PYTHON (/usr/bin/python3), ONNXRUNTIME_LIB (scripts/fetch-onnxruntime.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${BENCH_DIR:-/tmp/kadapter-bench-train}
py=${PYTHON:-/usr/bin/python3}
threads=${BENCH_THREADS:-1}
export BENCH_THREADS=$threads BENCH_BATCH=${BENCH_BATCH:-8}
export ONNXRUNTIME_LIB=${ONNXRUNTIME_LIB:-$(scripts/fetch-onnxruntime.sh)}
[ -s "$dir/gen.stamp" ] || { echo "run bench/train/run.sh first (no model in $dir)" >&2; exit 1; }
go build -o "$dir/krun" ./cmd/krun
go build -o "$dir/train-bench" ./bench/train
layers=$(sed -n 's/.*layers=\([0-9]*\).*/\1/p' "$dir/gen.stamp")
taps="0,$((layers / 2 - 1)),$((layers - 2))"
[ $# -gt 0 ] || set -- trex-rc tacred
for task in "$@"; do
  case $task in
    trex-rc) model=(--fac "$dir/fac/pytorch_model.bin") ;;
    tacred) model=(--task-model "$dir/tacred/pytorch_model.bin") ;;
    *) echo "unknown task $task" >&2; exit 2 ;;
  esac
  prof="$dir/profile-$task"
  rm -rf "$prof" && mkdir -p "$prof"
  echo "== krun train --task $task --save-graphs $prof (1 update, RSS sampled)"
  : > "$prof/train.log"
  "$dir/krun" train --task "$task" --roberta "$dir/roberta" "${model[@]}" --adapter-list "$taps" --adapter-heads 12 \
    --data "$dir/data-$task" --out "$prof/out" --batch-size "$BENCH_BATCH" --max-steps 1 --warmup-steps 0 \
    --weight-decay 0 --max-grad-norm 1 --dropout 0 --shuffle=false --threads "$threads" \
    --save-graphs "$prof" > "$prof/train.log" 2>&1 &
  pid=$!
  start=$(date +%s.%N)
  : > "$prof/rss.tsv"
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/VmRSS/{print int($2 / 1024)}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$rss" ] && awk -v t="$(date +%s.%N)" -v s="$start" -v r="$rss" -v l="$(tail -n1 "$prof/train.log" | cut -c1-80)" \
      'BEGIN{printf "%.1f\t%s\t%s\n", t - s, r, l}' >> "$prof/rss.tsv"
    sleep 0.2
  done
  wait "$pid" || { cat "$prof/train.log" >&2; exit 1; }
  cp "$prof/rss.tsv" "$dir/rss-$task.tsv"
  sort -t"$(printf '\t')" -k2,2n "$prof/rss.tsv" | tail -n1 | awk -F'\t' '{printf "peak sampled RSS %s MiB at %s s (last log line: %s)\n", $2, $1, $3}'
  ls -la "$prof"/*.onnx
  rm -rf "$prof/out"/checkpoint-*
  for g in step adamw; do
    echo "== ONNX Runtime profile of $g.onnx ($threads thread(s))"
    "$dir/train-bench" profile "$prof/$g.onnx" "$dir/data-$task" "$prof/$g"
    for f in "$prof/$g"_*.json; do
      "$py" bench/train/profile_summary.py "$f" 20
    done
  done
done
