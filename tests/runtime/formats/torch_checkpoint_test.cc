#include "runtime/formats/torch_checkpoint.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runtime/core/errors.h"
#include "runtime/formats/tensor_dtype.h"
#include "runtime/formats/tensor_file.h"
#include "tests/testing/error_of.h"
#include "tests/testing/stored_zip.h"

namespace modelhub {
namespace {

using ::testing::HasSubstr;

// Made by make_torch_fixtures.py (the :torch_fixtures genrule).
const std::string kFixtures = "tests/runtime/formats/torch_fixtures/";
// The file the os.system and eval fixtures would create if anything ran them.
const char kMarker[] = "/tmp/modelhub-torch-fixture-os-system-ran";

std::string Fixture(const std::string& name) { return kFixtures + name; }

// One line of a NAME.expected file.
struct Expected {
  std::string name;
  std::string dtype;
  std::string shape;  // "2,3"
  std::string bytes;
};

std::vector<Expected> ReadExpected(const std::string& name) {
  std::ifstream in(Fixture(name));
  EXPECT_TRUE(in.good()) << name;
  std::vector<Expected> expected;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    EXPECT_EQ(fields.size(), 4u) << line;
    if (fields.size() != 4) continue;
    std::string bytes;
    for (size_t i = 0; i + 1 < fields[3].size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(fields[3].substr(i, 2), nullptr, 16)));
    }
    expected.push_back({fields[0], fields[1], fields[2], bytes});
  }
  return expected;
}

// Checks that `file` holds exactly the tensors of `expected_name`, with the
// same bytes.
void ExpectTensors(const TensorFile& file, const std::string& expected_name) {
  const std::vector<Expected> expected = ReadExpected(expected_name);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(file.entries().size(), expected.size());
  for (const Expected& tensor : expected) {
    SCOPED_TRACE(tensor.name);
    const TensorEntry* entry = file.Find(tensor.name);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(std::string(TensorDtypeName(entry->dtype)), tensor.dtype);
    EXPECT_EQ(absl::StrJoin(entry->shape, ","), tensor.shape);
    EXPECT_LE(entry->end, file.file_size());
    std::string got(entry->nbytes(), '\0');
    file.ReadInto(*entry, got.data());
    EXPECT_EQ(got, tensor.bytes);
  }
}

// The NAME.metadata file: key, tab, description per line.
std::map<std::string, std::string> ReadMetadata(const std::string& name) {
  std::ifstream in(Fixture(name));
  EXPECT_TRUE(in.good()) << name;
  std::map<std::string, std::string> metadata;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    EXPECT_EQ(fields.size(), 2u) << line;
    if (fields.size() == 2) metadata.emplace(fields[0], fields[1]);
  }
  return metadata;
}

// The message of the CorruptModelCheckpointError opening fixture `name`
// throws (the test fails if it throws none), which names the fixture.
std::string ErrorOf(const std::string& name, const TorchLoadOptions& options = {}) {
  const std::string message = testing::ErrorOf<CorruptModelCheckpointError>(
      [&] { OpenTorchCheckpoint(Fixture(name), ReadStrategy::kPread, options); });
  EXPECT_THAT(message, HasSubstr(Fixture(name) + ": corrupt model checkpoint: "));
  return message;
}

TEST(TorchCheckpointTest, ReadsAStateDictWithBothStrategies) {
  for (ReadStrategy strategy : {ReadStrategy::kPread, ReadStrategy::kMmap}) {
    TensorFile file = OpenTorchCheckpoint(Fixture("state_dict.pt"), strategy);
    EXPECT_EQ(file.format(), "torch");
    ExpectTensors(file, "state_dict.expected");
    EXPECT_TRUE(file.metadata().empty());

    // The transposed [3, 2] view keeps its strides; the others need none.
    const TensorEntry* transposed = file.Find("transposed");
    ASSERT_NE(transposed, nullptr);
    EXPECT_EQ(transposed->strides, (std::vector<int64_t>{1, 3}));
    EXPECT_EQ(transposed->end - transposed->begin, 24u);
    EXPECT_TRUE(file.Find("linear.weight")->contiguous());
    // view_b starts 5 floats into the storage view_a starts.
    EXPECT_EQ(file.Find("view_b")->begin - file.Find("view_a")->begin, 20u);
    EXPECT_EQ(file.Find("empty")->numel(), 0);
    EXPECT_TRUE(file.Find("scalar")->shape.empty());
    EXPECT_EQ(file.Find("scalar")->numel(), 1);
  }
}

