#!/usr/bin/env bash
# The tests of everything that reads untrusted input (checkpoint formats and
# mapping, cards and configs, downloads, the hub, tokenizers, the spec
# compiler, and the fuzzers' seed replays) built with AddressSanitizer and
# UndefinedBehaviorSanitizer.
#
#   tools/sanitize.sh [CONFIG] [bazel args...]
#
# CONFIG is a .bazelrc config: `fuzz` (default: clang-14 with ASan and UBSan
# together, the build tools/fuzz.sh then reuses), `asan` or `ubsan` (GCC, one
# sanitizer each). LibTorch itself is not instrumented. Left out: the model
# math (tests/runtime/models, tests/runtime/nn, tests/families, the independent
# reference in tests/testing:hf_reference_test), which is LibTorch arithmetic
# on tensors modelhub allocated through LibTorch, and the CLI tests, which run
# the same code through a subprocess. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
config=${1:-fuzz}
[ $# -gt 0 ] && shift

targets=(
  //tests/codegen/...
  //tests/fuzz/...
  //tests/runtime/assets/...
  //tests/runtime/blueprint/...
  //tests/runtime/formats/...
  //tests/runtime/mapping/...
  //tests/runtime/config/...
  //tests/runtime/core/...
  //tests/runtime/distributed/...
  //tests/runtime/download/...
  //tests/runtime/hub/...
  //tests/runtime/tokenizers/...
  //tests/testing:fake_hub_test
)
# MODELHUB_BAZEL_OUTPUT_BASE, when set, keeps this build in its own output base
# (and leaves the workspace's bazel-* links to the main one).
bazel=(bazel ${MODELHUB_BAZEL_OUTPUT_BASE:+--output_base=$MODELHUB_BAZEL_OUTPUT_BASE})
own_links=(${MODELHUB_BAZEL_OUTPUT_BASE:+--experimental_convenience_symlinks=ignore})
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
"${bazel[@]}" test --config="$config" "${own_links[@]}" --test_summary=short \
  "${targets[@]}" "$@" 2>&1 | tee "$summary"
bazel_status=${PIPESTATUS[0]}
testlogs=$("${bazel[@]}" info --config="$config" bazel-testlogs 2>/dev/null)
read -r passed failed < <(tools/bazel_test_counts.sh "$summary" "$testlogs" "$bazel_status")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
