#include "runtime/tokenizers/tokenizer_json.h"

#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/errors.h"
#include "runtime/tokenizers/utf8.h"

namespace modelhub {
namespace {

using Json = nlohmann::json;

// Reads JSON values, each error a TokenizerLoadError naming the file and the
// JSON path of the value.
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {}

  [[noreturn]] void Fail(const std::string& where, const std::string& reason) const {
    throw TokenizerLoadError(path_, where, reason);
  }

  const Json& Object(const Json& value, const std::string& where) const {
    if (!value.is_object())
      Fail(where, absl::StrCat("expected an object, found ", value.type_name()));
    return value;
  }

  // Fails when `value` (an object) has a key outside `known`.
  void OnlyKeys(const Json& value, const std::string& where,
                std::initializer_list<std::string_view> known) const {
    for (const auto& [key, unused] : value.items()) {
      bool found = false;
      for (const std::string_view name : known) found |= key == name;
      if (!found) {
        Fail(Join(where, key),
             absl::StrCat("unknown key (known here: ",
                          absl::StrJoin(std::vector<std::string>(known.begin(), known.end()), ", "),
                          "); modelhub does not guess what it means"));
      }
    }
  }

  static std::string Join(const std::string& where, std::string_view key) {
    return where.empty() ? std::string(key) : absl::StrCat(where, ".", std::string(key));
  }
  static std::string Index(const std::string& where, size_t i) {
    return absl::StrCat(where, "[", i, "]");
  }

  const Json* Find(const Json& object, std::string_view key) const {
    const auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  }

  const Json& Required(const Json& object, const std::string& where, std::string_view key) const {
    const Json* value = Find(object, key);
    if (value == nullptr) Fail(Join(where, key), "missing");
    return *value;
  }

  std::string String(const Json& value, const std::string& where) const {
    if (!value.is_string())
      Fail(where, absl::StrCat("expected a string, found ", value.type_name()));
    return value.get<std::string>();
  }

  bool Bool(const Json& object, const std::string& where, std::string_view key,
            bool default_value) const {
    const Json* value = Find(object, key);
    if (value == nullptr || value->is_null()) return default_value;
    if (!value->is_boolean()) {
      Fail(Join(where, key), absl::StrCat("expected true or false, found ", value->type_name()));
    }
    return value->get<bool>();
  }

  int64_t Integer(const Json& value, const std::string& where, int64_t min, int64_t max) const {
    if (!value.is_number_integer()) {
      Fail(where, absl::StrCat("expected an integer, found ", value.type_name()));
    }
    const int64_t number =
        value.is_number_unsigned()
            ? static_cast<int64_t>(std::min<uint64_t>(value.get<uint64_t>(), INT64_MAX))
            : value.get<int64_t>();
    if (number < min || number > max) {
      Fail(where, absl::StrCat(number, " is outside [", min, ", ", max, "]"));
    }
    return number;
  }

  std::string Type(const Json& object, const std::string& where) const {
    return String(Required(object, where, "type"), Join(where, "type"));
  }

  [[noreturn]] void UnknownType(const std::string& where, const std::string& type,
                                std::string_view supported) const {
    Fail(Join(where, "type"),
         absl::StrCat("'", type, "' is not supported (supported: ", std::string(supported), ")"));
  }

  TextPattern Pattern(const Json& object, const std::string& where) const {
    const std::string at = Join(where, "pattern");
    const Json& pattern = Object(Required(object, where, "pattern"), at);
    if (pattern.size() != 1) Fail(at, "expected one of {\"String\": ...} or {\"Regex\": ...}");
    if (const Json* text = Find(pattern, "String"))
      return {String(*text, Join(at, "String")), false};
    if (const Json* regex = Find(pattern, "Regex"))
      return {String(*regex, Join(at, "Regex")), true};
    Fail(at, "expected one of {\"String\": ...} or {\"Regex\": ...}");
  }

  // One character, as Rust's `char` fields (Metaspace's replacement, Strip's content).
  std::string Character(const Json& value, const std::string& where) const {
    std::string text = String(value, where);
    size_t pos = 0;
    if (text.empty() || FindInvalidUtf8(text) != std::string_view::npos ||
        (NextCodePoint(text, &pos), pos != text.size())) {
      Fail(where, absl::StrCat("expected one character, found \"", text, "\""));
    }
    return text;
  }

