// Measures modelhub's tokenizer.json tokenizer (ReadTokenizerJson + PipelineTokenizer)
// on one thread, with the same definitions as the reference side,
// tools/tokenizer_oracle/bench.js (Hugging Face's Rust `tokenizers` 0.22.2), so the
// two print comparable lines. bench/compare_tokenizers.sh runs both side by side.
//
//   bazel build -c opt //bench:tokenizer_bench
//   python3 tools/tokenizer_oracle/make_bench_text.py /tmp/bench.txt
//   bazel-bin/bench/tokenizer_bench TOKENIZER_JSON /tmp/bench.txt
//       [--whole-reps N (5)] [--line-reps N (3)]
//
// It loads the tokenizer three times (read + parse the JSON + compile: best load
// time), encodes the whole file as one string (best of --whole-reps), then line by
// line, one Encode call per line with its '\n' kept (best of --line-reps), always
// add_special_tokens=false, and prints one line:
//   {"load_ms":..., "whole_mb_s":..., "lines_mb_s":..., "ids":N_whole,
//    "ids_lines":N_lines, "ids_hash":"<sha256 hex of the whole-text ids joined by ','>"}
// MB is 1e6 bytes of UTF-8 input; times are std::chrono::steady_clock. A benchmark,
// not a test (compare_tokenizers.sh checks that the ids hashes agree).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/download/sha256.h"
#include "runtime/tokenizers/pipeline_tokenizer.h"
#include "runtime/tokenizers/tokenizer_json.h"

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "tokenizer_bench: cannot read %s\n", path.c_str());
    std::exit(1);
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The lines of `text`, each keeping its '\n'; a last line without one if not empty
// (bench.js: text.match(/[^\n]*\n|[^\n]+$/g)).
std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t newline = text.find('\n', begin);
    const size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
    lines.push_back(text.substr(begin, end - begin));
    begin = end;
  }
  return lines;
}

std::string IdsHash(const std::vector<int64_t>& ids) {
  std::string joined;
  joined.reserve(ids.size() * 7);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) joined += ',';
    joined += std::to_string(ids[i]);
  }
  modelhub::Sha256 sha;
  sha.Update(joined.data(), joined.size());
  return sha.HexDigest();
}

int Run(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: tokenizer_bench TOKENIZER_JSON TEXT_FILE [--whole-reps N] "
                 "[--line-reps N]\n");
    return 2;
  }
  const std::string tokenizer_path = argv[1];
  const std::string text_path = argv[2];
  int whole_reps = 5;  // bench.js's WHOLE_REPS
  int line_reps = 3;   // bench.js's LINE_REPS
  for (int i = 3; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc || (flag != "--whole-reps" && flag != "--line-reps")) {
      std::fprintf(stderr, "tokenizer_bench: unknown or incomplete flag %s\n", flag.c_str());
      return 2;
    }
    (flag == "--whole-reps" ? whole_reps : line_reps) = std::max(1, std::atoi(argv[i + 1]));
  }

  constexpr int kLoads = 3;  // bench.js's LOADS
  std::unique_ptr<modelhub::PipelineTokenizer> tokenizer;
  double load_best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < kLoads; ++i) {
    tokenizer.reset();  // the previous one is freed outside the timed region
    const Clock::time_point start = Clock::now();
    tokenizer =
        std::make_unique<modelhub::PipelineTokenizer>(modelhub::ReadTokenizerJson(tokenizer_path));
    load_best = std::min(load_best, SecondsSince(start));
  }

  const std::string text = ReadFile(text_path);
  const double megabytes = static_cast<double>(text.size()) / 1e6;
  const std::vector<std::string_view> lines = SplitLines(text);

  std::vector<int64_t> whole_ids;
  double whole_best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < whole_reps; ++r) {
    whole_ids.clear();
    whole_ids.shrink_to_fit();  // each repetition builds its result from nothing
    const Clock::time_point start = Clock::now();
    whole_ids = tokenizer->Encode(text, modelhub::SpecialTokens::kOmit);
    whole_best = std::min(whole_best, SecondsSince(start));
  }

  size_t line_ids = 0;
  double lines_best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < line_reps; ++r) {
    size_t count = 0;
    const Clock::time_point start = Clock::now();
    for (const std::string_view line : lines) {
      count += tokenizer->Encode(line, modelhub::SpecialTokens::kOmit).size();
    }
    lines_best = std::min(lines_best, SecondsSince(start));
    line_ids = count;
  }

  std::printf(
      "{\"load_ms\":%.1f,\"whole_mb_s\":%.3f,\"lines_mb_s\":%.3f,\"ids\":%zu,"
      "\"ids_lines\":%zu,\"ids_hash\":\"%s\"}\n",
      load_best * 1e3, megabytes / whole_best, megabytes / lines_best, whole_ids.size(), line_ids,
      IdsHash(whole_ids).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tokenizer_bench: %s\n", e.what());
    return 1;
  }
}
