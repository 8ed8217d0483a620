#include "runtime/formats/safetensors.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
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

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

using ::modelhub::testing::ErrorOf;
using ::testing::HasSubstr;

// The bytes `values` (each 0-255), as the crate's tests spell files.
std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int value : values) out.push_back(static_cast<char>(value));
  return out;
}

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
  EXPECT_EQ(TensorDtypeSize(TensorDtype::kC64), 8u);
  EXPECT_EQ(TensorDtypeSize(TensorDtype::kC128), 16u);
  EXPECT_EQ(TensorDtypeSize(TensorDtype::kF4), 0u);  // sub-byte: see the bits
  EXPECT_EQ(ToScalarType(TensorDtype::kBF16), at::kBFloat16);
  EXPECT_EQ(ToScalarType(TensorDtype::kU8), at::kByte);
  EXPECT_EQ(ToScalarType(TensorDtype::kC64), at::kComplexFloat);
  EXPECT_EQ(ToScalarType(TensorDtype::kU16), std::nullopt);
  EXPECT_EQ(ToScalarType(TensorDtype::kF8E4M3), std::nullopt);
  EXPECT_EQ(FromScalarType(at::kHalf), TensorDtype::kF16);
  EXPECT_EQ(FromScalarType(at::kChar), TensorDtype::kI8);
  EXPECT_EQ(FromScalarType(at::kComplexFloat), TensorDtype::kC64);
  EXPECT_EQ(FromScalarType(at::kComplexHalf), std::nullopt);
  EXPECT_EQ(FromScalarType(at::kQInt8), std::nullopt);
  for (TensorDtype dtype :
       {TensorDtype::kBool, TensorDtype::kU8, TensorDtype::kI8, TensorDtype::kI16,
        TensorDtype::kF16, TensorDtype::kBF16, TensorDtype::kI32, TensorDtype::kF32,
        TensorDtype::kC64, TensorDtype::kI64, TensorDtype::kF64, TensorDtype::kC128}) {
    ASSERT_TRUE(ToScalarType(dtype).has_value());
    EXPECT_EQ(FromScalarType(*ToScalarType(dtype)), dtype);
    EXPECT_EQ(at::elementSize(*ToScalarType(dtype)), TensorDtypeSize(dtype));
  }
}

// The 22 dtypes of the safetensors crate (safetensors/src/tensor.rs, Dtype and
// Dtype::bitsize), each with its size in bits.
const std::pair<const char*, size_t> kCrateDtypes[] = {
    {"BOOL", 8},        {"F4", 4},      {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"U8", 8},
    {"I8", 8},          {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8},
    {"F8_E5M2FNUZ", 8}, {"I16", 16},    {"U16", 16},    {"F16", 16},    {"BF16", 16},
    {"I32", 32},        {"U32", 32},    {"F32", 32},    {"C64", 64},    {"F64", 64},
    {"I64", 64},        {"U64", 64},
};

TEST(TensorDtypeTest, KnowsEveryDtypeOfTheCrate) {
  for (const auto& [name, bits] : kCrateDtypes) {
    SCOPED_TRACE(name);
    const std::optional<TensorDtype> dtype = ParseTensorDtype(name);
    ASSERT_TRUE(dtype.has_value());
    EXPECT_EQ(TensorDtypeName(*dtype), name);
    EXPECT_EQ(TensorDtypeBits(*dtype), bits);
    EXPECT_TRUE(IsSafetensorsDtype(*dtype));
  }
  // torch.save's complex128 has a dtype, which safetensors lacks.
  EXPECT_EQ(ParseTensorDtype("C128"), TensorDtype::kC128);
  EXPECT_FALSE(IsSafetensorsDtype(TensorDtype::kC128));
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
  EXPECT_EQ(ErrorOf<UnsupportedDtypeError>([&] { file.Read(u); }),
            path +
                ": tensor 'u' has unsupported dtype U16 (LibTorch 1.13 has no such type; "
                "modelhub can list the tensor but not load it)");
}

