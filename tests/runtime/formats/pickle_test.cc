#include "runtime/formats/pickle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

using ::testing::HasSubstr;
using Kind = PickleValue::Kind;

// Builds pickle bytes opcode by opcode.
class Bytes {
 public:
  Bytes& Op(uint8_t code) {
    out_.push_back(static_cast<char>(code));
    return *this;
  }
  Bytes& U8(uint8_t value) { return Op(value); }
  Bytes& Le(uint64_t value, int size) {
    for (int i = 0; i < size; ++i) out_.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    return *this;
  }
  Bytes& Raw(std::string_view text) {
    out_.append(text);
    return *this;
  }
  // BINUNICODE `text`.
  Bytes& Str(std::string_view text) { return Op('X').Le(text.size(), 4).Raw(text); }
  // BININT1 `value`.
  Bytes& Int1(uint8_t value) { return Op('K').U8(value); }
  // GLOBAL module.name.
  Bytes& Global(std::string_view module, std::string_view name) {
    return Op('c').Raw(module).Raw("\n").Raw(name).Raw("\n");
  }
  Bytes& Proto(uint8_t version = 2) { return Op(0x80).U8(version); }
  Bytes& Stop() { return Op('.'); }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

// Hooks that accept everything and record what they were asked: globals
// become objects "global <module>.<name>", calls objects "<kind> of <callee>".
class RecordingHooks : public PickleHooks {
 public:
  PickleValue* ResolveGlobal(PickleArena& arena, const std::string& module, const std::string& name,
                             uint64_t offset) override {
    calls.push_back("global " + module + "." + name + " @" + std::to_string(offset));
    return arena.NewObject("global " + module + "." + name, {}, offset);
  }
  PickleValue* Reduce(PickleArena& arena, PickleValue* callable, PickleValue* args,
                      uint64_t offset) override {
    calls.push_back("reduce " + callable->text + " " + DescribePickleValue(*args));
    last_args = args;
    return arena.NewObject("reduce of " + callable->text, {}, offset);
  }
  PickleValue* NewObject(PickleArena& arena, PickleValue* cls, PickleValue* args,
                         uint64_t offset) override {
    calls.push_back("newobj " + cls->text + " " + DescribePickleValue(*args));
    return arena.NewObject("new " + cls->text, {}, offset);
  }
  PickleValue* Build(PickleArena& /*arena*/, PickleValue* instance, PickleValue* state,
                     uint64_t /*offset*/) override {
    calls.push_back("build " + DescribePickleValue(*instance) + " " + DescribePickleValue(*state));
    return instance;
  }
  PickleValue* PersistentLoad(PickleArena& arena, PickleValue* pid, uint64_t offset) override {
    calls.push_back("persid " + DescribePickleValue(*pid));
    return arena.NewObject("persistent", {}, offset);
  }

