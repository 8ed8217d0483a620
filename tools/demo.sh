#!/usr/bin/env bash
# The main job: builds the modelhub CLI and runs `modelhub demo`. Arguments are
# passed to the demo (e.g. --device cuda --dtype bfloat16).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
bazel run -c opt //:modelhub -- demo "$@"
