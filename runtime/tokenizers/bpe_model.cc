#include "runtime/tokenizers/bpe_model.h"

#include <limits>
#include <queue>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/tokenizers/utf8.h"

namespace modelhub {

bool WordCache::Lookup(std::string_view word, std::vector<int64_t>* ids) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = entries_.find(ToAbsl(word));
  if (it == entries_.end()) return false;
  ids->insert(ids->end(), it->second.begin(), it->second.end());
  return true;
}

void WordCache::Insert(std::string_view word, const int64_t* ids, size_t count) {
  if (word.size() > kMaxWordBytes) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.size() >= kCapacity) entries_.clear();
  entries_.try_emplace(ToAbsl(word), ids, ids + count);
}

BpeModel::BpeModel(absl::flat_hash_map<std::string, int32_t> vocab,
                   const std::vector<BpeMerge>& merges, BpeOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const BpeMerge& merge = merges[rank];
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(merge.left)) << 32) |
                         static_cast<uint32_t>(merge.right);
    merges_[key] = {static_cast<int32_t>(rank), merge.result};
  }
  // Whether words may be cut before each U+2581 (see split_at_metaspace_):
  // SentencePiece-style tokenizers have no pre-tokenizer, so a whole text is
  // one word, and one merge heap over a megabyte of symbols is slow.
  {
    static constexpr std::string_view kMeta = "\xe2\x96\x81";
    std::vector<const std::string*> tokens;
    for (const auto& [token, id] : vocab_) {
      if (id < 0) continue;
      if (static_cast<size_t>(id) >= tokens.size()) tokens.resize(id + 1, nullptr);
      tokens[id] = &token;
    }
    auto starts = [](const std::string& t) { return t.compare(0, kMeta.size(), kMeta) == 0; };
    auto ends = [](const std::string& t) {
      return t.size() >= kMeta.size() &&
             t.compare(t.size() - kMeta.size(), kMeta.size(), kMeta) == 0;
    };
    bool safe = vocab_.contains(ToAbsl(kMeta)) && !options_.ignore_merges &&
                options_.continuing_subword_prefix.empty() && options_.end_of_word_suffix.empty();
    for (const BpeMerge& merge : merges) {
      if (!safe) break;
      const auto token = [&](int32_t id) -> const std::string* {
        return id >= 0 && static_cast<size_t>(id) < tokens.size() ? tokens[id] : nullptr;
      };
      const std::string* left = token(merge.left);
      const std::string* right = token(merge.right);
      if (left == nullptr || right == nullptr) {
        safe = false;
        break;
      }
      if (starts(*right) && !ends(*left)) safe = false;
    }
    split_at_metaspace_ = safe;
  }
  for (int byte = 0; byte < 256; ++byte) {
    const auto it = vocab_.find(absl::StrFormat("<0x%02X>", byte));
    byte_ids_[byte] = it == vocab_.end() ? -1 : it->second;
  }
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view token) const {
  const auto it = vocab_.find(ToAbsl(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::Tokenize(std::string_view word, std::vector<int64_t>* ids) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    const auto it = vocab_.find(ToAbsl(word));
    if (it != vocab_.end()) {
      ids->push_back(it->second);
      return;
    }
  }
  if (!split_at_metaspace_) {
    TokenizeChunk(word, ids);
    return;
  }
  // Cut before every U+2581 (e2 96 81) that follows another character.
  size_t begin = 0;
  size_t at = 1;
  while (true) {
    const size_t found = word.find("\xe2\x96\x81", at);
    if (found == std::string_view::npos) break;
    at = found + 3;
    if (found >= 3 && word.compare(found - 3, 3, "\xe2\x96\x81") == 0) continue;
    TokenizeChunk(word.substr(begin, found - begin), ids);
    begin = found;
  }
  TokenizeChunk(word.substr(begin), ids);
}

void BpeModel::TokenizeChunk(std::string_view word, std::vector<int64_t>* ids) const {
  if (word.empty()) return;
  if (cache_.Lookup(word, ids)) return;
  const size_t first = ids->size();
  MergeWord(word, ids);
  cache_.Insert(word, ids->data() + first, ids->size() - first);
}

namespace {

struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  bool removed;
};

struct QueuedMerge {
  int32_t rank;
  int32_t pos;
  int32_t result;
  // std::priority_queue pops the greatest: the lowest rank, then the leftmost.
  bool operator<(const QueuedMerge& other) const {
    if (rank != other.rank) return rank > other.rank;
    return pos > other.pos;
  }
};

}  // namespace