  std::vector<std::string> calls;
  PickleValue* last_args = nullptr;
};

PickleDocument Read(const std::string& data, PickleHooks& hooks, const PickleLimits& limits = {}) {
  return Unpickle(data, hooks, "test.pt", "data.pkl", limits);
}

PickleDocument Read(const std::string& data) {
  PickleHooks refuse_all;
  return Read(data, refuse_all);
}

// The message of the CorruptModelCheckpointError that reading `data` throws
// (the test fails if it throws none).
std::string ErrorOf(const std::string& data, const PickleLimits& limits = {}) {
  RecordingHooks hooks;
  return testing::ErrorOf<CorruptModelCheckpointError>([&] { Read(data, hooks, limits); });
}

// pickle.dumps({'a': [1, -2, 3.5, None, True], 'b': (b'xy', 'hé'), 'c': {1, 2},
//               'd': frozenset([7]), 'e': 2**40, 'f': -2**63}, protocol=4)
// by CPython 3.11: FRAME, MEMOIZE, SHORT_BINUNICODE, EMPTY_SET, ADDITEMS,
// FROZENSET, SHORT_BINBYTES, LONG1, which PyTorch's weights_only reader
// refuses from its first FRAME on.
const char kProtocol4[] =
    "\x80\x04\x95\x5f\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x28\x8c\x01\x61\x94\x5d\x94\x28\x4b"
    "\x01\x4a\xfe\xff\xff\xff\x47\x40\x0c\x00\x00\x00\x00\x00\x00\x4e\x88\x65\x8c\x01\x62\x94"
    "\x43\x02\x78\x79\x94\x8c\x03\x68\xc3\xa9\x94\x86\x94\x8c\x01\x63\x94\x8f\x94\x28\x4b\x01"
    "\x4b\x02\x90\x8c\x01\x64\x94\x28\x4b\x07\x91\x94\x8c\x01\x65\x94\x8a\x06\x00\x00\x00\x00"
    "\x00\x01\x8c\x01\x66\x94\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x75\x2e";

// The same value at protocol 2, as torch.save writes: bytes via
// _codecs.encode, sets via __builtin__.set and __builtin__.frozenset
// (REDUCE), BINUNICODE, BINPUT.
const char kProtocol2[] =
    "\x80\x02\x7d\x71\x00\x28\x58\x01\x00\x00\x00\x61\x71\x01\x5d\x71\x02\x28\x4b\x01\x4a\xfe"
    "\xff\xff\xff\x47\x40\x0c\x00\x00\x00\x00\x00\x00\x4e\x88\x65\x58\x01\x00\x00\x00\x62\x71"
    "\x03\x63\x5f\x63\x6f\x64\x65\x63\x73\x0a\x65\x6e\x63\x6f\x64\x65\x0a\x71\x04\x58\x02\x00"
    "\x00\x00\x78\x79\x71\x05\x58\x06\x00\x00\x00\x6c\x61\x74\x69\x6e\x31\x71\x06\x86\x71\x07"
    "\x52\x71\x08\x58\x03\x00\x00\x00\x68\xc3\xa9\x71\x09\x86\x71\x0a\x58\x01\x00\x00\x00\x63"
    "\x71\x0b\x63\x5f\x5f\x62\x75\x69\x6c\x74\x69\x6e\x5f\x5f\x0a\x73\x65\x74\x0a\x71\x0c\x5d"
    "\x71\x0d\x28\x4b\x01\x4b\x02\x65\x85\x71\x0e\x52\x71\x0f\x58\x01\x00\x00\x00\x64\x71\x10"
    "\x63\x5f\x5f\x62\x75\x69\x6c\x74\x69\x6e\x5f\x5f\x0a\x66\x72\x6f\x7a\x65\x6e\x73\x65\x74"
    "\x0a\x71\x11\x5d\x71\x12\x4b\x07\x61\x85\x71\x13\x52\x71\x14\x58\x01\x00\x00\x00\x65\x71"
    "\x15\x8a\x06\x00\x00\x00\x00\x00\x01\x58\x01\x00\x00\x00\x66\x71\x16\x8a\x08\x00\x00\x00"
    "\x00\x00\x00\x00\x80\x75\x2e";

std::string Literal(const char* bytes, size_t size_with_nul) {
  return std::string(bytes, size_with_nul - 1);
}

TEST(PickleTest, RefusesProtocol4AsPyTorchDoes) {
  EXPECT_THAT(ErrorOf(Literal(kProtocol4, sizeof kProtocol4)),
              HasSubstr("test.pt: corrupt model checkpoint: data.pkl byte 2: opcode FRAME (0x95) "
                        "is not supported: torch.load(weights_only=True) refuses it too "
                        "(\"Unsupported operand 149\")"));
}

TEST(PickleTest, ReadsProtocol2FromCPython) {
  RecordingHooks hooks;
  PickleDocument doc = Read(Literal(kProtocol2, sizeof kProtocol2), hooks);
  const PickleValue& root = doc.root();
  ASSERT_EQ(root.kind, Kind::kDict);
  ASSERT_EQ(root.entries.size(), 6u);

  const PickleValue* a = FindPickleDictValue(root, "a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->kind, Kind::kList);
  ASSERT_EQ(a->items.size(), 5u);
  EXPECT_EQ(a->items[0]->integer, 1);
  EXPECT_EQ(a->items[1]->integer, -2);
  EXPECT_EQ(a->items[2]->kind, Kind::kFloat);
  EXPECT_EQ(a->items[2]->real, 3.5);
  EXPECT_EQ(a->items[3]->kind, Kind::kNone);
  EXPECT_EQ(a->items[4]->kind, Kind::kBool);
  EXPECT_TRUE(a->items[4]->boolean);

  const PickleValue* b = FindPickleDictValue(root, "b");
  ASSERT_EQ(b->kind, Kind::kTuple);
  ASSERT_EQ(b->items.size(), 2u);
  EXPECT_EQ(b->items[1]->kind, Kind::kStr);
  EXPECT_EQ(b->items[1]->text, "h\xc3\xa9");
  EXPECT_EQ(FindPickleDictValue(root, "e")->integer, int64_t{1} << 40);
  EXPECT_EQ(FindPickleDictValue(root, "f")->integer, INT64_MIN);
  EXPECT_EQ(FindPickleDictValue(root, "g"), nullptr);
}

TEST(PickleTest, Protocol2AsksHooksWithPython3Names) {
  RecordingHooks hooks;
  PickleDocument doc = Read(Literal(kProtocol2, sizeof kProtocol2), hooks);
  EXPECT_THAT(hooks.calls,
              ::testing::ElementsAre(
                  "global _codecs.encode @45", "reduce global _codecs.encode tuple of 2",
                  "global builtins.set @112", "reduce global builtins.set tuple of 1",
                  "global builtins.frozenset @154", "reduce global builtins.frozenset tuple of 1"));
  EXPECT_EQ(FindPickleDictValue(doc.root(), "c")->text, "reduce of global builtins.set");
  EXPECT_EQ(FindPickleDictValue(doc.root(), "f")->integer, INT64_MIN);
}

TEST(PickleTest, DefaultHooksRefuseGlobals) {
  const std::string data =
      Bytes().Proto().Global("os", "system").Str("touch x").Op(0x85).Op('R').Stop().str();
  PickleHooks refuse_all;
  EXPECT_THAT(testing::ErrorOf<CorruptModelCheckpointError>([&] { Read(data, refuse_all); }),
              HasSubstr("data.pkl byte 2: global 'os.system' is not allowed"));
}

TEST(PickleTest, GlobalsGetPython3NamesInEveryProtocol) {
  RecordingHooks hooks;
  Read(Bytes()
           .Proto(4)
           .Op('(')
           .Global("__builtin__", "set")
           .Global("__builtin__", "unicode")
           .Global("copy_reg", "_reconstructor")
           .Global("torch", "Size")
           .Op('t')
           .Stop()
           .str(),
       hooks);
  EXPECT_THAT(hooks.calls,
              ::testing::ElementsAre("global builtins.set @3", "global builtins.str @20",
                                     "global copyreg._reconstructor @41", "global torch.Size @66"));
}

TEST(PickleTest, RefusesStackGlobal) {
  EXPECT_THAT(ErrorOf(Bytes()
                          .Proto(4)
                          .Str("collections")
                          .Str("OrderedDict")
                          .Op(0x93)
                          .Op(')')
                          .Op('R')
                          .Stop()
                          .str()),
              HasSubstr("byte 34: opcode STACK_GLOBAL (0x93) is not supported: "
                        "torch.load(weights_only=True) refuses it too (\"Unsupported operand "
                        "147\")"));
}

TEST(PickleTest, NewobjBuildAndPersistentIdGoToHooks) {
  RecordingHooks hooks;
  const std::string data = Bytes()
                               .Proto()
                               .Global("argparse", "Namespace")
                               .Op(')')
                               .Op(0x81)
                               .Op('}')
                               .Str("lr")
                               .Int1(3)
                               .Op('s')
                               .Op('b')
                               .Str("storage")
                               .Op(0x85)
                               .Op('Q')
                               .Op(0x86)
                               .Stop()
                               .str();
  PickleDocument doc = Read(data, hooks);
  EXPECT_THAT(hooks.calls, ::testing::ElementsAre("global argparse.Namespace @2",
                                                  "newobj global argparse.Namespace tuple of 0",
                                                  "build new global argparse.Namespace dict of 1",
                                                  "persid tuple of 1"));
  ASSERT_EQ(doc.root().kind, Kind::kTuple);
  EXPECT_EQ(doc.root().items[0]->text, "new global argparse.Namespace");
  EXPECT_EQ(doc.root().items[1]->text, "persistent");
}

TEST(PickleTest, ReduceNeedsATuple) {
  EXPECT_THAT(ErrorOf(Bytes().Proto().Global("m", "f").Op(']').Op('R').Stop().str()),
              HasSubstr("byte 8: REDUCE (0x52) needs its arguments to be a tuple, not a list"));
}

TEST(PickleTest, IntegerForms) {
  const std::string data = Bytes()
                               .Proto()
                               .Op('(')
                               .Op('J')
                               .Le(0xfffffffe, 4)  // BININT -2
                               .Op('K')
                               .U8(255)  // BININT1
                               .Op('M')
                               .Le(65535, 2)  // BININT2
                               .Op(0x8a)
                               .U8(0)  // LONG1 0
                               .Op(0x8a)
                               .U8(1)
                               .U8(0xff)  // LONG1 -1
                               .Op(0x8a)
                               .U8(9)
                               .Le(~uint64_t{0} - 4, 8)
                               .U8(0xff)  // -5 in 9 bytes
                               .Op('t')
                               .Stop()
                               .str();
  PickleDocument doc = Read(data);
  std::vector<int64_t> values;
  for (const PickleValue* item : doc.root().items) {
    EXPECT_EQ(item->kind, Kind::kInt);
    values.push_back(item->integer);
  }
  EXPECT_THAT(values, ::testing::ElementsAre(-2, 255, 65535, 0, -1, -5));
}

TEST(PickleTest, ReadsIntegersBeyond64BitsAsBigInts) {
  struct Case {
    std::string bytes;  // LONG1's, little-endian two's complement
    std::string decimal;
  };
  const std::string zeros(8, '\0');
  const std::vector<Case> cases = {
      {std::string("\0\0\0\0\0\0\0\x80\0", 9), "9223372036854775808"},  // 2**63
      {std::string("\xff\xff\xff\xff\xff\xff\xff\x7f\xff", 9), "-9223372036854775809"},
      {std::string("\x01\0\0\0\0\0\0\0\x01", 9), "18446744073709551617"},  // 2**64 + 1
      {zeros + "\x40", "1180591620717411303424"},                          // 2**70
      {zeros + "\xc0", "-1180591620717411303424"},                         // -2**70
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.decimal);
    PickleDocument doc = Read(Bytes()
                                  .Proto()
                                  .Op(0x8a)
                                  .U8(static_cast<uint8_t>(c.bytes.size()))
                                  .Raw(c.bytes)
                                  .Stop()
                                  .str());
    EXPECT_EQ(doc.root().kind, Kind::kBigInt);
    EXPECT_EQ(doc.root().text, c.decimal);
    EXPECT_EQ(doc.root().integer, 0);
    EXPECT_EQ(DescribePickleValue(doc.root()), "int " + c.decimal);
    EXPECT_EQ(PickleKindName(doc.root().kind), "int");
  }
  // The longest LONG1 can hold: 2**2039 - 1, 614 digits.
  const std::string longest = std::string(254, '\xff') + "\x7f";
  PickleDocument doc = Read(Bytes().Proto().Op(0x8a).U8(255).Raw(longest).Stop().str());
  EXPECT_EQ(doc.root().text.size(), 614u);
  EXPECT_EQ(doc.root().text.substr(0, 20), "63119152483029311134");
  // LONG4 (longer ints) is not read by PyTorch either.
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op(0x8b).Le(1, 4).U8(1).Stop().str()),
              HasSubstr("byte 2: opcode LONG4 (0x8b) is not supported"));
}

