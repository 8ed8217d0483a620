#include "runtime/formats/safetensors.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <system_error>
#include <tuple>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "runtime/core/durable_file.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

// File offset of the JSON header.
constexpr uint64_t kHeaderStart = 8;
// The reference crate's limit on the header length N.
constexpr uint64_t kMaxHeaderSize = 100'000'000;
// The bytes JSON counts as whitespace (RFC 8259), as serde_json skips them.
constexpr char kJsonWhitespace[] = " \t\n\r";
// Bytes written by one write(2) in WriteSafetensors.
constexpr size_t kWriteChunk = size_t{64} << 20;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; big-endian hosts would need byte swaps");

std::string Quoted(std::string_view text) { return absl::StrCat("'", std::string(text), "'"); }

// ---------------------------------------------------------------------------
// Header parsing.

// A char iterator over the header that records, in *fetched, how far the JSON
// lexer has read: nlohmann's SAX interface reports no positions, but its lexer
// fetches each byte exactly once, so at each SAX event *fetched is just past the
// event's token (one byte further after a number, whose end needs a lookahead).
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* at, const char** fetched) : at_(at), fetched_(fetched) {}
  reference operator*() const { return *at_; }
  CountingIterator& operator++() {
    *fetched_ = ++at_;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const CountingIterator& other) const { return at_ == other.at_; }
  bool operator!=(const CountingIterator& other) const { return at_ != other.at_; }

 private:
  const char* at_;
  const char** fetched_;
};

// What a header parse produces.
struct ParsedHeader {
  std::vector<TensorEntry> entries;     // offsets still relative to the data start
  std::vector<uint64_t> entry_offsets;  // file offset of each entry's name
  std::map<std::string, std::string> metadata;
};

// Validates the header JSON as it streams by and collects the entries. Each
// violation throws CorruptModelCheckpointError at the offending token.
class HeaderHandler {
 public:
  using json = nlohmann::json;

  HeaderHandler(const std::string& path, const std::string& header, uint64_t data_start,
                const char** fetched)
      : path_(path), header_(header), data_start_(data_start), fetched_(fetched) {}

  ParsedHeader Take() { return std::move(result_); }

  // SAX events.
  bool null() { return Scalar("null", LiteralStart(4)); }
  bool boolean(bool value) { return Scalar("a boolean", LiteralStart(value ? 4 : 5)); }
  bool number_integer(json::number_integer_t value) {
    if (value >= 0) return Unsigned(static_cast<uint64_t>(value), NumberStart());
    return Scalar(absl::StrCat("the negative number ", value), NumberStart());
  }
  bool number_unsigned(json::number_unsigned_t value) { return Unsigned(value, NumberStart()); }
  bool number_float(json::number_float_t /*value*/, const json::string_t& text) {
    return Scalar(absl::StrCat("the non-integer number ", text), NumberStart());
  }
  bool binary(json::binary_t& /*value*/) { return Scalar("binary data", Fetched()); }
  bool string(json::string_t& value) {
    const uint64_t at = StringStart();
    if (context_.back() == Context::kMetadata) {
      result_.metadata[metadata_key_] = std::move(value);
      return true;
    }
    if (context_.back() == Context::kEntry && field_ == "dtype") {
      std::optional<TensorDtype> dtype = ParseTensorDtype(value);
      if (!dtype || !IsSafetensorsDtype(*dtype)) {
        Fail(absl::StrCat(TensorLabel(), " has an unknown dtype ", Quoted(value),
                          " at file offset ", at));
      }
      entry_.dtype = *dtype;
      return true;
    }
    return Scalar(absl::StrCat("the string ", Quoted(value)), at);
  }

