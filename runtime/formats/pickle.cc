#include "runtime/formats/pickle.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <unordered_map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

// Strings longer than this are cut in DescribePickleValue.
constexpr size_t kDescribeMaxChars = 40;

// Every opcode of pickle protocols 0 to 5 (CPython's Lib/pickletools.py), so
// that refusals can name the opcode.
struct OpcodeName {
  uint8_t code;
  const char* name;
};

constexpr OpcodeName kOpcodeNames[] = {
    {'(', "MARK"},
    {'.', "STOP"},
    {'0', "POP"},
    {'1', "POP_MARK"},
    {'2', "DUP"},
    {'F', "FLOAT"},
    {'I', "INT"},
    {'J', "BININT"},
    {'K', "BININT1"},
    {'L', "LONG"},
    {'M', "BININT2"},
    {'N', "NONE"},
    {'P', "PERSID"},
    {'Q', "BINPERSID"},
    {'R', "REDUCE"},
    {'S', "STRING"},
    {'T', "BINSTRING"},
    {'U', "SHORT_BINSTRING"},
    {'V', "UNICODE"},
    {'X', "BINUNICODE"},
    {'a', "APPEND"},
    {'b', "BUILD"},
    {'c', "GLOBAL"},
    {'d', "DICT"},
    {'}', "EMPTY_DICT"},
    {'e', "APPENDS"},
    {'g', "GET"},
    {'h', "BINGET"},
    {'i', "INST"},
    {'j', "LONG_BINGET"},
    {'l', "LIST"},
    {']', "EMPTY_LIST"},
    {'o', "OBJ"},
    {'p', "PUT"},
    {'q', "BINPUT"},
    {'r', "LONG_BINPUT"},
    {'s', "SETITEM"},
    {'t', "TUPLE"},
    {')', "EMPTY_TUPLE"},
    {'u', "SETITEMS"},
    {'G', "BINFLOAT"},
    {0x80, "PROTO"},
    {0x81, "NEWOBJ"},
    {0x82, "EXT1"},
    {0x83, "EXT2"},
    {0x84, "EXT4"},
    {0x85, "TUPLE1"},
    {0x86, "TUPLE2"},
    {0x87, "TUPLE3"},
    {0x88, "NEWTRUE"},
    {0x89, "NEWFALSE"},
    {0x8a, "LONG1"},
    {0x8b, "LONG4"},
    {'B', "BINBYTES"},
    {'C', "SHORT_BINBYTES"},
    {0x8c, "SHORT_BINUNICODE"},
    {0x8d, "BINUNICODE8"},
    {0x8e, "BINBYTES8"},
    {0x8f, "EMPTY_SET"},
    {0x90, "ADDITEMS"},
    {0x91, "FROZENSET"},
    {0x92, "NEWOBJ_EX"},
    {0x93, "STACK_GLOBAL"},
    {0x94, "MEMOIZE"},
    {0x95, "FRAME"},
    {0x96, "BYTEARRAY8"},
    {0x97, "NEXT_BUFFER"},
    {0x98, "READONLY_BUFFER"},
};

// "INST (0x69)", or "unknown opcode 0xfe".
std::string OpcodeLabel(uint8_t code) {
  for (const OpcodeName& op : kOpcodeNames) {
    if (op.code == code) return absl::StrFormat("%s (0x%02x)", op.name, code);
  }
  return absl::StrFormat("unknown opcode 0x%02x", code);
}

// Whether `text` is UTF-8; with `surrogates`, as Python's "surrogatepass"
// error handler reads it (the encoded UTF-16 surrogates U+D800..U+DFFF are
// let through).
bool IsUtf8(std::string_view text, bool surrogates) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const uint8_t lead = static_cast<uint8_t>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint8_t low = 0x80;
    uint8_t high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) low = 0xa0;
      if (lead == 0xed && !surrogates) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) low = 0x90;
      if (lead == 0xf4) high = 0x8f;
    } else {
      return false;
    }
    if (n - i < length) return false;
    const uint8_t second = static_cast<uint8_t>(text[i + 1]);
    if (second < low || second > high) return false;
    for (size_t k = 2; k < length; ++k) {
      const uint8_t next = static_cast<uint8_t>(text[i + k]);
      if (next < 0x80 || next > 0xbf) return false;
    }
    i += length;
  }
  return true;
}

