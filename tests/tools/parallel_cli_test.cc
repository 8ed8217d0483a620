// `modelhub forward` across processes, launched as users launch it: with its
// own --nproc, with torchrun --standalone, and as two single-rank "nodes" of
// torchrun --nnodes 2 (so RANK is not LOCAL_RANK); rank 0's logits equal the
// single process's. Bad launches fail with one clear line.

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "runtime/formats/safetensors.h"
#include "runtime/hub/checkpoint_saver.h"
#include "runtime/hub/model_family_registry.h"
#include "tests/testing/small_models.h"
#include "tests/tools/modelhub_command.h"

namespace modelhub {
namespace {

using ::modelhub::testing::CommandResult;
using ::modelhub::testing::Modelhub;
using ::modelhub::testing::RunCommand;
using ::testing::HasSubstr;

const std::string kTorchrun = "/usr/bin/torchrun --redirects 1 --tee 1 --no_python";
// Debian's torchrun 1.13 --standalone always puts its rendezvous on port 29400,
// so two such launches on one machine collide: tests that use it take this
// lock (util-linux flock) first.
const std::string kStandalone =
    "flock /tmp/modelhub_torchrun_standalone.lock " + kTorchrun + " --standalone";

std::string Tmp(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

std::string Binary() { return std::filesystem::absolute("tools/cli/modelhub").string(); }

std::string Checkpoint() { return std::filesystem::absolute("cards/tiny").string(); }

const char kTokens[] = "--tokens 3,1,4,1,5,9,2,6";

// The logits a forward wrote to `path`.
at::Tensor Logits(const std::string& path) {
  TensorFile file = OpenSafetensors(path);
  return file.Read(*file.Find("logits"));
}

// Expects the logits at `path` to be those of one process at `reference`: to
// 1e-5 of their scale (the ranks sum in another order).
void ExpectSameLogits(const std::string& path, const std::string& reference) {
  const at::Tensor expected = Logits(reference);
  const at::Tensor logits = Logits(path);
  ASSERT_EQ(logits.sizes(), expected.sizes());
  const double scale = std::max(expected.abs().max().item<double>(), 1.0);
  EXPECT_LE((logits - expected).abs().max().item<double>(), 1e-5 * scale) << path;
}

// A TCP port free when asked.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// Runs `args_0` and `args_1` as the two single-rank nodes of one torchrun
// --nnodes 2 launch; returns node 0's and node 1's results. A port taken
// between choosing and binding it is chosen again.
std::pair<CommandResult, CommandResult> TwoNodes(const std::string& args_0,
                                                 const std::string& args_1) {
  std::pair<CommandResult, CommandResult> results;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const std::string launch = absl::StrCat(
        kTorchrun, " --nnodes 2 --nproc_per_node 1 --master_addr 127.0.0.1 --master_port ",
        FreePort(), " --node_rank ");
    const std::string node1 = Tmp("node1");
    results.first = RunCommand(
        absl::StrCat("MODELHUB_GANG_TIMEOUT=60 ", launch, "1 ", Binary(), " ", args_1, " >", node1,
                     ".out 2>", node1, ".err & MODELHUB_GANG_TIMEOUT=60 ", launch, "0 ", Binary(),
                     " ", args_0, "; status=$?; wait; exit $status"));
    results.second.out = testing::Slurp(node1 + ".out");
    results.second.err = testing::Slurp(node1 + ".err");
    if ((results.first.out + results.first.err).find("in use") == std::string::npos) break;
  }
  return results;
}

class ParallelCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const CommandResult run = Modelhub(absl::StrCat("forward --checkpoint ", Checkpoint(), " ",
                                                    kTokens, " --out ", Tmp("one.safetensors")));
    ASSERT_EQ(run.exit_code, 0) << run.err;
  }
};

TEST_F(ParallelCliTest, NprocRanksWriteTheLogitsOfOneProcessAndPrintOnce) {
  for (int ranks : {2, 4}) {
    const std::string out = Tmp(absl::StrCat("nproc", ranks, ".safetensors"));
    const CommandResult run = Modelhub(absl::StrCat("--nproc ", ranks, " forward --checkpoint ",
                                                    Checkpoint(), " ", kTokens, " --out ", out));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    ExpectSameLogits(out, Tmp("one.safetensors"));
    EXPECT_THAT(run.out, HasSubstr(absl::StrCat("tensor-parallel over ", ranks,
                                                " ranks; checkpoint bytes read per rank")));
    // Results once, from rank 0.
    EXPECT_EQ(run.out.find("next token after"), run.out.rfind("next token after")) << run.out;
  }
}

TEST_F(ParallelCliTest, TorchrunStandaloneWritesTheLogitsOfOneProcess) {
  const std::string out = Tmp("torchrun.safetensors");
  const CommandResult run = RunCommand(
      absl::StrCat("MODELHUB_GANG_TIMEOUT=60 ", kStandalone, " --nproc_per_node 2 ", Binary(),
                   " forward --checkpoint ", Checkpoint(), " ", kTokens, " --out ", out));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  ExpectSameLogits(out, Tmp("one.safetensors"));
}

