#!/usr/bin/env bash
# Single-thread tokens/s of the kadapter tokenizer and of Hugging Face's Rust
# tokenizer (Node binding) on the same English prose (../shared/data/books),
# the ratio, and the memory one tokenizer holds.
#
#   bench/tokenizer/run.sh [extra flags for main.go, e.g. -passes 3 -max-texts 2000]
#
# Installs the Hugging Face oracle (scripts/install-hf-tokenizer.sh) unless
# KADAPTER_HF_TOKENIZER is already set; NO_HF=1 skips it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${KADAPTER_SHARED:-$repo/../shared}
if [ -z "${NO_HF:-}" ] && [ -z "${KADAPTER_HF_TOKENIZER:-}" ]; then
  KADAPTER_HF_TOKENIZER=$("$repo/scripts/install-hf-tokenizer.sh")
fi
hf=${KADAPTER_HF_TOKENIZER:-}
[ -n "${NO_HF:-}" ] && hf=
cd "$repo"
echo "machine: $(nproc) CPUs, $(uname -m), $(go version | cut -d' ' -f3), node $(node --version 2>/dev/null || echo none)"
go run ./bench/tokenizer -vocab "$shared/data/roberta" -books "$shared/data/books" -hf "$hf" "$@"
