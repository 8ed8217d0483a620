#include "runtime/tokenizers/tokenizer.h"

#include "runtime/core/errors.h"
#include "runtime/tokenizers/utf8.h"

namespace modelhub {
namespace {

bool EndsWithReplacement(const std::string& text) {
  return text.size() >= kReplacementCharacter.size() &&
         std::string_view(text).substr(text.size() - kReplacementCharacter.size()) ==
             kReplacementCharacter;
}

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, SpecialTokenText special)
    : tokenizer_(tokenizer), special_(special) {}

std::string StreamingDecoder::Step(int64_t id) {
  if (prefix_.empty() && !ids_.empty()) {
    std::string prefix = tokenizer_.Decode(ids_, special_);
    if (!EndsWithReplacement(prefix)) {
      prefix_ = std::move(prefix);
      prefix_index_ = ids_.size();
    }
  }
  ids_.push_back(id);
  std::string text = tokenizer_.Decode(ids_, special_);
  if (text.size() <= prefix_.size() || EndsWithReplacement(text)) return "";
  if (!StartsWith(text, prefix_)) {
    throw Error("streaming decode: the tokenizer's decoder changed text it had already given");
  }
  std::string fresh = text.substr(prefix_.size());
  const size_t window = ids_.size() - prefix_index_;
  ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(prefix_index_));
  prefix_ = tokenizer_.Decode(ids_, special_);
  prefix_index_ = window;
  return fresh;
}

std::string StreamingDecoder::Finish() {
  std::string rest;
  if (!ids_.empty()) {
    std::string text = tokenizer_.Decode(ids_, special_);
    if (text.size() > prefix_.size() && StartsWith(text, prefix_)) {
      rest = text.substr(prefix_.size());
    }
  }
  ids_.clear();
  prefix_.clear();
  prefix_index_ = 0;
  return rest;
}

}  // namespace modelhub
