#include "runtime/checkpoint/safetensors.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "runtime/core/errors.h"

namespace modelhub {
namespace {

using ::testing::HasSubstr;

// The 8-byte little-endian encoding of `value`.
std::string U64(uint64_t value) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

// A safetensors file with JSON header `header` (N = its size) and data `data`.
std::string RawFile(const std::string& header, const std::string& data) {
  return U64(header.size()) + header + data;
}

// The little-endian bytes of `values`.
std::string F32Bytes(std::initializer_list<float> values) {
  std::string out;
  for (float value : values) {
    char bytes[4];
    std::memcpy(bytes, &value, 4);
    out.append(bytes, 4);
  }
  return out;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/safetensors_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Writes `bytes` to the file `name` and returns its path.
  std::string WriteRaw(const std::string& bytes, const std::string& name = "raw.safetensors") {
    const std::string path = Path(name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(out.good());
    return path;
  }

  std::string ReadAll(const std::string& path) const {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  // The names in the temporary directory.
  std::vector<std::string> DirNames() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // Writes `bytes` and returns the message of the CorruptModelCheckpointError
  // that opening them throws (with either strategy), having checked that it
  // names the file.
  std::string OpenError(const std::string& bytes) {
    const std::string path = WriteRaw(bytes);
    std::string message;
    for (ReadStrategy strategy : {ReadStrategy::kPread, ReadStrategy::kMmap}) {
      try {
        OpenSafetensors(path, strategy);
        ADD_FAILURE() << "Open accepted a corrupt file";
      } catch (const CorruptModelCheckpointError& error) {
        EXPECT_EQ(error.path(), path);
        EXPECT_THAT(error.what(), HasSubstr(path));
        if (!message.empty()) {
          EXPECT_EQ(message, error.what());
        }
        message = error.what();
      }
    }
    return message;
  }

  std::string dir_;
};

// Round trips, with each read strategy.
class SafetensorsReadTest : public SafetensorsTest,
                            public ::testing::WithParamInterface<ReadStrategy> {};

TEST(TensorDtypeTest, NamesSizesAndLibTorchTypes) {
  EXPECT_EQ(TensorDtypeName(TensorDtype::kBF16), "BF16");
  EXPECT_EQ(TensorDtypeName(TensorDtype::kF8E4M3), "F8_E4M3");
  EXPECT_EQ(ParseTensorDtype("F8_E5M2"), TensorDtype::kF8E5M2);
  EXPECT_EQ(ParseTensorDtype("f32"), std::nullopt);
  EXPECT_EQ(TensorDtypeSize(TensorDtype::kBool), 1u);
  EXPECT_EQ(TensorDtypeSize(TensorDtype::kBF16), 2u);
  EXPECT_EQ(TensorDtypeSize(TensorDtype::kU32), 4u);
  EXPECT_EQ(TensorDtypeSize(TensorDtype::kF64), 8u);
  EXPECT_EQ(ToScalarType(TensorDtype::kBF16), at::kBFloat16);
  EXPECT_EQ(ToScalarType(TensorDtype::kU8), at::kByte);
  EXPECT_EQ(ToScalarType(TensorDtype::kU16), std::nullopt);
  EXPECT_EQ(ToScalarType(TensorDtype::kF8E4M3), std::nullopt);
  EXPECT_EQ(FromScalarType(at::kHalf), TensorDtype::kF16);
  EXPECT_EQ(FromScalarType(at::kChar), TensorDtype::kI8);
  EXPECT_THROW(FromScalarType(at::kComplexFloat), std::invalid_argument);
  for (TensorDtype dtype :
       {TensorDtype::kBool, TensorDtype::kU8, TensorDtype::kI8, TensorDtype::kI16,
        TensorDtype::kF16, TensorDtype::kBF16, TensorDtype::kI32, TensorDtype::kF32,
        TensorDtype::kI64, TensorDtype::kF64}) {
    ASSERT_TRUE(ToScalarType(dtype).has_value());
    EXPECT_EQ(FromScalarType(*ToScalarType(dtype)), dtype);
    EXPECT_EQ(at::elementSize(*ToScalarType(dtype)), TensorDtypeSize(dtype));
  }
}

TEST_P(SafetensorsReadTest, RoundTripsEveryLibTorchDtype) {
  at::manual_seed(7);
  const std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"f32", at::randn({3, 5})},
      {"f64", at::randn({2, 2}, at::kDouble)},
      {"f16", at::randn({7}).to(at::kHalf)},
      {"bf16", at::randn({2, 3, 4}).to(at::kBFloat16)},
      {"bool", at::rand({9}) > 0.5},
      {"u8", at::randint(0, 256, {10}, at::kByte)},
      {"i8", at::randint(-128, 128, {3, 3}, at::kChar)},
      {"i16", at::randint(-30000, 30000, {4}, at::kShort)},
      {"i32", at::randint(-100000, 100000, {5}, at::kInt)},
      {"i64", at::randint(-1000000, 1000000, {6}, at::kLong)},
      {"scalar", at::scalar_tensor(2.5, at::kFloat)},
      {"empty", at::empty({0, 4}, at::kFloat)},
      {"transposed", at::arange(12, at::kFloat).reshape({3, 4}).t()},
      {"strided", at::arange(20, at::kLong).slice(0, 1, 20, 3)},
      // Over one 16 MiB read chunk.
      {"large", at::randn({5 << 20})},
  };
  const std::string path = Path("model.safetensors");
  WriteSafetensors(path, tensors);

  TensorFile file = OpenSafetensors(path, GetParam());
  EXPECT_EQ(file.path(), path);
  ASSERT_EQ(file.entries().size(), tensors.size());
  EXPECT_TRUE(file.metadata().empty());
  EXPECT_EQ(file.file_size(), std::filesystem::file_size(path));
  EXPECT_EQ(file.format(), "safetensors");
  // The writer pads the header so that data starts 8-byte aligned.
  EXPECT_EQ(file.entries().front().begin % 8, 0u);
  EXPECT_EQ(file.entries().back().end, file.file_size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, expected] = tensors[i];
    SCOPED_TRACE(name);
    // Written in the given order, so data-offset order is the same.
    EXPECT_EQ(file.entries()[i].name, name);
    const TensorEntry* entry = file.Find(name);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry, &file.entries()[i]);
    EXPECT_EQ(entry->shape, expected.sizes().vec());
    EXPECT_EQ(entry->numel(), expected.numel());
    EXPECT_EQ(entry->nbytes(), expected.numel() * expected.element_size());
    at::Tensor actual = file.Read(*entry);
    EXPECT_EQ(actual.scalar_type(), expected.scalar_type());
    EXPECT_EQ(actual.sizes(), expected.sizes());
    EXPECT_TRUE(actual.is_contiguous());
    EXPECT_TRUE(at::equal(actual, expected));
  }
  EXPECT_EQ(file.Find("missing"), nullptr);
  EXPECT_EQ(file.Find("f3"), nullptr);
  EXPECT_EQ(file.Read(*file.Find("scalar")).dim(), 0);
}