  PrependScheme Scheme(const Json& object, const std::string& where) const {
    PrependScheme scheme = PrependScheme::kAlways;
    if (const Json* value = Find(object, "prepend_scheme")) {
      const std::string name = String(*value, Join(where, "prepend_scheme"));
      if (name == "always") {
        scheme = PrependScheme::kAlways;
      } else if (name == "first") {
        scheme = PrependScheme::kFirst;
      } else if (name == "never") {
        scheme = PrependScheme::kNever;
      } else {
        Fail(Join(where, "prepend_scheme"),
             absl::StrCat("'", name, "' is not one of always, first, never"));
      }
    }
    // Older files say add_prefix_space instead; false means never.
    const Json* add_prefix_space = Find(object, "add_prefix_space");
    if (add_prefix_space != nullptr && add_prefix_space->is_boolean() &&
        !add_prefix_space->get<bool>()) {
      if (Find(object, "prepend_scheme") != nullptr && scheme != PrependScheme::kNever) {
        Fail(Join(where, "add_prefix_space"), "false does not match prepend_scheme");
      }
      scheme = PrependScheme::kNever;
    }
    return scheme;
  }

 private:
  const std::string& path_;
};

// Parses tokenizer.json in one pass: the model's vocabulary and merges (almost
// all of the file) go straight into their tables; everything else becomes a
// small JSON document for Reader.
class TokenizerJsonSax : public nlohmann::json_sax<Json> {
 public:
  Json root;
  absl::flat_hash_map<std::string, int32_t> vocab;
  bool vocab_seen = false;
  std::vector<std::pair<std::string, std::string>> merges;  // legacy lines as (line, "")
  std::vector<bool> merge_is_pair;
  bool merges_seen = false;
  std::string error_where;  // set when a vocab or merges entry is not what it should be
  std::string error_reason;

  bool null() override { return Value(Json(nullptr)); }
  bool boolean(bool value) override { return Value(Json(value)); }
  bool number_integer(number_integer_t value) override {
    if (mode_ == Mode::kVocab) return VocabId(value);
    return Value(Json(value));
  }
  bool number_unsigned(number_unsigned_t value) override {
    if (mode_ == Mode::kVocab) {
      return VocabId(value > INT64_MAX ? INT64_MAX : static_cast<int64_t>(value));
    }
    return Value(Json(value));
  }
  bool number_float(number_float_t value, const string_t&) override {
    if (mode_ == Mode::kVocab) return Bad("model.vocab." + key_, "expected an integer id");
    return Value(Json(value));
  }
  bool string(string_t& value) override {
    if (mode_ == Mode::kMerges) {
      merges.emplace_back(std::move(value), "");
      merge_is_pair.push_back(false);
      return true;
    }
    if (mode_ == Mode::kMergePair) {
      pair_.push_back(std::move(value));
      return true;
    }
    if (mode_ == Mode::kVocab) return Bad("model.vocab." + key_, "expected an integer id");
    return Value(Json(std::move(value)));
  }
  bool binary(binary_t&) override { return Bad("", "unexpected binary value"); }
  bool start_object(std::size_t) override {
    if (mode_ != Mode::kDom) return BadEntry();
    if (InModel() && key_ == "vocab") {
      mode_ = Mode::kVocab;
      vocab_seen = true;
      vocab.reserve(1 << 17);
      return Value(Json::object());
    }
    return Open(Json::object());
  }
  bool key(string_t& value) override {
    key_ = std::move(value);
    return true;
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kDom;
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_.clear();
      return true;
    }
    if (mode_ != Mode::kDom) return BadEntry();
    if (InModel() && key_ == "merges") {
      mode_ = Mode::kMerges;
      merges_seen = true;
      merges.reserve(1 << 18);
      merge_is_pair.reserve(1 << 18);
      return Value(Json::array());
    }
    return Open(Json::array());
  }
  bool end_array() override {
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() != 2) return BadEntry();
      merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      merge_is_pair.push_back(true);
      mode_ = Mode::kMerges;
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kDom;
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& error) override {
    error_where = absl::StrCat("byte ", position);
    error_reason = absl::StrCat("not JSON: ", error.what());
    return false;
  }

 private:
  enum class Mode { kDom, kVocab, kMerges, kMergePair };

  bool InModel() const { return stack_.size() == 2 && path_model_; }

  bool VocabId(int64_t id) {
    if (id < 0 || id > INT32_MAX - 1) {
      return Bad("model.vocab." + key_, absl::StrCat(id, " is not a valid id"));
    }
    vocab.insert_or_assign(key_, static_cast<int32_t>(id));
    return true;
  }
  bool BadEntry() {
    if (mode_ == Mode::kVocab) return Bad("model.vocab." + key_, "expected an integer id");
    return Bad(absl::StrCat("model.merges[", merges.size(), "]"),
               "expected \"left right\" or [\"left\", \"right\"]");
  }
  bool Bad(std::string where, std::string reason) {
    error_where = std::move(where);
    error_reason = std::move(reason);
    return false;
  }
  Json* Place(Json value) {
    if (stack_.empty()) {
      root = std::move(value);
      return &root;
    }
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    Json& slot = parent[key_];
    slot = std::move(value);
    return &slot;
  }
  bool Value(Json value) {
    Place(std::move(value));
    return true;
  }
  bool Open(Json container) {
    const bool is_model = stack_.size() == 1 && key_ == "model" && container.is_object();
    stack_.push_back(Place(std::move(container)));
    if (stack_.size() == 2) path_model_ = is_model;
    return true;
  }

  Mode mode_ = Mode::kDom;
  std::vector<Json*> stack_;
  std::string key_;
  bool path_model_ = false;
  std::vector<std::string> pair_;
};

