#include "runtime/tokenizers/sentencepiece_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"
#include "runtime/tokenizers/bpe_model.h"
#include "runtime/tokenizers/utf8.h"

namespace modelhub {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581, SentencePiece's space
constexpr size_t kUnset = std::numeric_limits<size_t>::max();
constexpr char kHexDigits[] = "0123456789ABCDEF";

// Protobuf wire types.
enum WireType : int {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

std::string WireTypeName(int type) {
  switch (type) {
    case kVarint:
      return "0 (varint)";
    case kFixed64:
      return "1 (fixed64)";
    case kLengthDelimited:
      return "2 (length-delimited)";
    case kStartGroup:
      return "3 (start group)";
    case kEndGroup:
      return "4 (end group)";
    case kFixed32:
      return "5 (fixed32)";
    default:
      return absl::StrCat(type, " (no such wire type)");
  }
}

// ModelProto.SentencePiece.Type.
enum PieceType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

std::string PieceTypeName(int32_t type) {
  switch (type) {
    case kNormal:
      return "NORMAL";
    case kUnknown:
      return "UNKNOWN";
    case kControl:
      return "CONTROL";
    case kUserDefined:
      return "USER_DEFINED";
    case kUnused:
      return "UNUSED";
    case kByte:
      return "BYTE";
    default:
      return absl::StrCat(type);
  }
}

// TrainerSpec.ModelType.
constexpr int32_t kUnigram = 1;
constexpr int32_t kBpe = 2;

std::string ModelTypeName(int32_t type) {
  switch (type) {
    case 1:
      return "UNIGRAM (1)";
    case 2:
      return "BPE (2)";
    case 3:
      return "WORD (3)";
    case 4:
      return "CHAR (4)";
    default:
      return absl::StrCat(type, " (no such model type)");
  }
}

// `text` for a message: at most 48 bytes, bytes outside printable ASCII (and
// not part of UTF-8 text) as \xHH.
std::string Excerpt(std::string_view text) {
  const size_t shown = std::min<size_t>(text.size(), 48);
  std::string out;
  const std::string_view head = text.substr(0, shown);
  if (FindInvalidUtf8(head) == std::string_view::npos) {
    out = std::string(head);
  } else {
    for (const char c : head) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte >= 0x20 && byte < 0x7F) {
        out.push_back(c);
      } else {
        absl::StrAppend(&out, "\\x", absl::Hex(byte, absl::kZeroPad2));
      }
    }
  }
  if (shown < text.size()) out += "...";
  return out;
}

// One message of the file in the protobuf wire format: its fields one by one,
// every read checked against the message's end. Offsets in messages are
// offsets in the file.
class WireReader {
 public:
  struct Key {
    uint32_t field = 0;
    int wire_type = 0;
    size_t offset = 0;  // of the key
  };

  // The message `bytes`, which starts at byte `base` of the file at `path`;
  // `name` names it in messages ("trainer_spec", "pieces[3]", "" for the
  // whole file).
  WireReader(const std::string& path, std::string_view bytes, size_t base, std::string name)
      : path_(path), bytes_(bytes), base_(base), name_(std::move(name)) {}

  bool AtEnd() const { return pos_ >= bytes_.size(); }

  // The qualified name of field `field` of this message ("trainer_spec.bos_id").
  std::string FieldName(const std::string& field) const {
    return name_.empty() ? std::string(field) : absl::StrCat(name_, ".", field);
  }