TEST_P(SafetensorsReadTest, ReadsUnalignedTensors) {
  // N = 107: "b" starts at file offset 8 + 107 + 3 = 118, not a multiple of 4.
  const std::string header = R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}})";
  ASSERT_EQ(header.size(), 107u);
  const std::string path = WriteRaw(RawFile(header, "xyz" + F32Bytes({1.5f, -2.25f})));
  TensorFile file = OpenSafetensors(path, GetParam());
  ASSERT_EQ(file.entries().size(), 2u);
  const TensorEntry& b = *file.Find("b");
  EXPECT_EQ(b.begin, 118u);
  EXPECT_EQ(b.end, 126u);
  EXPECT_TRUE(at::equal(file.Read(b), at::tensor({1.5f, -2.25f})));
  EXPECT_TRUE(at::equal(file.Read(*file.Find("a")), at::tensor({'x', 'y', 'z'}, at::kByte)));
  // Into an unaligned destination too.
  char buffer[9] = {};
  file.ReadInto(b, buffer + 1);
  EXPECT_EQ(std::string(buffer + 1, 8), F32Bytes({1.5f, -2.25f}));
}

TEST_P(SafetensorsReadTest, AcceptsEmptyTensorsAndTrailingSpaces) {
  // Empty tensors may share an offset with others; the header may end in spaces.
  const std::string header = R"({"a":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
                             R"("b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                             R"("c":{"dtype":"I64","shape":[0],"data_offsets":[2,2]}}   )";
  const std::string path = WriteRaw(RawFile(header, "\x01\x02"));
  TensorFile file = OpenSafetensors(path, GetParam());
  ASSERT_EQ(file.entries().size(), 3u);
  EXPECT_EQ(file.entries()[0].name, "a");
  EXPECT_EQ(file.entries()[1].name, "b");
  EXPECT_EQ(file.entries()[2].name, "c");
  EXPECT_EQ(file.Read(*file.Find("a")).sizes(), at::IntArrayRef({0, 3}));
  EXPECT_EQ(file.Read(*file.Find("c")).numel(), 0);
  EXPECT_TRUE(at::equal(file.Read(*file.Find("b")), at::tensor({1, 2}, at::kByte)));

  // A file of no tensors at all.
  TensorFile none = OpenSafetensors(WriteRaw(RawFile("{}", ""), "none"), GetParam());
  EXPECT_TRUE(none.entries().empty());
}

