#!/usr/bin/env bash
# Downloads side by side in one run, over loopback from the fake Hub
# (tests/testing/fake_hub/fake_hub_server.py, sendfile): a 1 GiB file through
# modelhub's Hub path (hg://, blob verified against its LFS SHA-256) and URL
# path (SHA-256 while receiving), both with fsync and rename, against
# `curl -o FILE` (no hashing, no fsync) and `curl -o /dev/null` (the loopback
# ceiling). Prints each one's best of N runs and its ratio to curl -o FILE.
#
#   bench/compare_download.sh [--size-mib 1024] [--reps 3]
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=1024
reps=3
while [ $# -gt 0 ]; do
  case "$1" in
    --size-mib) size_mib=$2; shift ;;
    --reps) reps=$2; shift ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done

bazel build -c opt //bench:download_bench >&2
bench=bazel-bin/bench/download_bench
work=$(mktemp -d "${TMPDIR:-/tmp}/modelhub-download.XXXXXX")
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/files" "$work/repos/bench/big"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/files/model.safetensors"
ln "$work/files/model.safetensors" "$work/repos/bench/big/model.safetensors"
echo '{}' >"$work/repos/bench/big/config.json"
/usr/bin/python3 tests/testing/fake_hub/fake_hub_server.py --repos "$work/repos" \
  --files "$work/files" >"$work/port" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(awk '{print $2}' "$work/port")
export HF_ENDPOINT="http://127.0.0.1:$port"
url="$HF_ENDPOINT/files/model.safetensors"
bytes=$((size_mib * 1024 * 1024))
# The server hashes each file once, on first use: not part of any timing.
curl -s -o /dev/null "$url"
curl -s -o /dev/null "$HF_ENDPOINT/api/models/bench/big/revision/main"

best_curl() {  # best rate (GB/s) of curl -o $1
  local best=0
  for _ in $(seq "$reps"); do
    local start end rate
    start=$(date +%s.%N)
    curl -s -o "$1" "$url"
    end=$(date +%s.%N)
    rm -f "$work/curl.bin"
    rate=$(awk -v b="$bytes" -v s="$start" -v e="$end" 'BEGIN { print b / (e - s) / 1e9 }')
    best=$(awk -v r="$rate" -v b="$best" 'BEGIN { print (r > b ? r : b) }')
  done
  printf '%.2f' "$best"
}

hub=$("$bench" hg://bench/big --reps "$reps" --cache "$work/cache" | awk '/^best/ {print $2}')
plain=$("$bench" "$url" --reps "$reps" --cache "$work/cache" | awk '/^best/ {print $2}')
to_file=$(best_curl "$work/curl.bin")
to_null=$(best_curl /dev/null)

echo "download of ${size_mib} MiB over loopback, best of $reps (GB/s; ratio to curl -o FILE):"
printf '  %-44s %6s  %5s\n' "what" "GB/s" "ratio"
for row in "modelhub hg:// (SHA-256 + fsync)|$hub" "modelhub URL (SHA-256 + fsync)|$plain" \
  "curl -o FILE (no hash, no fsync)|$to_file" "curl -o /dev/null (loopback ceiling)|$to_null"; do
  name=${row%|*}
  rate=${row#*|}
  printf '  %-44s %6s  %5.2fx\n' "$name" "$rate" "$(awk -v r="$rate" -v f="$to_file" 'BEGIN { print r / f }')"
done