uint64_t LoadLittle(std::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = bytes.size(); i-- > 0;) {
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return value;
}

// The decimal digits of the two's complement little-endian integer `bytes`
// (at most 255 of them: LONG1), with a '-' when it is negative.
std::string DecimalOfLong(std::string_view bytes) {
  std::vector<uint8_t> magnitude(bytes.begin(), bytes.end());  // little-endian
  const bool negative = !magnitude.empty() && (magnitude.back() & 0x80) != 0;
  if (negative) {  // negate: invert, then add one
    unsigned carry = 1;
    for (uint8_t& byte : magnitude) {
      const unsigned sum = static_cast<uint8_t>(~byte) + carry;
      byte = static_cast<uint8_t>(sum);
      carry = sum >> 8;
    }
  }
  std::string digits;
  while (!magnitude.empty()) {
    unsigned remainder = 0;  // divide by 10, from the most significant byte
    for (size_t i = magnitude.size(); i-- > 0;) {
      const unsigned current = (remainder << 8) | magnitude[i];
      magnitude[i] = static_cast<uint8_t>(current / 10);
      remainder = current % 10;
    }
    digits.push_back(static_cast<char>('0' + remainder));
    while (!magnitude.empty() && magnitude.back() == 0) magnitude.pop_back();
  }
  if (digits.empty()) digits = "0";
  if (negative) digits.push_back('-');
  return std::string(digits.rbegin(), digits.rend());
}

// PickleKindName as a std::string (Debian's absl::StrCat takes no
// std::string_view).
std::string KindName(PickleValue::Kind kind) { return std::string(PickleKindName(kind)); }

// Reads one pickle. Each opcode either changes the stack, the marks or the
// memo, or asks the hooks; none recurses.
class Unpickler {
 public:
  Unpickler(std::string_view data, PickleHooks& hooks, const std::string& path,
            std::string_view what, const PickleLimits& limits)
      : data_(data),
        hooks_(hooks),
        path_(path),
        what_(what),
        arena_(std::make_unique<PickleArena>(limits)),
        limits_(limits) {}

  PickleDocument Run() {
    while (true) {
      if (pos_ >= data_.size()) {
        op_offset_ = pos_;
        Fail(absl::StrCat("the pickle ends without a STOP opcode (", what_, " has ", data_.size(),
                          " bytes)"));
      }
      op_offset_ = pos_;
      code_ = static_cast<uint8_t>(data_[pos_++]);
      try {
        if (Step()) break;
      } catch (const PickleRefusal& refusal) {
        Fail(refusal.what());
      }
    }
    return PickleDocument(std::move(arena_), result_);
  }

 private:
  [[noreturn]] void Fail(const std::string& message) const {
    throw CorruptModelCheckpointError(path_,
                                      absl::StrCat(what_, " byte ", op_offset_, ": ", message));
  }

  std::string Op() const { return OpcodeLabel(code_); }

  // The next `count` bytes, which hold `field` of the current opcode.
  std::string_view Take(uint64_t count, const char* field) {
    const uint64_t left = data_.size() - pos_;
    if (count > left) {
      Fail(absl::StrCat("truncated: ", Op(), " needs ", count, " bytes of ", field, " but ", what_,
                        " ends ", left, " bytes later"));
    }
    std::string_view bytes = data_.substr(pos_, count);
    pos_ += count;
    return bytes;
  }

  uint64_t TakeUnsigned(size_t size, const char* field) { return LoadLittle(Take(size, field)); }

  // A length field of `size` bytes, checked against what is left.
  uint64_t TakeLength(size_t size) {
    const uint64_t length = TakeUnsigned(size, "length");
    const uint64_t left = data_.size() - pos_;
    if (length > left) {
      Fail(absl::StrCat(Op(), " length ", length, " passes the end of ", what_, " (", left,
                        " bytes left)"));
    }
    return length;
  }

