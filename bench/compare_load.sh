#!/usr/bin/env bash
# Checkpoint loading side by side in one run: modelhub's LoadCheckpoint (pread and
# mmap strategies on safetensors, and pread on a torch.save copy of the same
# tensors) against this machine's one-thread memcpy, and the torch.save copy
# loaded by Python's torch.load + load_state_dict (Debian's python3-torch), each
# with its peak resident memory growth over the model's bytes.
#
#   bench/compare_load.sh [--keep] [load_bench flags: --arch A --reps N --no-prototypes ...]
#
# Needs tools/install_deps.sh (python3-torch included). Writes the checkpoint and a
# .pt copy of it (about 2x the model's bytes: 4 GB for qwen25_0.5b) in a new folder
# under ${TMPDIR:-/tmp}, removed at the end unless --keep.
set -euo pipefail
cd "$(dirname "$0")/.."

keep=0
bench_args=()
reps=3
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --reps) bench_args+=("$1" "$2"); reps=$2; shift ;;
    --reps=*) bench_args+=("$1"); reps=${1#--reps=} ;;
    *) bench_args+=("$1") ;;
  esac
  shift
done

python=/usr/bin/python3  # Debian's, with python3-torch; `python3` on PATH may lack torch
if ! "$python" -c "import torch" 2>/dev/null; then
  echo "compare_load: $python cannot import torch; run tools/install_deps.sh (python3-torch)" >&2
  exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/modelhub_load_bench.XXXXXX")
if [ "$keep" = 1 ]; then
  trap 'echo "compare_load: kept $dir"' EXIT
else
  trap 'rm -rf "$dir"' EXIT
fi

bazel build -c opt //bench:load_bench >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; exit 1; }
bench() {
  bazel run -c opt --noshow_progress --ui_event_filters=-info //bench:load_bench -- "$@"
}
# The checkpoint and its manifest first, so that Python can write the torch.save copy
# of the shards' bytes (reused while the manifest is unchanged).
bench --dir "$dir" --write-only "${bench_args[@]}" >"$dir/write.txt" 2>&1 ||
  { cat "$dir/write.txt" >&2; exit 1; }

echo "== Python: $python bench/torch_load_baseline.py $dir/manifest.tsv --reps $reps"
"$python" bench/torch_load_baseline.py "$dir/manifest.tsv" --reps "$reps" --keep 2>&1 |
  tee "$dir/torch.txt"

echo
echo "== modelhub: bazel run -c opt //bench:load_bench -- --dir $dir --keep" \
  "--torch-file $dir/torch_state_dict.pt ${bench_args[*]}"
bench --dir "$dir" --keep --torch-file "$dir/torch_state_dict.pt" "${bench_args[@]}" 2>&1 |
  tee "$dir/modelhub.txt"

echo
echo "== side by side (best of $reps; memcpy and Python one thread, LoadCheckpoint one per core;"
echo "   peak = VmHWM - VmRSS before the load)"
cat "$dir/modelhub.txt" "$dir/torch.txt" | awk -F'\t' '
  $1 == "RESULT" && $2 ~ /^memcpy/ { memcpy = $3; next }
  $1 == "RESULT" { name[++n] = $2; gbps[n] = $3; peak[n] = $4; if ($2 ~ /^torch/) torch = $3
                   if ($2 ~ /LoadCheckpoint pread$/) st = $3; if ($2 ~ /torch.save file/) pt = $3 }
  END {
    printf "%-48s %8s %12s %18s %14s\n", "load", "GB/s", "x memcpy", "peak / model bytes", "x torch.load"
    printf "%-48s %8.2f %12s %18s %14s\n", "memcpy 1 thread (reference)", memcpy, "1.000x", "-", "-"
    for (i = 1; i <= n; ++i) {
      printf "%-48s %8.2f %11.3fx %17.2fx %13.2fx\n", name[i], gbps[i], gbps[i] / memcpy, peak[i],
             (torch > 0 ? gbps[i] / torch : 0)
    }
    printf "targets: >= 0.80x memcpy, <= 1.10x model bytes (+ a small constant)\n"
    if (st > 0 && pt > 0) {
      printf "torch.save file / safetensors, both LoadCheckpoint pread: %.2fx (target >= 0.70x)\n",
             pt / st
    }
  }'