// Checks the keys of a ByteLevel step (pre-tokenizer, post-processor or decoder).
void OnlyByteLevelKeys(const Reader& r, const Json& value, const std::string& where) {
  r.OnlyKeys(value, where, {"type", "add_prefix_space", "trim_offsets", "use_regex"});
}

// Reads the fields a Metaspace pre-tokenizer and decoder share (and checks
// the keys of either).
void ReadMetaspace(const Reader& r, const Json& value, const std::string& where,
                   std::string* replacement, PrependScheme* scheme) {
  r.OnlyKeys(value, where,
             {"type", "replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep"});
  *replacement =
      r.Character(r.Required(value, where, "replacement"), Reader::Join(where, "replacement"));
  *scheme = r.Scheme(value, where);
}

// Reads {"type": "Sequence", `key`: [...]}: each item with `read_item` (a
// nested step, given its JSON path). False when `value` is another type.
template <typename ReadItem>
bool ReadSequence(const Reader& r, const Json& value, const std::string& where, const char* key,
                  ReadItem read_item) {
  if (r.Type(value, where) != "Sequence") return false;
  r.OnlyKeys(value, where, {"type", key});
  const std::string at = Reader::Join(where, key);
  const Json& list = r.Required(value, where, key);
  if (!list.is_array()) r.Fail(at, "expected a list");
  for (size_t i = 0; i < list.size(); ++i) read_item(list[i], Reader::Index(at, i));
  return true;
}

void ReadNormalizer(const Reader& r, const Json& value, const std::string& where,
                    std::vector<NormalizerStep>* steps) {
  if (value.is_null()) return;
  r.Object(value, where);
  const std::string type = r.Type(value, where);
  using Kind = NormalizerStep::Kind;
  if (ReadSequence(r, value, where, "normalizers", [&](const Json& item, const std::string& at) {
        ReadNormalizer(r, item, at, steps);
      })) {
    return;
  }
  NormalizerStep step{Kind::kNfc, "", {}, where};
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    r.OnlyKeys(value, where, {"type"});
    step.kind = type == "NFC"    ? Kind::kNfc
                : type == "NFD"  ? Kind::kNfd
                : type == "NFKC" ? Kind::kNfkc
                                 : Kind::kNfkd;
  } else if (type == "Prepend") {
    r.OnlyKeys(value, where, {"type", "prepend"});
    step.kind = Kind::kPrepend;
    step.content = r.String(r.Required(value, where, "prepend"), Reader::Join(where, "prepend"));
  } else if (type == "Replace") {
    r.OnlyKeys(value, where, {"type", "pattern", "content"});
    step.kind = Kind::kReplace;
    step.pattern = r.Pattern(value, where);
    step.content = r.String(r.Required(value, where, "content"), Reader::Join(where, "content"));
  } else {
    r.UnknownType(where, type, "NFC, NFD, NFKC, NFKD, Prepend, Replace, Sequence");
  }
  steps->push_back(std::move(step));
}