  // One text line of GLOBAL, without its newline.
  std::string TakeLine(const char* field) {
    const size_t end = data_.find('\n', pos_);
    if (end == std::string_view::npos) {
      Fail(absl::StrCat("truncated: the ", field, " of ", Op(),
                        " has no newline before the end of ", what_));
    }
    std::string line(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    if (!IsUtf8(line, false)) Fail(absl::StrCat("the ", field, " of ", Op(), " is not UTF-8"));
    return line;
  }

  size_t Floor() const { return marks_.empty() ? 0 : marks_.back(); }

  void Push(PickleValue* value) {
    if (stack_.size() >= limits_.max_stack) {
      Fail(absl::StrCat("the stack holds more than ", limits_.max_stack, " values"));
    }
    stack_.push_back(value);
  }

  PickleValue* Pop() {
    if (stack_.size() <= Floor()) Underflow(1);
    PickleValue* value = stack_.back();
    stack_.pop_back();
    return value;
  }

  PickleValue* Top() {
    if (stack_.size() <= Floor()) Underflow(1);
    return stack_.back();
  }

  [[noreturn]] void Underflow(size_t needed) const {
    Fail(absl::StrCat("stack underflow: ", Op(), " needs ", needed, " value",
                      needed == 1 ? "" : "s", " but the stack has ", stack_.size() - Floor(),
                      marks_.empty() ? "" : " above the last MARK"));
  }

  // The values above the last MARK, which is removed.
  std::vector<PickleValue*> PopMark() {
    if (marks_.empty()) Fail(absl::StrCat(Op(), " without a MARK before it"));
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleValue*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark),
                                    stack_.end());
    stack_.resize(mark);
    return items;
  }

  // The last `count` values, in stack order.
  std::vector<PickleValue*> PopN(size_t count) {
    if (stack_.size() - Floor() < count) Underflow(count);
    std::vector<PickleValue*> items(stack_.end() - static_cast<std::ptrdiff_t>(count),
                                    stack_.end());
    stack_.resize(stack_.size() - count);
    return items;
  }

  PickleValue* NewValue(PickleValue::Kind kind) { return arena_->New(kind, op_offset_); }

  PickleValue* NewContainer(PickleValue::Kind kind, std::vector<PickleValue*> items) {
    arena_->ChargeItems(items.size());
    PickleValue* value = NewValue(kind);
    value->items = std::move(items);
    return value;
  }

  // A str of `text`, which must be UTF-8 (letting encoded surrogates through
  // with `surrogates`).
  PickleValue* NewStr(std::string_view text, bool surrogates) {
    if (!IsUtf8(text, surrogates)) Fail(absl::StrCat("the string of ", Op(), " is not UTF-8"));
    return arena_->NewStr(std::string(text), op_offset_);
  }

  PickleValue* NewInt(int64_t integer) { return arena_->NewInt(integer, op_offset_); }

  // The two's complement little-endian integer of `bytes` (LONG1): an int,
  // or a big int past 64 bits.
  PickleValue* NewLong(std::string_view bytes) {
    if (bytes.empty()) return NewInt(0);
    const bool negative = (static_cast<uint8_t>(bytes.back()) & 0x80) != 0;
    if (bytes.size() > 8) {
      // Fits only when every byte past the eighth repeats the sign.
      const uint8_t sign_byte = negative ? 0xff : 0x00;
      const bool eighth_negative = (static_cast<uint8_t>(bytes[7]) & 0x80) != 0;
      bool fits = eighth_negative == negative;
      for (size_t i = 8; fits && i < bytes.size(); ++i) {
        fits = static_cast<uint8_t>(bytes[i]) == sign_byte;
      }
      if (!fits) {
        PickleValue* value = NewValue(PickleValue::Kind::kBigInt);
        value->text = DecimalOfLong(bytes);
        return value;
      }
      bytes = bytes.substr(0, 8);
    }
    uint64_t value = LoadLittle(bytes);
    if (negative && bytes.size() < 8) value |= ~uint64_t{0} << (8 * bytes.size());
    int64_t signed_value;
    std::memcpy(&signed_value, &value, sizeof value);
    return NewInt(signed_value);
  }

  void RequireKind(const PickleValue* value, PickleValue::Kind kind, const char* role) {
    if (value->kind != kind) {
      Fail(absl::StrCat(Op(), " needs ", role, " to be a ", KindName(kind), ", not a ",
                        KindName(value->kind)));
    }
  }

  PickleValue* CheckHookResult(PickleValue* value) {
    if (value == nullptr) Fail(absl::StrCat("the reader's hook for ", Op(), " returned nothing"));
    return value;
  }

  void AddEntries(PickleValue* dict, const std::vector<PickleValue*>& items) {
    if (items.size() % 2 != 0) {
      Fail(absl::StrCat(Op(), " has an odd number (", items.size(), ") of keys and values"));
    }
    arena_->ChargeItems(items.size() / 2);
    for (size_t i = 0; i < items.size(); i += 2) {
      dict->entries.emplace_back(items[i], items[i + 1]);
    }
  }

  void Memoize(uint64_t index) {
    PickleValue* value = Top();
    auto [it, inserted] = memo_.emplace(index, value);
    if (!inserted) {
      it->second = value;
    } else if (memo_.size() > limits_.max_values) {
      Fail(absl::StrCat("the memo holds more than ", limits_.max_values, " values"));
    }
  }

  void Recall(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) Fail(absl::StrCat(Op(), " of memo index ", index, ", which is not set"));
    Push(it->second);
  }

  // Python 3's names for the Python 2 names a GLOBAL may hold, as PyTorch
  // maps them for every protocol (the builtins part of CPython's
  // _compat_pickle, which is all that matters here: everything else is
  // refused either way).
  static std::pair<std::string, std::string> FixName(std::string module, std::string name) {
    if (module == "__builtin__") {
      static const std::pair<const char*, std::pair<const char*, const char*>> kNames[] = {
          {"xrange", {"builtins", "range"}}, {"reduce", {"functools", "reduce"}},
          {"intern", {"sys", "intern"}},     {"unichr", {"builtins", "chr"}},
          {"unicode", {"builtins", "str"}},  {"long", {"builtins", "int"}},
      };
      for (const auto& [old_name, renamed] : kNames) {
        if (name == old_name) return {renamed.first, renamed.second};
      }
      return {"builtins", std::move(name)};
    }
    if (module == "copy_reg") return {"copyreg", std::move(name)};
    return {std::move(module), std::move(name)};
  }

  // Runs the opcode in code_; true at STOP. These are the opcodes of
  // PyTorch's weights_only Unpickler, which reads them the same way.
  bool Step() {
    using Kind = PickleValue::Kind;
    switch (code_) {
      case 0x80:  // PROTO: any protocol (PyTorch only warns).
        Take(1, "the protocol");
        return false;
      case '.':  // STOP: the top value; any under it or after STOP is ignored.
        result_ = Top();
        return true;
      case '(':  // MARK
        if (marks_.size() >= limits_.max_marks) {
          Fail(absl::StrCat("more than ", limits_.max_marks, " MARKs are open"));
        }
        marks_.push_back(stack_.size());
        return false;

      case 'J': {  // BININT
        const uint32_t bits = static_cast<uint32_t>(TakeUnsigned(4, "the integer"));
        int32_t value;
        std::memcpy(&value, &bits, sizeof value);
        Push(NewInt(value));
        return false;
      }
      case 'K':  // BININT1
        Push(NewInt(static_cast<int64_t>(TakeUnsigned(1, "the integer"))));
        return false;
      case 'M':  // BININT2
        Push(NewInt(static_cast<int64_t>(TakeUnsigned(2, "the integer"))));
        return false;
      case 0x8a: {  // LONG1
        const uint64_t length = TakeLength(1);
        Push(NewLong(Take(length, "the integer")));
        return false;
      }
      case 'N':  // NONE
        Push(NewValue(Kind::kNone));
        return false;
      case 0x88:    // NEWTRUE
      case 0x89: {  // NEWFALSE
        PickleValue* value = NewValue(Kind::kBool);
        value->boolean = code_ == 0x88;
        Push(value);
        return false;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE 754 double.
        std::string_view bytes = Take(8, "the float");
        uint64_t bits = 0;
        for (char byte : bytes) bits = (bits << 8) | static_cast<uint8_t>(byte);
        PickleValue* value = NewValue(Kind::kFloat);
        std::memcpy(&value->real, &bits, sizeof bits);
        Push(value);
        return false;
      }
      case 'X':  // BINUNICODE: UTF-8 with "surrogatepass".
        Push(NewStr(Take(TakeLength(4), "the string"), true));
        return false;
      case 'U':  // SHORT_BINSTRING: a Python 2 str, decoded as torch.load
                 // does (encoding "utf-8", strict).
        Push(NewStr(Take(TakeLength(1), "the string"), false));
        return false;

      case ']':  // EMPTY_LIST
        Push(NewValue(Kind::kList));
        return false;
      case 'a': {  // APPEND
        PickleValue* item = Pop();
        PickleValue* list = Top();
        RequireKind(list, Kind::kList, "its target");
        arena_->ChargeItems(1);
        list->items.push_back(item);
        return false;
      }
      case 'e': {  // APPENDS
        std::vector<PickleValue*> items = PopMark();
        PickleValue* list = Top();
        RequireKind(list, Kind::kList, "its target");
        arena_->ChargeItems(items.size());
        list->items.insert(list->items.end(), items.begin(), items.end());
        return false;
      }
      case ')':  // EMPTY_TUPLE
        Push(NewValue(Kind::kTuple));
        return false;
      case 't':  // TUPLE
        Push(NewContainer(Kind::kTuple, PopMark()));
        return false;
      case 0x85:  // TUPLE1
        Push(NewContainer(Kind::kTuple, PopN(1)));
        return false;
      case 0x86:  // TUPLE2
        Push(NewContainer(Kind::kTuple, PopN(2)));
        return false;
      case 0x87:  // TUPLE3
        Push(NewContainer(Kind::kTuple, PopN(3)));
        return false;
      case '}':  // EMPTY_DICT
        Push(NewValue(Kind::kDict));
        return false;
      case 's': {  // SETITEM
        std::vector<PickleValue*> pair = PopN(2);
        PickleValue* dict = Top();
        RequireKind(dict, Kind::kDict, "its target");
        AddEntries(dict, pair);
        return false;
      }
      case 'u': {  // SETITEMS
        std::vector<PickleValue*> items = PopMark();
        PickleValue* dict = Top();
        RequireKind(dict, Kind::kDict, "its target");
        AddEntries(dict, items);
        return false;
      }
      case 0x8f:  // EMPTY_SET
        Push(NewValue(Kind::kSet));
        return false;

      case 'q':  // BINPUT
        Memoize(TakeUnsigned(1, "the memo index"));
        return false;
      case 'r':  // LONG_BINPUT
        Memoize(TakeUnsigned(4, "the memo index"));
        return false;
      case 'h':  // BINGET
        Recall(TakeUnsigned(1, "the memo index"));
        return false;
      case 'j':  // LONG_BINGET
        Recall(TakeUnsigned(4, "the memo index"));
        return false;

      case 'c': {  // GLOBAL
        std::string module = TakeLine("module name");
        std::string name = TakeLine("name");
        std::tie(module, name) = FixName(std::move(module), std::move(name));
        Push(CheckHookResult(hooks_.ResolveGlobal(*arena_, module, name, op_offset_)));
        return false;
      }
      case 'R': {  // REDUCE
        PickleValue* args = Pop();
        PickleValue* callable = Pop();
        RequireKind(args, Kind::kTuple, "its arguments");
        Push(CheckHookResult(hooks_.Reduce(*arena_, callable, args, op_offset_)));
        return false;
      }
      case 0x81: {  // NEWOBJ
        PickleValue* args = Pop();
        PickleValue* cls = Pop();
        RequireKind(args, Kind::kTuple, "its arguments");
        Push(CheckHookResult(hooks_.NewObject(*arena_, cls, args, op_offset_)));
        return false;
      }
      case 'b': {  // BUILD
        PickleValue* state = Pop();
        PickleValue* instance = Top();
        stack_.back() = CheckHookResult(hooks_.Build(*arena_, instance, state, op_offset_));
        return false;
      }
      case 'Q': {  // BINPERSID
        PickleValue* pid = Pop();
        Push(CheckHookResult(hooks_.PersistentLoad(*arena_, pid, op_offset_)));
        return false;
      }

      default:
        Fail(absl::StrCat(absl::StartsWith(Op(), "unknown") ? "" : "opcode ", Op(),
                          " is not supported: torch.load(weights_only=True) refuses it too "
                          "(\"Unsupported operand ",
                          static_cast<int>(code_),
                          "\"); it reads only the opcodes torch.save writes"));
    }
  }

  std::string_view data_;
  PickleHooks& hooks_;
  const std::string& path_;
  std::string what_;
  std::unique_ptr<PickleArena> arena_;
  PickleLimits limits_;

  uint64_t pos_ = 0;
  uint64_t op_offset_ = 0;
  uint8_t code_ = 0;
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;  // stack sizes at each open MARK
  std::unordered_map<uint64_t, PickleValue*> memo_;
  PickleValue* result_ = nullptr;
};

