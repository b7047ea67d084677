#!/usr/bin/env bash
# Installs the Hugging Face tokenizer oracle (../shared/tools/hf-tokenizer,
# the Rust tokenizer through its npm binding) into a cache folder and prints
# the folder. Tests find it through KADAPTER_HF_TOKENIZER.
#
#   export KADAPTER_HF_TOKENIZER=$(scripts/install-hf-tokenizer.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${KADAPTER_SHARED:-$here/../shared}
src="$shared/tools/hf-tokenizer"
cache=${KADAPTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kadapter}
dir="$cache/hf-tokenizer"
if [ ! -d "$src" ]; then
  echo "install-hf-tokenizer: $src not found (set KADAPTER_SHARED)" >&2
  exit 1
fi
if [ ! -d "$dir/node_modules/tokenizers" ] || ! cmp -s "$src/package.json" "$dir/package.json"; then
  mkdir -p "$dir"
  install -m 0644 "$src/package.json" "$dir/package.json"
  (cd "$dir" && npm install --silent --no-audit --no-fund >/dev/null)
fi
install -m 0644 "$src/encode.js" "$dir/encode.js"
echo "$dir"
