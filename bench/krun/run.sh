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
# with the same thread count (intra-op threads, inter-op 1): one warm-up
# batch each, then BENCH_REPEATS timed passes over all batches, reporting
# the median pass (and the best); compare their logits; print the
# throughput ratio of the medians (target: kadapter >= 1.5x PyTorch on
# CPU). The default export runs the last layers on the marker rows only;
# BENCH_FULL_GRAPH=1 also times the --all-positions export (the graph
# before that change) in the same process, the two graphs taking turns
# pass by pass.
#
# Environment: BENCH_DIR (default /tmp/kadapter-bench-krun), BENCH_THREADS
# (1,2: a comma list, each count is run), BENCH_REPEATS (3),
# BENCH_BATCHES (8), BENCH_BATCH (4), BENCH_SEQ (64), BENCH_LAYERS (12),
# BENCH_HIDDEN (768), BENCH_HEADS (12), BENCH_VOCAB (50265),
# BENCH_FULL_GRAPH (1), BENCH_OPENBLAS (auto), BENCH_SYSTEM_BLAS (0),
# PYTHON (/usr/bin/python3), ONNXRUNTIME_LIB (default:
# scripts/fetch-onnxruntime.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${BENCH_DIR:-/tmp/kadapter-bench-krun}
py=${PYTHON:-/usr/bin/python3}
threads_list=${BENCH_THREADS:-1,2}
export BENCH_REPEATS=${BENCH_REPEATS:-3}
full_graph=${BENCH_FULL_GRAPH:-1}
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
if [ "$full_graph" = 1 ]; then
  "$dir/krun" export --roberta "$dir/roberta" --task tacred --task-model "$dir/tacred/pytorch_model.bin" \
    --adapter-list "$taps" --adapter-heads 12 --all-positions --out "$dir/model-all-positions.onnx" \
    > "$dir/export-all-positions.log" 2>&1 || { cat "$dir/export-all-positions.log" >&2; exit 1; }
fi

# Debian's python3-torch calls the BLAS behind libblas.so.3, which is the
# slow reference BLAS unless OpenBLAS is installed. For a fair comparison
# PyTorch also runs with OpenBLAS, loaded for its process only (the .deb is
# fetched with `apt-get download` and unpacked under $dir; the system is
# left unchanged). BENCH_OPENBLAS=DIR uses a folder holding libblas.so.3;
# BENCH_OPENBLAS=none skips that run. BENCH_SYSTEM_BLAS=1 adds a run on
# the reference BLAS (one pass: at ~0.02 seq/s it takes ~25 minutes for
# the default 32 sequences); it is off by default.
openblas=${BENCH_OPENBLAS:-auto}
if [ "$openblas" = auto ]; then
  openblas=none
  if [ -s "$dir/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3" ]; then
    openblas="$dir/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread"
  elif command -v apt-get >/dev/null && (cd "$dir" && apt-get download -qq libopenblas0-pthread 2>/dev/null); then
    dpkg -x "$dir"/libopenblas0-pthread_*.deb "$dir/openblas" && openblas="$dir/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread"
  fi
fi