  bool start_object(size_t /*elements*/) {
    const uint64_t at = Fetched() - 1;
    if (context_.empty()) {
      context_.push_back(Context::kTop);
      return true;
    }
    if (context_.back() == Context::kTop) {
      if (key_ == "__metadata__") {
        context_.push_back(Context::kMetadata);
      } else {
        context_.push_back(Context::kEntry);
        entry_ = TensorEntry();
        entry_.name = key_;
        seen_fields_.clear();
      }
      return true;
    }
    return Scalar("an object", at);
  }

  bool key(json::string_t& key) {
    const uint64_t at = StringStart();
    switch (context_.back()) {
      case Context::kTop:
        if (!names_.insert(key).second) {
          Fail(key == "__metadata__"
                   ? absl::StrCat("duplicate \"__metadata__\" at file offset ", at)
                   : absl::StrCat("duplicate tensor ", Quoted(key), " at file offset ", at));
        }
        key_ = std::move(key);
        key_offset_ = at;
        return true;
      case Context::kMetadata:
        if (result_.metadata.count(key) != 0) {
          Fail(absl::StrCat("duplicate metadata key ", Quoted(key), " at file offset ", at));
        }
        metadata_key_ = std::move(key);
        return true;
      case Context::kEntry:
        if (key != "dtype" && key != "shape" && key != "data_offsets") {
          Fail(absl::StrCat(TensorLabel(), " has an unknown key ", Quoted(key), " at file offset ",
                            at, " (expected \"dtype\", \"shape\" and \"data_offsets\")"));
        }
        if (!seen_fields_.insert(key).second) {
          Fail(absl::StrCat(TensorLabel(), " has a duplicate key ", Quoted(key), " at file offset ",
                            at));
        }
        field_ = std::move(key);
        return true;
      case Context::kShape:
      case Context::kOffsets:
        break;
    }
    return true;  // keys only come inside objects
  }

  bool end_object() {
    const Context done = context_.back();
    context_.pop_back();
    if (done == Context::kEntry) FinishEntry();
    return true;
  }

  bool start_array(size_t /*elements*/) {
    const uint64_t at = Fetched() - 1;
    if (context_.back() == Context::kEntry && field_ == "shape") {
      context_.push_back(Context::kShape);
      return true;
    }
    if (context_.back() == Context::kEntry && field_ == "data_offsets") {
      context_.push_back(Context::kOffsets);
      offsets_count_ = 0;
      offsets_offset_ = at;
      return true;
    }
    return Scalar("an array", at);
  }

  bool end_array() {
    const uint64_t at = Fetched() - 1;
    if (context_.back() == Context::kOffsets && offsets_count_ != 2) {
      Fail(absl::StrCat(TensorLabel(), ": data_offsets at file offset ", offsets_offset_, " has ",
                        offsets_count_, " numbers, not 2 (it ends at file offset ", at, ")"));
    }
    context_.pop_back();
    return true;
  }

  bool parse_error(size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& error) {
    // `position` counts the bytes the lexer has read, the offending one included.
    const uint64_t at = kHeaderStart + (position > 0 ? position - 1 : 0);
    std::string what = error.what();
    if (const size_t close = what.find("] ");
        what.rfind("[json.exception", 0) == 0 && close != std::string::npos) {
      what = what.substr(close + 2);
    }
    Fail(absl::StrCat("the header is not valid JSON at file offset ", at, ": ", what));
    return false;
  }

 private:
  enum class Context { kTop, kMetadata, kEntry, kShape, kOffsets };

  [[noreturn]] void Fail(const std::string& message) const {
    throw CorruptModelCheckpointError(path_, message);
  }

