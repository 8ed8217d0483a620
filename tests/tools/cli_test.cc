// The `modelhub` command line contract, run as a user (or another tool) runs it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/tools/modelhub_command.h"

namespace {

using ::modelhub::testing::CommandResult;
using ::modelhub::testing::Modelhub;
using ::modelhub::testing::Slurp;
using ::testing::HasSubstr;

int Lines(const std::string& text) {
  int lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

TEST(CliTest, ArchsListsOneLinePerPreset) {
  CommandResult run = Modelhub("archs qwen");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Lines(run.out), 13);
  EXPECT_EQ(run.out.rfind("qwen qwen25_7b\n", 0), 0u);
  EXPECT_NE(run.out.find("qwen qwen3_32b\n"), std::string::npos);
  // qwen, llama, mistral; gemma, gemma2, gemma3, granite, olmo2, starcoder2; phi3
  const std::string all = Modelhub("archs").out;
  EXPECT_EQ(Lines(all), 13 + 14 + 1 + 2 + 3 + 4 + 4 + 2 + 3 + 5);
  EXPECT_NE(all.find("starcoder2 starcoder2_15b\n"), std::string::npos);
  EXPECT_NE(all.find("phi3 phi4_mini\n"), std::string::npos);
}

TEST(CliTest, ArchsParamsPrintsExactCounts) {
  CommandResult run = Modelhub("archs --params");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("llama llama3_1_405b 405853388800\n"), std::string::npos);
  EXPECT_NE(run.out.find("qwen qwen25_0.5b 494032768\n"), std::string::npos);
  EXPECT_NE(run.out.find("mistral 7b 7241732096\n"), std::string::npos);
  EXPECT_NE(run.out.find("gemma2 gemma2_27b 27227128320\n"), std::string::npos);
  EXPECT_NE(run.out.find("olmo2 olmo2_13b 13716198400\n"), std::string::npos);
}

TEST(CliTest, ConfigPrintsTheResolvedConfigAsYaml) {
  CommandResult run = Modelhub("config qwen3_0.6b");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  YAML::Node config = YAML::Load(run.out);
  EXPECT_EQ(config["model_dim"].as<int>(), 1024);
  EXPECT_EQ(config["head_dim"].as<int>(), 128);
  EXPECT_FALSE(config["qkv_proj_bias"].as<bool>());
  EXPECT_EQ(config["rope_theta"].as<double>(), 1e6);

  CommandResult llama = Modelhub("config llama3_2_1b");
  ASSERT_EQ(llama.exit_code, 0);
  EXPECT_EQ(YAML::Load(llama.out)["rope_scale"]["factor"].as<double>(), 32.0);

  CommandResult mistral = Modelhub("config 7b --family mistral");
  ASSERT_EQ(mistral.exit_code, 0) << mistral.err;
  EXPECT_EQ(YAML::Load(mistral.out)["attn_window_len"].as<int>(), 4096);
}

TEST(CliTest, BadArgumentsGiveOneLineAndExitCode2) {
  for (const char* args : {"config qwen25_7", "config 7b", "archs gpt", "bogus", "config",
                           "archs --nope", "config 7b --family gpt", "demo --dtype int8",
                           "demo --device tpu", "forward tiny --tokens 1,x", "forward --tokens 1",
                           "generate tiny --checkpoint x --tokens 1",
                           "forward tiny --tokens 1 --device meta", "list --family gpt"}) {
    CommandResult run = Modelhub(args);
    EXPECT_EQ(run.exit_code, 2) << args;
    EXPECT_EQ(Lines(run.err), 1) << args << ": " << run.err;
    EXPECT_EQ(run.err.rfind("modelhub: error: ", 0), 0u) << args;
  }
  EXPECT_NE(Modelhub("config qwen25_7").err.find("did you mean qwen25_7b"), std::string::npos);
  EXPECT_NE(Modelhub("config 7b").err.find("--family"), std::string::npos);
}

TEST(CliTest, EveryCommandHasHelp) {
  for (const char* args : {"--help", "archs --help", "config --help", "demo --help", "list --help",
                           "show --help", "inspect --help", "forward --help", "generate --help",
                           "tokenize --help", "detokenize --help", "export --help"}) {
    CommandResult run = Modelhub(args);
    EXPECT_EQ(run.exit_code, 0) << args;
    EXPECT_NE(run.out.find("Usage"), std::string::npos) << args;
  }
}