TEST(PickleTest, FloatIsBigEndian) {
  PickleDocument doc = Read(
      Bytes().Proto().Op('G').Raw(std::string("\xc0\x04\x00\x00\x00\x00\x00\x00", 8)).Stop().str());
  EXPECT_EQ(doc.root().kind, Kind::kFloat);
  EXPECT_EQ(doc.root().real, -2.5);
}

TEST(PickleTest, StringForms) {
  const std::string data =
      Bytes().Proto().Op('(').Op('X').Le(3, 4).Raw("abc").Op('U').U8(1).Raw("f").Op('l').str();
  // LIST is not read: build the pair as a tuple instead.
  const std::string tuple = Bytes()
                                .Proto()
                                .Op('X')
                                .Le(3, 4)
                                .Raw("abc")
                                .Op('U')
                                .U8(2)
                                .Raw("\xc3\xa9")
                                .Op(0x86)
                                .Stop()
                                .str();
  PickleDocument doc = Read(tuple);
  ASSERT_EQ(doc.root().items.size(), 2u);
  EXPECT_EQ(doc.root().items[0]->kind, Kind::kStr);
  EXPECT_EQ(doc.root().items[0]->text, "abc");
  // SHORT_BINSTRING (a Python 2 str) is decoded as UTF-8, as torch.load does.
  EXPECT_EQ(doc.root().items[1]->kind, Kind::kStr);
  EXPECT_EQ(doc.root().items[1]->text, "\xc3\xa9");
  EXPECT_THAT(ErrorOf(data), HasSubstr("byte 14: opcode LIST (0x6c) is not supported"));
}

