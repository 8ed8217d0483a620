#include "runtime/tokenizers/tokenizer_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"
#include "runtime/tokenizers/pipeline_tokenizer.h"
#include "runtime/tokenizers/sentencepiece_model.h"
#include "runtime/tokenizers/tiktoken_file.h"
#include "runtime/tokenizers/tokenizer_json.h"

namespace modelhub {
namespace fs = std::filesystem;
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw TokenizerLoadError(path, "", "cannot open the file");
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) throw TokenizerLoadError(path, "", "cannot read the file");
  return text.str();
}

// The first bytes of `path` (up to `count`).
std::string Head(const std::string& path, size_t count) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw TokenizerLoadError(path, "", "cannot open the file");
  std::string head(count, '\0');
  file.read(head.data(), static_cast<std::streamsize>(count));
  head.resize(static_cast<size_t>(file.gcount()));
  return head;
}

// Whether `head` starts like a tiktoken rank file: base64, a space, digits.
bool LooksLikeTiktoken(const std::string& head) {
  size_t pos = 0;
  while (pos < head.size() && (std::isalnum(static_cast<unsigned char>(head[pos])) ||
                               head[pos] == '+' || head[pos] == '/' || head[pos] == '=')) {
    ++pos;
  }
  if (pos == 0 || pos >= head.size() || head[pos] != ' ') return false;
  ++pos;
  const size_t digits = pos;
  while (pos < head.size() && std::isdigit(static_cast<unsigned char>(head[pos]))) ++pos;
  return pos > digits && (pos == head.size() || head[pos] == '\n' || head[pos] == '\r');
}

// The token text of a tokenizer_config.json entry: "<s>" or {"content": "<s>", ...}.
std::optional<std::string> TokenText(const nlohmann::json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    const auto content = it->find("content");
    if (content != it->end() && content->is_string()) return content->get<std::string>();
  }
  return std::nullopt;
}

std::optional<nlohmann::json> ReadJsonBeside(const fs::path& dir, const char* name) {
  const fs::path path = dir / name;
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return std::nullopt;
  try {
    return nlohmann::json::parse(ReadFile(path.string()));
  } catch (const nlohmann::json::exception& e) {
    throw TokenizerLoadError(path.string(), "", absl::StrCat("not JSON: ", e.what()));
  }
}

// Special ids of a tokenizer.json from the configuration files beside it.
TokenizerSpecialIds HuggingFaceSpecialIds(const Tokenizer& tokenizer, const fs::path& dir) {
  TokenizerSpecialIds ids;
  if (const auto config = ReadJsonBeside(dir, "tokenizer_config.json")) {
    if (config->is_object()) {
      if (const auto bos = TokenText(*config, "bos_token")) ids.bos = tokenizer.TokenToId(*bos);
      if (const auto eos = TokenText(*config, "eos_token")) ids.eos = tokenizer.TokenToId(*eos);
    }
  }
  if (ids.eos) ids.AddStop(*ids.eos);
  if (const auto generation = ReadJsonBeside(dir, "generation_config.json")) {
    const auto eos = generation->is_object() ? generation->find("eos_token_id") : generation->end();
    if (generation->is_object() && eos != generation->end()) {
      const nlohmann::json list = eos->is_array() ? *eos : nlohmann::json::array({*eos});
      for (const auto& id : list) {
        if (id.is_number_integer() && id.get<int64_t>() >= 0 &&
            id.get<int64_t>() < tokenizer.vocab_size()) {
          ids.AddStop(id.get<int64_t>());
        }
      }
      if (!ids.eos && !ids.stop.empty()) ids.eos = ids.stop.front();
    }
  }
  return ids;
}

std::shared_ptr<Tokenizer> OpenFile(const fs::path& path) {
  const std::string name = path.string();
  const std::string head = Head(name, 64);
  const size_t first = head.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && head[first] == '{') {
    auto tokenizer = std::make_shared<PipelineTokenizer>(ReadTokenizerJson(name));
    tokenizer->set_special_ids(HuggingFaceSpecialIds(*tokenizer, path.parent_path()));
    return tokenizer;
  }
  if (LooksLikeTiktoken(head)) {
    auto tokenizer = std::make_shared<PipelineTokenizer>(ReadTiktokenFile(name));
    TokenizerSpecialIds ids;
    ids.bos = tokenizer->TokenToId("<|begin_of_text|>");
    ids.eos = tokenizer->TokenToId("<|end_of_text|>");
    for (const char* stop : {"<|end_of_text|>", "<|eot_id|>"}) {
      if (const auto id = tokenizer->TokenToId(stop)) ids.AddStop(*id);
    }
    tokenizer->set_special_ids(std::move(ids));
    return tokenizer;
  }
  SentencePieceSpecialIds special;
  auto tokenizer = std::make_shared<PipelineTokenizer>(ReadSentencePieceModel(name, &special));
  TokenizerSpecialIds ids;
  ids.bos = special.bos;
  ids.eos = special.eos;
  if (special.eos) ids.AddStop(*special.eos);
  tokenizer->set_special_ids(std::move(ids));
  return tokenizer;
}

}  // namespace

std::shared_ptr<Tokenizer> OpenTokenizer(const std::string& path) {
  std::error_code error;
  if (fs::is_directory(path, error)) {
    for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
      const fs::path candidate = fs::path(path) / name;
      if (fs::is_regular_file(candidate, error)) return OpenFile(candidate);
    }
    throw TokenizerLoadError(path, "", "the folder has no tokenizer.json nor tokenizer.model");
  }
  if (!fs::exists(path, error)) throw TokenizerLoadError(path, "", "no such file or folder");
  return OpenFile(path);
}

}  // namespace modelhub