TEST(CliTest, DemoLoadsTinyByNameAndGenerates) {
  CommandResult run = Modelhub("demo");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("card: tiny"), std::string::npos);
  EXPECT_NE(run.out.find("loaded: 4065536 parameters"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("GB/s"), std::string::npos);
  EXPECT_NE(run.out.find("forward: logits [4, 128, 4096]"), std::string::npos);
  // The last line is the generated ids, comma separated.
  std::string last = run.out.substr(run.out.rfind('\n', run.out.size() - 2) + 1);
  int ids = 1;
  for (char c : last) ids += c == ',';
  EXPECT_EQ(ids, 16) << last;
}

// The last line of `text`.
std::string LastLine(const std::string& text) {
  return text.substr(text.rfind('\n', text.size() - 2) + 1);
}

TEST(CliTest, ListShowAndInspect) {
  CommandResult list = Modelhub("list");
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("\ntiny llama llama3_2_1b /"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\nllama3_8b llama llama3_8b gated\n"), std::string::npos);
  EXPECT_NE(list.out.find("\nqwen25_7b qwen qwen25_7b hg://qwen/qwen2.5-7b\n"), std::string::npos);
  EXPECT_EQ(Modelhub("list --family mistral").out,
            "mistral_7b mistral 7b hg://mistralai/Mistral-7B-v0.1\n"
            "mistral_7b_instruct mistral 7b hg://mistralai/Mistral-7B-Instruct-v0.1\n");

  CommandResult show = Modelhub("show llama3_8b_instruct");
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("model_arch: llama3_8b"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("model_family: llama  # from llama3"), std::string::npos) << show.out;
  const std::string config = show.out.substr(show.out.find("---\n"));
  EXPECT_NE(config.find("# llama llama3_8b (LLaMAConfig)"), std::string::npos) << config;
  EXPECT_EQ(YAML::Load(config)["ffn_inner_dim_multiplier"].as<double>(), 1.3);

  CommandResult inspect = Modelhub("inspect cards/tiny");
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("model.embed_tokens.weight F32 [4096, 256] 4194304 "
                             "model-00001-of-00002.safetensors\n"),
            std::string::npos)
      << inspect.out;
  EXPECT_EQ(LastLine(inspect.out),
            "38 tensors, 16262144 bytes in 2 file(s); config.json present\n");
}

TEST(CliTest, ForwardPrintsTopTokensAndWritesLogits) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  CommandResult by_name = Modelhub("forward tiny --tokens 1,2,3 --out " + dir + "/logits.st");
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
  const std::string top = by_name.out.substr(by_name.out.find("next token"));
  EXPECT_EQ(Lines(top), 1 + 5 + 1) << top;
  CommandResult by_path = Modelhub("forward --checkpoint cards/tiny --tokens 1,2,3");
  ASSERT_EQ(by_path.exit_code, 0) << by_path.err;
  EXPECT_EQ(top.substr(0, top.find("wrote")), by_path.out.substr(by_path.out.find("next token")));
  CommandResult file = Modelhub("inspect " + dir + "/logits.st");
  EXPECT_EQ(file.out.rfind("# logits.st: safetensors, 1 tensors\nlogits F32 [3, 4096] 49152 "
                           "logits.st\n",
                           0),
            0u)
      << file.out;
}

