#!/usr/bin/env bash
# Extracts libonnxruntime.so from the npm package onnxruntime-node into a
# cache folder and prints its path. ONNX Runtime's own releases are not
# reachable from every machine; the npm registry is, and the package ships
# the Linux x64 library in bin/napi-v6/linux/x64/.
#
#   export ONNXRUNTIME_LIB=$(scripts/fetch-onnxruntime.sh)
#
# Environment: ORT_VERSION (default 1.30.0), KADAPTER_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/kadapter).
set -euo pipefail
version=${ORT_VERSION:-1.30.0}
cache=${KADAPTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kadapter}
dir="$cache/onnxruntime/$version"
lib="$dir/libonnxruntime.so"
if [ -s "$lib" ]; then
  echo "$lib"
  exit 0
fi
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "fetch-onnxruntime: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp" "package/bin/napi-v6/linux/$arch/libonnxruntime.so.1"
mv "$tmp/package/bin/napi-v6/linux/$arch/libonnxruntime.so.1" "$lib.tmp"
mv "$lib.tmp" "$lib"
echo "$lib"