void BpeModel::MergeWord(std::string_view word, std::vector<int64_t>* ids) const {
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&symbols](int32_t id) {
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, false});
  };
  std::optional<int32_t> pending_unk;
  std::string piece;
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t length = Utf8SequenceLength(static_cast<unsigned char>(word[pos]));
    const std::string_view character = word.substr(pos, length);
    const bool is_first = pos == 0;
    pos += length;
    const bool is_last = pos >= word.size();
    piece.clear();
    if (!is_first) piece += options_.continuing_subword_prefix;
    piece.append(character);
    if (is_last) piece += options_.end_of_word_suffix;
    const auto it = vocab_.find(ToAbsl(piece));
    if (it != vocab_.end()) {
      if (pending_unk) add(*pending_unk);
      pending_unk.reset();
      add(it->second);
      continue;
    }
    if (options_.byte_fallback) {
      bool all_bytes = true;
      for (const char byte : piece) all_bytes &= byte_ids_[static_cast<unsigned char>(byte)] >= 0;
      if (all_bytes) {
        for (const char byte : piece) add(byte_ids_[static_cast<unsigned char>(byte)]);
        continue;
      }
    }
    if (!options_.unk_id) continue;  // Hugging Face drops the character
    if (pending_unk && !options_.fuse_unk) add(*pending_unk);
    pending_unk = *options_.unk_id;
  }
  if (pending_unk) add(*pending_unk);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  auto merge_of = [this](int32_t left, int32_t right) -> const std::pair<int32_t, int32_t>* {
    const uint64_t key =
        (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
    const auto it = merges_.find(key);
    return it == merges_.end() ? nullptr : &it->second;
  };
  std::priority_queue<QueuedMerge> queue;
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const auto* merge = merge_of(symbols[i].id, symbols[i + 1].id)) {
      queue.push({merge->first, static_cast<int32_t>(i), merge->second});
    }
  }
  while (!queue.empty()) {
    const QueuedMerge top = queue.top();
    queue.pop();
    Symbol& current = symbols[top.pos];
    if (current.removed || current.next < 0) continue;
    const Symbol& right = symbols[current.next];
    const auto* merge = merge_of(current.id, right.id);
    if (merge == nullptr || merge->second != top.result) continue;  // an expired entry
    const int32_t right_index = current.next;
    current.id = top.result;
    current.next = right.next;
    symbols[right_index].removed = true;
    if (current.next >= 0) symbols[current.next].prev = top.pos;
    if (current.prev >= 0) {
      if (const auto* left_merge = merge_of(symbols[current.prev].id, current.id)) {
        queue.push({left_merge->first, current.prev, left_merge->second});
      }
    }
    if (current.next >= 0) {
      if (const auto* right_merge = merge_of(current.id, symbols[current.next].id)) {
        queue.push({right_merge->first, top.pos, right_merge->second});
      }
    }
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) ids->push_back(symbols[i].id);
}

TiktokenModel::TiktokenModel(absl::flat_hash_map<std::string, int32_t> ranks)
    : ranks_(std::move(ranks)) {}

int32_t TiktokenModel::RankOf(std::string_view bytes) const {
  const auto it = ranks_.find(ToAbsl(bytes));
  return it == ranks_.end() ? std::numeric_limits<int32_t>::max() : it->second;
}

void TiktokenModel::Tokenize(std::string_view word, std::vector<int64_t>* ids) const {
  if (word.empty()) return;
  const auto whole = ranks_.find(ToAbsl(word));
  if (whole != ranks_.end()) {
    ids->push_back(whole->second);
    return;
  }
  if (cache_.Lookup(word, ids)) return;
  // parts[i] starts at byte starts[i]; rank[i] is the rank of parts i and i+1 merged.
  constexpr int32_t kNone = std::numeric_limits<int32_t>::max();
  std::vector<size_t> starts(word.size() + 1);
  for (size_t i = 0; i <= word.size(); ++i) starts[i] = i;
  std::vector<int32_t> rank(word.size(), kNone);
  for (size_t i = 0; i + 1 < word.size(); ++i) rank[i] = RankOf(word.substr(i, 2));
  auto pair_rank = [&](size_t i) {
    if (i + 2 >= starts.size()) return kNone;
    return RankOf(word.substr(starts[i], starts[i + 2] - starts[i]));
  };
  while (starts.size() > 2) {
    size_t best = 0;
    for (size_t i = 1; i + 2 < starts.size(); ++i) {
      if (rank[i] < rank[best]) best = i;
    }
    if (rank[best] == kNone) break;
    starts.erase(starts.begin() + best + 1);
    rank.erase(rank.begin() + best + 1);
    rank[best] = pair_rank(best);
    if (best > 0) rank[best - 1] = pair_rank(best - 1);
  }
  const size_t first = ids->size();
  for (size_t i = 0; i + 1 < starts.size(); ++i) {
    const int32_t id = RankOf(word.substr(starts[i], starts[i + 1] - starts[i]));
    ids->push_back(id);
  }
  cache_.Insert(word, ids->data() + first, ids->size() - first);
}

}  // namespace modelhub
