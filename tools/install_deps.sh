#!/usr/bin/env bash
# Installs the Debian packages modelhub builds and tests with, if any is missing.
# Idempotent: does nothing (and needs no network) when all are installed.
set -euo pipefail

packages=(
  bazel-bootstrap       # Bazel 4.2.3 (pulls a JDK)
  g++
  libtorch-dev          # LibTorch 1.13 (CPU); LIBTORCH_HOME selects another
  libgloo-dev           # headers of the Gloo engine of LibTorch's c10d (tensor parallelism)
  libopenblas0-pthread  # fast BLAS for LibTorch (the default reference BLAS is ~17x slower)
  libyaml-cpp-dev       # specs, configs, cards
  libabsl-dev           # strings, hash maps
  libpcre2-dev          # tokenizer pre-tokenizer regexes (Unicode properties, lookahead)
  libicu-dev            # Unicode normalization (NFC) of tokenizers
  zlib1g-dev            # CRC-32 of the small records of torch.save zips
  libcli11-dev          # command line parsing
  nlohmann-json3-dev    # JSON: safetensors headers, index files, config.json
  libcurl4-openssl-dev  # HTTP(S) downloads
  libssl-dev            # SHA-256 of downloads (OpenSSL's EVP)
  libarchive-dev        # unpacking .tar/.tar.gz/.zip checkpoints
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  python3-torch         # bench/: torch.load side by side; torchrun, the launcher tests use
  clang-14              # fuzzers and the sanitizer suite (--config=fuzz)
  libclang-rt-14-dev    # libFuzzer and the sanitizer runtimes
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "modelhub: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "modelhub: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