// Every dtype of the crate, in one file written by its rules: listed by name,
// read as bytes; read as tensors where LibTorch has the type, refused as
// "unsupported dtype" (not "corrupt") where it has not.
TEST_P(SafetensorsReadTest, ListsEveryDtypeOfTheCrate) {
  std::string header = "{";
  std::string data;
  for (const auto& [name, bits] : kCrateDtypes) {
    // 8 elements: a whole number of bytes for every bit size.
    const size_t nbytes = 8 * bits / 8;
    absl::StrAppend(&header, header.size() > 1 ? "," : "", "\"", name, "\":{\"dtype\":\"", name,
                    "\",\"shape\":[2,4],\"data_offsets\":[", data.size(), ",", data.size() + nbytes,
                    "]}");
    for (size_t i = 0; i < nbytes; ++i) data.push_back(static_cast<char>(i));
  }
  header += "}";
  const std::string path = WriteRaw(RawFile(header, data));
  TensorFile file = OpenSafetensors(path, GetParam());
  ASSERT_EQ(file.entries().size(), std::size(kCrateDtypes));
  for (const auto& [name, bits] : kCrateDtypes) {
    SCOPED_TRACE(name);
    const TensorEntry* entry = file.Find(name);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(TensorDtypeName(entry->dtype), name);
    EXPECT_EQ(entry->nbytes(), bits);
    std::string bytes(entry->nbytes(), '\0');
    file.ReadInto(*entry, bytes.data());
    EXPECT_EQ(bytes, data.substr(entry->begin - file.entries().front().begin, bits));
    if (ToScalarType(entry->dtype)) {
      EXPECT_EQ(file.Read(*entry).sizes(), at::IntArrayRef({2, 4}));
    } else {
      EXPECT_EQ(ErrorOf<UnsupportedDtypeError>([&] { file.Read(*entry); }),
                absl::StrCat(path, ": tensor '", name, "' has unsupported dtype ", name,
                             " (LibTorch 1.13 has no such type; modelhub can list the tensor "
                             "but not load it)"));
    }
  }
  // C64 is a LibTorch complex tensor.
  EXPECT_EQ(file.Read(*file.Find("C64")).scalar_type(), at::kComplexFloat);
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

TEST_P(SafetensorsReadTest, SlicesReadOnlyTheirBytes) {
  const std::string path = Path("slices.safetensors");
  const at::Tensor matrix = at::arange(6 * 8, at::TensorOptions().dtype(at::kFloat)).view({6, 8});
  const at::Tensor cube =
      at::arange(2 * 6 * 4, at::TensorOptions().dtype(at::kBFloat16)).view({2, 6, 4});
  WriteSafetensors(path, {{"matrix", matrix}, {"cube", cube}});
  TensorFile file = OpenSafetensors(path, GetParam());
  const uint64_t before = file.bytes_read();
  // A column shard (dim 0): one range.
  at::Tensor rows = at::empty({2, 8});
  file.ReadSliceInto(*file.Find("matrix"), 0, 3, 2, rows.data_ptr());
  EXPECT_TRUE(rows.equal(matrix.narrow(0, 3, 2)));
  EXPECT_EQ(file.bytes_read() - before, 2u * 8 * 4);
  // A row shard (dim 1): the columns of every row, nothing else.
  at::Tensor columns = at::empty({6, 3});
  file.ReadSliceInto(*file.Find("matrix"), 1, 5, 3, columns.data_ptr());
  EXPECT_TRUE(columns.equal(matrix.narrow(1, 5, 3)));
  EXPECT_EQ(file.bytes_read() - before, 2u * 8 * 4 + 6u * 3 * 4);
  // A middle dimension of a bfloat16 tensor.
  at::Tensor middle = at::empty({2, 2, 4}, at::TensorOptions().dtype(at::kBFloat16));
  file.ReadSliceInto(*file.Find("cube"), 1, 4, 2, middle.data_ptr());
  EXPECT_TRUE(middle.equal(cube.narrow(1, 4, 2)));
  EXPECT_THROW(file.ReadSliceInto(*file.Find("matrix"), 1, 6, 3, columns.data_ptr()),
               std::out_of_range);
  EXPECT_THROW(file.ReadSliceInto(*file.Find("matrix"), 2, 0, 1, columns.data_ptr()),
               std::out_of_range);
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
  EXPECT_THAT(ErrorOf<CheckpointSaveError>([&] {
                WriteSafetensors(missing_dir, {{"a", at::zeros({3})}});
              }),
              ::testing::AllOf(HasSubstr("cannot save a checkpoint to " + missing_dir +
                                         ": cannot create the temporary file " + missing_dir),
                               HasSubstr(": No such file or directory")));
  EXPECT_TRUE(DirNames().empty());

  // The rename fails when `path` is a directory: the temporary file goes.
  const std::string dir_path = Path("taken");
  std::filesystem::create_directory(dir_path);
  EXPECT_THAT(
      ErrorOf<CheckpointSaveError>([&] {
        WriteSafetensors(dir_path, {{"a", at::zeros({3})}});
      }),
      ::testing::AllOf(HasSubstr("cannot save a checkpoint to " + dir_path + ": cannot rename "),
                       HasSubstr(": Is a directory")));
  EXPECT_EQ(DirNames(), std::vector<std::string>{"taken"});

  // A name too long for the file system.
  const std::string long_name = Path(std::string(5000, 'n'));
  EXPECT_THAT(ErrorOf<CheckpointSaveError>([&] {
                WriteSafetensors(long_name, {{"a", at::zeros({3})}});
              }),
              HasSubstr(": File name too long"));

  // Bad arguments are found before anything is written; an old file survives.
  const std::string path = Path("keep.safetensors");
  WriteSafetensors(path, {{"a", at::zeros({3})}});
  const std::string before = ReadAll(path);
  const auto refusal = [&](const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                           const std::map<std::string, std::string>& metadata = {}) {
    return ErrorOf<CheckpointSaveError>([&] { WriteSafetensors(path, tensors, metadata); });
  };
  const std::string prefix = "cannot save a checkpoint to " + path + ": ";
  EXPECT_EQ(refusal({{"a", at::zeros({1})}, {"a", at::zeros({2})}}),
            prefix + "duplicate tensor name 'a'");
  EXPECT_EQ(refusal({{"c", at::zeros({2}, at::kComplexDouble)}}),
            prefix +
                "tensor 'c' is of LibTorch's ComplexDouble, for which safetensors has no "
                "dtype");
  EXPECT_EQ(refusal({{"q", at::empty({2}, at::kComplexHalf)}}),
            prefix + "tensor 'q' is of LibTorch's ComplexHalf, for which safetensors has no dtype");
  EXPECT_EQ(refusal({{"__metadata__", at::zeros({2})}}),
            prefix + "a safetensors tensor cannot be named \"__metadata__\"");
  EXPECT_EQ(refusal({{"u", at::Tensor()}}), prefix + "tensor 'u' is undefined");
  EXPECT_THAT(refusal({{"\xff", at::zeros({2})}}),
              HasSubstr(prefix + "a tensor name or metadata string is not UTF-8"));
  EXPECT_THAT(refusal({{"a", at::zeros({2})}}, {{"k", "\xff"}}),
              HasSubstr(prefix + "a tensor name or metadata string is not UTF-8"));
  // A tensor that cannot be copied fails the write half way: nothing changes.
  EXPECT_THAT(ErrorOf<TorchError>([&] {
                WriteSafetensors(path, {{"a", at::ones({1 << 20})},
                                        {"meta", at::empty({2}, at::device(at::kMeta))}});
              }),
              HasSubstr("writing safetensors file " + path + ": copying tensor 'meta' to the CPU"));
  EXPECT_EQ(ReadAll(path), before);
  EXPECT_EQ(DirNames(), (std::vector<std::string>{"keep.safetensors", "taken"}));
}

TEST_F(SafetensorsTest, WritesAndReadsComplexTensors) {
  const std::string path = Path("complex.safetensors");
  const at::Tensor c = at::complex(at::arange(3, at::kFloat), at::full({3}, -1.0f));
  WriteSafetensors(path, {{"c", c}});
  TensorFile file = OpenSafetensors(path);
  EXPECT_EQ(file.entries().at(0).dtype, TensorDtype::kC64);
  EXPECT_EQ(file.entries().at(0).nbytes(), 24u);
  EXPECT_TRUE(at::equal(file.Read(file.entries().at(0)), c));
}

TEST_F(SafetensorsTest, FilesThatCannotBeOpenedAreCheckpointErrorsNamingTheReason) {
  // A name longer than the file system allows (ENAMETOOLONG).
  const std::string long_name = Path(std::string(5000, 'x') + ".safetensors");
  EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] { OpenSafetensors(long_name); }),
            long_name +
                ": corrupt model checkpoint: cannot open the safetensors file for reading: File "
                "name too long");
  // A symlink loop (ELOOP).
  const std::string loop = Path("loop.safetensors");
  std::filesystem::create_symlink(loop, loop);
  EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] { OpenSafetensors(loop); }),
            loop +
                ": corrupt model checkpoint: cannot open the safetensors file for reading: Too "
                "many levels of symbolic links");
  // A folder.
  EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] { OpenSafetensors(dir_); }),
            dir_ + ": corrupt model checkpoint: not a regular file");
  // A path through a regular file (ENOTDIR): no such file.
  const std::string file = WriteRaw(RawFile("{}", ""), "plain");
  EXPECT_EQ(ErrorOf<AssetNotFoundError>([&] { OpenSafetensors(file + "/x.safetensors"); }),
            "asset '" + file + "/x.safetensors' is not found");
  // An unreadable file: only a user other than root is refused (EACCES).
  if (::geteuid() != 0) {
    ASSERT_EQ(::chmod(file.c_str(), 0), 0);
    EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] { OpenSafetensors(file); }),
              file +
                  ": corrupt model checkpoint: cannot open the safetensors file for reading: "
                  "Permission denied");
  }
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