  Key ReadKey() {
    Key key;
    key.offset = Offset();
    const std::string what = name_.empty() ? "a field key" : absl::StrCat("a field key of ", name_);
    const uint64_t value = ReadVarint(what);
    if (value > std::numeric_limits<uint32_t>::max()) {
      Fail(key.offset, absl::StrCat(what, ": ", value, " does not fit in 32 bits"));
    }
    key.field = static_cast<uint32_t>(value >> 3);
    key.wire_type = static_cast<int>(value & 7);
    if (key.field == 0) {
      Fail(key.offset, absl::StrCat(what, ": field number 0, which protobuf does not allow (key 0x",
                                    absl::Hex(value), ")"));
    }
    if (key.wire_type > kFixed32) {
      Fail(key.offset, absl::StrCat(UnknownFieldName(key.field), " has wire type ",
                                    WireTypeName(key.wire_type)));
    }
    if (key.wire_type == kStartGroup || key.wire_type == kEndGroup) {
      Fail(key.offset,
           absl::StrCat(UnknownFieldName(key.field), " has wire type ", WireTypeName(key.wire_type),
                        ": groups are not read (SentencePiece models have none)"));
    }
    return key;
  }

  // Fails unless `key` (of the field named `what`) has `wire_type`.
  void Expect(const Key& key, int wire_type, const std::string& what) const {
    if (key.wire_type != wire_type) {
      Fail(key.offset,
           absl::StrCat(what, " (field ", key.field, ") has wire type ",
                        WireTypeName(key.wire_type), ", expected ", WireTypeName(wire_type)));
    }
  }

  uint64_t ReadVarint(const std::string& what) {
    const size_t start = Offset();
    uint64_t value = 0;
    for (int i = 0; i < 10; ++i) {
      if (AtEnd()) {
        Fail(start, absl::StrCat(what, ": the varint runs past ", End(), " after ", i,
                                 i == 1 ? " byte" : " bytes"));
      }
      const auto byte = static_cast<unsigned char>(bytes_[pos_++]);
      if (i == 9 && byte > 1) {
        Fail(start, absl::StrCat(what, ": the varint overflows 64 bits"));
      }
      value |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
      if ((byte & 0x80) == 0) return value;
    }
    Fail(start, absl::StrCat(what, ": the varint is longer than 10 bytes"));
  }

  // A varint field: its value, after checking its wire type.
  uint64_t ReadVarintField(const Key& key, const std::string& what) {
    Expect(key, kVarint, what);
    return ReadVarint(what);
  }
  // An int32 field (negative numbers take ten bytes, as int64; protobuf keeps
  // the low 32 bits).
  int32_t ReadInt32Field(const Key& key, const std::string& what) {
    return static_cast<int32_t>(static_cast<uint32_t>(ReadVarintField(key, what)));
  }
  bool ReadBoolField(const Key& key, const std::string& what) {
    return ReadVarintField(key, what) != 0;
  }

  float ReadFloatField(const Key& key, const std::string& what) {
    Expect(key, kFixed32, what);
    const size_t start = Offset();
    if (bytes_.size() - pos_ < 4) {
      Fail(start, absl::StrCat(what, ": a 4-byte float runs past ", End(), " (",
                               bytes_.size() - pos_, " bytes left)"));
    }
    uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) {
      bits |= static_cast<uint32_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += 4;
    float value;
    std::memcpy(&value, &bits, sizeof(value));
    return value;
  }