// The short name of the class of `value`: the last part of its python_class
// ("OrderedDict"), else its kind's name.
std::string TypeName(const PickleValue& value) {
  if (value.python_class.empty()) return KindName(value.kind);
  return value.python_class.substr(value.python_class.rfind('.') + 1);
}

}  // namespace

std::string FormatPickleFloat(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  // The shortest round-trip digits, then laid out as Python's repr does:
  // positional for exponents -4 to 15 (with ".0" when integral), else
  // scientific with a signed exponent of at least two digits.
  char buffer[64];
  const std::to_chars_result result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string text(buffer, result.ptr);  // "-1.2345e-05"
  const size_t e = text.find('e');
  const bool negative = text[0] == '-';
  std::string digits = text.substr(negative ? 1 : 0, e - (negative ? 1 : 0));
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exponent = std::stoi(text.substr(e + 1));
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (digits.size() <= static_cast<size_t>(exponent) + 1) {
      out += digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exponent) + 1) + "." +
             digits.substr(static_cast<size_t>(exponent) + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  return absl::StrFormat("%se%c%02d", out, exponent < 0 ? '-' : '+', std::abs(exponent));
}

std::string_view PickleKindName(PickleValue::Kind kind) {
  switch (kind) {
    case PickleValue::Kind::kNone:
      return "None";
    case PickleValue::Kind::kBool:
      return "bool";
    case PickleValue::Kind::kInt:
    case PickleValue::Kind::kBigInt:
      return "int";
    case PickleValue::Kind::kFloat:
      return "float";
    case PickleValue::Kind::kStr:
      return "str";
    case PickleValue::Kind::kBytes:
      return "bytes";
    case PickleValue::Kind::kList:
      return "list";
    case PickleValue::Kind::kTuple:
      return "tuple";
    case PickleValue::Kind::kDict:
      return "dict";
    case PickleValue::Kind::kSet:
      return "set";
    case PickleValue::Kind::kObject:
      return "object";
  }
  return "?";
}

