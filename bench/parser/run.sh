#!/usr/bin/env bash
# Parser benchmark: trains the tagger + parser on UD English EWT (dev for
# model selection), then reports training time, peak RSS, model size, EWT
# test UAS/LAS/UPOS (gold tokenization, predicted tags), segmentation F1 on
# the raw "# text", and parsing speed (tokens/s) on one core.
#
# Usage (from the repository root):
#   bench/parser/run.sh                 # full run (15 parser / 10 tagger epochs)
#   EPOCHS=1 TAGGER_EPOCHS=1 bench/parser/run.sh   # quick smoke run
#   MODEL=/path/ewt.model bench/parser/run.sh        # skip training, benchmark that model
# Env: KADAPTER_SHARED (default ../shared), OUT (default /tmp/kadapter-bench-parser),
#      EPOCHS, TAGGER_EPOCHS, WORKERS (training goroutines, default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${KADAPTER_SHARED:-$(cd .. && pwd)/shared}
UD=$SHARED/data/ud
OUT=${OUT:-/tmp/kadapter-bench-parser}
EPOCHS=${EPOCHS:-15}
TAGGER_EPOCHS=${TAGGER_EPOCHS:-10}
WORKERS=${WORKERS:-2}
mkdir -p "$OUT"
for f in train dev test; do
  [ -f "$UD/en_ewt-ud-$f.conllu" ] || { echo "missing $UD/en_ewt-ud-$f.conllu (set KADAPTER_SHARED)" >&2; exit 1; }
done
go build -o "$OUT/kprep" ./cmd/kprep

if [ -n "${MODEL:-}" ]; then
  cp "$MODEL" "$OUT/ewt.model"
  TRAIN_WALL=0 TRAIN_CPU=0 TRAIN_RSS="n/a (MODEL given)"
else
  echo "== training ($EPOCHS parser epochs, $TAGGER_EPOCHS tagger epochs, $WORKERS workers)" >&2
  /usr/bin/time -v "$OUT/kprep" deps train --treebank "$UD/en_ewt-ud-train.conllu" --dev "$UD/en_ewt-ud-dev.conllu" \
    --out "$OUT/ewt.model" --epochs "$EPOCHS" --tagger-epochs "$TAGGER_EPOCHS" --workers "$WORKERS" --json \
    > "$OUT/train.json" 2> "$OUT/train.log"
  grep -E "epoch|best|pruning" "$OUT/train.log" >&2 || true
  TRAIN_WALL=$(jq .train_seconds "$OUT/train.json")
  TRAIN_CPU=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.0f", u+s}' "$OUT/train.log")
  TRAIN_RSS=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$OUT/train.log")
fi
SIZE=$(stat -c %s "$OUT/ewt.model")

echo "== evaluating on EWT test (1 worker)" >&2
"$OUT/kprep" deps eval --model "$OUT/ewt.model" --treebank "$UD/en_ewt-ud-test.conllu" --workers 1 --text --json > "$OUT/eval.json"
cat "$OUT/eval.json" >&2

echo "== go benchmarks (one goroutine)" >&2
KADAPTER_PARSER_MODEL="$OUT/ewt.model" go test -run '^$' -bench 'Parse|Load' -benchtime 3x ./parser/ | tee "$OUT/bench.txt" >&2
BENCH_TPS=$(awk '/BenchmarkParse/ {for (i=1;i<=NF;i++) if ($(i+1)=="tokens/s") print $i}' "$OUT/bench.txt")
LOAD_NS=$(awk '/BenchmarkLoad/ {print $3}' "$OUT/bench.txt")

jq -r --arg tw "$TRAIN_WALL" --arg tc "$TRAIN_CPU" --arg rss "$TRAIN_RSS" --arg size "$SIZE" --arg btps "$BENCH_TPS" --arg load "$LOAD_NS" \
  --arg cpu "$(nproc) cores, $(uptime | sed 's/.*load average: //') load" '
"| metric | value |",
"| --- | --- |",
"| EWT test UAS (gold tok, predicted tags) | \(.uas) |",
"| EWT test LAS (universal relations) | \(.las) |",
"| EWT test UPOS | \(.upos) |",
"| tokens/s, kprep deps eval, 1 worker (wall) | \(.tokens_per_sec) |",
"| tokens per CPU-second, kprep deps eval, 1 worker | \(.tokens_per_cpu_sec) |",
"| tokens/s, BenchmarkParse, 1 goroutine | \($btps) |",
"| EWT test raw text: token / word / sentence F1 | \(.tokens_f1) / \(.words_f1) / \(.sentences_f1) |",
"| training wall / CPU time (s) | \($tw | tonumber | floor) / \($tc) |",
"| training peak RSS (MiB) | \($rss) |",
"| model size (MB) | \(($size | tonumber) / 1e6 * 10 | floor / 10) |",
"| model load (ms) | \(($load | tonumber) / 1e6 | floor) |",
"| machine | \($cpu) |"' "$OUT/eval.json"