# Each timed run appends {"run": NAME, "threads": N, "r": its JSON line}.
results="$dir/results.jsonl"
: > "$results"
record() { printf '{"run":"%s","threads":%s,"r":%s}\n' "$1" "$2" "$3" >> "$results"; }
rm -f "$dir/torch_logits.npy" "$dir/ort_logits_all_positions.npy"
for threads in ${threads_list//,/ }; do
  export BENCH_THREADS=$threads
  if [ "$full_graph" = 1 ]; then
    echo "== ONNX Runtime, default and --all-positions graphs in turn ($threads thread(s), $BENCH_REPEATS passes each)"
    ort=$("$dir/krun-bench" ort "$dir/model.onnx,$dir/model-all-positions.onnx" "$dir")
    echo "$ort"
    record ort "$threads" "$(sed -n 1p <<< "$ort")"
    record ort_all_positions "$threads" "$(sed -n 2p <<< "$ort")"
    mv "$dir/ort_logits.1.npy" "$dir/ort_logits_all_positions.npy"
  else
    echo "== ONNX Runtime ($threads thread(s), $BENCH_REPEATS passes)"
    ort=$("$dir/krun-bench" ort "$dir/model.onnx" "$dir")
    echo "$ort"
    record ort "$threads" "$ort"
  fi
  if [ "${BENCH_SYSTEM_BLAS:-0}" = 1 ]; then
    echo "== PyTorch, system BLAS ($threads thread(s), 1 pass)"
    torch=$(BENCH_REPEATS=1 "$py" bench/krun/torch_ref.py "$dir" "$taps" 12 "$threads")
    echo "$torch"
    record torch "$threads" "$torch"
  fi
  if [ "$openblas" != none ]; then
    echo "== PyTorch, OpenBLAS from $openblas ($threads thread(s))"
    # OMP_WAIT_POLICY=PASSIVE: PyTorch's OpenMP workers otherwise spin between
    # ops and starve OpenBLAS's own threads (measured: 2.31 seq/s with 2
    # threads, below its 1-thread 3.28; 5.23 with PASSIVE). PyTorch's best
    # configuration is the fair baseline.
    torch_ob=$(OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} OPENBLAS_NUM_THREADS=$threads LD_LIBRARY_PATH="$openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
      "$py" bench/krun/torch_ref.py "$dir" "$taps" 12 "$threads")
    echo "$torch_ob"
    record torch_openblas "$threads" "$torch_ob"
  fi
done

"$py" - "$dir" "$results" "$export_s" "$export_rss_kb" <<'EOF'
import json, os, sys
import numpy as np
d, results, export_s, rss = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = [json.loads(l) for l in open(results)]
ref = np.load(f"{d}/ort_logits.npy").astype(np.float64)
diffs = {}
for name in ("torch_logits", "ort_logits_all_positions"):
    if os.path.exists(f"{d}/{name}.npy"):
        diffs[name] = float(np.abs(ref - np.load(f"{d}/{name}.npy").astype(np.float64)).max())
summary = {"target": 1.5, "max_abs_logit_diff_vs_kadapter": diffs, "export_wall": export_s,
           "export_peak_rss_mib": rss // 1024, "repeats": int(os.environ.get("BENCH_REPEATS", "3")), "by_threads": {}}
labels = {"ort": "kadapter/ONNX Runtime", "ort_all_positions": "  --all-positions graph",
          "torch": "PyTorch (system BLAS)", "torch_openblas": "PyTorch (OpenBLAS)"}
for r in rows:
    x = r["r"]
    e = summary["by_threads"].setdefault(str(r["threads"]), {})
    e[r["run"]] = {"median_seq_per_s": x["sequences_per_second"], "best_seq_per_s": x["best_sequences_per_second"],
                   "pass_seconds": x["pass_seconds"]}
    if "session_load_seconds" in x:
        e[r["run"]]["session_load_seconds"] = x["session_load_seconds"]
    summary.update(batches=x["batches"], batch=x["batch"], seq=x["seq"])
for t, e in summary["by_threads"].items():
    print(f"-- {t} thread(s), {summary['repeats']} passes of {summary['batches']} batches of "
          f"{summary['batch']}x{summary['seq']}: median pass (best pass) seq/s")
    for k, lab in labels.items():
        if k not in e:
            continue
        line = f"{lab:24s} {e[k]['median_seq_per_s']:7.3f} ({e[k]['best_seq_per_s']:.3f})"
        if k != "ort" and "ort" in e:
            e[k]["ratio"] = e["ort"]["median_seq_per_s"] / e[k]["median_seq_per_s"]
            e[k]["ratio_best"] = e["ort"]["best_seq_per_s"] / e[k]["best_seq_per_s"]
            line += f"   kadapter {e[k]['ratio']:.2f}x of this (best vs best {e[k]['ratio_best']:.2f}x)"
        print(line)
print(f"target >= 1.5x PyTorch; max |logit diff| vs kadapter: "
      f"{', '.join(f'{k} {v:.2e}' for k, v in diffs.items()) or 'n/a'}; export {export_s} wall, peak RSS {rss // 1024} MiB")
json.dump(summary, open(f"{d}/summary.json", "w"), indent=2)
if any(not v <= 1e-3 for v in diffs.values()):
    sys.exit("the implementations disagree: the comparison is not valid")
EOF