TEST_P(SafetensorsReadTest, TypesLibTorchLacksAreReadAsBytesOnly) {
  const std::string header = R"({"u":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}})";
  const std::string path = WriteRaw(RawFile(header, std::string("\x01\x00\xff\xff", 4)));
  TensorFile file = OpenSafetensors(path, GetParam());
  const TensorEntry& u = file.entries().at(0);
  EXPECT_EQ(u.dtype, TensorDtype::kU16);
  char bytes[4];
  file.ReadInto(u, bytes);
  EXPECT_EQ(std::string(bytes, 4), std::string("\x01\x00\xff\xff", 4));
  try {
    file.Read(u);
    FAIL() << "Read returned a U16 tensor";
  } catch (const CorruptModelCheckpointError& error) {
    EXPECT_THAT(error.what(), HasSubstr(path));
    EXPECT_THAT(error.what(), HasSubstr("'u'"));
    EXPECT_THAT(error.what(), HasSubstr("U16"));
  }
}

TEST_P(SafetensorsReadTest, ReadingAFileTruncatedAfterOpenIsAnError) {
  const std::string header = R"({"w":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})";
  ASSERT_EQ(header.size(), 53u);  // data starts at file offset 61
  const std::string path = WriteRaw(RawFile(header, "abcdefgh"));
  TensorFile file = OpenSafetensors(path, GetParam());
  ASSERT_EQ(::truncate(path.c_str(), 61 + 5), 0);
  char bytes[8];
  try {
    file.ReadInto(file.entries().at(0), bytes);
    FAIL() << "read past the end of file";
  } catch (const CorruptModelCheckpointError& error) {
    EXPECT_THAT(error.what(), HasSubstr(path));
    EXPECT_THAT(error.what(), HasSubstr("'w'"));
    EXPECT_THAT(error.what(), HasSubstr("file offset"));
    EXPECT_THAT(error.what(), HasSubstr(GetParam() == ReadStrategy::kPread ? "66" : "61"));
  }
}

TEST_P(SafetensorsReadTest, MovedFilesStayUsable) {
  const std::string path = Path("moved.safetensors");
  WriteSafetensors(path, {{"x", at::arange(4, at::kInt)}});
  TensorFile first = OpenSafetensors(path, GetParam());
  TensorFile second = std::move(first);
  const TensorEntry* x = second.Find("x");
  ASSERT_NE(x, nullptr);
  EXPECT_TRUE(at::equal(second.Read(*x), at::arange(4, at::kInt)));
  TensorFile third = OpenSafetensors(path, GetParam());
  third = std::move(second);
  EXPECT_TRUE(at::equal(third.Read(*third.Find("x")), at::arange(4, at::kInt)));
}

