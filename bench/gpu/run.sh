#!/usr/bin/env bash
# The GPU check of issue 10, one run on one NVIDIA GPU (H100/H200), no network:
#
#   bench/gpu/prepare.sh                 # here: builds bench/gpu/bundle/kgpu.tar.xz
#   bench/gpu/run.sh [FIGDIR]            # there: figures into FIGDIR (default $OUT, else bench/gpu/results)
#
# With the device tool: run(command="bench/gpu/run.sh", carry=["bench/gpu/bundle"], timeout_s=540).
#
# Steps (each time-boxed; a failed step is recorded and the run goes on; the
# whole run stops starting new steps after KGPU_BUDGET_S, default 450 s):
#  0. unpack the bundle into KGPU_WORK (/tmp/kgpu); environment (GPU, driver,
#     torch, NVIDIA pip wheels) -> env.txt; GPU memory sampled every 200 ms
#     (nvidia-smi) -> gpu_mem.csv, attributed to steps through steps.jsonl.
#  1. krun doctor (text and --json), with no LD_LIBRARY_PATH set up: the runtime
#     must find the CUDA 13 libraries in site-packages/nvidia/*/lib by itself.
#     Only if it does not, LD_LIBRARY_PATH is set from those folders (recorded).
#  2. (a) parity: every kadapter-tiny graph vs ref_float64 in modes cpu, cuda
#     (onnxruntime_go session), cuda-resident (device buffers, DeviceSession),
#     cuda-tf32, cuda-resident-tf32; per output max |diff|, placement.
#  3. (b) training fixtures: krun train --device cuda --loop upstream on each
#     bundled train/<setup> vs ref_float64 (train_fixtures.py), also on the CPU.
#  4. (c) a RoBERTa-large-sized K-Adapter TACRED model (24 layers, hidden 1024,
#     16 heads, vocab 50265, fac+lin chains of 3 adapters of width 768 at taps
#     0,11,22): weights generated here with torch (gen_weights.py), exported by
#     krun export; inference of 8 batches of 32x128, 5 passes: krun devbench
#     throughput (cuda-resident fp32 with TF32 off, cuda-resident-tf32, cuda
#     host-memory path) vs bench/krun/torch_ref.py run on the GPU unchanged
#     (torch_cuda.py: fp32, tf32, fp16 and bf16 autocast, + torch.compile).
#  5. (d) training seconds/update at the same size: krun train --device cuda
#     (trex-rc: fac-adapter pre-training, RoBERTa frozen; tacred fine-tuning),
#     batch 8x128, 4 updates, vs bench/train/torch_train.py on the GPU (fp32, tf32).
#  6. (e) peak GPU memory of every step (nvidia-smi, and torch's own counter).
#  7. (f) every Arrow file kind kprep writes read back with pyarrow (and
#     datasets when present); transformers' RobertaModel on the kadapter-tiny
#     RoBERTa vs our graph's hidden states, and loading a krun train checkpoint.
#  8. summary.py -> summary.md (+ summary.json): parity, speed, memory tables.
#
# Environment: KGPU_WORK (/tmp/kgpu), KGPU_BUDGET_S (450), PYTHON (python3),
# KGPU_SKIP (comma list of steps to skip: doctor, parity, train_fixtures, large,
# torch_compile, arrow, hf), KGPU_LARGE_ARGS (extra gen_weights.py flags),
# KGPU_TAPS (0,11,22), KGPU_ADAPTER_HEADS (12), KGPU_TORCH_DEVICE (cuda; cpu
# for a dry run of the torch steps without a GPU).
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
fig=${1:-${OUT:-bench/gpu/results}}
mkdir -p "$fig"
fig=$(cd "$fig" && pwd)
W=${KGPU_WORK:-/tmp/kgpu}
PY=${PYTHON:-python3}
budget=${KGPU_BUDGET_S:-450}
start=$(date +%s)
bundle=bench/gpu/bundle/kgpu.tar.xz
skip=",${KGPU_SKIP:-},"
: > "$fig/steps.jsonl"