TEST(PickleTest, RefusesStringsThatAreNotUtf8) {
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op('X').Le(2, 4).Raw("\xc3\x28").Stop().str()),
              HasSubstr("byte 2: the string of BINUNICODE (0x58) is not UTF-8"));
  // Encoded surrogates pass in BINUNICODE, as with Python's "surrogatepass",
  // and not in SHORT_BINSTRING, which torch.load decodes strictly.
  EXPECT_EQ(Read(Bytes().Proto().Op('X').Le(3, 4).Raw("\xed\xa0\x80").Stop().str()).root().text,
            "\xed\xa0\x80");
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op('U').U8(3).Raw("\xed\xa0\x80").Stop().str()),
              HasSubstr("byte 2: the string of SHORT_BINSTRING (0x55) is not UTF-8"));
  EXPECT_THAT(ErrorOf(Bytes().Proto().Raw("cab\xff\nx\n").Stop().str()),
              HasSubstr("byte 2: the module name of GLOBAL (0x63) is not UTF-8"));
}

TEST(PickleTest, Containers) {
  const std::string data = Bytes()
                               .Proto()
                               .Op('(')
                               .Op('}')
                               .Op('(')
                               .Int1(1)
                               .Int1(2)
                               .Op('u')  // {1: 2}
                               .Int1(3)
                               .Op(0x85)  // (3,)
                               .Int1(4)
                               .Int1(5)
                               .Op(0x86)  // (4, 5)
                               .Int1(6)
                               .Int1(7)
                               .Int1(8)
                               .Op(0x87)  // (6, 7, 8)
                               .Op(0x8f)  // set()
                               .Op(')')   // ()
                               .Op(']')
                               .Op('(')
                               .Int1(1)
                               .Int1(2)
                               .Op('e')  // [1, 2]
                               .Op('t')
                               .Stop()
                               .str();
  PickleDocument doc = Read(data);
  std::vector<std::string> described;
  for (const PickleValue* item : doc.root().items) described.push_back(DescribePickleValue(*item));
  EXPECT_THAT(described,
              ::testing::ElementsAre("dict of 1", "tuple of 1", "tuple of 2", "tuple of 3",
                                     "set of 0", "tuple of 0", "list of 2"));
  // Dict keys may be any value.
  EXPECT_EQ(doc.root().items[0]->entries[0].first->integer, 1);
}