TEST_F(SafetensorsTest, AcceptsHeadersPaddedWithJsonWhitespace) {
  // The crate's serde_json skips JSON whitespace around the object, so writers
  // may pad the header at its start too (to align the data).
  const std::string header = " \t\r\n" + std::string(R"({"w":{"dtype":"U8","shape":[2],)") +
                             R"("data_offsets":[0,2]}})" + "\n\t ";
  TensorFile file = OpenSafetensors(WriteRaw(RawFile(header, "ab")));
  ASSERT_EQ(file.entries().size(), 1u);
  EXPECT_EQ(file.entries()[0].begin, 8 + header.size());
}

TEST_F(SafetensorsTest, RejectsHeadersThatAreNoJsonObject) {
  EXPECT_THAT(OpenError(RawFile("[]", "")),
              HasSubstr("the header at file offset 8 does not start with '{' (found byte 91)"));
  // The '[' is header byte 3.
  EXPECT_THAT(OpenError(RawFile("  \n[]", "")),
              HasSubstr("the header at file offset 11 does not start with '{' (found byte 91)"));
  // Whitespace JSON does not know (a form feed, a UTF-8 byte order mark).
  EXPECT_THAT(OpenError(RawFile("\f{}", "")),
              HasSubstr("the header at file offset 8 does not start with '{' (found byte 12)"));
  EXPECT_THAT(OpenError(RawFile("\xef\xbb\xbf{}", "")),
              HasSubstr("the header at file offset 8 does not start with '{' (found byte 239)"));
  EXPECT_THAT(OpenError(RawFile("", "")), HasSubstr("header at file offset 8 is empty"));
  EXPECT_THAT(OpenError(RawFile(" \t ", "")),
              HasSubstr("the header at file offset 8 is 3 bytes of whitespace; it must be a JSON "
                        "object"));
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

// The files the safetensors crate's own tests build (safetensors/src/tensor.rs,
// mod tests), replayed: what the crate reads is read, what it refuses is
// refused.

TEST_F(SafetensorsTest, CrateTestSerialization) {
  // test_serialization: the exact bytes the crate writes for F32 [1, 2, 3].
  const std::string bytes =
      Bytes({64, 0,  0,   0,   0,   0,   0,   0,   123, 34,  97,  116, 116, 110, 46,  48,
             34, 58, 123, 34,  100, 116, 121, 112, 101, 34,  58,  34,  70,  51,  50,  34,
             44, 34, 115, 104, 97,  112, 101, 34,  58,  91,  49,  44,  50,  44,  51,  93,
             44, 34, 100, 97,  116, 97,  95,  111, 102, 102, 115, 101, 116, 115, 34,  58,
             91, 48, 44,  50,  52,  93,  125, 125, 0,   0,   0,   0,   0,   0,   128, 63,
             0,  0,  0,   64,  0,   0,   64,  64,  0,   0,   128, 64,  0,   0,   160, 64});
  TensorFile file = OpenSafetensors(WriteRaw(bytes));
  EXPECT_TRUE(
      at::equal(file.Read(*file.Find("attn.0")), at::arange(6, at::kFloat).reshape({1, 2, 3})));
  // modelhub's writer gives the same bytes.
  WriteSafetensors(Path("ours"), {{"attn.0", at::arange(6, at::kFloat).reshape({1, 2, 3})}});
  EXPECT_EQ(ReadAll(Path("ours")), bytes);
}

TEST_F(SafetensorsTest, CrateTestSerializationFp4) {
  // test_serialization_fp4: F4 [1, 2] in one byte.
  const std::string bytes = Bytes(
      {64,  0,   0,   0,   0,   0,   0,  0,  123, 34,  97,  116, 116, 110, 46,  48,  34,  58,  123,
       34,  100, 116, 121, 112, 101, 34, 58, 34,  70,  52,  34,  44,  34,  115, 104, 97,  112, 101,
       34,  58,  91,  49,  44,  50,  93, 44, 34,  100, 97,  116, 97,  95,  111, 102, 102, 115, 101,
       116, 115, 34,  58,  91,  48,  44, 49, 93,  125, 125, 32,  32,  32,  32,  0});
  TensorFile file = OpenSafetensors(WriteRaw(bytes));
  const TensorEntry& entry = file.entries().at(0);
  EXPECT_EQ(entry.dtype, TensorDtype::kF4);
  EXPECT_EQ(entry.shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(entry.nbytes(), 1u);
  EXPECT_THAT(ErrorOf<UnsupportedDtypeError>([&] { file.Read(entry); }),
              HasSubstr("tensor 'attn.0' has unsupported dtype F4"));
}

TEST_F(SafetensorsTest, CrateTestSerializationFp4MisalignedAndInvalid) {
  // test_serialization_fp4_misaligned: 3 F4 elements are 12 bits, no whole
  // number of bytes (the crate's MisalignedSlice).
  EXPECT_THAT(
      OpenError(RawFile(R"({"attn.0":{"dtype":"F4","shape":[1,3],"data_offsets":[0,2]}})",
                        Bytes({0, 1}))),
      HasSubstr("tensor 'attn.0' (entry at file offset 9): F4 shape [1, 3] holds 3 elements of 4 "
                "bits, 12 bits in all: not a whole number of bytes"));
  // test_serialization_fp4_invalid: 2 F4 elements in 2 bytes.
  EXPECT_THAT(OpenError(RawFile(R"({"attn.0":{"dtype":"F4","shape":[1,2],"data_offsets":[0,2]}})",
                                Bytes({0, 1}))),
              HasSubstr("F4 shape [1, 2] takes 1 bytes but data_offsets [0, 2] span 2 bytes"));
  // F6: 4 elements are 24 bits, 3 bytes; 2 are 12 bits.
  TensorFile f6 = OpenSafetensors(WriteRaw(
      RawFile(R"({"x":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]}})", "abc"), "f6"));
  EXPECT_EQ(f6.entries().at(0).nbytes(), 3u);
  EXPECT_THAT(
      OpenError(RawFile(R"({"x":{"dtype":"F6_E3M2","shape":[2],"data_offsets":[0,2]}})", "ab")),
      HasSubstr("F6_E3M2 shape [2] holds 2 elements of 6 bits, 12 bits in all"));
}

TEST_F(SafetensorsTest, CrateTestEmpty) {
  // test_empty: no tensors, without and with metadata.
  EXPECT_TRUE(
      OpenSafetensors(
          WriteRaw(Bytes({8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32}), "empty"))
          .entries()
          .empty());
  TensorFile file = OpenSafetensors(
      WriteRaw(Bytes({40,  0,   0,   0,  0,  0,  0,   0,   123, 34,  95,  95,  109, 101, 116, 97,
                      100, 97,  116, 97, 95, 95, 34,  58,  123, 34,  102, 114, 97,  109, 101, 119,
                      111, 114, 107, 34, 58, 34, 112, 116, 34,  125, 125, 32,  32,  32,  32,  32}),
               "metadata"));
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"framework", "pt"}}));
}