TEST(CliTest, InspectShowsTorchSaveFilesTheirWrapperAndMetaRanks) {
  const std::string fixtures = "tests/runtime/hub/tiny_torch/";
  CommandResult wrapped = Modelhub("inspect " + fixtures + "fairseq2/model.pt");
  ASSERT_EQ(wrapped.exit_code, 0) << wrapped.err;
  EXPECT_THAT(wrapped.out, HasSubstr("# model.pt: torch, 38 tensors\n"));
  EXPECT_THAT(wrapped.out, HasSubstr("#   wrapper: model\n"));
  EXPECT_THAT(wrapped.out, HasSubstr("#   step_nr: int 1000\n"));
  EXPECT_THAT(wrapped.out, HasSubstr("\ndecoder_frontend.embed.weight F32 [4096, 256] 4194304 "
                                     "model.pt\n"));

  CommandResult meta = Modelhub("inspect " + fixtures + "meta");
  ASSERT_EQ(meta.exit_code, 0) << meta.err;
  EXPECT_THAT(meta.out, HasSubstr("\ntok_embeddings.weight F32 [4096, 128] 2097152 "
                                  "consolidated.00.pth (+1 rank files)\n"));

  CommandResult refused = Modelhub("inspect " + fixtures + "namespace/model.pt");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("argparse"));
  CommandResult allowed = Modelhub("inspect --no-restrict " + fixtures + "namespace/model.pt");
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_THAT(allowed.out, HasSubstr("skipped argparse.Namespace"));
}

// What torch.load(weights_only=True) reads beside the weights is listed as
// metadata, never loaded; a bare tensor has the empty name, shown as ''.
TEST(CliTest, InspectListsTrainingMetadataAndBareTensors) {
  const std::string fixtures = "tests/runtime/formats/torch_fixtures/";
  CommandResult training = Modelhub("inspect " + fixtures + "metadata.pt");
  ASSERT_EQ(training.exit_code, 0) << training.err;
  EXPECT_THAT(training.out, HasSubstr("#   wrapper: model\n"));
  EXPECT_THAT(training.out, HasSubstr("#   epoch: int 3\n"));
  EXPECT_THAT(training.out, HasSubstr("#   seed: int 1180591620717411303424\n"));
  EXPECT_THAT(training.out, HasSubstr("#   device: torch.device 'cuda:0'\n"));
  EXPECT_THAT(training.out, HasSubstr("\nw F32 [2, 3] 24 metadata.pt\n"));

  CommandResult bare = Modelhub("inspect " + fixtures + "bare_tensor.pt");
  ASSERT_EQ(bare.exit_code, 0) << bare.err;
  EXPECT_THAT(bare.out, HasSubstr("\n'' I16 [4] 8 bare_tensor.pt\n"));
}

TEST(CliTest, GenerateIsGreedyByDefaultAndSeededWhenSampling) {
  CommandResult greedy = Modelhub("generate tiny --tokens 1,2,3 --max-new-tokens 6");
  ASSERT_EQ(greedy.exit_code, 0) << greedy.err;
  const std::string ids = LastLine(greedy.out);
  int count = 1;
  for (char c : ids) count += c == ',';
  EXPECT_EQ(count, 6) << ids;
  EXPECT_EQ(LastLine(Modelhub("generate tiny --tokens 1,2,3 --max-new-tokens 6 --temperature 1 "
                              "--top-k 1 --seed 9")
                         .out),
            ids);
  const std::string sampled =
      "generate tiny --tokens 1,2,3 --max-new-tokens 6 --temperature 1.5 --top-p 0.9 --seed 4";
  const std::string first = LastLine(Modelhub(sampled).out);
  EXPECT_EQ(LastLine(Modelhub(sampled).out), first);
  EXPECT_NE(first, ids);
}

// Writes `text` as a card file in the test's temporary folder; returns its path.
std::string CardFile(const std::string& name, const std::string& text) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