TEST(PickleTest, ContainerOpcodesCheckTheirTarget) {
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op(')').Int1(1).Op('a').Stop().str()),
              HasSubstr("byte 5: APPEND (0x61) needs its target to be a list, not a tuple"));
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op(0x8f).Int1(1).Op('a').Stop().str()),
              HasSubstr("byte 5: APPEND (0x61) needs its target to be a list, not a set"));
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op(']').Int1(1).Int1(2).Op('s').Stop().str()),
              HasSubstr("SETITEM (0x73) needs its target to be a dict, not a list"));
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op('}').Op('(').Int1(1).Op('u').Stop().str()),
              HasSubstr("byte 6: SETITEMS (0x75) has an odd number (1) of keys and values"));
}

TEST(PickleTest, MemoSharesValues) {
  const std::string data = Bytes()
                               .Proto()
                               .Op('(')
                               .Op(']')
                               .Op('q')
                               .U8(0)  // BINPUT 0
                               .Op(']')
                               .Op('r')
                               .Le(70000, 4)  // LONG_BINPUT 70000
                               .Op('j')
                               .Le(70000, 4)  // LONG_BINGET 70000
                               .Op('h')
                               .U8(0)  // BINGET 0
                               .Op('t')
                               .Stop()
                               .str();
  PickleDocument doc = Read(data);
  ASSERT_EQ(doc.root().items.size(), 4u);
  EXPECT_EQ(doc.root().items[0], doc.root().items[3]);
  EXPECT_EQ(doc.root().items[1], doc.root().items[2]);
  EXPECT_NE(doc.root().items[0], doc.root().items[1]);
}

TEST(PickleTest, CyclesAreKeptNotWalked) {
  // l = []; l.append(l)
  const std::string data = Bytes().Proto().Op(']').Op('q').U8(0).Op('h').U8(0).Op('a').Stop().str();
  PickleDocument doc = Read(data);
  ASSERT_EQ(doc.root().items.size(), 1u);
  EXPECT_EQ(doc.root().items[0], &doc.root());
  EXPECT_EQ(DescribePickleValue(doc.root()), "list of 1");
}

TEST(PickleTest, RefusesUnsetMemoIndex) {
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op('h').U8(3).Stop().str()),
              HasSubstr("byte 2: BINGET (0x68) of memo index 3, which is not set"));
  EXPECT_THAT(
      ErrorOf(Bytes().Proto().Op('q').U8(3).Stop().str()),
      HasSubstr("byte 2: stack underflow: BINPUT (0x71) needs 1 value but the stack has 0"));
}

TEST(PickleTest, StackUnderflowAndMarks) {
  EXPECT_THAT(
      ErrorOf(Bytes().Proto().Int1(1).Op(0x86).Stop().str()),
      HasSubstr("byte 4: stack underflow: TUPLE2 (0x86) needs 2 values but the stack has 1"));
  // Values below a MARK are out of reach until it is closed.
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op(']').Op('(').Int1(1).Op('a').Stop().str()),
              HasSubstr("byte 6: stack underflow: APPEND (0x61) needs 1 value but the stack has 0 "
                        "above the last MARK"));
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op(']').Int1(1).Op('e').Stop().str()),
              HasSubstr("byte 5: APPENDS (0x65) without a MARK before it"));
  EXPECT_THAT(ErrorOf(Bytes().Proto().Stop().str()),
              HasSubstr("byte 2: stack underflow: STOP (0x2e) needs 1 value but the stack has 0"));
  EXPECT_THAT(ErrorOf(Bytes().Proto().Int1(1).Op('(').Stop().str()),
              HasSubstr("byte 5: stack underflow: STOP (0x2e) needs 1 value but the stack has 0 "
                        "above the last MARK"));
}

TEST(PickleTest, StopReturnsTheTopValueAsPyTorchDoes) {
  // Values under it, open MARKs and bytes after STOP are ignored.
  EXPECT_EQ(Read(Bytes().Proto().Int1(1).Int1(2).Stop().str()).root().integer, 2);
  EXPECT_EQ(Read(Bytes().Proto().Op('(').Int1(3).Stop().str()).root().integer, 3);
  EXPECT_EQ(Read(Bytes().Proto().Int1(4).Stop().Raw("junk").str()).root().integer, 4);
  // PROTO may name any protocol: PyTorch only warns.
  EXPECT_EQ(Read(Bytes().Proto(6).Int1(5).Stop().str()).root().integer, 5);
}

