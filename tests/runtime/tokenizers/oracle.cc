#include "tests/runtime/tokenizers/oracle.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace modelhub {
namespace testing {
namespace {

constexpr char kTestdata[] = "tests/runtime/tokenizers/testdata/";

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open " + path);
  std::stringstream text;
  text << file.rdbuf();
  return nlohmann::json::parse(text.str());
}

}  // namespace

const std::vector<std::string>& OracleCorpus() {
  static const auto* corpus = new std::vector<std::string>(
      ReadJson(std::string(kTestdata) + "tokenizer_corpus.json").get<std::vector<std::string>>());
  return *corpus;
}

const std::vector<OracleRecord>& OracleRecords(const std::string& layout) {
  static const auto* records = [] {
    auto* result = new std::map<std::string, std::vector<OracleRecord>>();
    const nlohmann::json oracle = ReadJson(std::string(kTestdata) + "tokenizer_oracle.json");
    for (const auto& [name, list] : oracle.at("layouts").items()) {
      for (const auto& entry : list) {
        (*result)[name].push_back({entry.at("ids").get<std::vector<int64_t>>(),
                                   entry.at("ids_special").get<std::vector<int64_t>>(),
                                   entry.at("decoded").get<std::string>(),
                                   entry.at("decoded_skip").get<std::string>()});
      }
    }
    return result;
  }();
  return records->at(layout);
}

std::string OracleTokenizerJson(const std::string& layout) {
  return std::string(kTestdata) + "tokenizers/" + layout + "/tokenizer.json";
}

const std::vector<std::string>& OracleLayouts() {
  static const auto* layouts = new std::vector<std::string>{
      "qwen25", "qwen3", "llama3", "llama2", "mistral", "mistral_metaspace_first"};
  return *layouts;
}

}  // namespace testing
}  // namespace modelhub