  // File offset of the first header byte the lexer has not fetched.
  uint64_t Fetched() const {
    return kHeaderStart + static_cast<uint64_t>(*fetched_ - header_.data());
  }
  uint64_t LiteralStart(uint64_t length) const { return Fetched() - length; }
  // The current token is a string whose closing quote is the last byte fetched.
  uint64_t StringStart() const {
    size_t i = static_cast<size_t>(*fetched_ - header_.data()) - 1;
    while (i > 0) {
      --i;
      if (header_[i] != '"') continue;
      size_t backslashes = 0;
      while (backslashes < i && header_[i - 1 - backslashes] == '\\') ++backslashes;
      if (backslashes % 2 == 0) break;
    }
    return kHeaderStart + i;
  }
  // The current token is a number followed by one fetched lookahead byte.
  uint64_t NumberStart() const {
    const size_t fetched = static_cast<size_t>(*fetched_ - header_.data());
    // No lookahead byte when the number ends the (then invalid) header.
    size_t i =
        fetched == header_.size() && IsNumberByte(header_[fetched - 1]) ? fetched : fetched - 1;
    while (i > 0 && IsNumberByte(header_[i - 1])) --i;
    return kHeaderStart + i;
  }
  static bool IsNumberByte(char c) {
    return c != '\0' && std::strchr("0123456789+-.eE", c) != nullptr;
  }
  std::string TensorLabel() const {
    return absl::StrCat("tensor ", Quoted(entry_.name), " (entry at file offset ", key_offset_,
                        ")");
  }

  // A non-negative integer: a shape dimension or a data offset, an error elsewhere.
  bool Unsigned(uint64_t value, uint64_t at) {
    switch (context_.back()) {
      case Context::kShape:
        if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          Fail(absl::StrCat(TensorLabel(), ": shape[", entry_.shape.size(), "] = ", value,
                            " at file offset ", at, " is too large"));
        }
        entry_.shape.push_back(static_cast<int64_t>(value));
        return true;
      case Context::kOffsets:
        if (offsets_count_ >= 2) {
          Fail(absl::StrCat(TensorLabel(), ": data_offsets at file offset ", offsets_offset_,
                            " has more than 2 numbers (the third is at file offset ", at, ")"));
        }
        (offsets_count_ == 0 ? entry_.begin : entry_.end) = value;
        ++offsets_count_;
        return true;
      default:
        return Scalar(absl::StrCat("the number ", value), at);
    }
  }

  // Rejects a value `what` at file offset `at` where the context wants another.
  bool Scalar(const std::string& what, uint64_t at) {
    switch (context_.back()) {
      case Context::kTop:
        if (key_ == "__metadata__") {
          if (what == "null") return true;  // as serde reads Option<HashMap>
          Fail(absl::StrCat("\"__metadata__\" must be an object of strings, not ", what,
                            " (file offset ", at, ")"));
        }
        Fail(absl::StrCat("tensor ", Quoted(key_), " (entry at file offset ", key_offset_,
                          ") must be an object, not ", what, " (file offset ", at, ")"));
      case Context::kMetadata:
        Fail(absl::StrCat("metadata value of ", Quoted(metadata_key_), " must be a string, not ",
                          what, " (file offset ", at, ")"));
      case Context::kEntry:
        Fail(absl::StrCat(TensorLabel(), ": \"", field_, "\" must be ",
                          field_ == "dtype" ? "a string" : "an array of non-negative integers",
                          ", not ", what, " (file offset ", at, ")"));
      case Context::kShape:
        Fail(absl::StrCat(TensorLabel(), ": shape[", entry_.shape.size(),
                          "] must be a non-negative integer, not ", what, " (file offset ", at,
                          ")"));
      case Context::kOffsets:
        Fail(absl::StrCat(TensorLabel(), ": data_offsets[", offsets_count_,
                          "] must be a non-negative integer, not ", what, " (file offset ", at,
                          ")"));
    }
    return false;
  }

  void FinishEntry() {
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (seen_fields_.count(field) == 0) {
        Fail(absl::StrCat(TensorLabel(), " has no \"", field, "\""));
      }
    }
    const std::string dtype(TensorDtypeName(entry_.dtype));
    // The reference crate multiplies in shape order, then by the element's
    // bits, with checked arithmetic.
    uint64_t numel = 1;
    bool overflow = false;
    for (int64_t dim : entry_.shape) {
      overflow = overflow || __builtin_mul_overflow(numel, static_cast<uint64_t>(dim), &numel);
    }
    uint64_t nbits = 0;
    overflow = overflow || __builtin_mul_overflow(numel, TensorDtypeBits(entry_.dtype), &nbits) ||
               numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (overflow) {
      Fail(absl::StrCat(TensorLabel(), ": the byte size of ", dtype, " shape [",
                        ShapeText(entry_.shape), "] overflows 64 bits"));
    }
    if (nbits % 8 != 0) {
      Fail(absl::StrCat(TensorLabel(), ": ", dtype, " shape [", ShapeText(entry_.shape), "] holds ",
                        numel, " elements of ", TensorDtypeBits(entry_.dtype), " bits, ", nbits,
                        " bits in all: not a whole number of bytes"));
    }
    const uint64_t nbytes = nbits / 8;
    const uint64_t data_limit = std::numeric_limits<uint64_t>::max() - data_start_;
    if (entry_.end < entry_.begin || entry_.end > data_limit) {
      Fail(absl::StrCat(TensorLabel(), ": data_offsets [", entry_.begin, ", ", entry_.end,
                        "] at file offset ", offsets_offset_,
                        entry_.end < entry_.begin ? " end before they begin"
                                                  : " lie beyond any possible file size"));
    }
    if (entry_.end - entry_.begin != nbytes) {
      Fail(absl::StrCat(TensorLabel(), ": ", dtype, " shape [", ShapeText(entry_.shape), "] takes ",
                        nbytes, " bytes but data_offsets [", entry_.begin, ", ", entry_.end,
                        "] span ", entry_.end - entry_.begin, " bytes (file offsets ",
                        data_start_ + entry_.begin, " to ", data_start_ + entry_.end, ")"));
    }
    result_.entries.push_back(std::move(entry_));
    result_.entry_offsets.push_back(key_offset_);
  }

  static std::string ShapeText(const std::vector<int64_t>& shape) {
    std::string text;
    for (size_t i = 0; i < shape.size(); ++i) {
      absl::StrAppend(&text, i == 0 ? "" : ", ", shape[i]);
    }
    return text;
  }

  const std::string& path_;
  const std::string& header_;
  const uint64_t data_start_;
  const char** fetched_;

  std::vector<Context> context_;
  std::unordered_set<std::string> names_;  // top-level keys seen
  std::string key_;                        // the current top-level key
  uint64_t key_offset_ = 0;
  std::string metadata_key_;
  TensorEntry entry_;  // the entry being read
  std::unordered_set<std::string> seen_fields_;
  std::string field_;  // the current key of entry_
  size_t offsets_count_ = 0;
  uint64_t offsets_offset_ = 0;
  ParsedHeader result_;
};