std::string DescribePickleValue(const PickleValue& value) {
  using Kind = PickleValue::Kind;
  switch (value.kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return value.boolean ? "bool true" : "bool false";
    case Kind::kInt:
      return absl::StrCat("int ", value.integer);
    case Kind::kBigInt:
      return absl::StrCat("int ", value.text);
    case Kind::kFloat:
      return absl::StrCat("float ", FormatPickleFloat(value.real));
    case Kind::kStr: {
      // Cut at a character boundary; control characters become '?'.
      size_t end = value.text.size();
      bool cut = false;
      if (end > kDescribeMaxChars) {
        end = kDescribeMaxChars;
        while (end > 0 && (static_cast<uint8_t>(value.text[end]) & 0xc0) == 0x80) --end;
        cut = true;
      }
      std::string shown = value.text.substr(0, end);
      for (char& c : shown) {
        if (static_cast<uint8_t>(c) < 0x20 || c == 0x7f) c = '?';
      }
      return absl::StrCat("str '", shown, cut ? "...' (" : "'",
                          cut ? absl::StrCat(value.text.size(), " bytes)") : "");
    }
    case Kind::kBytes:
      return absl::StrCat(TypeName(value), " of ", value.text.size());
    case Kind::kDict:
      return absl::StrCat(TypeName(value), " of ", value.entries.size());
    case Kind::kList:
    case Kind::kTuple:
    case Kind::kSet:
      return absl::StrCat(TypeName(value), " of ", value.items.size());
    case Kind::kObject:
      return value.text;
  }
  return "?";
}