TEST(CliTest, BadInputsGiveOneLineAndExitCode1) {
  const std::string bad_family = CardFile("family", "name: x\nmodel_family: gpt\nmodel_arch: a\n");
  const std::string bad_arch =
      CardFile("arch", "name: x\nmodel_family: qwen\nmodel_arch: qwen25_8b\n");
  const std::string bad_field =
      CardFile("field", "name: x\nbase: tiny\nmodel_config:\n  num_layer: 2\n");
  const std::string dir = std::getenv("TEST_TMPDIR");
  std::system(
      ("head -c 1000 cards/tiny/model-00001-of-00002.safetensors > " + dir + "/cut.safetensors")
          .c_str());
  const std::pair<std::string, std::string> cases[] = {
      {"forward tiny --tokens 1,4096", "outside the vocabulary"},
      {"forward tinyy --tokens 1", "tinyy"},
      {"forward llama3_8b --tokens 1", "https://www.llama.com/llama-downloads"},
      {"forward qwen25_7b --tokens 1", "hg://qwen/qwen2.5-7b"},
      {"--asset-dir " + bad_family + " forward x --tokens 1", "gpt"},
      {"--asset-dir " + bad_arch + " forward x --tokens 1", "qwen25_8b"},
      {"--asset-dir " + bad_field + " forward x --tokens 1", "field.yaml:4:3"},
      {"inspect " + dir + "/cut.safetensors", "cut.safetensors"},
      {"forward --checkpoint " + dir +
           "/cut.safetensors --family llama --arch llama3_8b "
           "--tokens 1",
       "cut.safetensors"},
      {"inspect " + dir + "/none", "none"},
  };
  for (const auto& [args, expected] : cases) {
    CommandResult run = Modelhub(args);
    EXPECT_EQ(run.exit_code, 1) << args << ": " << run.err;
    EXPECT_EQ(Lines(run.err), 1) << args << ": " << run.err;
    EXPECT_EQ(run.err.rfind("modelhub: error: ", 0), 0u) << args << ": " << run.err;
    EXPECT_NE(run.err.find(expected), std::string::npos) << args << ": " << run.err;
  }
}

// Checks that `run` failed with one line "modelhub: error: ..." holding
// each of `expected`, and exit code 1.
void ExpectOneLineError(const CommandResult& run, const std::vector<std::string>& expected,
                        const std::string& args) {
  EXPECT_EQ(run.exit_code, 1) << args << ": " << run.err;
  EXPECT_EQ(Lines(run.err), 1) << args << ": " << run.err;
  EXPECT_EQ(run.err.rfind("modelhub: error: ", 0), 0u) << args << ": " << run.err;
  for (const std::string& text : expected) {
    EXPECT_THAT(run.err, HasSubstr(text)) << args;
  }
}

// A copy of the tiny checkpoint folder whose config.json has each `from`
// replaced by its `to`.
std::string TinyWithConfig(const std::string& name,
                           const std::vector<std::pair<std::string, std::string>>& edits) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  EXPECT_EQ(std::system(("rm -rf " + dir + " && cp -rL cards/tiny " + dir).c_str()), 0);
  std::string json = Slurp(dir + "/config.json");
  for (const auto& [from, to] : edits) {
    const size_t at = json.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) json.replace(at, from.size(), to);
  }
  std::ofstream(dir + "/config.json", std::ios::trunc) << json;
  return dir;
}

// Sizes from a small config.json or card that the checkpoint contradicts are
// refused from the checkpoint's headers, before anything is allocated (they
// took gigabytes and tens of seconds, then "internal error: std::bad_alloc").
TEST(CliTest, HugeSizesFromSmallFilesAreRefusedBeforeAllocating) {
  const std::string layers =
      TinyWithConfig("layers", {{"\"num_hidden_layers\": 4", "\"num_hidden_layers\": 1000000"}});
  std::string args = "forward --checkpoint " + layers + " --tokens 1";
  ExpectOneLineError(Modelhub(args),
                     {"does not fit the model: it has tensors for 4 layers, but config.json key "
                      "'num_hidden_layers' (" +
                      layers + "/config.json) is 1000000"},
                     args);

  const std::string wide =
      TinyWithConfig("wide", {{"\"hidden_size\": 256", "\"hidden_size\": 2147483648"},
                              {"\"head_dim\": 32", "\"head_dim\": 268435456"}});
  args = "forward --checkpoint " + wide + " --tokens 1";
  ExpectOneLineError(Modelhub(args),
                     {"its embedding table 'model.embed_tokens.weight' has the wrong shape: it "
                      "is [4096, 256] (model_dim 256), but config.json key 'hidden_size' (" +
                      wide + "/config.json) is 2147483648"},
                     args);

  const std::string card =
      CardFile("huge", "name: x\nbase: tiny\nmodel_config:\n  num_layers: 2147483648\n");
  args = "--asset-dir " + card + " forward x --tokens 1";
  ExpectOneLineError(Modelhub(args),
                     {"it has tensors for 4 layers, but card 'x' (",
                      "model_config key 'num_layers' (" + card + ":4:3) is 2147483648"},
                     args);
}

