#!/usr/bin/env bash
# Inference benchmark: kadapter (krun export + ONNX Runtime) vs PyTorch on a
# RoBERTa-base-sized K-Adapter TACRED model with random weights.
#
#   bench/krun/run.sh            # defaults below; results in $BENCH_DIR
#
# Steps: generate random weights (12 layers, hidden 768, 12 heads, vocab
# 50265; fac + lin chains of 3 adapters, width 768, 2 layers; concat
# fusion; TACRED head) as torch zip checkpoints and input batches; time
# `krun export` with /usr/bin/time (wall time, peak RSS); run the same
# batches through ONNX Runtime and through PyTorch (Debian python3-torch)
# with the same thread count (intra-op BENCH_THREADS, inter-op 1), one
# warm-up batch each, one timed run; compare their logits; print the
# throughput ratio (target: kadapter >= 1.5x PyTorch on CPU).
#
# Environment: BENCH_DIR (default /tmp/kadapter-bench-krun), BENCH_THREADS
# (1), BENCH_BATCHES (4), BENCH_BATCH (4), BENCH_SEQ (64), BENCH_LAYERS (12),
# BENCH_HIDDEN (768), BENCH_HEADS (12), BENCH_VOCAB (50265), PYTHON
# (/usr/bin/python3), ONNXRUNTIME_LIB (default: scripts/fetch-onnxruntime.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${BENCH_DIR:-/tmp/kadapter-bench-krun}
py=${PYTHON:-/usr/bin/python3}
export BENCH_THREADS=${BENCH_THREADS:-1}
export ONNXRUNTIME_LIB=${ONNXRUNTIME_LIB:-$(scripts/fetch-onnxruntime.sh)}
layers=${BENCH_LAYERS:-12}
taps="0,$((layers / 2 - 1)),$((layers - 2))"   # 0,5,10 for 12 layers (0,11,22 of 24)
"$py" -c 'import torch, numpy' || { echo "needs PyTorch and NumPy: apt-get install python3-torch python3-numpy" >&2; exit 1; }
mkdir -p "$dir"
go build -o "$dir/krun" ./cmd/krun
go build -o "$dir/krun-bench" ./bench/krun

echo "== generating random weights and inputs in $dir"
"$dir/krun-bench" gen "$dir"

echo "== krun export (adapter list $taps)"
/usr/bin/time -v -o "$dir/export.time" "$dir/krun" export --roberta "$dir/roberta" --task tacred \
  --task-model "$dir/tacred/pytorch_model.bin" --adapter-list "$taps" --adapter-heads 12 \
  --out "$dir/model.onnx" --json > "$dir/export.json"
export_s=$(awk -F': ' '/Elapsed \(wall clock\)/{print $2}' "$dir/export.time")
export_rss_kb=$(awk -F': ' '/Maximum resident set size/{print $2}' "$dir/export.time")
echo "export wall time $export_s, peak RSS $((export_rss_kb / 1024)) MiB, model $(du -h "$dir/model.onnx" | cut -f1)"

echo "== ONNX Runtime ($BENCH_THREADS thread(s))"
ort=$("$dir/krun-bench" ort "$dir/model.onnx" "$dir")
echo "$ort"
# Debian's python3-torch calls the BLAS behind libblas.so.3, which is the
# slow reference BLAS unless OpenBLAS is installed. For a fair comparison
# PyTorch also runs with OpenBLAS, loaded for its process only (the .deb is
# fetched with `apt-get download` and unpacked under $dir; the system is
# left unchanged). BENCH_OPENBLAS=DIR uses a folder holding libblas.so.3;
# BENCH_OPENBLAS=none skips that run; BENCH_SYSTEM_BLAS=0 skips the
# (slow: minutes) reference-BLAS run.
openblas=${BENCH_OPENBLAS:-auto}
if [ "$openblas" = auto ]; then
  openblas=none
  if [ -s "$dir/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3" ]; then
    openblas="$dir/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread"
  elif command -v apt-get >/dev/null && (cd "$dir" && apt-get download -qq libopenblas0-pthread 2>/dev/null); then
    dpkg -x "$dir"/libopenblas0-pthread_*.deb "$dir/openblas" && openblas="$dir/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread"
  fi
fi
torch='{}'
if [ "${BENCH_SYSTEM_BLAS:-1}" != 0 ]; then
  echo "== PyTorch, system BLAS ($BENCH_THREADS thread(s))"
  torch=$("$py" bench/krun/torch_ref.py "$dir" "$taps" 12 "$BENCH_THREADS")
  echo "$torch"
fi
torch_ob='{}'
if [ "$openblas" != none ]; then
  echo "== PyTorch, OpenBLAS from $openblas ($BENCH_THREADS thread(s))"
  torch_ob=$(OPENBLAS_NUM_THREADS=$BENCH_THREADS LD_LIBRARY_PATH="$openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$py" bench/krun/torch_ref.py "$dir" "$taps" 12 "$BENCH_THREADS")
  echo "$torch_ob"
fi

"$py" - "$dir" "$ort" "$torch" "$torch_ob" "$export_s" "$export_rss_kb" <<'EOF'
import json, sys
import numpy as np
d, ort, torch, torch_ob = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
export_s, rss = sys.argv[5], int(sys.argv[6])
diff = float("nan")
if torch or torch_ob:
    a, b = np.load(f"{d}/ort_logits.npy"), np.load(f"{d}/torch_logits.npy")
    diff = float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())
summary = {"onnxruntime_seq_per_s": ort["sequences_per_second"], "target": 1.5,
           "max_abs_logit_diff": diff, "export_wall": export_s, "export_peak_rss_mib": rss // 1024,
           "threads": ort["threads"], "batches": ort["batches"], "batch": ort["batch"], "seq": ort["seq"],
           "session_load_seconds": ort["session_load_seconds"]}
print(f"kadapter/ONNX Runtime {ort['sequences_per_second']:.3f} seq/s")
if torch:
    summary["torch_seq_per_s"] = torch["sequences_per_second"]
    summary["ratio"] = ort["sequences_per_second"] / torch["sequences_per_second"]
    print(f"PyTorch (system BLAS) {torch['sequences_per_second']:.3f} seq/s: ratio {summary['ratio']:.2f}x")
if torch_ob:
    summary["torch_openblas_seq_per_s"] = torch_ob["sequences_per_second"]
    summary["ratio_openblas"] = ort["sequences_per_second"] / torch_ob["sequences_per_second"]
    print(f"PyTorch (OpenBLAS)    {torch_ob['sequences_per_second']:.3f} seq/s: ratio {summary['ratio_openblas']:.2f}x")
print(f"target >= 1.5x; max |logit diff| ORT vs PyTorch {diff:.2e}; export {export_s} wall, peak RSS {rss // 1024} MiB")
json.dump(summary, open(f"{d}/summary.json", "w"), indent=2)
if not diff <= 1e-3 and (torch or torch_ob):
    sys.exit("the two implementations disagree: the comparison is not valid")
EOF