TEST(TorchCheckpointTest, ReadsLibTorchTensors) {
  TensorFile file = OpenTorchCheckpoint(Fixture("state_dict.pt"), ReadStrategy::kPread);
  at::Tensor transposed = file.Read(*file.Find("transposed"));
  EXPECT_EQ(transposed.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(transposed[2][1].item<float>(), 5.0f);  // arange(6).reshape(2, 3).t()
}

TEST(TorchCheckpointTest, UnwrapsFairseq2Checkpoints) {
  TensorFile file = OpenTorchCheckpoint(Fixture("wrapper.pt"), ReadStrategy::kPread);
  ExpectTensors(file, "wrapper.expected");
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{
                                 {"wrapper", "model"},
                                 {"model_key", "str 'model'"},
                                 {"step_nr", "int 1000"},
                                 {"config", "dict of 1"},
                             }));
}

TEST(TorchCheckpointTest, FollowsModelKey) {
  TensorFile file = OpenTorchCheckpoint(Fixture("model_key.pt"), ReadStrategy::kPread);
  ExpectTensors(file, "model_key.expected");
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{
                                 {"wrapper", "ema"},
                                 {"model_key", "str 'ema'"},
                                 {"model", "str 'not this'"},
                             }));
}

TEST(TorchCheckpointTest, SkipsConfigObjectsOnlyWithoutRestrict) {
  EXPECT_THAT(ErrorOf("namespace.pt"),
              HasSubstr("global 'argparse.Namespace' is not allowed (modelhub reads weights "
                        "only, like torch.load(weights_only=True)); set `restrict: false`"));
  TorchLoadOptions options;
  options.restrict = false;
  TensorFile file = OpenTorchCheckpoint(Fixture("namespace.pt"), ReadStrategy::kPread, options);
  ExpectTensors(file, "namespace.expected");
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{
                                 {"wrapper", "model"},
                                 {"args", "skipped argparse.Namespace"},
                             }));
}

TEST(TorchCheckpointTest, ReadsTorch2Dtypes) {
  // float8 and uint16 through _rebuild_tensor_v3 and UntypedStorage.
  TensorFile file = OpenTorchCheckpoint(Fixture("v3.pt"), ReadStrategy::kPread);
  ExpectTensors(file, "v3.expected");
}

TEST(TorchCheckpointTest, ReadsTensorsRebuiltFromType) {
  TensorFile file = OpenTorchCheckpoint(Fixture("from_type.pt"), ReadStrategy::kPread);
  ExpectTensors(file, "from_type.expected");
}

TEST(TorchCheckpointTest, RefusesCodeExecution) {
  std::filesystem::remove(kMarker);
  for (bool restrict : {true, false}) {
    TorchLoadOptions options;
    options.restrict = restrict;
    EXPECT_THAT(ErrorOf("os_system.pt", options),
                HasSubstr("data.pkl byte 2: global 'os.system' is not allowed (modelhub reads "
                          "weights only, like torch.load(weights_only=True))"));
    EXPECT_THAT(ErrorOf("eval.pt", options),
                HasSubstr("data.pkl byte 2: global 'builtins.eval' is not allowed"));
    EXPECT_THAT(ErrorOf("bad_opcode.pt", options),
                HasSubstr("data.pkl byte 55: opcode INST (0x69) is not supported"));
  }
  EXPECT_FALSE(std::filesystem::exists(kMarker));
}

TEST(TorchCheckpointTest, RefusesStoragesAndStridesPastTheirRecords) {
  EXPECT_THAT(ErrorOf("storage_too_big.pt"),
              HasSubstr("claimed storage of 4000 bytes (1000 x 4, torch.FloatStorage) exceeds "
                        "its record 'archive/data/0' of 16 bytes"));
  EXPECT_THAT(ErrorOf("strides_past_storage.pt"),
              HasSubstr("the tensor over storage '0' (F32, size [2, 3], stride [3, 2], offset "
                        "0): its strides reach past its storage of 6 elements"));
}

