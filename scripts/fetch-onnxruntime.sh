#!/usr/bin/env bash
# Extracts ONNX Runtime from npm packages into a cache folder and prints the
# path of libonnxruntime.so. ONNX Runtime's own releases are not reachable
# from every machine; the npm registry is.
#
#   export ONNXRUNTIME_LIB=$(scripts/fetch-onnxruntime.sh)   # CPU (default)
#   scripts/fetch-onnxruntime.sh --cuda                       # CPU + CUDA pair
#
# CPU: libonnxruntime.so from onnxruntime-node@$ORT_VERSION
# (bin/napi-v6/linux/<arch>/), into <cache>/onnxruntime/<version>/.
#
# --cuda (Linux x64 only): a core and CUDA execution provider from the same
# ONNX Runtime release, into <cache>/onnxruntime/<version>-cuda/:
#   libonnxruntime.so                   <- onnxruntime-node@$ORT_CUDA_VERSION
#   libonnxruntime_providers_cuda.so    <- $ORT_CUDA_PROVIDER_PKG@$ORT_CUDA_PROVIDER_PKG_VERSION
#   libonnxruntime_providers_shared.so     (Plugins/Linux/x64/)
#   kadapter-ort.json                   what was installed, from where
# The provider's interface to the core is internal and unchecked, so the pair
# is verified before it is installed: the core's ELF version definition
# (VERS_<x.y.z>) must equal $ORT_CUDA_VERSION and the provider must carry the
# same version string. A mismatch is refused (exit 1) and nothing is
# installed. The runtime repeats the check before it loads a pair, and looks
# in <version>-cuda/ first for --device cuda (no variable needed).
# The provider is built for CUDA 13 and cuDNN 9 (libcudart.so.13,
# libcublas(Lt).so.13, libcurand.so.10, libcudnn.so.9, ...): those come from
# NVIDIA's pip wheels (nvidia-*-cu13, site-packages/nvidia/*/lib) or a CUDA
# toolkit; `krun doctor` says which are found.
#
# Environment: ORT_VERSION (CPU, default 1.30.0), ORT_CUDA_VERSION (1.29.0),
# ORT_CUDA_PROVIDER_PKG (com.github.asus4.onnxruntime.linux-x64-gpu),
# ORT_CUDA_PROVIDER_PKG_VERSION (0.4.9), KADAPTER_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/kadapter). Downloads: about 112 MB for the
# core package, 179 MB for the provider package (npm keeps them in its own
# cache, so a rerun downloads nothing).
set -euo pipefail
cuda=0
for a in "$@"; do
  case "$a" in
    --cuda) cuda=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fetch-onnxruntime: unknown argument $a (want --cuda)" >&2; exit 2 ;;
  esac
done
cache=${KADAPTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kadapter}
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "fetch-onnxruntime: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac

# core_version FILE: the x.y.z of the core's VERS_x.y.z version definition.
core_version() {
  LC_ALL=C grep -aoE 'VERS_[0-9]+\.[0-9]+\.[0-9]+' "$1" | sed -n '1s/^VERS_//p'
}
# provider_has_version FILE V: the provider carries V as a whole string.
provider_has_version() {
  if command -v strings >/dev/null; then
    # grep reads everything (no -q): an early exit would fail the pipe.
    strings -n 5 "$1" | grep -xF "$2" >/dev/null
  else
    LC_ALL=C grep -aF "$2" "$1" >/dev/null
  fi
}

if [ "$cuda" = 0 ]; then
  version=${ORT_VERSION:-1.30.0}
  dir="$cache/onnxruntime/$version"
  lib="$dir/libonnxruntime.so"
  if [ -s "$lib" ]; then
    echo "$lib"
    exit 0
  fi
  mkdir -p "$dir"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
  tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp" "package/bin/napi-v6/linux/$arch/libonnxruntime.so.1"
  mv "$tmp/package/bin/napi-v6/linux/$arch/libonnxruntime.so.1" "$lib.tmp"
  mv "$lib.tmp" "$lib"
  echo "$lib"
  exit 0
fi

if [ "$arch" != x64 ]; then
  echo "fetch-onnxruntime: --cuda: the npm CUDA provider package is for Linux x64 only (this is $(uname -m))" >&2
  exit 1
fi
version=${ORT_CUDA_VERSION:-1.29.0}
ppkg=${ORT_CUDA_PROVIDER_PKG:-com.github.asus4.onnxruntime.linux-x64-gpu}
pver=${ORT_CUDA_PROVIDER_PKG_VERSION:-0.4.9}
dir="$cache/onnxruntime/$version-cuda"
lib="$dir/libonnxruntime.so"
if [ -s "$lib" ] && [ -s "$dir/libonnxruntime_providers_cuda.so" ] && [ -s "$dir/kadapter-ort.json" ]; then
  echo "$lib"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-onnxruntime: downloading onnxruntime-node@$version (~112 MB) and $ppkg@$pver (~179 MB) from npm" >&2
(cd "$tmp" && npm pack --silent "onnxruntime-node@$version" "$ppkg@$pver" >/dev/null)
tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp" "package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
mkdir -p "$tmp/prov"
tar -xzf "$tmp/$ppkg-$pver.tgz" -C "$tmp/prov" \
  package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so package/Plugins/Linux/x64/libonnxruntime_providers_shared.so
core="$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
pdir="$tmp/prov/package/Plugins/Linux/x64"
cv=$(core_version "$core")
if [ "$cv" != "$version" ]; then
  echo "fetch-onnxruntime: refusing the pair: onnxruntime-node@$version's core says it is ONNX Runtime '${cv:-unknown}', not $version" >&2
  exit 1
fi
if ! provider_has_version "$pdir/libonnxruntime_providers_cuda.so" "$version"; then
  echo "fetch-onnxruntime: refusing the pair: $ppkg@$pver's CUDA provider does not carry ONNX Runtime version $version" \
    "(core $cv); a provider must come from the same release as its core. Set ORT_CUDA_VERSION / ORT_CUDA_PROVIDER_PKG_VERSION to a matching pair" >&2
  exit 1
fi
mkdir -p "$dir"
for f in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
  mv "$pdir/$f" "$dir/$f.tmp" && mv "$dir/$f.tmp" "$dir/$f"
done
cat > "$dir/kadapter-ort.json.tmp" <<EOF
{"ort_version": "$version", "core": "onnxruntime-node@$version bin/napi-v6/linux/x64/libonnxruntime.so.1",
 "providers": "$ppkg@$pver Plugins/Linux/x64", "cuda": "13", "cudnn": "9"}
EOF
mv "$dir/kadapter-ort.json.tmp" "$dir/kadapter-ort.json"
# The core goes last: its presence marks a complete install.
mv "$core" "$lib.tmp"
mv "$lib.tmp" "$lib"
echo "$lib"
