#!/usr/bin/env bash
# Tokenizer encode speed side by side, one thread: modelhub's tokenizer.json tokenizer
# (bench/tokenizer_bench.cc) against the reference, Hugging Face's Rust `tokenizers`
# crate 0.22.2 through npm @anush008/tokenizers 0.6.0 (tools/tokenizer_oracle/bench.js),
# on the same 1 MiB of mixed text (tools/tokenizer_oracle/make_bench_text.py) under the
# six test layouts. A benchmark, not a test: its speeds depend on the machine and on
# what else runs on it (run it on a quiet machine); it fails only when the ids differ.
#
#   bench/compare_tokenizers.sh [--runs N]
#
# For each layout it runs both sides one after the other, pinned to CPU 0 with
# `taskset -c 0` when that works, RAYON_NUM_THREADS=1, and prints one markdown table
# per run (--runs N: N tables, default 1): whole-text and line-by-line encode MB/s
# (MB = 1e6 bytes; best of 5 and of 3 calls per side), load ms (best of 3), the ratios
# (modelhub / reference for MB/s, reference / modelhub for load ms: above 1 means
# modelhub is faster), and whether the ids agree: the SHA-256 of the whole text's ids
# and the number of ids of the line-by-line pass. Exits 1 when they differ anywhere.
# Needs bazel, python3, node and npm (the oracle is installed on first use by
# tools/tokenizer_oracle/freeze.sh --install-only).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=${2:?--runs needs a number}; shift ;;
    --runs=*) runs=${1#--runs=} ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--runs N]" >&2; exit 2 ;;
  esac
  shift
done
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "compare_tokenizers: --runs wants a positive integer, not '$runs'" >&2
  exit 2
fi

layouts=(qwen25 qwen3 llama3 llama2 mistral mistral_metaspace_first)

dir=$(mktemp -d "${TMPDIR:-/tmp}/modelhub_tokenizer_bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT

bazel build -c opt //bench:tokenizer_bench //tests/runtime/tokenizers/testdata:tokenizer_files \
  >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; exit 1; }
# Private copies, so that another build in this workspace cannot swap them mid-run.
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
cp "$bin/bench/tokenizer_bench" "$dir/tokenizer_bench"
for layout in "${layouts[@]}"; do
  mkdir -p "$dir/$layout"
  cp "$bin/tests/runtime/tokenizers/testdata/tokenizers/$layout/tokenizer.json" "$dir/$layout/"
done

python3 tools/tokenizer_oracle/make_bench_text.py "$dir/text.txt"
node_path=$(tools/tokenizer_oracle/freeze.sh --install-only)

pin=()
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
  pin=(taskset -c 0)
fi

echo "# tokenizer encode, one thread: modelhub vs Rust tokenizers 0.22.2"
echo "text: $(wc -c <"$dir/text.txt") bytes (make_bench_text.py); pinning: ${pin[*]:-none}"
echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"

status=0
for ((run = 1; run <= runs; ++run)); do
  : >"$dir/results.tsv"
  loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
  for layout in "${layouts[@]}"; do
    json="$dir/$layout/tokenizer.json"
    mh=$(RAYON_NUM_THREADS=1 "${pin[@]}" "$dir/tokenizer_bench" "$json" "$dir/text.txt")
    ref=$(NODE_PATH="$node_path" RAYON_NUM_THREADS=1 "${pin[@]}" \
      node tools/tokenizer_oracle/bench.js "$json" "$dir/text.txt")
    printf '%s\t%s\t%s\n' "$layout" "$mh" "$ref" >>"$dir/results.tsv"
  done
  echo
  echo "## run $run of $runs ($(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average before it:" \
    "$loadavg)"
  echo
  python3 - "$dir/results.tsv" <<'EOF' || status=1
import json, sys

rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
print("| layout | modelhub MB/s whole | reference MB/s whole | ratio | modelhub MB/s lines "
      "| reference MB/s lines | ratio | load ms modelhub | load ms reference | ratio "
      "| ids identical |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
bad, slowest = [], None
for layout, mh_text, ref_text in rows:
    mh, ref = json.loads(mh_text), json.loads(ref_text)
    whole = mh["whole_mb_s"] / ref["whole_mb_s"]
    lines = mh["lines_mb_s"] / ref["lines_mb_s"]
    load = ref["load_ms"] / mh["load_ms"]
    same = mh["ids_hash"] == ref["ids_hash"] and mh["ids"] == ref["ids"]
    same_lines = mh["ids_lines"] == ref["ids_lines"]
    if same and same_lines:
        verdict = "yes (%d ids)" % mh["ids"]
    else:
        verdict = "**NO**: " + ", ".join(
            ([] if same else ["whole %d ids %s.. vs %d ids %s.." % (
                mh["ids"], mh["ids_hash"][:12], ref["ids"], ref["ids_hash"][:12])]) +
            ([] if same_lines else ["lines %d vs %d ids" % (mh["ids_lines"], ref["ids_lines"])]))
        bad.append(layout)
    low = min(whole, lines)
    if slowest is None or low < slowest[1]:
        slowest = (layout, low)
    print("| %s | %.3f | %.3f | %.2fx | %.3f | %.3f | %.2fx | %.1f | %.1f | %.2fx | %s |" % (
        layout, mh["whole_mb_s"], ref["whole_mb_s"], whole, mh["lines_mb_s"], ref["lines_mb_s"],
        lines, mh["load_ms"], ref["load_ms"], load, verdict))
print()
print("lowest encode ratio: %.2fx (%s); goal >= 3x on every layout: %s" % (
    slowest[1], slowest[0], "met" if slowest[1] >= 3 else "NOT met"))
if bad:
    print("ids differ on: " + ", ".join(bad), file=sys.stderr)
    sys.exit(1)
EOF
done
exit "$status"