  // A length-delimited field (string, bytes, message): its bytes; sets
  // `*offset` to the offset of its first byte.
  std::string_view ReadBytesField(const Key& key, const std::string& what, size_t* offset) {
    Expect(key, kLengthDelimited, what);
    const size_t start = Offset();
    const uint64_t length = ReadVarint(absl::StrCat(what, ": the length"));
    const size_t left = bytes_.size() - pos_;
    if (length > left) {
      Fail(start, absl::StrCat(what, ": its length, ", length, " bytes, runs past ", End(), " (",
                               left, left == 1 ? " byte" : " bytes", " left)"));
    }
    *offset = Offset();
    const std::string_view value = bytes_.substr(pos_, static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return value;
  }

  // Skips a field this reader does not use (any wire type but groups).
  void Skip(const Key& key) {
    const std::string what = UnknownFieldName(key.field);
    switch (key.wire_type) {
      case kVarint:
        ReadVarint(what);
        return;
      case kFixed64:
      case kFixed32: {
        const size_t size = key.wire_type == kFixed64 ? 8 : 4;
        if (bytes_.size() - pos_ < size) {
          Fail(Offset(),
               absl::StrCat(what, ": ", size, " bytes of wire type ", WireTypeName(key.wire_type),
                            " run past ", End(), " (", bytes_.size() - pos_, " left)"));
        }
        pos_ += size;
        return;
      }
      case kLengthDelimited: {
        size_t ignored;
        ReadBytesField(key, what, &ignored);
        return;
      }
      default:  // ReadKey refuses the others.
        Fail(key.offset, absl::StrCat(what, ": wire type ", WireTypeName(key.wire_type)));
    }
  }

  [[noreturn]] void Fail(size_t offset, const std::string& reason) const {
    throw TokenizerLoadError(path_, absl::StrCat("byte ", offset), reason);
  }

 private:
  size_t Offset() const { return base_ + pos_; }
  // The end of this message, for messages.
  std::string End() const {
    if (name_.empty()) return absl::StrCat("the end of the file (", bytes_.size(), " bytes)");
    return absl::StrCat("the end of ", name_, " (byte ", base_ + bytes_.size(), ")");
  }
  std::string UnknownFieldName(uint32_t field) const {
    return name_.empty() ? absl::StrCat("field ", field)
                         : absl::StrCat("field ", field, " of ", name_);
  }

  const std::string& path_;
  std::string_view bytes_;
  size_t base_;
  std::string name_;
  size_t pos_ = 0;
};

struct Piece {
  std::string text;
  float score = 0.0f;
  int32_t type = kNormal;
  size_t offset = 0;  // of the piece's message
};

// The fields of TrainerSpec the conversion uses, SentencePiece's defaults
// unless set; `*_at` the offset of the field's key, or kUnset.
struct TrainerSpec {
  int32_t model_type = kUnigram;
  size_t model_type_at = kUnset;
  bool byte_fallback = false;
  size_t byte_fallback_at = kUnset;
  bool treat_whitespace_as_suffix = false;
  size_t treat_whitespace_as_suffix_at = kUnset;
  // Read and checked for their wire type, not used: SentencePiece itself finds
  // its unknown, BOS and EOS pieces by type and by the *_piece names below.
  int32_t unk_id = 0;
  int32_t bos_id = 1;
  int32_t eos_id = 2;
  int32_t pad_id = -1;
  std::string unk_piece = "<unk>";
  size_t unk_piece_at = kUnset;
  std::string bos_piece = "<s>";
  std::string eos_piece = "</s>";
  size_t at = kUnset;  // the message
};

struct NormalizerSpec {
  std::string name;
  size_t name_at = kUnset;
  size_t precompiled_charsmap_size = 0;
  size_t precompiled_charsmap_at = kUnset;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  size_t remove_extra_whitespaces_at = kUnset;
  bool escape_whitespaces = true;
  size_t escape_whitespaces_at = kUnset;
  size_t at = kUnset;  // the message
};

struct ModelProto {
  std::vector<Piece> pieces;
  TrainerSpec trainer;
  NormalizerSpec normalizer;
  NormalizerSpec denormalizer;
};

// A string field that must be UTF-8 (protobuf strings are).
std::string Utf8Field(const WireReader& reader, std::string_view value, size_t offset,
                      const std::string& what) {
  const size_t bad = FindInvalidUtf8(value);
  if (bad != std::string_view::npos) {
    reader.Fail(offset + bad, absl::StrCat(what, " is not UTF-8: '", Excerpt(value), "' (byte ",
                                           bad, " of the string)"));
  }
  return std::string(value);
}

Piece ReadPiece(const std::string& path, std::string_view bytes, size_t base, size_t index) {
  Piece piece;
  piece.offset = base;
  WireReader reader(path, bytes, base, absl::StrCat("pieces[", index, "]"));
  while (!reader.AtEnd()) {
    const WireReader::Key key = reader.ReadKey();
    switch (key.field) {
      case 1: {
        const std::string what = reader.FieldName("piece");
        size_t at;
        const std::string_view text = reader.ReadBytesField(key, what, &at);
        piece.text = Utf8Field(reader, text, at, what);
        break;
      }
      case 2:
        piece.score = reader.ReadFloatField(key, reader.FieldName("score"));
        break;
      case 3: {
        const std::string what = reader.FieldName("type");
        const uint64_t type = reader.ReadVarintField(key, what);
        if (type < static_cast<uint64_t>(kNormal) || type > static_cast<uint64_t>(kByte)) {
          reader.Fail(key.offset, absl::StrCat(what, " is ", type,
                                               ", not a SentencePiece piece type (1 NORMAL, 2 "
                                               "UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED, "
                                               "6 BYTE)"));
        }
        piece.type = static_cast<int32_t>(type);
        break;
      }
      default:
        reader.Skip(key);
    }
  }
  return piece;
}

void ReadTrainerSpec(const std::string& path, std::string_view bytes, size_t base,
                     TrainerSpec* spec) {
  if (spec->at == kUnset) spec->at = base;
  WireReader reader(path, bytes, base, "trainer_spec");
  auto string_field = [&](const WireReader::Key& key, const std::string& name) {
    const std::string what = reader.FieldName(name);
    size_t at;
    const std::string_view value = reader.ReadBytesField(key, what, &at);
    return Utf8Field(reader, value, at, what);
  };
  while (!reader.AtEnd()) {
    const WireReader::Key key = reader.ReadKey();
    switch (key.field) {
      case 3:
        spec->model_type = reader.ReadInt32Field(key, reader.FieldName("model_type"));
        spec->model_type_at = key.offset;
        break;
      case 24:
        spec->treat_whitespace_as_suffix =
            reader.ReadBoolField(key, reader.FieldName("treat_whitespace_as_suffix"));
        spec->treat_whitespace_as_suffix_at = key.offset;
        break;
      case 35:
        spec->byte_fallback = reader.ReadBoolField(key, reader.FieldName("byte_fallback"));
        spec->byte_fallback_at = key.offset;
        break;
      case 40:
        spec->unk_id = reader.ReadInt32Field(key, reader.FieldName("unk_id"));
        break;
      case 41:
        spec->bos_id = reader.ReadInt32Field(key, reader.FieldName("bos_id"));
        break;
      case 42:
        spec->eos_id = reader.ReadInt32Field(key, reader.FieldName("eos_id"));
        break;
      case 43:
        spec->pad_id = reader.ReadInt32Field(key, reader.FieldName("pad_id"));
        break;
      case 45:
        spec->unk_piece = string_field(key, "unk_piece");
        spec->unk_piece_at = key.offset;
        break;
      case 46:
        spec->bos_piece = string_field(key, "bos_piece");
        break;
      case 47:
        spec->eos_piece = string_field(key, "eos_piece");
        break;
      default:
        reader.Skip(key);
    }
  }
}

void ReadNormalizerSpec(const std::string& path, std::string_view bytes, size_t base,
                        const std::string& name, NormalizerSpec* spec) {
  if (spec->at == kUnset) spec->at = base;
  WireReader reader(path, bytes, base, name);
  while (!reader.AtEnd()) {
    const WireReader::Key key = reader.ReadKey();
    switch (key.field) {
      case 1: {
        const std::string what = reader.FieldName("name");
        size_t at;
        const std::string_view value = reader.ReadBytesField(key, what, &at);
        spec->name = Utf8Field(reader, value, at, what);
        spec->name_at = key.offset;
        break;
      }
      case 2: {
        size_t at;
        spec->precompiled_charsmap_size =
            reader.ReadBytesField(key, reader.FieldName("precompiled_charsmap"), &at).size();
        spec->precompiled_charsmap_at = key.offset;
        break;
      }
      case 3:
        spec->add_dummy_prefix = reader.ReadBoolField(key, reader.FieldName("add_dummy_prefix"));
        break;
      case 4:
        spec->remove_extra_whitespaces =
            reader.ReadBoolField(key, reader.FieldName("remove_extra_whitespaces"));
        spec->remove_extra_whitespaces_at = key.offset;
        break;
      case 5:
        spec->escape_whitespaces =
            reader.ReadBoolField(key, reader.FieldName("escape_whitespaces"));
        spec->escape_whitespaces_at = key.offset;
        break;
      default:  // normalization_rule_tsv (6) is for training only
        reader.Skip(key);
    }
  }
}

ModelProto ReadModelProto(std::string_view bytes, const std::string& path) {
  ModelProto model;
  WireReader reader(path, bytes, 0, "");
  while (!reader.AtEnd()) {
    const WireReader::Key key = reader.ReadKey();
    size_t at;
    switch (key.field) {
      case 1: {
        const std::string what = absl::StrCat("pieces[", model.pieces.size(), "]");
        const std::string_view message = reader.ReadBytesField(key, what, &at);
        model.pieces.push_back(ReadPiece(path, message, at, model.pieces.size()));
        break;
      }
      case 2: {
        const std::string_view message = reader.ReadBytesField(key, "trainer_spec", &at);
        ReadTrainerSpec(path, message, at, &model.trainer);
        break;
      }
      case 3: {
        const std::string_view message = reader.ReadBytesField(key, "normalizer_spec", &at);
        ReadNormalizerSpec(path, message, at, "normalizer_spec", &model.normalizer);
        break;
      }
      case 5: {
        const std::string_view message = reader.ReadBytesField(key, "denormalizer_spec", &at);
        ReadNormalizerSpec(path, message, at, "denormalizer_spec", &model.denormalizer);
        break;
      }
      default:  // self_test_data (4) and fields this reader does not know
        reader.Skip(key);
    }
  }
  return model;
}

[[noreturn]] void Fail(const std::string& path, size_t offset, const std::string& reason) {
  throw TokenizerLoadError(path, offset == kUnset ? "" : absl::StrCat("byte ", offset), reason);
}

// Refuses what the conversion cannot represent exactly.
void CheckConvertible(const ModelProto& model, const std::string& path) {
  const TrainerSpec& trainer = model.trainer;
  if (trainer.model_type != kBpe) {
    const bool set = trainer.model_type_at != kUnset;
    Fail(path, set ? trainer.model_type_at : trainer.at,
         absl::StrCat("trainer_spec.model_type is ", ModelTypeName(trainer.model_type),
                      set ? "" : " (not set: SentencePiece's default)", ": ",
                      trainer.model_type == kUnigram ? "unigram models are " : "",
                      "not supported; ", "only BPE models (model_type 2) can be read"));
  }
  if (trainer.treat_whitespace_as_suffix) {
    Fail(path, trainer.treat_whitespace_as_suffix_at,
         "trainer_spec.treat_whitespace_as_suffix is true: not supported (the space symbol "
         "would end words, not begin them)");
  }
  const NormalizerSpec& normalizer = model.normalizer;
  if (normalizer.precompiled_charsmap_size > 0) {
    Fail(path, normalizer.precompiled_charsmap_at,
         absl::StrCat("normalizer_spec.precompiled_charsmap holds a normalizer (",
                      normalizer.precompiled_charsmap_size, " bytes",
                      normalizer.name.empty() ? "" : absl::StrCat(", '", normalizer.name, "'"),
                      "): not supported; only the identity normalizer can be read"));
  }
  if (!normalizer.name.empty() && normalizer.name != "identity") {
    Fail(path, normalizer.name_at,
         absl::StrCat("normalizer_spec.name is '", Excerpt(normalizer.name),
                      "': not supported; only the identity normalizer can be read"));
  }
  if (normalizer.remove_extra_whitespaces) {
    Fail(path,
         normalizer.remove_extra_whitespaces_at != kUnset ? normalizer.remove_extra_whitespaces_at
                                                          : normalizer.at,
         absl::StrCat("normalizer_spec.remove_extra_whitespaces is ",
                      normalizer.remove_extra_whitespaces_at == kUnset
                          ? "not set (SentencePiece's default: true)"
                          : "true",
                      ": not supported (the conversion keeps every space)"));
  }
  if (!normalizer.escape_whitespaces) {
    Fail(path, normalizer.escape_whitespaces_at,
         "normalizer_spec.escape_whitespaces is false: not supported (the conversion writes "
         "spaces as \xE2\x96\x81)");
  }
  if (model.denormalizer.precompiled_charsmap_size > 0) {
    Fail(path, model.denormalizer.precompiled_charsmap_at,
         absl::StrCat("denormalizer_spec.precompiled_charsmap holds a denormalizer (",
                      model.denormalizer.precompiled_charsmap_size,
                      " bytes): not supported; decoding would differ"));
  }
}

// The BYTE piece of `byte`: "<0xHH>".
std::string BytePieceName(int byte) {
  return {'<', '0', 'x', kHexDigits[byte >> 4], kHexDigits[byte & 15], '>'};
}

// The byte of a BYTE piece "<0xHH>", or -1 when it is not written so.
int BytePieceValue(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (const char c : text.substr(3, 2)) {
    value <<= 4;
    if (c >= '0' && c <= '9') {
      value |= c - '0';
    } else if (c >= 'A' && c <= 'F') {
      value |= c - 'A' + 10;
    } else {
      return -1;
    }
  }
  return value;
}

// Checks the pieces as SentencePiece does when it loads a model, plus what the
// conversion needs (ids that fit in int32, no UNUSED pieces); returns the
// vocabulary (piece -> id).
absl::flat_hash_map<std::string, int32_t> CheckPieces(const ModelProto& model,
                                                      const std::string& path) {
  const std::vector<Piece>& pieces = model.pieces;
  if (pieces.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    Fail(path, kUnset, absl::StrCat(pieces.size(), " pieces: too many for 32-bit ids"));
  }
  absl::flat_hash_map<std::string, int32_t> vocab;
  vocab.reserve(pieces.size());
  std::vector<bool> byte_seen(256, false);
  int byte_pieces = 0;
  std::optional<size_t> unknown;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const Piece& piece = pieces[i];
    const std::string name = absl::StrCat("pieces[", i, "]");
    if (piece.text.empty()) Fail(path, piece.offset, absl::StrCat(name, ".piece is empty"));
    const auto [it, inserted] = vocab.try_emplace(piece.text, static_cast<int32_t>(i));
    if (!inserted) {
      Fail(path, piece.offset,
           absl::StrCat(name, " '", Excerpt(piece.text), "' is already pieces[", it->second, "]"));
    }
    if (!std::isfinite(piece.score)) {
      Fail(path, piece.offset,
           absl::StrCat(name, " '", Excerpt(piece.text), "' has the score ", piece.score,
                        "; scores must be finite"));
    }
    switch (piece.type) {
      case kUnknown:
        if (unknown) {
          Fail(path, piece.offset,
               absl::StrCat(name, " '", Excerpt(piece.text),
                            "' is a second UNKNOWN piece (the first is pieces[", *unknown, "])"));
        }
        unknown = i;
        break;
      case kUnused:
        Fail(path, piece.offset,
             absl::StrCat(name, " '", Excerpt(piece.text),
                          "' is UNUSED: not supported (SentencePiece never gives it, the "
                          "conversion would)"));
      case kByte: {
        const int value = BytePieceValue(piece.text);
        if (value < 0) {
          Fail(
              path, piece.offset,
              absl::StrCat(name, " '", Excerpt(piece.text),
                           "' is a BYTE piece but not written <0xHH> (two upper-case hex digits)"));
        }
        if (!model.trainer.byte_fallback) {
          Fail(path, piece.offset,
               absl::StrCat(name, " '", piece.text,
                            "' is a BYTE piece, but trainer_spec.byte_fallback is false"));
        }
        byte_seen[value] = true;
        ++byte_pieces;
        break;
      }
      default:
        break;
    }
  }
  if (!unknown) {
    Fail(path, kUnset, "the model has no UNKNOWN piece (SentencePiece needs one, as <unk>)");
  }
  if (model.trainer.byte_fallback && byte_pieces != 256) {
    const int missing =
        static_cast<int>(std::find(byte_seen.begin(), byte_seen.end(), false) - byte_seen.begin());
    Fail(path, model.trainer.byte_fallback_at,
         absl::StrCat("trainer_spec.byte_fallback is true, but the model has no BYTE piece ",
                      BytePieceName(missing), " (it needs all 256)"));
  }
  const auto unk = vocab.find(model.trainer.unk_piece);
  if (unk == vocab.end() || static_cast<size_t>(unk->second) != *unknown) {
    Fail(path, model.trainer.unk_piece_at,
         absl::StrCat("trainer_spec.unk_piece is '", Excerpt(model.trainer.unk_piece),
                      "' but the UNKNOWN piece is '", Excerpt(pieces[*unknown].text), "' (pieces[",
                      *unknown, "])"));
  }
  return vocab;
}

