#ifndef MODELHUB_TESTS_RUNTIME_TOKENIZERS_ORACLE_H_
#define MODELHUB_TESTS_RUNTIME_TOKENIZERS_ORACLE_H_

// The frozen reference of the tokenizer tests (testdata/): the corpus, and what
// Hugging Face's `tokenizers` crate made of each string under each layout.

#include <cstdint>
#include <string>
#include <vector>

namespace modelhub {
namespace testing {

// What the reference gave for one corpus string.
struct OracleRecord {
  std::vector<int64_t> ids;          // encode(text, add_special_tokens=false)
  std::vector<int64_t> ids_special;  // encode(text, add_special_tokens=true)
  std::string decoded;               // decode(ids_special, skip_special_tokens=false)
  std::string decoded_skip;          // decode(ids_special, skip_special_tokens=true)
};

// The corpus strings, in order.
const std::vector<std::string>& OracleCorpus();
// The records of `layout` ("qwen3", "llama3", ...), one per corpus string.
const std::vector<OracleRecord>& OracleRecords(const std::string& layout);
// The path of the tokenizer.json of `layout` in the test's runfiles.
std::string OracleTokenizerJson(const std::string& layout);
// The six layouts.
const std::vector<std::string>& OracleLayouts();

}  // namespace testing
}  // namespace modelhub

#endif  // MODELHUB_TESTS_RUNTIME_TOKENIZERS_ORACLE_H_
