#!/usr/bin/env bash
# Seconds per update and peak RSS of krun train on each kadapter-tiny
# training setup (the fixture's first micro-batch repeated: batch 4, one
# micro-batch per update, 20 updates after one warm-up run), at 1 thread.
#   bench/train/fixtures.sh [threads]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-1}
F=${KADAPTER_SHARED:-$(cd .. && pwd)/shared}/fixtures/kadapter-tiny
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/krun" ./cmd/krun
common=(--adapter-list 0,1,3 --adapter-heads 4 --roberta "$F/roberta" --batch-size 4 --gradient-accumulation-steps 1
  --epochs 20 --shuffle=false --dropout 0 --threads "$threads" --quiet --json)
declare -A args=(
  [pretrain_fac]="--task trex-rc --fac $F/fac-adapter/pytorch_model.bin"
  [pretrain_lin]="--task find-head --lin $F/lin-adapter/pytorch_model.bin"
  [tacred]="--task tacred --task-model $F/tacred/pytorch_model.bin"
  [openentity]="--task openentity --task-model $F/openentity/pytorch_model.bin"
  [figer]="--task figer --task-model $F/figer/pytorch_task_model.bin"
  [cosmosqa]="--task cosmosqa --task-model $F/cosmosqa_rates/pytorch_model.bin --a-rate 0.25 --b-rate 0.75"
)
printf "%-13s %14s %14s %10s\n" setup "s/update" "updates/s" "peak RSS"
for s in pretrain_fac pretrain_lin tacred openentity figer cosmosqa; do
  # shellcheck disable=SC2086
  "$out/krun" train ${args[$s]} "${common[@]}" --data "$F/train/$s/batches/step_0" --out "$out/$s-warm" >/dev/null
  # shellcheck disable=SC2086
  "$out/krun" train ${args[$s]} "${common[@]}" --data "$F/train/$s/batches/step_0" --out "$out/$s" >"$out/$s.json"
  python3 - "$s" "$out/$s.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
s = d["seconds_per_update"]
print(f"{sys.argv[1]:<13} {s:14.4f} {1/s:14.1f} {d['peak_rss_bytes']/2**20:8.0f} MiB")
PY
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
