#!/usr/bin/env bash
# Prepares what bench/gpu/run.sh needs on a GPU machine that has no network:
# one compressed bundle, bench/gpu/bundle/kgpu.tar.xz, holding
#   bin/krun                 stripped (-trimpath -s -w), cgo, this tree
#   ort/                     the ONNX Runtime 1.29.0 core + CUDA provider pair of
#                            scripts/fetch-onnxruntime.sh --cuda, the provider
#                            slimmed to one GPU architecture (KGPU_SM, default 90 =
#                            H100/H200) with ../shared/tools/cuda-slim/slim_fatbin.py
#   fixtures/kadapter-tiny/  the files `krun devbench parity` reads (krun devbench
#                            files), and the training fixtures (train/<setup>/:
#                            config.json, batches/, ref_float64 without the
#                            per-parameter norms) when they fit (KGPU_TRAIN_SETUPS)
#   arrow/                   every kind of Arrow file kprep writes (trex train/dev,
#                            features of each task), made here from small inputs,
#                            with kprep's --json summaries
# Weights of the RoBERTa-large-sized model are not carried: run.sh generates them
# on the GPU machine (bench/gpu/gen_weights.py, torch).
#
# The device tool carries the working tree plus named ignored paths, 64 MiB in
# all: run with carry ["bench/gpu/bundle"]. This script prints the bundle size
# and the tree size and fails when together they exceed KGPU_LIMIT_MIB (63).
#
#   bench/gpu/prepare.sh
#
# Needs: Go, gcc, npm (first run: fetches the pair), python3 + readelf (the
# slimming), xz. Environment: KGPU_FROM (HEAD: build the committed tree, via
# git archive; a commit; or worktree), KADAPTER_SHARED (../shared), KGPU_SM (90),
# KGPU_TRAIN_SETUPS (pretrain_fac,tacred: training fixtures to include; "" for
# none), KGPU_LIMIT_MIB (63).
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${KADAPTER_SHARED:-../shared}
sm=${KGPU_SM:-90}
limit=${KGPU_LIMIT_MIB:-63}
train_setups=${KGPU_TRAIN_SETUPS-pretrain_fac,tacred}
fx="$shared/fixtures/kadapter-tiny"
[ -d "$fx" ] || { echo "prepare: $fx not found (set KADAPTER_SHARED)" >&2; exit 1; }
slim="$shared/tools/cuda-slim/slim_fatbin.py"
out=bench/gpu/bundle
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$out" "$stage/bin" "$stage/ort" "$stage/fixtures/kadapter-tiny" "$stage/arrow"

echo "== ONNX Runtime CUDA pair"
core=$(scripts/fetch-onnxruntime.sh --cuda)
pair=$(dirname "$core")
cp "$core" "$stage/ort/libonnxruntime.so"
cp "$pair/libonnxruntime_providers_shared.so" "$pair/kadapter-ort.json" "$stage/ort/"
python3 "$slim" "$pair/libonnxruntime_providers_cuda.so" "$stage/ort/libonnxruntime_providers_cuda.so" "$sm"
echo "{\"slimmed_to_sm\": \"$sm\"}" > "$stage/ort/slim.json"

echo "== krun (stripped, from ${KGPU_FROM:-HEAD})"
src=.
if [ "${KGPU_FROM:-HEAD}" != worktree ]; then
  # The committed tree: reproducible, and immune to others' edits in progress.
  src="$stage/src"
  mkdir -p "$src"
  git archive "${KGPU_FROM:-HEAD}" | tar -x -C "$src"
fi
(cd "$src" && CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o "$stage/bin/krun" ./cmd/krun &&
  go build -trimpath -ldflags="-s -w" -o "$stage/kprep" ./cmd/kprep)
rm -rf "$stage/src"
{ git rev-parse "${KGPU_FROM:-HEAD}" 2>/dev/null || echo worktree; } > "$stage/bin/commit"

echo "== fixture subset for devbench parity"
"$stage/bin/krun" devbench files | while read -r f; do
  if [ -e "$fx/$f" ]; then
    mkdir -p "$stage/fixtures/kadapter-tiny/$(dirname "$f")"
    cp "$fx/$f" "$stage/fixtures/kadapter-tiny/$f"
  fi