// ---------------------------------------------------------------------------
// Writing.

// An open file that is removed again unless Commit() renames it into place.
class TempFile {
 public:
  explicit TempFile(const std::string& target) : target_(target) {
    static std::atomic<uint64_t> counter{0};
    for (int attempt = 0;; ++attempt) {
      name_ = absl::StrCat(target, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
      fd_ = ::open(name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) return;
      const int error = errno;
      if (error != EEXIST || attempt >= 100)
        Throw(error, "cannot create the temporary file " + name_);
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(name_.c_str());
  }

  void Write(const void* data, size_t size) {
    const char* in = static_cast<const char*>(data);
    while (size > 0) {
      const ssize_t put = ::write(fd_, in, std::min(size, kWriteChunk));
      if (put < 0) {
        const int error = errno;
        if (error == EINTR) continue;
        Throw(error, "cannot write " + name_);
      }
      in += put;
      size -= static_cast<size_t>(put);
    }
  }

  // Flushes the file to disk and renames it to the target.
  void Commit() {
    if (::fsync(fd_) != 0) {
      const int error = errno;
      Throw(error, "cannot fsync " + name_);
    }
    if (::close(std::exchange(fd_, -1)) != 0) {
      const int error = errno;
      Throw(error, "cannot close " + name_);
    }
    if (::rename(name_.c_str(), target_.c_str()) != 0) {
      const int error = errno;
      Throw(error, "cannot rename " + name_ + " to " + target_);
    }
    committed_ = true;
    // Make the rename itself durable; the file is in place either way.
    const size_t slash = target_.rfind('/');
    SyncFolder(slash == std::string::npos ? "." : target_.substr(0, slash + 1));
  }

 private:
  [[noreturn]] void Throw(int error, const std::string& what) const {
    throw CheckpointSaveError(target_,
                              absl::StrCat(what, ": ", std::generic_category().message(error)));
  }

  std::string target_;
  std::string name_;
  int fd_ = -1;
  bool committed_ = false;
};

void PutU64(std::string* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

}  // namespace

TensorFile OpenSafetensors(const std::string& path, ReadStrategy strategy) {
  TensorFile file = TensorFile::Open(path, strategy, "safetensors");
  const uint64_t size = file.file_size();

  unsigned char prefix[8];
  if (size < 8) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("the file is ", size,
                           " bytes long, too short for the 8-byte header length at file "
                           "offset 0"));
  }
  file.ReadBytes(0, 8, prefix, "the header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | prefix[i];
  if (n > kMaxHeaderSize) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("the header length ", n, " at file offset 0 exceeds the limit of ",
                           kMaxHeaderSize, " bytes"));
  }
  if (n > size - 8) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("the header length ", n, " at file offset 0 runs past the end of the ",
                           size, "-byte file: the header would end at file offset ", 8 + n));
  }
  const uint64_t data_start = 8 + n;

  std::string header(n, '\0');
  file.ReadBytes(8, n, header.data(), "the header");
  // JSON whitespace may pad the header on either side: the reference crate
  // reads it with serde_json, and writers may pad it to align the data.
  const size_t start = header.find_first_not_of(kJsonWhitespace);
  if (start == std::string::npos) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("the header at file offset 8 is ",
                           n == 0 ? "empty" : absl::StrCat(n, " bytes of whitespace"),
                           "; it must be a JSON object"));
  }
  if (header[start] != '{') {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("the header at file offset ", kHeaderStart + start,
                           " does not start with '{' (found byte ",
                           static_cast<int>(static_cast<unsigned char>(header[start])),
                           "); it must be a JSON object"));
  }

  const char* fetched = header.data();
  HeaderHandler handler(path, header, data_start, &fetched);
  nlohmann::json::sax_parse(CountingIterator(header.data(), &fetched),
                            CountingIterator(header.data() + header.size(), &fetched), &handler);
  ParsedHeader parsed = handler.Take();

  // Tensor data must tile [0, data size) exactly once sorted by offsets.
  std::vector<size_t> order(parsed.entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Stable: empty tensors sharing an offset keep their header order.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const TensorEntry& x = parsed.entries[a];
    const TensorEntry& y = parsed.entries[b];
    return std::tie(x.begin, x.end) < std::tie(y.begin, y.end);
  });
  uint64_t covered = 0;
  const TensorEntry* previous = nullptr;
  for (size_t i : order) {
    const TensorEntry& entry = parsed.entries[i];
    const std::string label = absl::StrCat("tensor ", Quoted(entry.name), " (entry at file offset ",
                                           parsed.entry_offsets[i], ")");
    if (entry.begin > covered) {
      throw CorruptModelCheckpointError(
          path, absl::StrCat("a gap of ", entry.begin - covered, " unused bytes at file offset ",
                             data_start + covered, " before ", label,
                             ", which begins at file offset ", data_start + entry.begin));
    }
    if (entry.begin < covered) {
      throw CorruptModelCheckpointError(
          path, absl::StrCat(label, " begins at file offset ", data_start + entry.begin,
                             ", overlapping by ", covered - entry.begin, " bytes tensor ",
                             Quoted(previous->name), ", which ends at file offset ",
                             data_start + covered));
    }
    covered = entry.end;
    previous = &entry;
  }
  const uint64_t data_end = data_start + covered;
  if (data_end > size) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("the file is truncated: its tensor data",
                           previous ? absl::StrCat(" (last: ", Quoted(previous->name), ")") : "",
                           " ends at file offset ", data_end, " but the file has only ", size,
                           " bytes (", data_end - size, " missing)"));
  }
  if (data_end < size) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat(size - data_end, " trailing bytes at file offset ", data_end,
                           " after the end of the tensor data (the file has ", size,
                           " bytes, the header accounts for ", data_end, ")"));
  }

  std::vector<TensorEntry> entries;
  entries.reserve(order.size());
  for (size_t i : order) {
    TensorEntry& entry = parsed.entries[i];
    entry.begin += data_start;
    entry.end += data_start;
    entries.push_back(std::move(entry));
  }
  file.SetEntries(std::move(entries), std::move(parsed.metadata));
  return file;
}