// The opcodes of PyTorch's weights_only Unpickler
// (torch/_weights_only_unpickler.py): every other one is refused.
const char kPyTorchOpcodes[] =
    "cR\x81"
    "baesu(t\x85\x86\x87N\x89\x88)]}\x8fJKMGXUQhjqr\x8a\x80.";

TEST(PickleTest, RefusesEveryOpcodePyTorchRefuses) {
  const std::string supported(kPyTorchOpcodes, sizeof kPyTorchOpcodes - 1);
  ASSERT_EQ(supported.size(), 34u);
  int refused = 0;
  for (int code = 0; code < 256; ++code) {
    SCOPED_TRACE(code);
    // The opcode, then bytes enough for any argument it takes.
    const std::string data =
        Bytes().Proto().Op(static_cast<uint8_t>(code)).Raw(std::string(16, '\n')).str();
    RecordingHooks hooks;
    std::string message;
    try {
      Read(data, hooks);
    } catch (const CorruptModelCheckpointError& error) {
      message = error.what();
    }
    // Refused for this opcode, not for a later byte.
    const bool refused_as_pytorch =
        absl::StrContains(message, "data.pkl byte 2: ") &&
        absl::StrContains(message, absl::StrCat("(\"Unsupported operand ", code, "\")"));
    EXPECT_EQ(refused_as_pytorch, supported.find(static_cast<char>(code)) == std::string::npos)
        << message;
    if (refused_as_pytorch) ++refused;
  }
  EXPECT_EQ(refused, 256 - 34);
}

TEST(PickleTest, RefusedOpcodesAreNamed) {
  struct Case {
    std::string data;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {Bytes().Proto().Global("m", "C").Op('(').Op('o').Stop().str(), "byte 8: opcode OBJ (0x6f)"},
      {Bytes().Proto().Op('(').Raw("i").Raw("os\nsystem\n").Stop().str(),
       "byte 3: opcode INST (0x69)"},
      {Bytes().Proto().Op(0x82).U8(1).Stop().str(), "byte 2: opcode EXT1 (0x82)"},
      {Bytes().Proto().Op(0x83).Le(1, 2).Stop().str(), "opcode EXT2 (0x83)"},
      {Bytes().Proto().Op(0x84).Le(1, 4).Stop().str(), "opcode EXT4 (0x84)"},
      {Bytes().Proto().Raw("P1\n").Stop().str(), "byte 2: opcode PERSID (0x50)"},
      {Bytes().Proto(4).Global("m", "C").Op(')').Op('}').Op(0x92).Stop().str(),
       "byte 9: opcode NEWOBJ_EX (0x92)"},
      {Bytes().Proto(5).Op(0x96).Le(0, 8).Stop().str(), "opcode BYTEARRAY8 (0x96)"},
      {Bytes().Proto(5).Op(0x97).Stop().str(), "opcode NEXT_BUFFER (0x97)"},
      {Bytes().Proto(5).Op(0x98).Stop().str(), "opcode READONLY_BUFFER (0x98)"},
      {Bytes().Raw("I1\n.").str(), "byte 0: opcode INT (0x49)"},
      {Bytes().Proto().Raw("S'a'\n").Stop().str(), "opcode STRING (0x53)"},
      {Bytes().Proto().Raw("Vab\n").Stop().str(), "opcode UNICODE (0x56)"},
      {Bytes().Proto().Raw("F1.0\n").Stop().str(), "opcode FLOAT (0x46)"},
      {Bytes().Proto().Raw("L1L\n").Stop().str(), "opcode LONG (0x4c)"},
      {Bytes().Proto().Int1(1).Raw("p0\n").Stop().str(), "byte 4: opcode PUT (0x70)"},
      {Bytes().Proto().Raw("g0\n").Stop().str(), "opcode GET (0x67)"},
      {Bytes().Proto().Int1(1).Op('0').Stop().str(), "byte 4: opcode POP (0x30)"},
      {Bytes().Proto().Op('(').Op('1').Int1(1).Stop().str(), "byte 3: opcode POP_MARK (0x31)"},
      {Bytes().Proto().Int1(1).Op('2').Op(0x86).Stop().str(), "byte 4: opcode DUP (0x32)"},
      {Bytes().Proto().Op('(').Op('d').Stop().str(), "byte 3: opcode DICT (0x64)"},
      {Bytes().Proto().Op('(').Op('l').Stop().str(), "byte 3: opcode LIST (0x6c)"},
      {Bytes().Proto().Op('T').Le(1, 4).Raw("a").Stop().str(), "opcode BINSTRING (0x54)"},
      {Bytes().Proto(3).Op('C').U8(1).Raw("a").Stop().str(), "opcode SHORT_BINBYTES (0x43)"},
      {Bytes().Proto(3).Op('B').Le(1, 4).Raw("a").Stop().str(), "opcode BINBYTES (0x42)"},
      {Bytes().Proto(4).Op(0x8c).U8(1).Raw("a").Stop().str(), "opcode SHORT_BINUNICODE (0x8c)"},
      {Bytes().Proto(4).Op(0x8d).Le(1, 8).Raw("a").Stop().str(), "opcode BINUNICODE8 (0x8d)"},
      {Bytes().Proto(4).Op(0x8e).Le(1, 8).Raw("a").Stop().str(), "opcode BINBYTES8 (0x8e)"},
      {Bytes().Proto(4).Op(0x8f).Op('(').Int1(1).Op(0x90).Stop().str(),
       "byte 6: opcode ADDITEMS (0x90)"},
      {Bytes().Proto(4).Op('(').Op(0x91).Stop().str(), "byte 3: opcode FROZENSET (0x91)"},
      {Bytes().Proto(4).Int1(1).Op(0x94).Stop().str(), "byte 4: opcode MEMOIZE (0x94)"},
      {Bytes().Proto(4).Op(0x95).Le(2, 8).Int1(1).Stop().str(), "byte 2: opcode FRAME (0x95)"},
      {Bytes().Proto().Op(0xff).Stop().str(), "byte 2: unknown opcode 0xff"},
  };
  for (const Case& c : cases) {
    const std::string message = ErrorOf(c.data);
    EXPECT_THAT(message, HasSubstr(c.expected));
    EXPECT_THAT(message, HasSubstr("is not supported: torch.load(weights_only=True) refuses it "
                                   "too (\"Unsupported operand "));
  }
}

