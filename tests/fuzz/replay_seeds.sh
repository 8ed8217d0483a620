#!/usr/bin/env bash
# Runs a fuzz target (built with replay_main, or a libFuzzer binary) once on
# each seed given: a seed that crashes, hangs or throws anything but a
# modelhub error fails the test.
set -euo pipefail
fuzzer=$1
shift
[ $# -gt 0 ] || { echo "no seeds given" >&2; exit 1; }
exec "$fuzzer" "$@"
