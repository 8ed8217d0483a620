#ifndef MODELHUB_RUNTIME_TOKENIZERS_BPE_MODEL_H_
#define MODELHUB_RUNTIME_TOKENIZERS_BPE_MODEL_H_

// The two byte-pair-encoding models of the tokenizers: Hugging Face's BPE
// (a vocabulary and ranked merges of token pairs; byte fallback, unknown
// token, ignore_merges) and tiktoken's (ranks of byte strings, the pair whose
// concatenation ranks lowest merged first). Both cache the ids of the words
// they have seen; both are safe to use from several threads.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace modelhub {

// Debian's Abseil has its own string_view; its hash maps look keys up by it.
inline absl::string_view ToAbsl(std::string_view text) { return {text.data(), text.size()}; }

// Remembers the ids of recent words. Thread-safe; forgets everything when full.
class WordCache {
 public:
  // Appends the cached ids of `word` to `*ids` and returns true, or returns false.
  bool Lookup(std::string_view word, std::vector<int64_t>* ids) const;
  void Insert(std::string_view word, const int64_t* ids, size_t count);

 private:
  static constexpr size_t kCapacity = 1 << 16;
  static constexpr size_t kMaxWordBytes = 256;
  mutable std::mutex mutex_;
  absl::flat_hash_map<std::string, std::vector<int32_t>> entries_;
};

// One merge of a BPE model: `left` and `right` token ids merge into `result`.
struct BpeMerge {
  int32_t left;
  int32_t right;
  int32_t result;
};

// The options of a Hugging Face BPE model ("model" in tokenizer.json).
struct BpeOptions {
  std::optional<int32_t> unk_id;  // the id of unk_token, when it has one
  bool fuse_unk = false;
  bool byte_fallback = false;             // characters outside the vocabulary become <0xNN>
  bool ignore_merges = false;             // a word in the vocabulary is one token
  std::string continuing_subword_prefix;  // "" for none
  std::string end_of_word_suffix;         // "" for none
};

// Hugging Face's BPE over the characters of a pre-tokenized word.
class BpeModel {
 public:
  // `merges` in rank order (the first merges first); a pair listed twice keeps
  // its last rank, as Hugging Face does.
  BpeModel(absl::flat_hash_map<std::string, int32_t> vocab, const std::vector<BpeMerge>& merges,
           BpeOptions options);

  // Appends the ids of `word` (valid UTF-8, not empty) to `*ids`.
  void Tokenize(std::string_view word, std::vector<int64_t>* ids) const;

  // The id of `token`, or nullopt.
  std::optional<int32_t> TokenToId(std::string_view token) const;

 private:
  void MergeWord(std::string_view word, std::vector<int64_t>* ids) const;
  void TokenizeChunk(std::string_view word, std::vector<int64_t>* ids) const;

  // True when no merge joins a symbol ending in a character other than U+2581
  // with one starting with U+2581: a word can then be cut before every U+2581
  // that follows another character and its chunks tokenized apart.
  bool split_at_metaspace_ = false;

  absl::flat_hash_map<std::string, int32_t> vocab_;
  // (left << 32 | right) -> (rank, result)
  absl::flat_hash_map<uint64_t, std::pair<int32_t, int32_t>> merges_;
  BpeOptions options_;
  int32_t byte_ids_[256];  // the id of <0xNN>, or -1
  mutable WordCache cache_;
};

// tiktoken's BPE over the bytes of a word: `ranks` maps byte strings (every
// single byte among them) to their rank, which is also their token id.
class TiktokenModel {
 public:
  explicit TiktokenModel(absl::flat_hash_map<std::string, int32_t> ranks);

  // Appends the ids of `word` (not empty) to `*ids`.
  void Tokenize(std::string_view word, std::vector<int64_t>* ids) const;

 private:
  int32_t RankOf(std::string_view bytes) const;

  absl::flat_hash_map<std::string, int32_t> ranks_;
  mutable WordCache cache_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_TOKENIZERS_BPE_MODEL_H_