INSTANTIATE_TEST_SUITE_P(Strategies, SafetensorsReadTest,
                         ::testing::Values(ReadStrategy::kPread, ReadStrategy::kMmap),
                         [](const ::testing::TestParamInfo<ReadStrategy>& info) {
                           return info.param == ReadStrategy::kPread ? "Pread" : "Mmap";
                         });

TEST_F(SafetensorsTest, MetadataRoundTrips) {
  const std::string path = Path("meta.safetensors");
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "ünïcode"}};
  WriteSafetensors(path, {{"x", at::ones({2})}}, metadata);
  EXPECT_EQ(OpenSafetensors(path).metadata(), metadata);
  const std::string bytes = ReadAll(path);
  // The reference crate writes "__metadata__" first.
  EXPECT_EQ(bytes.substr(8, 16), R"({"__metadata__":)");
}

TEST_F(SafetensorsTest, HeaderIsPaddedToEightBytes) {
  const std::string path = Path("padded.safetensors");
  // Without padding this header would be 54 bytes long.
  WriteSafetensors(path, {{"w", at::ones({2}, at::kFloat)}});
  const std::string bytes = ReadAll(path);
  const std::string json = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_EQ(json.size(), 54u);
  EXPECT_EQ(bytes.substr(0, 8), U64(56));
  EXPECT_EQ(bytes.substr(8, 56), json + "  ");
  EXPECT_EQ(bytes.size(), 8u + 56u + 8u);
  EXPECT_EQ(bytes.substr(64), F32Bytes({1.0f, 1.0f}));
}

TEST_F(SafetensorsTest, WriterLeavesNoTemporaryFile) {
  const std::string path = Path("out.safetensors");
  WriteSafetensors(path, {{"a", at::zeros({3})}});
  WriteSafetensors(path, {{"b", at::ones({4})}});  // replaces the first
  EXPECT_EQ(DirNames(), std::vector<std::string>{"out.safetensors"});
  TensorFile file = OpenSafetensors(path);
  ASSERT_EQ(file.entries().size(), 1u);
  EXPECT_EQ(file.entries()[0].name, "b");
}

TEST_F(SafetensorsTest, FailedWritesLeaveNothing) {
  const std::string missing_dir = Path("no/such/dir/out.safetensors");
  try {
    WriteSafetensors(missing_dir, {{"a", at::zeros({3})}});
    FAIL() << "wrote into a missing directory";
  } catch (const std::system_error& error) {
    EXPECT_THAT(error.what(), HasSubstr(missing_dir));
  }
  EXPECT_TRUE(DirNames().empty());

  // The rename fails when `path` is a directory: the temporary file goes.
  const std::string dir_path = Path("taken");
  std::filesystem::create_directory(dir_path);
  EXPECT_THROW(WriteSafetensors(dir_path, {{"a", at::zeros({3})}}), std::system_error);
  EXPECT_EQ(DirNames(), std::vector<std::string>{"taken"});

  // Bad arguments are found before anything is written; an old file survives.
  const std::string path = Path("keep.safetensors");
  WriteSafetensors(path, {{"a", at::zeros({3})}});
  const std::string before = ReadAll(path);
  EXPECT_THROW(WriteSafetensors(path, {{"a", at::zeros({1})}, {"a", at::zeros({2})}}),
               std::invalid_argument);
  EXPECT_THROW(WriteSafetensors(path, {{"c", at::zeros({2}, at::kComplexFloat)}}),
               std::invalid_argument);
  EXPECT_THROW(WriteSafetensors(path, {{"__metadata__", at::zeros({2})}}), std::invalid_argument);
  EXPECT_THROW(WriteSafetensors(path, {{"\xff", at::zeros({2})}}), std::invalid_argument);
  EXPECT_THROW(WriteSafetensors(path, {{"a", at::zeros({2})}}, {{"k", "\xff"}}),
               std::invalid_argument);
  // A tensor that cannot be copied fails the write half way: nothing changes.
  EXPECT_THROW(WriteSafetensors(path, {{"a", at::ones({1 << 20})},
                                       {"meta", at::empty({2}, at::device(at::kMeta))}}),
               TorchError);
  EXPECT_EQ(ReadAll(path), before);
  EXPECT_EQ(DirNames(), (std::vector<std::string>{"keep.safetensors", "taken"}));
}