TEST(TorchCheckpointTest, RefusesBrokenZips) {
  EXPECT_THAT(ErrorOf("truncated.pt"),
              HasSubstr("no zip end of central directory record in the last"));
  EXPECT_THAT(ErrorOf("zip_bomb.pt"),
              HasSubstr("zip record 'state_dict/data/0' (central directory header at byte"));
  EXPECT_THAT(ErrorOf("zip_bomb.pt"), HasSubstr("claims 4294967280 bytes of data at byte"));
  EXPECT_THAT(ErrorOf("zip_bomb.pt"), HasSubstr("the record is a zip bomb"));
}

TEST(TorchCheckpointTest, RefusesOtherFormatsAndVersions) {
  EXPECT_THAT(ErrorOf("legacy.pt"),
              HasSubstr("legacy (pre-1.6) torch.save format; re-save it with torch.save from "
                        "PyTorch 1.6 or later (or convert to safetensors)"));
  EXPECT_THAT(ErrorOf("legacy_tar.pt"),
              HasSubstr("legacy (pre-1.6) torch.save format (a tar archive)"));
  // TorchScript compresses its code records.
  EXPECT_THAT(ErrorOf("torchscript.pt"),
              HasSubstr("zip record 'torchscript/code/__torch__/torch/nn/modules/linear.py' "));
  EXPECT_THAT(ErrorOf("torchscript.pt"),
              HasSubstr("is compressed (method 8, deflate); torch.save stores records "
                        "uncompressed"));
  EXPECT_THAT(ErrorOf("big_endian.pt"),
              HasSubstr("saved on a big-endian machine (record 'archive/byteorder' says 'big')"));
  EXPECT_THAT(ErrorOf("future_version.pt"),
              HasSubstr("record 'archive/version' says format version 99, newer than the "
                        "newest torch 2.x writes (10)"));
}

TEST(TorchCheckpointTest, KeepsNonTensorsOfTheStateDictAsMetadata) {
  TensorFile file = OpenTorchCheckpoint(Fixture("not_tensor.pt"), ReadStrategy::kPread);
  EXPECT_EQ(file.entries().size(), 1u);
  EXPECT_NE(file.Find("w"), nullptr);
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"step", "int 5"}}));
}

// Replays of files that torch.load(weights_only=True) of current PyTorch
// reads: the same tensors (names, dtypes, shapes, bytes) and every other
// value, described from what torch.load returned (make_torch_fixtures.py).
TEST(TorchCheckpointTest, ReadsEveryValuePyTorchsAllowlistReads) {
  // Floats, complex numbers, bytes, bytearray, sets, Counter, torch.device,
  // torch.Size, dtypes, ints beyond 64 bits, an optimizer's tensors.
  TensorFile file = OpenTorchCheckpoint(Fixture("metadata.pt"), ReadStrategy::kPread);
  ExpectTensors(file, "metadata.expected");
  EXPECT_EQ(file.metadata(), ReadMetadata("metadata.metadata"));
  EXPECT_EQ(file.metadata().at("seed"), "int 1180591620717411303424");
  EXPECT_EQ(file.metadata().at("z"), "complex (1.5-2j)");
  EXPECT_EQ(file.metadata().at("lr"), "float 0.001");
}

TEST(TorchCheckpointTest, NamesTheTensorsOfAListOrABareTensor) {
  // A top-level list names its tensors by index; a bare tensor has the
  // empty name.
  TensorFile list = OpenTorchCheckpoint(Fixture("top_list.pt"), ReadStrategy::kPread);
  ExpectTensors(list, "top_list.expected");
  EXPECT_EQ(list.metadata(), ReadMetadata("top_list.metadata"));
  TensorFile bare = OpenTorchCheckpoint(Fixture("bare_tensor.pt"), ReadStrategy::kMmap);
  ExpectTensors(bare, "bare_tensor.expected");
  ASSERT_NE(bare.Find(""), nullptr);
  EXPECT_TRUE(bare.metadata().empty());
}

TEST(TorchCheckpointTest, ReadsComplexTensors) {
  TensorFile c64 = OpenTorchCheckpoint(Fixture("complex64.pt"), ReadStrategy::kPread);
  ExpectTensors(c64, "complex64.expected");
  at::Tensor view = c64.Read(*c64.Find("view"));
  EXPECT_EQ(view.scalar_type(), at::kComplexFloat);
  EXPECT_EQ(view[1].item<c10::complex<float>>(), c10::complex<float>(2, -2));
  TensorFile c128 = OpenTorchCheckpoint(Fixture("complex128.pt"), ReadStrategy::kMmap);
  ExpectTensors(c128, "complex128.expected");
}

