#include "tools/cli/text_commands.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"
#include "tools/cli/run_commands.h"

namespace modelhub::cli {

namespace {

nlohmann::json Parse(const std::string& line, size_t number) {
  try {
    return nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    throw Error(absl::StrCat("standard input line ", number, ": not JSON: ", e.what()));
  }
}

SpecialTokens Special(const TokenizeOptions& options) {
  return options.special ? SpecialTokens::kAdd : SpecialTokens::kOmit;
}

SpecialTokenText Text(bool skip_special) {
  return skip_special ? SpecialTokenText::kSkip : SpecialTokenText::kKeep;
}

// Decoded text as JSON: invalid UTF-8 cannot happen (Decode replaces it).
std::string JsonString(const std::string& text) { return nlohmann::json(text).dump(); }

}  // namespace

void RunTokenize(const Tokenizer& tokenizer, const std::string& text,
                 const TokenizeOptions& options, std::istream& in, std::ostream& out) {
  if (!options.jsonl) {
    const std::vector<int64_t> ids = tokenizer.Encode(text, Special(options));
    if (!options.pieces) {
      out << FormatTokens(ids) << "\n";
      return;
    }
    for (const int64_t id : ids) {
      out << id << "\t" << JsonString(tokenizer.IdToToken(id).value_or("")) << "\n";
    }
    return;
  }
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    const nlohmann::json value = Parse(line, number);
    if (!value.is_string()) {
      throw Error(absl::StrCat("standard input line ", number, ": expected a JSON string, found ",
                               value.type_name()));
    }
    try {
      out << nlohmann::json(tokenizer.Encode(value.get<std::string>(), Special(options))).dump()
          << "\n";
    } catch (const InvalidTokenizerInputError& e) {
      throw InvalidTokenizerInputError(
          absl::StrCat("standard input line ", number, ": ", e.what()));
    }
  }
}

void RunDetokenize(const Tokenizer& tokenizer, const std::string& ids, bool skip_special,
                   bool jsonl, std::istream& in, std::ostream& out) {
  if (!jsonl) {
    out << tokenizer.Decode(ParseTokens(ids), Text(skip_special)) << "\n";
    return;
  }
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    const nlohmann::json value = Parse(line, number);
    std::vector<int64_t> list;
    bool ok = value.is_array();
    for (const auto& item : value) {
      ok = ok && item.is_number_integer();
      if (ok) list.push_back(item.get<int64_t>());
    }
    if (!ok) {
      throw Error(
          absl::StrCat("standard input line ", number, ": expected a JSON array of token ids"));
    }
    try {
      out << JsonString(tokenizer.Decode(list, Text(skip_special))) << "\n";
    } catch (const InvalidTokenizerInputError& e) {
      throw InvalidTokenizerInputError(
          absl::StrCat("standard input line ", number, ": ", e.what()));
    }
  }
}

}  // namespace modelhub::cli