TEST_F(SafetensorsTest, MissingFileIsAssetNotFound) {
  EXPECT_THROW(OpenSafetensors(Path("absent.safetensors")), AssetNotFoundError);
}

// Rejection rules, one test each. Offsets in the comments are absolute file
// offsets: the JSON header starts at 8, its byte i at 8 + i.

TEST_F(SafetensorsTest, RejectsFilesShorterThanEightBytes) {
  const std::string message = OpenError(std::string("\x05\0\0\0\0", 5));
  EXPECT_THAT(message, HasSubstr("5 bytes long"));
  EXPECT_THAT(message, HasSubstr("file offset 0"));
}

TEST_F(SafetensorsTest, RejectsHeadersOverTheSizeLimit) {
  const std::string message = OpenError(U64(100'000'001) + "{}");
  EXPECT_THAT(message, HasSubstr("header length 100000001 at file offset 0"));
  EXPECT_THAT(message, HasSubstr("100000000"));
}

TEST_F(SafetensorsTest, RejectsHeaderLengthsPastTheEndOfFile) {
  // 18 bytes: a header of 50 would end at 58.
  const std::string message = OpenError(U64(50) + "{}        ");
  EXPECT_THAT(message, HasSubstr("header length 50 at file offset 0"));
  EXPECT_THAT(message, HasSubstr("18-byte file"));
  EXPECT_THAT(message, HasSubstr("file offset 58"));
}

TEST_F(SafetensorsTest, RejectsHeadersNotStartingWithABrace) {
  EXPECT_THAT(OpenError(RawFile(" {}", "")), HasSubstr("header at file offset 8"));
  EXPECT_THAT(OpenError(RawFile("[]", "")), HasSubstr("does not start with '{'"));
  EXPECT_THAT(OpenError(RawFile("", "")), HasSubstr("header at file offset 8 is empty"));
}

TEST_F(SafetensorsTest, RejectsInvalidJson) {
  // The '}' is header byte 5.
  EXPECT_THAT(OpenError(RawFile(R"({"w":})", "")), HasSubstr("not valid JSON at file offset 13"));
  // Trailing bytes other than whitespace: 'x' is header byte 3.
  EXPECT_THAT(OpenError(RawFile("{} x", "")), HasSubstr("not valid JSON at file offset 11"));
  // The header ends inside the object: one past its last byte (8 + 5).
  EXPECT_THAT(OpenError(RawFile(R"({"w":)", "")), HasSubstr("not valid JSON at file offset 13"));
}

TEST_F(SafetensorsTest, RejectsInvalidUtf8) {
  // The 0xff is header byte 2.
  EXPECT_THAT(OpenError(RawFile("{\"\xff\":{}}", "")),
              HasSubstr("not valid JSON at file offset 10"));
}

TEST_F(SafetensorsTest, RejectsDuplicateTensorNames) {
  const std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                             R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  // The second "a" is header byte 53.
  EXPECT_THAT(OpenError(RawFile(header, "xy")),
              HasSubstr("duplicate tensor 'a' at file offset 61"));
}

TEST_F(SafetensorsTest, RejectsDuplicateKeysInAnEntry) {
  const std::string header =
      R"({"w":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  // The second "dtype" is header byte 19.
  const std::string message = OpenError(RawFile(header, "x"));
  EXPECT_THAT(message, HasSubstr("tensor 'w'"));
  EXPECT_THAT(message, HasSubstr("duplicate key 'dtype' at file offset 27"));
}

TEST_F(SafetensorsTest, RejectsUnknownKeysInAnEntry) {
  const std::string header = R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"bias":1}})";
  // "bias" is header byte 52; the entry's name is header byte 1.
  const std::string message = OpenError(RawFile(header, "x"));
  EXPECT_THAT(message, HasSubstr("tensor 'w' (entry at file offset 9)"));
  EXPECT_THAT(message, HasSubstr("unknown key 'bias' at file offset 60"));
}