TEST_F(SafetensorsTest, CrateTestSerializationForcedAlignment) {
  const std::string bytes =
      Bytes({72,  0,   0,   0,   0,   0,   0,   0,   123, 34, 97, 116, 116, 110, 48,  34,  58,  123,
             34,  100, 116, 121, 112, 101, 34,  58,  34,  70, 51, 50,  34,  44,  34,  115, 104, 97,
             112, 101, 34,  58,  91,  49,  44,  49,  44,  50, 44, 51,  93,  44,  34,  100, 97,  116,
             97,  95,  111, 102, 102, 115, 101, 116, 115, 34, 58, 91,  48,  44,  50,  52,  93,  125,
             125, 32,  32,  32,  32,  32,  32,  32,  0,   0,  0,  0,   0,   0,   128, 63,  0,   0,
             0,   64,  0,   0,   64,  64,  0,   0,   128, 64, 0,  0,   160, 64});
  TensorFile file = OpenSafetensors(WriteRaw(bytes));
  EXPECT_EQ(file.Find("attn0")->begin % 8, 0u);
  WriteSafetensors(Path("ours"), {{"attn0", at::arange(6, at::kFloat).reshape({1, 1, 2, 3})}});
  EXPECT_EQ(ReadAll(Path("ours")), bytes);
}