left() { echo $((budget - ($(date +%s) - start))); }
# step NAME LIMIT_S CMD...: runs CMD with a timeout (LIMIT_S, or what is left),
# stdout to $fig/NAME.out, stderr to $fig/NAME.log, and records start, end and
# exit status in steps.jsonl.
step() {
  local name=$1 limit=$2 l rc t0
  shift 2
  if [[ $skip == *",$name,"* ]]; then
    echo "{\"step\":\"$name\",\"skipped\":\"KGPU_SKIP\"}" >> "$fig/steps.jsonl"
    return 0
  fi
  l=$(left)
  if [ "$l" -le 5 ]; then
    echo "== $name: skipped, the time budget is spent"
    echo "{\"step\":\"$name\",\"skipped\":\"budget\"}" >> "$fig/steps.jsonl"
    return 1
  fi
  [ "$limit" -gt "$l" ] && limit=$l
  echo "== $name (at most ${limit}s, $(($(date +%s) - start))s in)"
  t0=$(date +%s.%N)
  timeout -k 5 "$limit" "$@" > "$fig/$name.out" 2> "$fig/$name.log"
  rc=$?
  echo "{\"step\":\"$name\",\"start\":$t0,\"end\":$(date +%s.%N),\"rc\":$rc,\"limit_s\":$limit}" >> "$fig/steps.jsonl"
  [ $rc -ne 0 ] && { echo "   $name: exit $rc (tail of $fig/$name.log:)"; tail -n 5 "$fig/$name.log" | cut -c1-300 | sed 's/^/   | /'; }
  return $rc
}

echo "== unpacking $bundle into $W"
[ -s "$bundle" ] || { echo "run.sh: $bundle missing: run bench/gpu/prepare.sh first (and carry bench/gpu/bundle)" >&2; exit 1; }
rm -rf "$W" && mkdir -p "$W"
xz -dc -T0 "$bundle" | tar -x -C "$W" || { echo "run.sh: cannot unpack $bundle" >&2; exit 1; }
K=$W/bin/krun
export ONNXRUNTIME_LIB=$W/ort/libonnxruntime.so
fx=$W/fixtures/kadapter-tiny
{
  echo "date: $(date -u +%FT%TZ)"; echo "krun commit: $(cat "$W/bin/commit")"; uname -a
  nvidia-smi 2>&1 | head -20
  "$PY" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")' 2>&1
  "$PY" -c 'import transformers, pyarrow; print("transformers", transformers.__version__, "pyarrow", pyarrow.__version__)' 2>&1
  "$PY" -m pip list 2>/dev/null | grep -i -E '^(nvidia|torch|triton|datasets|safetensors)' ; echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  nproc; free -g | head -2
} > "$fig/env.txt" 2>&1
nvidia-smi --query-gpu=timestamp,memory.used --format=csv,noheader,nounits -lms 200 > "$fig/gpu_mem.csv" 2>/dev/null &
sampler=$!
trap 'kill $sampler 2>/dev/null' EXIT

# 1. doctor, first without any help, then (only if needed) with LD_LIBRARY_PATH.
step doctor 60 "$K" doctor --json --require-cuda
mv "$fig/doctor.out" "$fig/doctor.json"
"$K" doctor > "$fig/doctor.txt" 2>&1
if ! grep -q '"cuda_available": true' "$fig/doctor.json"; then
  libs=$("$PY" -c 'import glob, site; print(":".join(d for p in site.getsitepackages() for d in sorted(glob.glob(p + "/nvidia/*/lib"))))' 2>/dev/null)
  export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "doctor: CUDA unavailable without help; retrying with LD_LIBRARY_PATH=$LD_LIBRARY_PATH" | tee "$fig/doctor_ldpath.txt"
  "$K" doctor >> "$fig/doctor_ldpath.txt" 2>&1
fi

# 2. (a) parity of every kadapter-tiny graph.
step parity 150 "$K" devbench parity --fixtures "$fx" --modes cpu,cuda,cuda-resident,cuda-tf32,cuda-resident-tf32 \
  --save-outputs "$W/outs" --json
mv "$fig/parity.out" "$fig/parity.json"

# 3. (b) training fixtures.
step train_fixtures 100 "$PY" bench/gpu/train_fixtures.py "$K" "$fx" "$W/train" cuda,cpu
mv "$fig/train_fixtures.out" "$fig/train_fixtures.json" 2>/dev/null

# 4. (c) RoBERTa-large-sized inference.
L=$W/large
taps=${KGPU_TAPS:-0,11,22}
aheads=${KGPU_ADAPTER_HEADS:-12}
large_ok=0
# shellcheck disable=SC2086 # KGPU_LARGE_ARGS: extra gen_weights.py flags (smaller sizes for a dry run)
if [[ $skip != *",large,"* ]] && step gen_weights 120 "$PY" bench/gpu/gen_weights.py "$L" --train ${KGPU_LARGE_ARGS:-} &&
  step export 150 "$K" export --roberta "$L/roberta" --task tacred --task-model "$L/tacred/pytorch_model.bin" \
    --adapter-list "$taps" --adapter-heads "$aheads" --out "$L/model.onnx" --json; then
  large_ok=1
