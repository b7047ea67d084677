#!/usr/bin/env bash
# Training benchmark: `krun train` (ONNX training graphs on ONNX Runtime) vs
# PyTorch doing the same update, on a RoBERTa-base-sized K-Adapter model with
# random weights.
#
#   bench/train/run.sh            # defaults below; results in $BENCH_DIR
#
# Steps: generate random weights with bench/krun's generator (12 layers,
# hidden 768, 12 heads, vocab 50265; fac + lin chains of 3 adapters, width
# 768, 2 layers, taps 0,5,10; concat fusion; TACRED head; fixed seed) as
# torch zip checkpoints, then (bench/train prep) add the dropout
# probabilities to config.json, write a fac-adapter pre-training file
# (adapter.* + com_dense, dense, out_proj [410]) and the training arrays
# (BENCH_UPDATES+1 batches of 8 x 64 tokens, random ids, right padding,
# random labels). For each task (trex-rc: fac-adapter pre-training, RoBERTa
# frozen; tacred: fine-tuning, RoBERTa + fusion + head train, adapters
# frozen) and each thread count, run `krun train` (--threads N, --dropout 0,
# --loop standard, --weight-decay 0, --max-grad-norm 1, --warmup-steps 0,
# no shuffling) and torch_train.py (Debian python3-torch, the same files,
# batches and threads, OpenBLAS loaded as bench/krun does,
# OMP_WAIT_POLICY=PASSIVE) under /usr/bin/time -v. The first update is the
# warm-up; the others are timed (krun train: differences of log.jsonl's
# elapsed_s; PyTorch: each update's wall time), in wall time and in CPU
# time of the process (all threads; krun's sampled from /proc at each
# log.jsonl line by cpuwatch.py), which a loaded machine disturbs less. Prints the medians, the
# ratio (PyTorch s/update over kadapter s/update: > 1 = kadapter faster),
# both peak RSS, and checks that the first update's loss agrees to 1e-4
# (same weights, same batch, no dropout: the same work is timed); writes
# $BENCH_DIR/summary.json.
#
# Environment: BENCH_DIR (default /tmp/kadapter-bench-train), BENCH_THREADS
# (1,2: a comma list), BENCH_TASKS (trex-rc,tacred), BENCH_UPDATES (3:
# timed updates after the warm-up), BENCH_BATCH (8), BENCH_SEQ (64),
# BENCH_LAYERS (12), BENCH_HIDDEN (768), BENCH_HEADS (12), BENCH_VOCAB
# (50265), BENCH_OPENBLAS (auto: apt-get download libopenblas0-pthread
# into $BENCH_DIR; a folder holding libblas.so.3; none), BENCH_TORCH_OPTIM
# (ptt: pytorch_transformers' AdamW as the scripts use; torch:
# torch.optim.AdamW), BENCH_INSTALL (auto: apt-get install python3-torch
# python3-numpy time when missing; 0: never), PYTHON (/usr/bin/python3),
# ONNXRUNTIME_LIB (default: scripts/fetch-onnxruntime.sh), KRUN_TRAIN_ARGS
# (extra krun train flags).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${BENCH_DIR:-/tmp/kadapter-bench-train}
py=${PYTHON:-/usr/bin/python3}
threads_list=${BENCH_THREADS:-1,2}
tasks_list=${BENCH_TASKS:-trex-rc,tacred}
timed=${BENCH_UPDATES:-3}
updates=$((timed + 1))
export BENCH_BATCH=${BENCH_BATCH:-8} BENCH_SEQ=${BENCH_SEQ:-64} BENCH_BATCHES=$updates
layers=${BENCH_LAYERS:-12}
taps="0,$((layers / 2 - 1)),$((layers - 2))" # 0,5,10 for 12 layers, as bench/krun
heads=12
lr_of() { case $1 in trex-rc) echo 5e-5 ;; tacred) echo 5e-6 ;; *) echo "unknown task $1" >&2; return 1 ;; esac; }