TEST_F(SafetensorsTest, CrateTestsThatRead) {
  // test_empty_shapes_allowed, test_deserialization, test_zero_sized_tensor.
  TensorFile scalar = OpenSafetensors(
      WriteRaw(U64(56) + R"({"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}})" +
                   std::string(4, '\0'),
               "scalar"));
  EXPECT_TRUE(scalar.Find("test")->shape.empty());
  TensorFile square = OpenSafetensors(
      WriteRaw(U64(60) + R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})" +
                   std::string(16, '\0'),
               "square"));
  EXPECT_TRUE(at::equal(square.Read(*square.Find("test")), at::zeros({2, 2}, at::kInt)));
  TensorFile zero = OpenSafetensors(WriteRaw(
      U64(60) + R"({"test":{"dtype":"I32","shape":[2,0],"data_offsets":[0, 0]}})", "zero"));
  EXPECT_EQ(zero.Find("test")->nbytes(), 0u);
  // test_whitespace_padded_header, test_whitespace_leading_padded_header.
  EXPECT_TRUE(OpenSafetensors(WriteRaw(U64(6) + "{}\r \t\n", "trailing")).entries().empty());
  EXPECT_TRUE(OpenSafetensors(WriteRaw(U64(6) + "\t\n{}\r ", "leading")).entries().empty());
}

