#!/usr/bin/env bash
# Side by side in one run: `modelhub demo`'s forward pass with the BLAS LibTorch
# loads by default (OpenBLAS once tools/install_deps.sh ran) and with Debian's
# reference BLAS, which is what a machine without libopenblas0 uses.
#
#   bench/compare_blas.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
bazel build -c opt //:modelhub >/dev/null 2>&1
binary=bazel-bin/tools/cli/modelhub
reference_dir=/usr/lib/x86_64-linux-gnu/blas   # Debian's libblas3

forward_ms() {  # prints the demo's forward time in ms
  "$@" demo | sed -n 's/^forward: .* in \([0-9.]*\) ms.*/\1/p'
}

for round in $(seq "$rounds"); do
  default=$(forward_ms "$binary")
  reference=$(LD_LIBRARY_PATH=$reference_dir forward_ms "$binary")
  awk -v r="$round" -v d="$default" -v ref="$reference" \
    'BEGIN { printf "round %d: default BLAS %.1f ms, reference BLAS %.1f ms, ratio %.1fx\n", r, d, ref, ref / d }'
done
