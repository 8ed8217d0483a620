#!/usr/bin/env bash
# Checks that dependencies between modelhub's packages flow one way: a package's
# libraries and binaries may depend only on the layers below its own (tests may
# use anything). Fails naming each package with a dependency that points up or
# sideways within its layer, and the path to it.
set -uo pipefail
cd "$(dirname "$0")/.."

# Lowest first; packages on one line are one layer and may not depend on each other.
layers=(
  "runtime/core"
  "runtime/blueprint runtime/assets runtime/download runtime/formats runtime/distributed runtime/tokenizers"
  "runtime/config runtime/nn runtime/mapping"
  "runtime/models"
  "runtime/hub"
  "codegen"
  "families"
  "tools"
)

status=0
checked=0
for ((i = 0; i < ${#layers[@]}; i++)); do
  for package in ${layers[i]}; do
    forbidden=()
    for ((j = i; j < ${#layers[@]}; j++)); do
      for other in ${layers[j]}; do
        [ "$other" = "$package" ] || forbidden+=("//$other/...")
      done
    done
    [ ${#forbidden[@]} -gt 0 ] || continue
    above=$(IFS=+; echo "${forbidden[*]}" | sed 's/+/ + /g')
    # Targets of the package itself, tests excluded (they may use anything below tools).
    sources="kind('cc_library|cc_binary|genrule', //$package/...)"
    found=$(bazel query "deps($sources) intersect ($above)" --output=label 2>/dev/null | head -1)
    checked=$((checked + 1))
    if [ -n "$found" ]; then
      echo "layering: $package depends on $found, which is not below it:"
      bazel query "somepath($sources, $found)" --output=label 2>/dev/null | sed 's/^/  /'
      status=1
    fi
  done
done
[ $status -eq 0 ] && echo "layering: $checked packages depend only on the layers below them"
exit $status