TEST_F(ParallelCliTest, TwoNodesOfOneRankEachWriteTheLogitsOfOneProcess) {
  const std::string out = Tmp("nodes.safetensors");
  const std::string args =
      absl::StrCat("forward --checkpoint ", Checkpoint(), " ", kTokens, " --out ", out);
  const auto [node0, node1] = TwoNodes(args, args);
  ASSERT_EQ(node0.exit_code, 0) << node0.out << node0.err << node1.out << node1.err;
  ExpectSameLogits(out, Tmp("one.safetensors"));
}

// Runs `modelhub GLOBAL forward ARGS --out` alone, under torchrun over 2
// ranks and, when `four`, with --nproc 4, and expects the same logits each
// time.
void ExpectRanksMatchOneProcess(const std::string& global, const std::string& args,
                                const std::string& name, bool four = true) {
  const std::string forward = absl::StrCat(global, " forward ", args, " ", kTokens, " --out ");
  const std::string alone = Tmp(name + "_1.safetensors");
  const CommandResult run = Modelhub(forward + alone);
  ASSERT_EQ(run.exit_code, 0) << name << ": " << run.err;
  const std::string two = Tmp(name + "_2.safetensors");
  const CommandResult torchrun =
      RunCommand(absl::StrCat("MODELHUB_GANG_TIMEOUT=60 ", kStandalone, " --nproc_per_node 2 ",
                              Binary(), " ", forward, two));
  ASSERT_EQ(torchrun.exit_code, 0) << name << ": " << torchrun.out << torchrun.err;
  ExpectSameLogits(two, alone);
  if (!four) return;
  const std::string out = Tmp(name + "_4.safetensors");
  const CommandResult nproc = Modelhub("--nproc 4 " + forward + out);
  ASSERT_EQ(nproc.exit_code, 0) << name << ": " << nproc.err;
  ExpectSameLogits(out, alone);
}

TEST_F(ParallelCliTest, HuggingFaceFoldersOfEveryFamilyRunOverRanks) {
  int folders = 0;
  for (const ModelFamily* family : ListModelFamilies()) {
    if (family->FindKeyMap("hf") == nullptr) continue;
    std::vector<DecoderBlueprint> shapes;
    for (const std::string& arch : family->arch_names()) {
      const DecoderBlueprint blueprint =
          testing::Shrunk(family->GetArchConfig(arch)->ToBlueprint());
      bool seen = false;
      for (const DecoderBlueprint& shape : shapes) {
        seen |= DescribeDifference(shape, blueprint).empty();
      }
      if (seen) continue;
      shapes.push_back(blueprint);
      const testing::BlueprintConfig config(blueprint);
      std::shared_ptr<DecoderModel> model = family->CreateNewModel(config, {});
      {
        at::NoGradGuard no_grad;
        at::manual_seed(static_cast<uint64_t>(++folders));
        for (at::Tensor& parameter : model->parameters()) parameter.normal_(0, 0.5);
      }
      const std::string name = family->name() + "_" + arch;
      SaveOptions options;
      options.progress = false;
      SaveCheckpoint(*family, config, *model, Tmp(name), options);
      // Four ranks for the first shape of each family (the slowest launch).
      ExpectRanksMatchOneProcess("", "--checkpoint " + Tmp(name), name, shapes.size() == 1);
    }
  }
  EXPECT_GE(folders, 3);
}

TEST_F(ParallelCliTest, MetaRankFilesOfACardRunOverRanks) {
  // The tiny card with its weights as Meta's two consolidated.NN.pth files.
  std::filesystem::create_directories(Tmp("cards"));
  std::ofstream card(Tmp("cards") + "/tiny_meta.yaml");
  card << absl::StrReplaceAll(
      testing::Slurp("cards/tiny.yaml"),
      {{"name: tiny\n", "name: tiny_meta\n"},
       {"checkpoint: tiny\n",
        "checkpoint: " + std::filesystem::absolute("tests/runtime/hub/tiny_torch/meta").string() +
            "\n"}});
  card.close();
  ExpectRanksMatchOneProcess("--asset-dir " + Tmp("cards"), "tiny_meta", "tiny_meta");
}

TEST_F(ParallelCliTest, RanksThatDisagreeAreRefusedNamingBothValues) {
  const std::string args = absl::StrCat("forward --checkpoint ", Checkpoint(), " ", kTokens);
  const auto [node0, node1] = TwoNodes(args, args + " --dtype bfloat16");
  EXPECT_NE(node0.exit_code, 0);
  EXPECT_THAT(node0.out + node0.err,
              HasSubstr("the ranks disagree on the dtype: rank 1 has 'bfloat16' but rank 0 has "
                        "'float32'"));
  EXPECT_THAT(node1.out + node1.err, HasSubstr("the ranks disagree on the dtype"));
}

TEST_F(ParallelCliTest, AMissingVariableIsOneLine) {
  const CommandResult run = Modelhub(
      absl::StrCat("forward --checkpoint ", Checkpoint(), " ", kTokens), "RANK=0 WORLD_SIZE=2");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err,
            "modelhub: error: the environment variable MASTER_ADDR is not set: a multi-process "
            "run is launched by torchrun, srun or mpirun exporting torchrun's variables\n");
}

TEST_F(ParallelCliTest, NprocUnderALauncherIsRefused) {
  const CommandResult run = Modelhub("--nproc 2 archs", "RANK=0");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--nproc starts ranks itself"));
}

}  // namespace
}  // namespace modelhub