TEST(PickleTest, EveryTruncationIsRefused) {
  for (const std::string& data :
       {Literal(kProtocol4, sizeof kProtocol4), Literal(kProtocol2, sizeof kProtocol2)}) {
    for (size_t size = 0; size < data.size(); ++size) {
      RecordingHooks hooks;
      EXPECT_THROW(Read(data.substr(0, size), hooks), CorruptModelCheckpointError) << size;
    }
  }
  EXPECT_THAT(ErrorOf(""), HasSubstr("data.pkl byte 0: the pickle ends without a STOP opcode"));
  EXPECT_THAT(
      ErrorOf(Bytes().Proto().Op('J').Le(1, 2).str()),
      HasSubstr("byte 2: truncated: BININT (0x4a) needs 4 bytes of the integer but data.pkl "
                "ends 2 bytes later"));
  EXPECT_THAT(ErrorOf(Bytes().Proto().Raw("cos\nsys").str()),
              HasSubstr("byte 2: truncated: the name of GLOBAL (0x63) has no newline"));
}

TEST(PickleTest, EveryOneByteChangeIsReadOrRefused) {
  // Whatever a byte becomes, reading either succeeds or throws
  // CorruptModelCheckpointError naming the path, data.pkl and a byte offset
  // inside the data (under the sanitizers, also without touching memory it
  // should not); nothing else escapes.
  const std::regex refusal(
      R"(^test\.pt: corrupt model checkpoint: data\.pkl byte ([0-9]+): [^\n]+$)");
  const std::string original = Literal(kProtocol2, sizeof kProtocol2);
  int read = 0;
  int refused = 0;
  for (size_t at = 0; at < original.size(); ++at) {
    for (int value = 0; value < 256; ++value) {
      std::string data = original;
      data[at] = static_cast<char>(value);
      RecordingHooks hooks;
      try {
        Read(data, hooks);
        ++read;
      } catch (const CorruptModelCheckpointError& error) {
        ++refused;
        std::cmatch match;
        const std::string what = error.what();
        ASSERT_TRUE(std::regex_match(what.c_str(), match, refusal))
            << "byte " << at << " = " << value << ": " << what;
        EXPECT_LE(std::stoul(match[1].str()), data.size()) << what;
        EXPECT_EQ(error.path(), "test.pt");
      } catch (const std::exception& error) {
        ADD_FAILURE() << "byte " << at << " = " << value << ": " << error.what();
      }
    }
  }
  // Both outcomes happen: e.g. a changed digit is read, a changed opcode
  // mostly refused.
  EXPECT_GT(read, 100);
  EXPECT_GT(refused, 100);
  EXPECT_EQ(read + refused, static_cast<int>(original.size() * 256));
}

TEST(PickleTest, RefusesLengthsPastTheEnd) {
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op('X').Le(~uint32_t{0}, 4).Raw("ab").Stop().str()),
              HasSubstr("byte 2: BINUNICODE (0x58) length 4294967295 passes the end of "
                        "data.pkl (3 bytes left)"));
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op('X').Le(100, 4).Raw("abc").Stop().str()),
              HasSubstr("BINUNICODE (0x58) length 100 passes the end of data.pkl (4 bytes left)"));
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op('U').U8(10).Raw("ab").Stop().str()),
              HasSubstr("byte 2: SHORT_BINSTRING (0x55) length 10 passes the end of data.pkl (3 "
                        "bytes left)"));
  EXPECT_THAT(ErrorOf(Bytes().Proto().Op(0x8a).U8(9).Raw("\x01").Stop().str()),
              HasSubstr("byte 2: LONG1 (0x8a) length 9 passes the end of data.pkl (2 bytes left)"));
}

