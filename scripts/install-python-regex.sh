#!/usr/bin/env bash
# Prints the path of a python3 that imports the `regex` module, which the
# legacy-tokenizer differential test needs (tokenizer/testdata/legacy_ref.py
# runs pytorch_transformers 1.2.0's pattern on it, as the original did).
# Tests find the interpreter through KADAPTER_PYTHON.
#
#   export KADAPTER_PYTHON=$(scripts/install-python-regex.sh)
#
# Looks at $KADAPTER_PYTHON, python3 on PATH and /usr/bin/python3; when none
# imports regex, installs Debian's python3-regex (apt-get, as root or through
# sudo -n) for /usr/bin/python3. There is no PyPI step: pip is not needed.
set -euo pipefail
has_regex() { command -v "$1" >/dev/null 2>&1 && "$1" -c 'import regex' >/dev/null 2>&1; }
for py in ${KADAPTER_PYTHON:-} python3 /usr/bin/python3; do
  if has_regex "$py"; then
    command -v "$py"
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-python-regex: no python3 with the regex module, and no apt-get to install python3-regex" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "install-python-regex: no python3 with the regex module; run as root, or: sudo apt-get install python3-regex" >&2
    exit 1
  fi
fi
echo "install-python-regex: installing Debian's python3-regex" >&2
if ! "${sudo[@]}" apt-get install -y -qq python3-regex >/dev/null 2>&1; then
  "${sudo[@]}" apt-get update -qq >/dev/null
  "${sudo[@]}" apt-get install -y -qq python3-regex >/dev/null
fi
if has_regex /usr/bin/python3; then
  echo /usr/bin/python3
  exit 0
fi
echo "install-python-regex: python3-regex is installed but /usr/bin/python3 cannot import regex" >&2
exit 1
