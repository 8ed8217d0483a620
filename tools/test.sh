#!/usr/bin/env bash
# The full test suite: every Bazel test, then the consumer example (the
# README's "another Bazel workspace" files) built as an external workspace
# would build it. Ends with the line "N passed, N failed", counting test cases
# (from each target's test.xml), the check that every test body asserts, the
# package layering check, and the consumer example.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh || exit 1

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
bazel test --test_summary=short //... "$@" 2>&1 | tee "$summary"
bazel_status=${PIPESTATUS[0]}

read -r passed failed < <(tools/bazel_test_counts.sh "$summary" bazel-testlogs "$bazel_status")

echo "== every test body asserts something (tools/check_test_assertions.py)"
if python3 tools/check_test_assertions.py; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== packages depend only on the layers below them (tools/check_layering.sh)"
if tools/check_layering.sh; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== consumer example: README's 'another Bazel workspace' files (examples/consumer), built there"
consumer_ok=true
python3 tools/check_readme_example.py || consumer_ok=false
if $consumer_ok && (cd examples/consumer && bazel build //:create_qwen //:load_tiny &&
    bazel-bin/create_qwen && bazel-bin/load_tiny &&
    bazel test --test_output=errors //nano:nano_conformance_test); then
  # Moved out of bazel-bin, the binary has no runfiles: it must say it found no
  # built-in cards instead of only "no model is named 'tiny'".
  moved=$(mktemp -d)
  cp examples/consumer/bazel-bin/load_tiny "$moved/"
  moved_err=$(cd "$moved" && HOME="$moved" MODELHUB_ASSET_DIR="$moved/none" ./load_tiny 2>&1)
  moved_status=$?
  rm -rf "$moved"
  echo "moved load_tiny: exit $moved_status: $moved_err"
  if [ $moved_status -ne 1 ] || ! grep -q "built-in cards" <<<"$moved_err"; then
    consumer_ok=false
  fi
else
  consumer_ok=false
fi
if $consumer_ok; then
  passed=$((passed + 1))
else
  echo "consumer example FAILED"
  failed=$((failed + 1))
fi
(cd examples/consumer && bazel shutdown) >/dev/null 2>&1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