SplitBehavior Behavior(const Reader& r, const Json& object, const std::string& where) {
  const std::string at = Reader::Join(where, "behavior");
  const std::string name = r.String(r.Required(object, where, "behavior"), at);
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  r.Fail(at, absl::StrCat("'", name,
                          "' is not one of Isolated, Removed, MergedWithPrevious, "
                          "MergedWithNext, Contiguous"));
}

void ReadPreTokenizer(const Reader& r, const Json& value, const std::string& where,
                      std::vector<PreTokenizerStep>* steps) {
  if (value.is_null()) return;
  r.Object(value, where);
  const std::string type = r.Type(value, where);
  using Kind = PreTokenizerStep::Kind;
  if (ReadSequence(r, value, where, "pretokenizers", [&](const Json& item, const std::string& at) {
        ReadPreTokenizer(r, item, at, steps);
      })) {
    return;
  }
  PreTokenizerStep step{};
  step.where = where;
  if (type == "Split") {
    r.OnlyKeys(value, where, {"type", "pattern", "behavior", "invert"});
    step.kind = Kind::kSplit;
    step.pattern = r.Pattern(value, where);
    step.behavior = Behavior(r, value, where);
    step.invert = r.Bool(value, where, "invert", false);
  } else if (type == "Digits") {
    r.OnlyKeys(value, where, {"type", "individual_digits"});
    step.kind = Kind::kSplit;
    step.pattern = {r.Bool(value, where, "individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)",
                    true};
  } else if (type == "ByteLevel") {
    OnlyByteLevelKeys(r, value, where);
    step.kind = Kind::kByteLevel;
    step.add_prefix_space = r.Bool(value, where, "add_prefix_space", true);
    step.use_regex = r.Bool(value, where, "use_regex", true);
  } else if (type == "Metaspace") {
    step.kind = Kind::kMetaspace;
    ReadMetaspace(r, value, where, &step.replacement, &step.prepend_scheme);
    step.split = r.Bool(value, where, "split", true);
  } else {
    r.UnknownType(where, type, "Split, ByteLevel, Metaspace, Digits, Sequence");
  }
  steps->push_back(std::move(step));
}

void ReadDecoder(const Reader& r, const Json& value, const std::string& where,
                 std::vector<DecoderStep>* steps) {
  if (value.is_null()) return;
  r.Object(value, where);
  const std::string type = r.Type(value, where);
  using Kind = DecoderStep::Kind;
  if (ReadSequence(r, value, where, "decoders", [&](const Json& item, const std::string& at) {
        ReadDecoder(r, item, at, steps);
      })) {
    return;
  }
  DecoderStep step{};
  step.where = where;
  if (type == "ByteLevel") {
    OnlyByteLevelKeys(r, value, where);
    step.kind = Kind::kByteLevel;
  } else if (type == "Metaspace") {
    step.kind = Kind::kMetaspace;
    ReadMetaspace(r, value, where, &step.replacement, &step.prepend_scheme);
  } else if (type == "ByteFallback") {
    r.OnlyKeys(value, where, {"type"});
    step.kind = Kind::kByteFallback;
  } else if (type == "Fuse") {
    r.OnlyKeys(value, where, {"type"});
    step.kind = Kind::kFuse;
  } else if (type == "Strip") {
    r.OnlyKeys(value, where, {"type", "content", "start", "stop"});
    step.kind = Kind::kStrip;
    step.content = r.Character(r.Required(value, where, "content"), Reader::Join(where, "content"));
    step.start = static_cast<int>(
        r.Integer(r.Required(value, where, "start"), Reader::Join(where, "start"), 0, 1 << 20));
    step.stop = static_cast<int>(
        r.Integer(r.Required(value, where, "stop"), Reader::Join(where, "stop"), 0, 1 << 20));
  } else if (type == "Replace") {
    r.OnlyKeys(value, where, {"type", "pattern", "content"});
    step.kind = Kind::kReplace;
    step.pattern = r.Pattern(value, where);
    step.content = r.String(r.Required(value, where, "content"), Reader::Join(where, "content"));
  } else {
    r.UnknownType(where, type,
                  "ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence");
  }
  steps->push_back(std::move(step));
}

void ReadPostProcessor(const Reader& r, const Json& value, const std::string& where,
                       std::vector<TemplateItem>* single) {
  if (value.is_null()) return;
  r.Object(value, where);
  const std::string type = r.Type(value, where);
  if (ReadSequence(r, value, where, "processors", [&](const Json& item, const std::string& at) {
        ReadPostProcessor(r, item, at, single);
      })) {
    return;
  }
  if (type == "ByteLevel") {  // changes offsets only
    OnlyByteLevelKeys(r, value, where);
    return;
  }
  if (type != "TemplateProcessing") {
    r.UnknownType(where, type, "TemplateProcessing, ByteLevel, Sequence");
  }
  r.OnlyKeys(value, where, {"type", "single", "pair", "special_tokens"});
  if (!single->empty()) r.Fail(where, "a second TemplateProcessing in one tokenizer");
  const std::string tokens_at = Reader::Join(where, "special_tokens");
  const Json& tokens = r.Object(r.Required(value, where, "special_tokens"), tokens_at);
  const std::string single_at = Reader::Join(where, "single");
  const Json& items = r.Required(value, where, "single");
  if (!items.is_array()) r.Fail(single_at, "expected a list");
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string at = Reader::Index(single_at, i);
    const Json& item = r.Object(items[i], at);
    if (const Json* sequence = r.Find(item, "Sequence")) {
      r.Object(*sequence, Reader::Join(at, "Sequence"));
      single->push_back({true, {}});
      continue;
    }
    const Json* special = r.Find(item, "SpecialToken");
    if (special == nullptr) r.Fail(at, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    const std::string special_at = Reader::Join(at, "SpecialToken");
    const std::string name = r.String(r.Required(r.Object(*special, special_at), special_at, "id"),
                                      Reader::Join(special_at, "id"));
    const Json* entry = r.Find(tokens, name);
    if (entry == nullptr) {
      r.Fail(Reader::Join(special_at, "id"), absl::StrCat("'", name, "' is not in ", tokens_at));
    }
    const std::string entry_at = Reader::Join(tokens_at, name);
    const Json& ids = r.Required(r.Object(*entry, entry_at), entry_at, "ids");
    if (!ids.is_array()) r.Fail(Reader::Join(entry_at, "ids"), "expected a list");
    TemplateItem templated{false, {}};
    for (size_t j = 0; j < ids.size(); ++j) {
      templated.ids.push_back(static_cast<int32_t>(
          r.Integer(ids[j], Reader::Index(Reader::Join(entry_at, "ids"), j), 0, INT32_MAX)));
    }
    single->push_back(std::move(templated));
  }
}

void ReadAddedTokens(const Reader& r, const Json& value, std::vector<AddedToken>* tokens) {
  if (value.is_null()) return;
  if (!value.is_array()) r.Fail("added_tokens", "expected a list");
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string where = Reader::Index("added_tokens", i);
    const Json& entry = r.Object(value[i], where);
    r.OnlyKeys(entry, where,
               {"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"});
    AddedToken token;
    token.where = where;
    token.id = static_cast<int32_t>(
        r.Integer(r.Required(entry, where, "id"), Reader::Join(where, "id"), 0, INT32_MAX - 1));
    token.content = r.String(r.Required(entry, where, "content"), Reader::Join(where, "content"));
    if (token.content.empty()) r.Fail(Reader::Join(where, "content"), "empty");
    token.single_word = r.Bool(entry, where, "single_word", false);
    token.lstrip = r.Bool(entry, where, "lstrip", false);
    token.rstrip = r.Bool(entry, where, "rstrip", false);
    token.special = r.Bool(entry, where, "special", false);
    token.normalized = r.Bool(entry, where, "normalized", !token.special);
    tokens->push_back(std::move(token));
  }
}