// --out is checked before the model is loaded (nothing is printed), and a
// failed write is an error naming the path that leaves no file behind.
TEST(CliTest, OutputFilesAreCheckedFirstAndWriteFailuresAreErrors) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/outputs";
  ASSERT_EQ(
      std::system(("rm -rf " + dir + " && mkdir -p " + dir + " && touch " + dir + "/file").c_str()),
      0);
  const std::pair<std::string, std::string> cases[] = {
      {dir + "/missing/logits.st", "the folder " + dir + "/missing does not exist"},
      {dir, "it is a folder"},
      {"/dev/full", "it exists and is not a regular file"},
      {dir + "/file/logits.st", "Not a directory"},
  };
  for (const auto& [path, why] : cases) {
    const std::string args = "forward --checkpoint cards/tiny --tokens 1,2,3 --out " + path;
    CommandResult run = Modelhub(args);
    ExpectOneLineError(run, {"cannot write the logits to " + path + ": " + why}, args);
    EXPECT_EQ(run.out, "") << args;  // refused before loading
  }
  if (::geteuid() != 0) {  // root writes anywhere: only a non-root run can check this
    ASSERT_EQ(std::system(("mkdir " + dir + "/readonly && chmod 555 " + dir + "/readonly").c_str()),
              0);
    const std::string args =
        "forward --checkpoint cards/tiny --tokens 1 --out " + dir + "/readonly/logits.st";
    ExpectOneLineError(Modelhub(args), {"the folder " + dir + "/readonly is not writable"}, args);
  }

  // A full disk: files may grow to 16 KiB here, the logits take 48 KiB.
  ASSERT_EQ(std::system(("mkdir " + dir + "/full").c_str()), 0);
  const std::string full = dir + "/full/logits.st";
  const std::string args = "forward --checkpoint cards/tiny --tokens 1,2,3 --out " + full;
  CommandResult run = Modelhub(args, "trap '' XFSZ; ulimit -f 16;");
  ExpectOneLineError(run, {"cannot ", full + ": ", "File too large"}, args);
  EXPECT_EQ(std::system(("test -z \"$(ls -A " + dir + "/full)\"").c_str()), 0)
      << "something was left in " << dir << "/full";
}

TEST(CliTest, ExportWritesAFolderThatLoadsAsTheSameModel) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/export/tiny";
  CommandResult run = Modelhub("export tiny " + dir + " --max-shard-size 5MB");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out,
            "exported tiny (llama llama3_2_1b, 4065536 parameters, float32) to " + dir + "\n");
  CommandResult files = Modelhub("inspect " + dir);
  EXPECT_EQ(LastLine(files.out), "38 tensors, 16262144 bytes in 4 file(s); config.json present\n")
      << files.out;
  const std::string top = "next token";
  const std::string exported = Modelhub("forward --checkpoint " + dir + " --tokens 1,2,3").out;
  const std::string original = Modelhub("forward tiny --tokens 1,2,3").out;
  EXPECT_EQ(exported.substr(exported.find(top)), original.substr(original.find(top)));

  CommandResult again = Modelhub("export tiny " + dir);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "modelhub: error: cannot save a checkpoint to " + dir +
                           ": it is a folder that is not empty\n");
  for (const char* args : {"export tiny", "export tiny x --max-shard-size 5XB",
                           "export tiny x --max-shard-size 0", "export tiny x --dtype int8"}) {
    CommandResult bad = Modelhub(args);
    EXPECT_EQ(bad.exit_code, 2) << args;
    EXPECT_EQ(Lines(bad.err), 1) << args << ": " << bad.err;
  }
  EXPECT_EQ(Modelhub("export llama3_8b x").exit_code, 1);  // gated: no checkpoint
  // A destination that cannot be created is refused before loading.
  const std::string file = std::string(std::getenv("TEST_TMPDIR")) + "/export/file";
  std::ofstream(file) << "x";
  const std::string under_file = "export tiny " + file + "/sub/tiny";
  CommandResult refused = Modelhub(under_file);
  ExpectOneLineError(
      refused, {"cannot save a checkpoint to " + file + "/sub/tiny: " + file + " is not a folder"},
      under_file);
  EXPECT_EQ(refused.out, "");
  EXPECT_NE(Modelhub("export --help").out.find("--max-shard-size"), std::string::npos);
}

}  // namespace
