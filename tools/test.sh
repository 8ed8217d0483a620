#!/usr/bin/env bash
# The full test suite: every Bazel test, then the consumer example built as an
# external workspace would build it. Ends with the line "N passed, N failed",
# counting test cases (from each target's test.xml) plus the consumer build.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh || exit 1

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
bazel test --test_summary=short //... "$@" 2>&1 | tee "$summary"
bazel_status=${PIPESTATUS[0]}

read -r passed failed < <(tools/bazel_test_counts.sh "$summary" bazel-testlogs "$bazel_status")

echo "== consumer example: examples/consumer uses @modelhub//families/{qwen,llama} and @modelhub//cards"
if (cd examples/consumer && bazel build //:create_qwen //:load_tiny && bazel-bin/create_qwen &&
    bazel-bin/load_tiny); then
  passed=$((passed + 1))
else
  echo "consumer example FAILED"
  failed=$((failed + 1))
fi
(cd examples/consumer && bazel shutdown) >/dev/null 2>&1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