# Prepare step (Debian packages only): PyTorch, NumPy and GNU time.
if ! "$py" -c 'import torch, numpy' 2>/dev/null || [ ! -x /usr/bin/time ]; then
  if [ "${BENCH_INSTALL:-auto}" != 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "== installing python3-torch python3-numpy time (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy time >/dev/null
  else
    echo "needs PyTorch, NumPy and GNU time: apt-get install python3-torch python3-numpy time" >&2
    exit 1
  fi
fi
export ONNXRUNTIME_LIB=${ONNXRUNTIME_LIB:-$(scripts/fetch-onnxruntime.sh)}
mkdir -p "$dir"
go build -o "$dir/krun" ./cmd/krun
go build -o "$dir/krun-bench" ./bench/krun
go build -o "$dir/train-bench" ./bench/train

stamp="layers=$layers hidden=${BENCH_HIDDEN:-768} heads=${BENCH_HEADS:-12} vocab=${BENCH_VOCAB:-50265} batches=$updates batch=$BENCH_BATCH seq=$BENCH_SEQ"
if [ "$(cat "$dir/gen.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "== generating random weights and batches in $dir ($stamp)"
  rm -f "$dir/gen.stamp"
  "$dir/krun-bench" gen "$dir"
  "$dir/train-bench" prep "$dir"
  echo "$stamp" > "$dir/gen.stamp"
else
  echo "== reusing the weights and batches in $dir ($stamp)"
fi

# OpenBLAS for PyTorch's process only, exactly as bench/krun/run.sh does
# (Debian's python3-torch otherwise calls the reference BLAS behind
# libblas.so.3, ~50x slower).
openblas=${BENCH_OPENBLAS:-auto}
if [ "$openblas" = auto ]; then
  openblas=none
  if [ -s "$dir/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3" ]; then
    openblas="$dir/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread"
  elif command -v apt-get >/dev/null && (cd "$dir" && apt-get download -qq libopenblas0-pthread 2>/dev/null); then
    dpkg -x "$dir"/libopenblas0-pthread_*.deb "$dir/openblas" && openblas="$dir/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread"
  fi
fi
if [ "$openblas" = none ]; then
  echo "warning: no OpenBLAS; PyTorch runs on the system BLAS (not a fair baseline)" >&2
  blas_path=${LD_LIBRARY_PATH:-}
else
  blas_path="$openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

results="$dir/results.jsonl"
: > "$results"
uptime | tee "$dir/load.txt"
for task in ${tasks_list//,/ }; do
  lr=$(lr_of "$task")
  case $task in
    trex-rc) model=(--fac "$dir/fac/pytorch_model.bin") ;;
    tacred) model=(--task-model "$dir/tacred/pytorch_model.bin") ;;
  esac
  for threads in ${threads_list//,/ }; do
    out="$dir/out-$task-t$threads"
    rm -rf "$out"
    echo "== krun train --task $task, $threads thread(s), $updates updates (1 warm-up)"
    # shellcheck disable=SC2086 # KRUN_TRAIN_ARGS is a list of flags
    /usr/bin/time -v -o "$out.time" "$dir/krun" train --task "$task" --roberta "$dir/roberta" "${model[@]}" \
      --adapter-list "$taps" --adapter-heads "$heads" --data "$dir/data-$task" --out "$out" \
      --batch-size "$BENCH_BATCH" --gradient-accumulation-steps 1 --max-steps "$updates" --learning-rate "$lr" \
      --warmup-steps 0 --weight-decay 0 --max-grad-norm 1 --dropout 0 --loop standard --shuffle=false \
      --threads "$threads" --quiet --json ${KRUN_TRAIN_ARGS:-} > "$out.json" &
    tpid=$!
    # CPU seconds per update (load-robust): sample krun's /proc/PID/stat at each log.jsonl line.
    kpid=
    while [ -z "$kpid" ] && kill -0 "$tpid" 2>/dev/null; do kpid=$(pgrep -P "$tpid" || true); sleep 0.05; done
    echo '{}' > "$out.cpu.json"
    [ -n "$kpid" ] && "$py" bench/train/cpuwatch.py "$kpid" "$out/log.jsonl" "$out.cpu.json" &
    wpid=$!
    wait "$tpid"
    wait "$wpid" || true
    rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$out.time")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/{print $2}' "$out.time")
    printf '{"engine":"kadapter","task":"%s","threads":%s,"rss_kb":%s,"wall":"%s","log":"%s","cpu":%s,"r":%s}\n' \
      "$task" "$threads" "$rss" "$wall" "$out/log.jsonl" "$(cat "$out.cpu.json")" "$(tr -d '\n' < "$out.json")" >> "$results"
    rm -rf "$out"/checkpoint-* # ~1.3 GB for tacred; the benchmark does not need them
    uptime | tee -a "$dir/load.txt"

    echo "== PyTorch, task $task, $threads thread(s), $updates updates (1 warm-up)"
    /usr/bin/time -v -o "$out.torch.time" env OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" OPENBLAS_NUM_THREADS="$threads" \
      LD_LIBRARY_PATH="$blas_path" "$py" bench/train/torch_train.py "$dir" "$task" "$threads" "$updates" "$taps" "$heads" \
      "$lr" 0 "$updates" 1 > "$out.torch.json"
    rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$out.torch.time")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/{print $2}' "$out.torch.time")
    printf '{"engine":"torch","task":"%s","threads":%s,"rss_kb":%s,"wall":"%s","r":%s}\n' \
      "$task" "$threads" "$rss" "$wall" "$(tr -d '\n' < "$out.torch.json")" >> "$results"
    uptime | tee -a "$dir/load.txt"
  done
done

"$py" bench/train/summary.py "$dir" "$results" "$openblas"