void WriteSafetensors(const std::string& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Check everything and build the header before creating any file. Entries
  // are serialized one by one: an ordered_json object would look up each key
  // linearly.
  const auto refuse = [&path](const std::string& why) { throw CheckpointSaveError(path, why); };
  const auto dump = [&refuse](const auto& value) {
    try {
      return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    } catch (const nlohmann::json::type_error& error) {
      refuse(absl::StrCat("a tensor name or metadata string is not UTF-8: ", error.what()));
    }
    return std::string();
  };
  std::string text = "{";
  if (!metadata.empty()) {
    absl::StrAppend(&text, "\"__metadata__\":", dump(nlohmann::json(metadata)));
  }
  std::unordered_set<std::string_view> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") refuse("a safetensors tensor cannot be named \"__metadata__\"");
    if (!names.insert(name).second) refuse(absl::StrCat("duplicate tensor name ", Quoted(name)));
    if (!tensor.defined()) refuse(absl::StrCat("tensor ", Quoted(name), " is undefined"));
    const std::optional<TensorDtype> dtype = FromScalarType(tensor.scalar_type());
    if (!dtype || !IsSafetensorsDtype(*dtype)) {
      refuse(absl::StrCat("tensor ", Quoted(name), " is of LibTorch's ",
                          c10::toString(tensor.scalar_type()),
                          ", for which safetensors has no dtype"));
    }
    const uint64_t nbytes = static_cast<uint64_t>(tensor.numel()) * TensorDtypeSize(*dtype);
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = std::string(TensorDtypeName(*dtype));
    entry["shape"] = tensor.sizes().vec();
    entry["data_offsets"] = {offset, offset + nbytes};
    absl::StrAppend(&text, text.size() > 1 ? "," : "", dump(nlohmann::json(name)), ":",
                    dump(entry));
    offset += nbytes;
  }
  text += '}';
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kMaxHeaderSize) {
    refuse(absl::StrCat("the safetensors header would take ", text.size(),
                        " bytes, over the limit of ", kMaxHeaderSize));
  }
  std::string prefix;
  PutU64(&prefix, text.size());

  TempFile file(path);
  file.Write(prefix.data(), prefix.size());
  file.Write(text.data(), text.size());
  for (const auto& [name, tensor] : tensors) {
    if (tensor.numel() == 0) continue;
    at::Tensor cpu;
    try {
      cpu = tensor.layout() == at::kStrided ? tensor : tensor.to_dense();
      cpu = cpu.to(at::kCPU).resolve_conj().resolve_neg().contiguous();
    } catch (const c10::Error& error) {
      throw TorchError(absl::StrCat("writing safetensors file ", path, ": copying tensor ",
                                    Quoted(name), " to the CPU"),
                       error.what());
    }
    file.Write(cpu.data_ptr(), cpu.nbytes());
  }
  file.Commit();
}

}  // namespace modelhub
