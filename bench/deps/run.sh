#!/usr/bin/env bash
# lin-adapter dataset benchmark (issue #4): runs the whole
# `kprep deps bookcorpus` command (segmentation, tagging + parsing,
# find_head features with the RoBERTa tokenizer, Arrow + JSON output) on the
# shared books and prints sentences/s and peak RSS.
#
# Usage: bench/deps/run.sh [CORES] [REPEAT]     (defaults 2 1)
#   REPEAT > 1 concatenates the books REPEAT times into one input (bigger run).
# Env:   KADAPTER_SHARED (default ../shared), BENCH_DIR (default /tmp/deps-bench),
#        MODEL (a parser model; default: trained once with `kprep deps train`
#        on EWT train/dev into $BENCH_DIR/ewt.model; never committed),
#        TRAIN_ARGS (extra flags for that training, e.g. "--epochs 5")
set -euo pipefail
CORES=${1:-2}
REPEAT=${2:-1}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${KADAPTER_SHARED:-$ROOT/../shared}
DIR=${BENCH_DIR:-/tmp/deps-bench}
mkdir -p "$DIR"
cd "$ROOT"
go build -o "$DIR/kprep" ./cmd/kprep
MODEL=${MODEL:-$DIR/ewt.model}
if [ ! -s "$MODEL" ]; then
  echo "training $MODEL (EWT train, dev for model selection)"
  /usr/bin/time -f "training: %e s wall, peak RSS %M KiB" "$DIR/kprep" deps train \
    --treebank "$SHARED/data/ud/en_ewt-ud-train.conllu" --dev "$SHARED/data/ud/en_ewt-ud-dev.conllu" --out "$MODEL" ${TRAIN_ARGS:-}
fi
IN="$SHARED/data/books"
if [ "$REPEAT" -gt 1 ]; then
  IN="$DIR/books-x$REPEAT.txt"
  if [ ! -s "$IN" ]; then
    for _ in $(seq "$REPEAT"); do cat "$SHARED"/data/books/*.txt; echo; done > "$IN"
  fi
fi
echo "input: $IN ($(du -sh "$IN" | cut -f1)); $CORES cores; $(nproc) CPUs on this machine"
CPUS=$(seq -s, 0 $((CORES - 1)))
rm -rf "$DIR/out"
GOMAXPROCS=$CORES /usr/bin/time -f "%U %S %e %M" -o "$DIR/time.txt" taskset -c "$CPUS" "$DIR/kprep" deps bookcorpus \
  --in "$IN" --out "$DIR/out" --model "$MODEL" --vocab "$SHARED/data/roberta" --format both \
  --workers "$CORES" --json --quiet > "$DIR/summary.json"
python3 - "$DIR/summary.json" "$DIR/time.txt" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); user, sys_, wall, rss = open(sys.argv[2]).read().split()[-4:]
st = s["stats"]; wall = float(wall); cpu = float(user) + float(sys_)
print(f"sentences read {st['sentences_read']}, written {st['sentences_written']}, words {st['words']}")
print(f"find_head kept {st['features_kept']}, dropped {st.get('find_head_dropped')}")
print(f"wall {wall:.1f} s (process): {st['sentences_written']/wall:,.0f} sentences/s, {st['words']/wall:,.0f} words/s; "
      f"in-command {s['seconds']:.1f} s; peak RSS {int(rss)/1024:.0f} MiB")
print(f"CPU {cpu:.1f} s (user+sys): {st['sentences_written']/cpu:,.0f} sentences per CPU-second "
      "(the fair figure on a loaded machine)")
PY
