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

passed=0
failed=0
# Lines like "//tests/codegen:golden_test   (cached) PASSED in 0.4s".
while read -r label status; do
  xml="bazel-testlogs/$(echo "${label#//}" | tr ':' '/')/test.xml"
  cases=1
  failures=0
  if [ -f "$xml" ]; then
    header=$(grep -o '<testsuites[^>]*>' "$xml" | head -n 1)
    cases=$(echo "$header" | sed -n 's/.* tests="\([0-9]*\)".*/\1/p')
    failures=$(echo "$header" | sed -n 's/.* failures="\([0-9]*\)".*/\1/p')
    errors=$(echo "$header" | sed -n 's/.* errors="\([0-9]*\)".*/\1/p')
    cases=${cases:-1}
    failures=$(( ${failures:-0} + ${errors:-0} ))
  fi
  if [ "$status" = "PASSED" ]; then
    passed=$((passed + cases))
  else
    [ "$failures" -eq 0 ] && failures=1
    failed=$((failed + failures))
    passed=$((passed + cases - failures))
  fi
done < <(awk '/^\/\// {
  for (i = 2; i <= NF; i++) {
    if ($i ~ /^(PASSED|FAILED|TIMEOUT|FLAKY|INCOMPLETE|SKIPPED)$/ || $i == "NO") { print $1, $i; break }
  }
}' "$summary")
if [ "$bazel_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "bazel test failed before running tests (exit $bazel_status)"
  failed=$((failed + 1))
fi

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