PickleValue* FindPickleDictValue(const PickleValue& dict, std::string_view key) {
  if (dict.kind != PickleValue::Kind::kDict) return nullptr;
  for (auto it = dict.entries.rbegin(); it != dict.entries.rend(); ++it) {
    if (it->first->kind == PickleValue::Kind::kStr && it->first->text == key) return it->second;
  }
  return nullptr;
}

PickleValue* PickleArena::New(PickleValue::Kind kind, uint64_t offset) {
  if (values_.size() >= limits_.max_values) {
    throw PickleRefusal(absl::StrCat("the pickle makes more than ", limits_.max_values, " values"));
  }
  PickleValue& value = values_.emplace_back();
  value.kind = kind;
  value.offset = offset;
  return &value;
}

PickleValue* PickleArena::NewInt(int64_t integer, uint64_t offset) {
  PickleValue* value = New(PickleValue::Kind::kInt, offset);
  value->integer = integer;
  return value;
}

PickleValue* PickleArena::NewStr(std::string text, uint64_t offset) {
  PickleValue* value = New(PickleValue::Kind::kStr, offset);
  value->text = std::move(text);
  return value;
}

PickleValue* PickleArena::NewObject(std::string type, std::any object, uint64_t offset) {
  PickleValue* value = New(PickleValue::Kind::kObject, offset);
  value->text = std::move(type);
  value->object = std::move(object);
  return value;
}