// SentencePiece's bos_id()/eos_id(): the id of `piece` when it is a CONTROL piece.
std::optional<int32_t> ControlId(const ModelProto& model,
                                 const absl::flat_hash_map<std::string, int32_t>& vocab,
                                 const std::string& piece) {
  const auto it = vocab.find(piece);
  if (it == vocab.end() || model.pieces[it->second].type != kControl) return std::nullopt;
  return it->second;
}

// transformers' SentencePieceExtractor: every split of every piece into two
// pieces of the vocabulary, ordered by the score of the piece they make
// (highest first), then by that piece's id, then by the ids of the left and
// right pieces. (It collects the splits piece by piece in id order, each
// piece's sorted by the left and right ids, and stable-sorts them by score.)
// LlamaConverter gives the pieces of ids 0-2 (<unk>, <s>, </s>) the score 0.
std::vector<BpeMerge> GenerateMerges(const std::vector<Piece>& pieces,
                                     const absl::flat_hash_map<std::string, int32_t>& vocab) {
  struct Candidate {
    float score;
    BpeMerge merge;
  };
  std::vector<Candidate> candidates;
  candidates.reserve(pieces.size() * 2);
  for (size_t id = 0; id < pieces.size(); ++id) {
    const std::string_view text = pieces[id].text;
    const float score = id < 3 ? 0.0f : pieces[id].score;
    for (size_t cut = Utf8SequenceLength(static_cast<unsigned char>(text[0])); cut < text.size();
         cut += Utf8SequenceLength(static_cast<unsigned char>(text[cut]))) {
      const auto left = vocab.find(ToAbsl(text.substr(0, cut)));
      if (left == vocab.end()) continue;
      const auto right = vocab.find(ToAbsl(text.substr(cut)));
      if (right == vocab.end()) continue;
      candidates.push_back({score, {left->second, right->second, static_cast<int32_t>(id)}});
    }
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.merge.result != b.merge.result) return a.merge.result < b.merge.result;
    if (a.merge.left != b.merge.left) return a.merge.left < b.merge.left;
    return a.merge.right < b.merge.right;
  });
  std::vector<BpeMerge> merges;
  merges.reserve(candidates.size());
  for (const Candidate& candidate : candidates) merges.push_back(candidate.merge);
  return merges;
}

}  // namespace

