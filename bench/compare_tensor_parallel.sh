#!/usr/bin/env bash
# Tensor-parallel loading and forward side by side in one run, on a random
# checkpoint of --arch (default qwen25_0.5b, 1.98 GB float32, written by
# bench/load_bench --write-only into a new folder under ${TMPDIR:-/tmp}, removed
# at the end unless --keep): tp = 1, 2 and 4 (4 oversubscribes 2 cores: a data
# point), each rank's load time, peak resident memory growth over the bytes of
# its shards, checkpoint bytes it read over the checkpoint's, and forward
# tokens/s (one sequence of --tokens, median of --reps). Ranks get one
# OpenMP thread each, as under torchrun; tp = 1 uses the machine's default.
#
#   bench/compare_tensor_parallel.sh [--arch A] [--family F] [--tokens N] [--reps N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."

arch=qwen25_0.5b
family=qwen
tokens=128
reps=3
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=$2; shift ;;
    --family) family=$2; shift ;;
    --tokens) tokens=$2; shift ;;
    --reps) reps=$2; shift ;;
    --keep) keep=1 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/modelhub_tp_bench.XXXXXX")
if [ "$keep" = 1 ]; then
  trap 'echo "compare_tensor_parallel: kept $dir"' EXIT
else
  trap 'rm -rf "$dir"' EXIT
fi
bazel build -c opt //bench:load_bench //bench:tp_bench >"$dir/build.log" 2>&1 ||
  { cat "$dir/build.log" >&2; exit 1; }
bazel-bin/bench/load_bench --dir "$dir" --family "$family" --arch "$arch" --write-only \
  >"$dir/write.log" 2>&1 || { cat "$dir/write.log" >&2; exit 1; }
cat "$dir"/model-*.safetensors >/dev/null  # in the page cache for every run

skipped=()
for tp in 1 2 4; do
  if ! bazel-bin/bench/tp_bench --dir "$dir" --family "$family" --arch "$arch" --nproc "$tp" \
    --tokens "$tokens" --reps "$reps" >"$dir/tp$tp.out" 2>"$dir/tp$tp.err"; then
    # A model whose sizes tp cannot split (qwen25_0.5b's 14 heads over 4).
    skipped+=("tp $tp: $(grep -m1 'tp_bench:' "$dir/tp$tp.err")")
  fi
  grep '^RANK' "$dir/tp$tp.out" >"$dir/tp$tp.tsv" || true
done

echo "== $family $arch, float32; bench/compare_tensor_parallel.sh --arch $arch --tokens $tokens --reps $reps"
printf "%-4s %-5s %9s %10s %10s %13s %12s %14s %10s\n" tp rank "load s" "peak MB" \
  "shard MB" "peak/shard" "read MB" "read/ckpt" "tokens/s"
cat "$dir"/tp1.tsv "$dir"/tp2.tsv "$dir"/tp4.tsv | sort -t$'\t' -k3,3n -k2,2n | awk -F'\t' '
  { printf "%-4s %-5s %9.2f %10.1f %10.1f %12.2fx %12.1f %13.3fx %10.0f\n",
           $3, $2, $4, $5, $6, $5 / $6, $7, $7 / $8, $9
    sum[$3] += $7; ckpt[$3] = $8 }
  END { for (tp in sum) printf "tp %s: bytes read over all ranks / checkpoint = %.3fx\n", tp, sum[tp] / ckpt[tp] }'
for line in "${skipped[@]}"; do echo "not run: $line"; done