void ReadModel(const Reader& r, const Json& value, TokenizerJsonSax& parsed, ModelSpec* model) {
  const std::string where = "model";
  r.Object(value, where);
  if (const Json* type = r.Find(value, "type")) {
    const std::string name = r.String(*type, "model.type");
    if (name != "BPE") r.UnknownType(where, name, "BPE");
  }
  r.OnlyKeys(value, where,
             {"type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix",
              "fuse_unk", "byte_fallback", "ignore_merges", "vocab", "merges"});
  if (const Json* dropout = r.Find(value, "dropout");
      dropout != nullptr && !dropout->is_null() &&
      !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    r.Fail("model.dropout", "BPE dropout (random tokenization) is not supported");
  }
  model->kind = ModelSpec::Kind::kBpe;
  if (!parsed.vocab_seen) r.Fail("model.vocab", "missing");
  model->vocab = std::move(parsed.vocab);
  auto optional_string = [&](std::string_view key) -> std::string {
    const Json* field = r.Find(value, key);
    if (field == nullptr || field->is_null()) return "";
    return r.String(*field, Reader::Join(where, key));
  };
  BpeOptions& options = model->options;
  options.continuing_subword_prefix = optional_string("continuing_subword_prefix");
  options.end_of_word_suffix = optional_string("end_of_word_suffix");
  options.fuse_unk = r.Bool(value, where, "fuse_unk", false);
  options.byte_fallback = r.Bool(value, where, "byte_fallback", false);
  options.ignore_merges = r.Bool(value, where, "ignore_merges", false);
  if (const std::string unk = optional_string("unk_token"); !unk.empty()) {
    const auto it = model->vocab.find(unk);
    if (it == model->vocab.end()) {
      r.Fail("model.unk_token", absl::StrCat("'", unk, "' is not in model.vocab"));
    }
    options.unk_id = it->second;
  }
  if (!parsed.merges_seen) r.Fail("model.merges", "missing");
  model->merges.reserve(parsed.merges.size());
  const size_t prefix_length = options.continuing_subword_prefix.size();
  auto id_of = [&](const std::string& token, const std::string& at) {
    const auto it = model->vocab.find(token);
    if (it == model->vocab.end()) r.Fail(at, absl::StrCat("'", token, "' is not in model.vocab"));
    return it->second;
  };
  std::string left, right;
  for (size_t i = 0; i < parsed.merges.size(); ++i) {
    auto at = [i] { return Reader::Index("model.merges", i); };
    if (!parsed.merge_is_pair[i]) {
      const std::string& line = parsed.merges[i].first;
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        r.Fail(at(), absl::StrCat("\"", line, "\" is not two tokens separated by one space"));
      }
      left = line.substr(0, space);
      right = line.substr(space + 1);
    } else {
      left = std::move(parsed.merges[i].first);
      right = std::move(parsed.merges[i].second);
    }
    if (right.size() < prefix_length) r.Fail(at(), "the right token is shorter than its prefix");
    const auto left_it = model->vocab.find(ToAbsl(left));
    const auto right_it = model->vocab.find(ToAbsl(right));
    if (left_it == model->vocab.end()) id_of(left, at());
    if (right_it == model->vocab.end()) id_of(right, at());
    left.append(right, prefix_length, std::string::npos);
    const auto result_it = model->vocab.find(ToAbsl(left));
    if (result_it == model->vocab.end()) id_of(left, at());
    model->merges.push_back({left_it->second, right_it->second, result_it->second});
  }
}

}  // namespace