TEST_F(SafetensorsTest, RejectsEntriesMissingAKey) {
  for (const char* header :
       {R"({"w":{"shape":[1],"data_offsets":[0,1]}})",
        R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", R"({"w":{"dtype":"U8","shape":[1]}})"}) {
    SCOPED_TRACE(header);
    const std::string message = OpenError(RawFile(header, "x"));
    EXPECT_THAT(message, HasSubstr("tensor 'w' (entry at file offset 9) has no"));
  }
  EXPECT_THAT(OpenError(RawFile(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", "x")),
              HasSubstr("has no \"shape\""));
}

TEST_F(SafetensorsTest, RejectsValuesOfTheWrongJsonType) {
  struct Case {
    const char* header;
    const char* expected;
  };
  const Case cases[] = {
      // The entry itself is an array at header byte 5.
      {R"({"w":[1]})",
       "tensor 'w' (entry at file offset 9) must be an object, not an array "
       "(file offset 13)"},
      // "1" is header byte 27.
      {R"({"w":{"dtype":"U8","shape":"1","data_offsets":[0,1]}})",
       "\"shape\" must be an array of non-negative integers, not the string '1' (file offset 35)"},
      // 5 is header byte 14.
      {R"({"w":{"dtype":5,"shape":[1],"data_offsets":[0,1]}})",
       "\"dtype\" must be a string, not the number 5 (file offset 22)"},
      // 1.0 is header byte 28.
      {R"({"w":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}})",
       "shape[0] must be a non-negative integer, not the non-integer number 1.0 (file offset 36)"},
      // The third number is header byte 51; the array starts at byte 46.
      {R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})",
       "data_offsets at file offset 54 has more than 2 numbers (the third is at file offset 59)"},
      // The array is header byte 46.
      {R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}})",
       "data_offsets at file offset 54 has 1 numbers, not 2"},
      {R"({"w":{"dtype":"U8","shape":[true],"data_offsets":[0,1]}})",
       "shape[0] must be a non-negative integer, not a boolean (file offset 36)"},
      {R"({"w":{"dtype":"U8","shape":[null],"data_offsets":[0,1]}})",
       "shape[0] must be a non-negative integer, not null (file offset 36)"},
      {R"({"w":{"dtype":"U8","shape":[[1]],"data_offsets":[0,1]}})",
       "shape[0] must be a non-negative integer, not an array (file offset 36)"},
      {R"({"__metadata__":[],"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
       "\"__metadata__\" must be an object of strings, not an array (file offset 24)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    EXPECT_THAT(OpenError(RawFile(c.header, "x")), HasSubstr(c.expected));
  }
}

TEST_F(SafetensorsTest, RejectsNegativeNumbers) {
  // -1 is header byte 30.
  EXPECT_THAT(
      OpenError(RawFile(R"({"w":{"dtype":"U8","shape":[2,-1],"data_offsets":[0,1]}})", "x")),
      HasSubstr("tensor 'w' (entry at file offset 9): shape[1] must be a non-negative "
                "integer, not the negative number -1 (file offset 38)"));
  // -1 is header byte 47.
  EXPECT_THAT(OpenError(RawFile(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})", "x")),
              HasSubstr("tensor 'w' (entry at file offset 9): data_offsets[0] must be a "
                        "non-negative integer, not the negative number -1 (file offset 55)"));
}

TEST_F(SafetensorsTest, RejectsUnknownDtypes) {
  // "F33" is header byte 14.
  EXPECT_THAT(OpenError(RawFile(R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,1]}})", "x")),
              HasSubstr("tensor 'w' (entry at file offset 9) has an unknown dtype 'F33' at file "
                        "offset 22"));
}

