#!/usr/bin/env bash
# Installs the official JavaScript Arrow implementation (npm apache-arrow,
# plus fzstd, a pure-JavaScript zstd decoder for compressed record batches)
# into a cache folder, copies scripts/arrow-dump.js there and prints the
# folder. The Arrow interoperability tests find it through KADAPTER_ARROW_JS:
#
#   export KADAPTER_ARROW_JS=$(scripts/install-arrow-js.sh)
#   node "$KADAPTER_ARROW_JS/arrow-dump.js" out/train.arrow   # JSON per file
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${KADAPTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kadapter}
dir="$cache/arrow-js"
# Pinned versions: change them here (the folder is reinstalled when they change).
package_json='{
  "name": "kadapter-arrow-js",
  "private": true,
  "description": "apache-arrow reader for kadapter interoperability tests",
  "dependencies": {
    "apache-arrow": "21.2.0",
    "fzstd": "0.1.1"
  }
}'
if ! command -v npm >/dev/null; then
  echo "install-arrow-js: npm not found (install Node.js >= 18)" >&2
  exit 1
fi
if [ ! -f "$dir/node_modules/apache-arrow/package.json" ] || [ ! -f "$dir/node_modules/fzstd/package.json" ] ||
  [ "$(cat "$dir/package.json" 2>/dev/null)" != "$package_json" ]; then
  mkdir -p "$dir"
  printf '%s' "$package_json" >"$dir/package.json"
  (cd "$dir" && npm install --silent --no-audit --no-fund --no-package-lock >/dev/null)
fi
cp "$here/scripts/arrow-dump.js" "$dir/"
echo "$dir"
