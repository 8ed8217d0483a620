#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz for a while, from its seeds, and
# reports executions, coverage and findings per fuzzer.
#
#   tools/fuzz.sh [--seconds N] [--seed N] [--corpus-dir DIR] [fuzzer...]
#
# --seconds N       time per fuzzer (default 60)
# --seed N          libFuzzer's random seed (default 1, so that a run explores
#                   the same inputs in the same order every time, and CI finds
#                   only what a change brings; 0 picks a new seed each run)
# --runs N          stop each fuzzer after N inputs (default -1: no limit); with a
#                   fixed seed a run is then the same on any machine
# --corpus-dir DIR  keep each fuzzer's corpus in DIR/<fuzzer> and grow it
#                   across runs (default: a fresh temporary folder)
# fuzzer...         names such as safetensors_fuzzer (default: all)
#
# Inputs that crash, leak, hang (over 10 s) or exceed 2 GiB are written to
# fuzz-findings/<fuzzer>-crash-... (etc.) in the workspace; replay one with
# `bazel-bin/tests/fuzz/<fuzzer> FILE` in an ordinary build, and add it to the
# fuzzer's seeds as a regression test. Ends with "N passed, N failed" (a
# fuzzer passes when it found nothing); exit status 1 when anything was found.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=60
seed=1
runs=-1
corpus_root=""
fuzzers=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --corpus-dir) corpus_root=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) fuzzers+=("$1"); shift ;;
  esac
done
if [ ${#fuzzers[@]} -eq 0 ]; then
  fuzzers=(safetensors_fuzzer checkpoint_index_fuzzer zip_archive_fuzzer torch_pickle_fuzzer
           asset_store_fuzzer spec_parser_fuzzer hf_config_fuzzer)
fi

targets=()
for fuzzer in "${fuzzers[@]}"; do
  targets+=("//tests/fuzz:$fuzzer" "//tests/fuzz:${fuzzer}_seed_list")
done
# MODELHUB_BAZEL_OUTPUT_BASE, when set, keeps this build in its own output base
# (and leaves the workspace's bazel-* links to the main one).
bazel=(bazel ${MODELHUB_BAZEL_OUTPUT_BASE:+--output_base=$MODELHUB_BAZEL_OUTPUT_BASE})
own_links=(${MODELHUB_BAZEL_OUTPUT_BASE:+--experimental_convenience_symlinks=ignore})
"${bazel[@]}" build --config=fuzz "${own_links[@]}" "${targets[@]}" || exit 1
bin=$("${bazel[@]}" info --config=fuzz bazel-bin 2>/dev/null)
execroot=$("${bazel[@]}" info --config=fuzz execution_root 2>/dev/null)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
findings_dir=$PWD/fuzz-findings
mkdir -p "$findings_dir"
failed=0
passed=0
printf '%-26s %12s %8s %8s %8s  %s\n' fuzzer executions exec/s cov features result
for fuzzer in "${fuzzers[@]}"; do
  corpus=${corpus_root:+$corpus_root/$fuzzer}
  corpus=${corpus:-$scratch/$fuzzer}
  mkdir -p "$corpus"
  list="$bin/tests/fuzz/$fuzzer.seeds"
  dict=$(head -n 1 "$list")
  i=0
  while read -r seed_file; do
    cp "$execroot/$seed_file" "$corpus/seed-$i-$(basename "$seed_file")"
    i=$((i + 1))
  done < <(tail -n +2 "$list")
  dict_flag=()
  [ "$dict" != "-" ] && dict_flag=("-dict=$execroot/$dict")
  log="$scratch/$fuzzer.log"
  # Findings are what the harness calls crashes: escaping non-modelhub
  # exceptions, sanitizer reports, hangs and memory blow-ups.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin/tests/fuzz/$fuzzer" "$corpus" "${dict_flag[@]}" -max_total_time="$seconds" -seed="$seed" -runs="$runs" \
      -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$findings_dir/$fuzzer-" >"$log" 2>&1
  status=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  features=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  if [ $status -eq 0 ]; then
    result=ok
    passed=$((passed + 1))
  else
    result="FOUND (exit $status)"
    failed=$((failed + 1))
    echo "== $fuzzer: last lines of its log" >&2
    tail -n 40 "$log" >&2
  fi
  printf '%-26s %12s %8s %8s %8s  %s\n' "$fuzzer" "${executions:-?}" "${rate:-?}" "${cov:-?}" \
    "${features:-?}" "$result"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