// PyTorch reads tensors of dtypes modelhub cannot hold; they are refused.
TEST(TorchCheckpointTest, RefusesDtypesModelhubCannotHold) {
  EXPECT_THAT(ErrorOf("complex32.pt"),
              HasSubstr("data.pkl byte 186: the tensor over storage '0' has the unsupported dtype "
                        "torch.complex32"));
  EXPECT_THAT(ErrorOf("quantized.pt"),
              HasSubstr("REDUCE calls torch._utils._rebuild_qtensor, which makes quantized "
                        "tensors: unsupported dtype"));
}

// Replays of files PyTorch's weights_only reader refuses, for the same
// reason, naming the global or opcode and its byte in data.pkl.
TEST(TorchCheckpointTest, RefusesWhatPyTorchRefuses) {
  EXPECT_THAT(ErrorOf("protocol4.pt"),
              HasSubstr("data.pkl byte 2: opcode FRAME (0x95) is not supported: "
                        "torch.load(weights_only=True) refuses it too (\"Unsupported operand "
                        "149\")"));
  EXPECT_THAT(ErrorOf("frozenset.pt"),
              HasSubstr("global 'builtins.frozenset' is not allowed (modelhub reads weights "
                        "only, like torch.load(weights_only=True))"));
  EXPECT_THAT(ErrorOf("empty_bytes.pt"), HasSubstr("global 'builtins.bytes' is not allowed"));
  EXPECT_THAT(ErrorOf("sys_exit.pt"),
              HasSubstr("data.pkl byte 2: global 'sys.exit' is not allowed"));
  EXPECT_THAT(ErrorOf("build_dict.pt"),
              HasSubstr("data.pkl byte 13: BUILD of dict of 0 is not allowed: "
                        "torch.load(weights_only=True) builds only tensors, parameters, "
                        "OrderedDicts and allowlisted types"));
}

TEST(TorchCheckpointTest, BoundsTheTextCallsMake) {
  // The third of ten _codecs.encode calls on one memoized str of 1000 bytes
  // passes twice the size of data.pkl.
  EXPECT_THAT(ErrorOf("bytes_bomb.pt"),
              HasSubstr("data.pkl byte 1064: the pickle's calls make more bytes of text than "
                        "twice its size"));
}

TEST(TorchCheckpointTest, EveryByteChangeOfATrainingPickleIsReadOrRefused) {
  // metadata.pt's data.pkl (every kind of value, tensors, storages), each of
  // its bytes flipped three ways, in a zip with room for its storages: the
  // file is read, or refused naming a byte of data.pkl; nothing else escapes.
  std::ifstream in(Fixture("metadata.pkl"), std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  ASSERT_GT(original.size(), 500u);
  std::vector<std::pair<std::string, std::string>> records = {{"archive/data.pkl", ""},
                                                              {"archive/version", "3\n"}};
  for (int key = 0; key < 4; ++key) {
    records.emplace_back(absl::StrCat("archive/data/", key), std::string(256, '\x01'));
  }
  const std::string path = ::testing::TempDir() + "/mutated.pt";
  int read = 0;
  int refused = 0;
  for (size_t at = 0; at < original.size(); ++at) {
    for (const int flip : {0x01, 0x80, 0xff}) {
      records[0].second = original;
      records[0].second[at] = static_cast<char>(records[0].second[at] ^ flip);
      std::ofstream(path, std::ios::binary | std::ios::trunc) << testing::StoredZip(records);
      try {
        OpenTorchCheckpoint(path, ReadStrategy::kPread);
        ++read;
      } catch (const CorruptModelCheckpointError& error) {
        ++refused;
        EXPECT_THAT(error.what(), HasSubstr(": corrupt model checkpoint: data.pkl byte "))
            << "byte " << at << " ^ " << flip;
      } catch (const std::exception& error) {
        ADD_FAILURE() << "byte " << at << " ^ " << flip << ": " << error.what();
      }
    }
  }
  EXPECT_GT(read, 100);
  EXPECT_GT(refused, 100);
}

TEST(TorchCheckpointTest, MissingFile) {
  EXPECT_THROW(OpenTorchCheckpoint(Fixture("absent.pt"), ReadStrategy::kPread), AssetNotFoundError);
}

}  // namespace
}  // namespace modelhub
