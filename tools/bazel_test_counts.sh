#!/usr/bin/env bash
# Counts test cases from a `bazel test --test_summary=short` log.
#
#   tools/bazel_test_counts.sh LOG TESTLOGS_DIR BAZEL_STATUS
#
# Prints "PASSED FAILED": test cases from each target's test.xml (a target
# without one counts as one case), failed targets counting at least one
# failure, and one failure when bazel failed before running any test.
set -uo pipefail
log=$1
testlogs=$2
bazel_status=$3

passed=0
failed=0
# Lines like "//tests/codegen:golden_test   (cached) PASSED in 0.4s".
while read -r label status; do
  xml="$testlogs/$(echo "${label#//}" | tr ':' '/')/test.xml"
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
}' "$log")
if [ "$bazel_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "bazel test failed before running tests (exit $bazel_status)" >&2
  failed=$((failed + 1))
fi
echo "$passed $failed"