PipelineSpec ParseSentencePieceModel(std::string_view bytes, const std::string& path,
                                     SentencePieceSpecialIds* special_ids) {
  const ModelProto model = ReadModelProto(bytes, path);
  if (model.pieces.empty()) {
    Fail(path, kUnset,
         bytes.empty() ? "the file is empty: not a SentencePiece model"
                       : "the model has no pieces (ModelProto field 1): not a SentencePiece model");
  }
  CheckConvertible(model, path);
  absl::flat_hash_map<std::string, int32_t> vocab = CheckPieces(model, path);
  const std::optional<int32_t> bos = ControlId(model, vocab, model.trainer.bos_piece);
  const std::optional<int32_t> eos = ControlId(model, vocab, model.trainer.eos_piece);
  if (special_ids != nullptr) *special_ids = {bos, eos};

  PipelineSpec spec;
  spec.path = path;
  ModelSpec& bpe = spec.model;
  bpe.kind = ModelSpec::Kind::kBpe;
  bpe.merges = GenerateMerges(model.pieces, vocab);
  bpe.options.unk_id = vocab.at(model.trainer.unk_piece);
  bpe.options.fuse_unk = true;
  // LlamaConverter always sets byte_fallback; without BYTE pieces (which
  // CheckPieces allows only with trainer_spec.byte_fallback) it changes nothing.
  bpe.options.byte_fallback = model.trainer.byte_fallback;
  bpe.vocab = std::move(vocab);

  for (size_t i = 0; i < model.pieces.size(); ++i) {
    const Piece& piece = model.pieces[i];
    if (piece.type != kUnknown && piece.type != kControl && piece.type != kUserDefined) continue;
    AddedToken token;
    token.id = static_cast<int32_t>(i);
    token.content = piece.text;
    token.normalized = false;
    token.special = piece.type != kUserDefined;
    token.where = absl::StrCat("pieces[", i, "] (", PieceTypeName(piece.type), ")");
    spec.added_tokens.push_back(std::move(token));
  }

  const bool dummy_prefix = model.normalizer.add_dummy_prefix;
  if (dummy_prefix) {
    NormalizerStep prepend{NormalizerStep::Kind::kPrepend,
                           std::string(kSpaceSymbol),
                           {},
                           "normalizer_spec.add_dummy_prefix (Prepend)"};
    spec.normalizers.push_back(std::move(prepend));
  }
  NormalizerStep replace{NormalizerStep::Kind::kReplace,
                         std::string(kSpaceSymbol),
                         {" ", false},
                         "normalizer_spec.escape_whitespaces (Replace)"};
  spec.normalizers.push_back(std::move(replace));

  if (bos) {
    spec.single_template.push_back({false, {*bos}});
    spec.single_template.push_back({true, {}});
  }

  DecoderStep space{};
  space.kind = DecoderStep::Kind::kReplace;
  space.pattern = {std::string(kSpaceSymbol), false};
  space.content = " ";
  space.where = "decoder (Replace \xE2\x96\x81 by a space)";
  spec.decoders.push_back(std::move(space));
  DecoderStep byte_fallback{};
  byte_fallback.kind = DecoderStep::Kind::kByteFallback;
  byte_fallback.where = "decoder (ByteFallback)";
  spec.decoders.push_back(std::move(byte_fallback));
  DecoderStep fuse{};
  fuse.kind = DecoderStep::Kind::kFuse;
  fuse.where = "decoder (Fuse)";
  spec.decoders.push_back(std::move(fuse));
  if (dummy_prefix) {
    DecoderStep strip{};
    strip.kind = DecoderStep::Kind::kStrip;
    strip.content = " ";
    strip.start = 1;
    strip.stop = 0;
    strip.where = "decoder (Strip the dummy prefix)";
    spec.decoders.push_back(std::move(strip));
  }
  return spec;
}

PipelineSpec ReadSentencePieceModel(const std::string& path, SentencePieceSpecialIds* special_ids) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    throw TokenizerLoadError(path, "", "is a directory, not a SentencePiece model");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) throw TokenizerLoadError(path, "", "cannot open the file");
  std::ostringstream bytes;
  bytes << file.rdbuf();
  if (file.bad()) throw TokenizerLoadError(path, "", "cannot read the file");
  return ParseSentencePieceModel(bytes.str(), path, special_ids);
}

}  // namespace modelhub