fi
if [ $large_ok = 1 ]; then
  for m in cuda-resident cuda-resident-tf32 cuda; do
    step "ort_$m" 120 "$K" devbench throughput --model "$L/model.onnx" --inputs "$L/inputs" --modes "$m" --repeats 5 \
      --logits-prefix "$L/ort_"
  done
  torch_infer() {
    local m=$1 limit=$2
    BENCH_REPEATS=5 step "torch_${m/+/_}" "$limit" "$PY" bench/gpu/torch_cuda.py "$m" bench/krun/torch_ref.py "$L" "$taps" "$aheads" 1
    [ -f "$L/torch_logits.npy" ] && mv "$L/torch_logits.npy" "$L/torch_logits_${m/+/_}.npy"
  }
  for m in fp32 tf32 fp16 bf16; do
    torch_infer "$m" 90
  done

  # 5. (d) training seconds/update at the same size.
  for task in trex-rc tacred; do
    case $task in
      trex-rc) model=(--fac "$L/fac/pytorch_model.bin") lr=5e-5 ;;
      tacred) model=(--task-model "$L/tacred/pytorch_model.bin") lr=5e-6 ;;
    esac
    step "krun_train_$task" 150 "$K" train --task "$task" --roberta "$L/roberta" "${model[@]}" --adapter-list "$taps" \
      --adapter-heads "$aheads" --data "$L/data-$task" --out "$W/train-$task" --batch-size 8 --gradient-accumulation-steps 1 \
      --max-steps 4 --learning-rate "$lr" --warmup-steps 0 --weight-decay 0 --max-grad-norm 1 --dropout 0 \
      --loop standard --shuffle=false --quiet --json --device cuda
    cp "$W/train-$task/log.jsonl" "$fig/krun_train_$task.log.jsonl" 2>/dev/null
    rm -rf "$W/train-$task"/checkpoint-*
    for m in fp32 tf32; do
      BENCH_BATCH=8 step "torch_train_${task}_$m" 120 "$PY" bench/gpu/torch_cuda.py "$m" bench/train/torch_train.py "$L" "$task" 1 4 \
        "$taps" "$aheads" "$lr" 0 4 1
    done
  done

fi

# 7. (f) interoperability.
step arrow 60 "$PY" bench/gpu/arrow_check.py "$W/arrow"
mv "$fig/arrow.out" "$fig/arrow.json" 2>/dev/null
ckpt=$(ls -d "$W"/train/cuda/tacred/checkpoint-* 2>/dev/null | tail -n1)
step hf 90 "$PY" bench/gpu/hf_check.py "$fx" "$W/outs" "${ckpt:-}"
mv "$fig/hf.out" "$fig/hf.json" 2>/dev/null

# Last, as the least important and the slowest: torch.compile (its compile time is reported).
if [ $large_ok = 1 ] && [[ $skip != *",torch_compile,"* ]]; then
  for m in fp32+compile fp16+compile; do
    torch_infer "$m" 180
  done
fi
if [ $large_ok = 1 ]; then
  "$PY" - "$L" > "$fig/logit_diffs.json" 2>&1 <<'EOF'
import glob, json, os, sys
import numpy as np
d = sys.argv[1]
ref = f"{d}/ort_cuda-resident.npy"
out = {}
if os.path.exists(ref):
    r = np.load(ref).astype(np.float64).reshape(-1, 42)
    for f in sorted(glob.glob(f"{d}/ort_*.npy") + glob.glob(f"{d}/torch_logits_*.npy")):
        x = np.load(f).astype(np.float64).reshape(-1, 42)
        out[os.path.basename(f)[:-4]] = float(np.abs(x - r).max()) if x.shape == r.shape else f"shape {x.shape}"
print(json.dumps({"reference": "ort_cuda-resident (fp32, TF32 off)", "max_abs_logit_diff": out}, indent=2))
EOF
fi

kill $sampler 2>/dev/null
sleep 0.3
"$PY" bench/gpu/summary.py "$fig" > "$fig/summary.md" 2> "$fig/summary.err"
cat "$fig/summary.md"
echo "== done in $(($(date +%s) - start)) s; figures in $fig"