TEST_F(SafetensorsTest, CrateTestsThatRefuse) {
  const std::string square = R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})";
  // test_json_attack: ten tensors over the same 16 bytes (InvalidOffset).
  std::string attack = "{";
  for (int i = 0; i < 10; ++i) {
    absl::StrAppend(&attack, i > 0 ? "," : "", "\"weight_", i,
                    "\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}");
  }
  attack += "}";
  EXPECT_THAT(OpenError(RawFile(attack, std::string(16, '\0'))),
              HasSubstr("overlapping by 16 bytes tensor 'weight_0'"));
  // test_metadata_incomplete_buffer: bytes past the data, and 2 missing.
  EXPECT_THAT(
      OpenError(U64(60) + square + std::string(16, '\0') + "extra_bogus_data_for_polyglot_file"),
      HasSubstr("34 trailing bytes at file offset 84"));
  EXPECT_THAT(OpenError(U64(60) + square + std::string(14, '\0')),
              HasSubstr("the file is truncated"));
  // test_header_too_large.
  EXPECT_THAT(OpenError(std::string("<\0\0\0\0\xff\xff\xff", 8) + square + std::string(16, '\0')),
              HasSubstr("exceeds the limit of 100000000 bytes"));
  // test_header_too_small, test_invalid_header_length.
  EXPECT_THAT(OpenError(""), HasSubstr("the file is 0 bytes long"));
  EXPECT_THAT(OpenError(U64(60)), HasSubstr("the header length 60 at file offset 0 runs past"));
  // test_invalid_header_non_utf8, test_invalid_header_not_json.
  EXPECT_THAT(OpenError(U64(1) + "\xff"), HasSubstr("does not start with '{' (found byte 255)"));
  EXPECT_THAT(OpenError(U64(1) + "{"), HasSubstr("the header is not valid JSON at file offset"));
  // test_invalid_info (TensorInvalidInfo).
  EXPECT_THAT(
      OpenError(U64(60) + R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0, 4]}})"),
      HasSubstr("I32 shape [2, 2] takes 16 bytes but data_offsets [0, 4] span 4 bytes"));
  // test_validation_overflow: the shape, then the shape times the dtype size.
  EXPECT_THAT(
      OpenError(
          U64(79) +
          R"({"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}})" +
          std::string(16, '\0')),
      HasSubstr("shape[1] = 18446744073709551614 at file offset"));
  EXPECT_THAT(
      OpenError(
          U64(78) +
          R"({"test":{"dtype":"I32","shape":[2,9223372036854775807],"data_offsets":[0,16]}})" +
          std::string(16, '\0')),
      HasSubstr("the byte size of I32 shape [2, 9223372036854775807] overflows 64 bits"));
}

}  // namespace
}  // namespace modelhub