void PickleArena::ChargeItems(uint64_t count) {
  if (count > limits_.max_container_items - items_) {
    throw PickleRefusal(absl::StrCat("the pickle's containers hold more than ",
                                     limits_.max_container_items, " items"));
  }
  items_ += count;
}

PickleValue* PickleHooks::ResolveGlobal(PickleArena& /*arena*/, const std::string& module,
                                        const std::string& name, uint64_t /*offset*/) {
  throw PickleRefusal(absl::StrCat("global '", module, ".", name, "' is not allowed"));
}

PickleValue* PickleHooks::Reduce(PickleArena& /*arena*/, PickleValue* callable,
                                 PickleValue* /*args*/, uint64_t /*offset*/) {
  throw PickleRefusal(
      absl::StrCat("REDUCE of ", DescribePickleValue(*callable), " is not allowed"));
}

PickleValue* PickleHooks::NewObject(PickleArena& /*arena*/, PickleValue* cls, PickleValue* /*args*/,
                                    uint64_t /*offset*/) {
  throw PickleRefusal(absl::StrCat("NEWOBJ of ", DescribePickleValue(*cls), " is not allowed"));
}

PickleValue* PickleHooks::Build(PickleArena& /*arena*/, PickleValue* instance,
                                PickleValue* /*state*/, uint64_t /*offset*/) {
  throw PickleRefusal(absl::StrCat("BUILD of ", DescribePickleValue(*instance), " is not allowed"));
}

PickleValue* PickleHooks::PersistentLoad(PickleArena& /*arena*/, PickleValue* pid,
                                         uint64_t /*offset*/) {
  throw PickleRefusal(absl::StrCat("persistent id ", DescribePickleValue(*pid), " is not allowed"));
}

PickleDocument Unpickle(std::string_view data, PickleHooks& hooks, const std::string& path,
                        std::string_view what, const PickleLimits& limits) {
  return Unpickler(data, hooks, path, what, limits).Run();
}

}  // namespace modelhub