TEST(PickleTest, LimitsStopHostilePickles) {
  PickleLimits limits;
  limits.max_values = 100;
  Bytes many_values;
  many_values.Proto().Op(']');
  for (int i = 0; i < 200; ++i) many_values.Int1(1).Op('a');
  EXPECT_THAT(ErrorOf(many_values.Stop().str(), limits),
              HasSubstr("the pickle makes more than 100 values"));

  // BINGET and APPEND make no new values, yet each adds a slot.
  limits = PickleLimits();
  limits.max_container_items = 1000;
  Bytes many_items;
  many_items.Proto().Op(']').Op('q').U8(0);
  for (int i = 0; i < 2000; ++i) many_items.Op('h').U8(0).Op('a');
  EXPECT_THAT(ErrorOf(many_items.Stop().str(), limits),
              HasSubstr("byte 3007: the pickle's containers hold more than 1000 items"));

  limits = PickleLimits();
  limits.max_stack = 50;
  Bytes deep_stack;
  deep_stack.Proto();
  for (int i = 0; i < 100; ++i) deep_stack.Int1(1);
  EXPECT_THAT(ErrorOf(deep_stack.Stop().str(), limits),
              HasSubstr("byte 102: the stack holds more than 50 values"));

  limits = PickleLimits();
  limits.max_marks = 10;
  Bytes many_marks;
  many_marks.Proto();
  for (int i = 0; i < 20; ++i) many_marks.Op('(');
  EXPECT_THAT(ErrorOf(many_marks.Stop().str(), limits),
              HasSubstr("byte 12: more than 10 MARKs are open"));

  // One value under many memo indexes.
  limits = PickleLimits();
  limits.max_values = 10;
  Bytes big_memo;
  big_memo.Proto().Int1(1);
  for (uint32_t i = 0; i < 20; ++i) big_memo.Op('r').Le(i, 4);
  EXPECT_THAT(ErrorOf(big_memo.Stop().str(), limits),
              HasSubstr("byte 54: the memo holds more than 10 values"));
}

TEST(PickleTest, DeepNestingNeedsNoRecursion) {
  // 50000 nested lists, [[[...]]]: EMPTY_LIST 50000 times, then APPEND each
  // into the one below, read without recursing.
  Bytes nested;
  nested.Proto();
  const int depth = 50000;
  for (int i = 0; i < depth; ++i) nested.Op(']');
  for (int i = 1; i < depth; ++i) nested.Op('a');
  PickleDocument doc = Read(nested.Stop().str());
  const PickleValue* value = &doc.root();
  int levels = 0;
  while (!value->items.empty()) {
    value = value->items[0];
    ++levels;
  }
  EXPECT_EQ(levels, depth - 1);
}

TEST(PickleTest, DescribesValues) {
  PickleArena arena;
  EXPECT_EQ(DescribePickleValue(*arena.NewInt(1000, 0)), "int 1000");
  EXPECT_EQ(DescribePickleValue(*arena.NewStr("abc", 0)), "str 'abc'");
  EXPECT_EQ(DescribePickleValue(*arena.NewStr(std::string(50, 'x') + "\n", 0)),
            "str '" + std::string(40, 'x') + "...' (51 bytes)");
  EXPECT_EQ(DescribePickleValue(*arena.NewStr("a\nb", 0)), "str 'a?b'");
  EXPECT_EQ(DescribePickleValue(*arena.New(Kind::kNone, 0)), "None");
  EXPECT_EQ(DescribePickleValue(*arena.NewObject("skipped argparse.Namespace", {}, 0)),
            "skipped argparse.Namespace");
  PickleValue* real = arena.New(Kind::kFloat, 0);
  real->real = 0.001;
  EXPECT_EQ(DescribePickleValue(*real), "float 0.001");
  PickleValue* ordered = arena.New(Kind::kDict, 0);
  ordered->python_class = "collections.OrderedDict";
  EXPECT_EQ(DescribePickleValue(*ordered), "OrderedDict of 0");
  EXPECT_EQ(arena.size(), 8u);
}

TEST(PickleTest, FormatsFloatsAsPythonsRepr) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0.1, "0.1"},
      {3.0, "3.0"},
      {-2.5, "-2.5"},
      {0.0001, "0.0001"},
      {1e-05, "1e-05"},
      {3e-4, "0.0003"},
      {123456.789, "123456.789"},
      {1e15, "1000000000000000.0"},
      {1.5e16, "1.5e+16"},
      {1e300, "1e+300"},
      {-0.0, "-0.0"},
      {std::numeric_limits<double>::infinity(), "inf"},
      {-std::numeric_limits<double>::infinity(), "-inf"},
      {std::nan(""), "nan"},
  };
  for (const auto& [value, text] : cases) EXPECT_EQ(FormatPickleFloat(value), text);
}

}  // namespace
}  // namespace modelhub