TEST_F(SafetensorsTest, RejectsElementCountOverflow) {
  // 2^62 F32 elements take 2^64 bytes.
  EXPECT_THAT(
      OpenError(RawFile(
          R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", "")),
      HasSubstr("tensor 'w' (entry at file offset 9): the byte size of F32 shape "
                "[4611686018427387904] overflows 64 bits"));
  // 2^32 * 2^32 elements, even of one byte, overflow before the last 0.
  EXPECT_THAT(
      OpenError(RawFile(
          R"({"w":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})", "")),
      HasSubstr("tensor 'w' (entry at file offset 9): the byte size of U8 shape [4294967296, "
                "4294967296, 0] overflows 64 bits"));
}

TEST_F(SafetensorsTest, RejectsByteLengthsThatDoNotMatchTheShape) {
  // N = 54: data starts at file offset 62.
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})";
  ASSERT_EQ(header.size(), 54u);
  EXPECT_THAT(OpenError(RawFile(header, "abcd")),
              HasSubstr("tensor 'w' (entry at file offset 9): F32 shape [2] takes 8 bytes but "
                        "data_offsets [0, 4] span 4 bytes (file offsets 62 to 66)"));
}

TEST_F(SafetensorsTest, RejectsOffsetsThatEndBeforeTheyBegin) {
  // The data_offsets array is header byte 46.
  EXPECT_THAT(OpenError(RawFile(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", "")),
              HasSubstr("tensor 'w' (entry at file offset 9): data_offsets [4, 0] at file "
                        "offset 54 end before they begin"));
}

TEST_F(SafetensorsTest, RejectsGapsBetweenTensors) {
  // N = 106: data starts at file offset 114; "b" is header byte 53.
  const std::string header = R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}})";
  ASSERT_EQ(header.size(), 106u);
  EXPECT_THAT(OpenError(RawFile(header, std::string(12, 'x'))),
              HasSubstr("a gap of 4 unused bytes at file offset 118 before tensor 'b' (entry at "
                        "file offset 61), which begins at file offset 122"));
}

TEST_F(SafetensorsTest, RejectsDataNotStartingAtZero) {
  // N = 53: data starts at file offset 61.
  const std::string header = R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})";
  ASSERT_EQ(header.size(), 53u);
  EXPECT_THAT(OpenError(RawFile(header, std::string(8, 'x'))),
              HasSubstr("a gap of 4 unused bytes at file offset 61 before tensor 'a'"));
}

TEST_F(SafetensorsTest, RejectsOverlappingTensors) {
  // N = 105: data starts at file offset 113.
  const std::string header = R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})";
  ASSERT_EQ(header.size(), 105u);
  EXPECT_THAT(OpenError(RawFile(header, std::string(8, 'x'))),
              HasSubstr("tensor 'b' (entry at file offset 61) begins at file offset 117, "
                        "overlapping by 4 bytes tensor 'a', which ends at file offset 121"));
}

TEST_F(SafetensorsTest, RejectsTruncatedFiles) {
  // N = 53: data starts at file offset 61 and should end at 69; the file has 66 bytes.
  const std::string header = R"({"w":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})";
  ASSERT_EQ(header.size(), 53u);
  EXPECT_THAT(OpenError(RawFile(header, "abcde")),
              HasSubstr("the file is truncated: its tensor data (last: 'w') ends at file offset "
                        "69 but the file has only 66 bytes (3 missing)"));
}

TEST_F(SafetensorsTest, RejectsTrailingBytes) {
  // N = 53: data ends at file offset 69; the file has 71 bytes.
  const std::string header = R"({"w":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})";
  EXPECT_THAT(OpenError(RawFile(header, "abcdefgh!!")),
              HasSubstr("2 trailing bytes at file offset 69"));
}

TEST_F(SafetensorsTest, RejectsMetadataValuesThatAreNotStrings) {
  // 1 is header byte 35.
  EXPECT_THAT(OpenError(RawFile(R"({"__metadata__":{"format":"pt","n":1}})", "")),
              HasSubstr("metadata value of 'n' must be a string, not the number 1 (file offset "
                        "43)"));
  // Duplicate metadata keys: the second "k" is header byte 25.
  EXPECT_THAT(OpenError(RawFile(R"({"__metadata__":{"k":"a","k":"b"}})", "")),
              HasSubstr("duplicate metadata key 'k' at file offset 33"));
}

}  // namespace
}  // namespace modelhub
