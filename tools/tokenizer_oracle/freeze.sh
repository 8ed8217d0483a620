#!/usr/bin/env bash
# Regenerates tests/runtime/tokenizers/testdata/tokenizer_oracle.json, the frozen output
# of the reference tokenizer (Hugging Face's Rust `tokenizers` crate 0.22.2 through npm
# @anush008/tokenizers 0.6.0) on tokenizer_corpus.json under the six test layouts.
#
#   tools/tokenizer_oracle/freeze.sh                 rewrite the JSON in the source tree
#   tools/tokenizer_oracle/freeze.sh --check         only compare, exit 1 if it differs
#   tools/tokenizer_oracle/freeze.sh --install-only  install the oracle, print its
#                                                    node_modules (NODE_PATH for bench.js)
#
# Needs node, npm (registry.npmjs.org reachable on first run) and bazel. It installs the
# packages pinned by package-lock.json with `npm ci` into
# ${XDG_CACHE_HOME:-$HOME/.cache}/modelhub/tokenizer_oracle (reused while the lock file
# is unchanged), builds //tests/runtime/tokenizers/testdata:tokenizer_files, runs
# freeze.js. The native module is Linux x86-64 glibc only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
testdata="$root/tests/runtime/tokenizers/testdata"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/modelhub/tokenizer_oracle"

mode="${1:-write}"
case "$mode" in
  write | --check | --install-only) ;;
  *)
    echo "usage: $0 [--check | --install-only]" >&2
    exit 2
    ;;
esac

install_oracle() {
  if cmp -s "$here/package-lock.json" "$cache/package-lock.json" &&
    cmp -s "$here/package.json" "$cache/package.json" &&
    [[ -f "$cache/node_modules/@anush008/tokenizers/package.json" ]]; then
    return
  fi
  mkdir -p "$cache"
  rm -rf "$cache/node_modules" "$cache/package.json" "$cache/package-lock.json"
  cp "$here/package.json" "$here/package-lock.json" "$cache/"
  (cd "$cache" && npm ci --ignore-scripts --no-audit --no-fund >&2)
}

install_oracle
if [[ "$mode" == "--install-only" ]]; then
  echo "$cache/node_modules"
  exit 0
fi

cd "$root"
bazel build //tests/runtime/tokenizers/testdata:tokenizer_files
tokenizers="$(bazel info bazel-bin)/tests/runtime/tokenizers/testdata/tokenizers"

out="$(mktemp "${TMPDIR:-/tmp}/tokenizer_oracle.XXXXXX.json")"
trap 'rm -f "$out"' EXIT
NODE_PATH="$cache/node_modules" node "$here/freeze.js" \
  "$tokenizers" "$testdata/tokenizer_corpus.json" "$out"

if [[ "$mode" == "--check" ]]; then
  if cmp -s "$out" "$testdata/tokenizer_oracle.json"; then
    echo "tokenizer_oracle.json is up to date"
  else
    echo "tokenizer_oracle.json differs from the oracle's output; run $0" >&2
    exit 1
  fi
else
  cp "$out" "$testdata/tokenizer_oracle.json"
  echo "wrote $testdata/tokenizer_oracle.json ($(wc -c <"$testdata/tokenizer_oracle.json") bytes)"
fi