PipelineSpec ParseTokenizerJson(std::string_view json, const std::string& path) {
  Reader r(path);
  TokenizerJsonSax parsed;
  if (!Json::sax_parse(json.begin(), json.end(), &parsed)) {
    r.Fail(parsed.error_where, parsed.error_reason);
  }
  const Json& root = parsed.root;
  r.Object(root, "");
  r.OnlyKeys(root, "",
             {"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer",
              "model", "post_processor", "decoder"});
  if (const Json* truncation = r.Find(root, "truncation");
      truncation != nullptr && !truncation->is_null()) {
    r.Fail("truncation", "truncation is not supported (it would cut the ids Encode returns)");
  }
  PipelineSpec spec;
  spec.path = path;
  ReadModel(r, r.Required(root, "", "model"), parsed, &spec.model);
  if (const Json* value = r.Find(root, "added_tokens"))
    ReadAddedTokens(r, *value, &spec.added_tokens);
  if (const Json* value = r.Find(root, "normalizer")) {
    ReadNormalizer(r, *value, "normalizer", &spec.normalizers);
  }
  if (const Json* value = r.Find(root, "pre_tokenizer")) {
    ReadPreTokenizer(r, *value, "pre_tokenizer", &spec.pre_tokenizers);
  }
  if (const Json* value = r.Find(root, "post_processor")) {
    ReadPostProcessor(r, *value, "post_processor", &spec.single_template);
  }
  if (const Json* value = r.Find(root, "decoder"))
    ReadDecoder(r, *value, "decoder", &spec.decoders);
  return spec;
}

PipelineSpec ReadTokenizerJson(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw TokenizerLoadError(path, "", "cannot open the file");
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) throw TokenizerLoadError(path, "", "cannot read the file");
  return ParseTokenizerJson(text.str(), path);
}

}  // namespace modelhub