done
cp "$fx/manifest.json" "$stage/fixtures/kadapter-tiny/"
for s in ${train_setups//,/ }; do
  src="$fx/train/$s"
  [ -d "$src" ] || { echo "prepare: no training fixture $src" >&2; exit 1; }
  dst="$stage/fixtures/kadapter-tiny/train/$s"
  mkdir -p "$dst/ref_float64"
  cp "$src/config.json" "$dst/"
  cp -r "$src/batches" "$dst/"
  (cd "$src/ref_float64" && cp -r index.json loss.npy loss_model.npy lr.npy final "$dst/ref_float64/")
  for g in "$src"/ref_float64/grad_norm_*.npy; do cp "$g" "$dst/ref_float64/"; done
  # The initial weights the setup names (paths relative to the variant folder).
  python3 - "$src/config.json" <<'EOF' | while read -r w; do mkdir -p "$stage/fixtures/kadapter-tiny/$(dirname "$w")"; cp -n "$fx/$w" "$stage/fixtures/kadapter-tiny/$w"; c="$(dirname "$w")/config.json"; [ -e "$fx/$c" ] && cp -n "$fx/$c" "$stage/fixtures/kadapter-tiny/$c"; done
import json, sys
for v in json.load(open(sys.argv[1]))["initial_weights"].values():
    print(v)
EOF
done

echo "== Arrow files of every kind kprep writes"
a="$stage/arrow"
"$stage/kprep" trex --in testdata/trex --out "$a/trex" --min-per-relation 1 --format arrow --json --quiet > "$a/trex.json"
rm -rf "$a/trex/shards"
vocab="$shared/data/roberta"
python3 - "$shared/data" "$a" <<'EOF'
import json, sys
d, a = sys.argv[1], sys.argv[2]
json.dump(json.load(open(f"{d}/openentity/dev.json"))[:40], open(f"{a}/in-openentity.json", "w"))
json.dump(json.load(open(f"{d}/figer/test.json"))[:40], open(f"{a}/in-figer.json", "w"))
open(f"{a}/in-cosmosqa.jsonl", "w").writelines(open(f"{d}/cosmosqa/valid.jsonl").readlines()[:40])
EOF
for spec in "tacred testdata/features/tacred_sample.json" "find-head testdata/features/find_head_sample.json" \
  "openentity $a/in-openentity.json" "figer $a/in-figer.json --labels $shared/data/figer/labels.json" \
  "cosmosqa $a/in-cosmosqa.jsonl" "trex-rc $a/trex/train.arrow"; do
  # shellcheck disable=SC2086 # spec is "task input [flags]"
  set -- $spec
  task=$1 in=$2
  shift 2
  "$stage/kprep" features --task "$task" --in "$in" --vocab "$vocab" --out "$a/features-$task.arrow" --json --quiet "$@" \
    > "$a/features-$task.json" 2> "$a/features-$task.log"
done
rm -f "$a"/in-*
rm -f "$stage/kprep"

echo "== compressing"
tar -C "$stage" -cf - . | xz -9e -T2 > "$out/kgpu.tar.xz.tmp"
mv "$out/kgpu.tar.xz.tmp" "$out/kgpu.tar.xz"
bundle=$(stat -c %s "$out/kgpu.tar.xz")
tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
total=$((bundle + tree))
awk -v b="$bundle" -v t="$tree" -v l="$limit" -v f="$out/kgpu.tar.xz" 'BEGIN {
  printf "bundle %s: %.1f MiB; tree (tracked + untracked, not ignored) %.1f MiB; together %.1f MiB (limit %s MiB)\n", f, b/1048576, t/1048576, (b+t)/1048576, l }'
tar -tvJf "$out/kgpu.tar.xz" | awk '{s[$6 ~ /^\.\/ort/ ? "ort" : ($6 ~ /^\.\/bin/ ? "bin" : ($6 ~ /fixtures/ ? "fixtures" : "arrow"))]+=$3} END {for (k in s) printf "  %-9s %.1f MB uncompressed\n", k, s[k]/1e6}'
if [ "$total" -gt $((limit * 1048576)) ]; then
  echo "prepare: too big for one device call; drop training fixtures (KGPU_TRAIN_SETUPS=) or check the tree" >&2
  exit 1
fi
