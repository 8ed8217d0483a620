// The `modelhub` command line contract, run as a user (or another tool) runs it.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

CommandResult Modelhub(const std::string& args) {
  const std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  const std::string out = dir + "/out.txt", err = dir + "/err.txt";
  const std::string command = "tools/cli/modelhub " + args + " >" + out + " 2>" + err;
  const int status = std::system(command.c_str());
  CommandResult run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = Slurp(out);
  run.err = Slurp(err);
  return run;
}

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
  EXPECT_EQ(Lines(Modelhub("archs").out), 13 + 14 + 1);
}

TEST(CliTest, ArchsParamsPrintsExactCounts) {
  CommandResult run = Modelhub("archs --params");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("llama llama3_1_405b 405853388800\n"), std::string::npos);
  EXPECT_NE(run.out.find("qwen qwen25_0.5b 494032768\n"), std::string::npos);
  EXPECT_NE(run.out.find("mistral 7b 7241732096\n"), std::string::npos);
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
  for (const char* args :
       {"config qwen25_7", "config 7b", "archs gpt", "bogus", "config", "archs --nope",
        "config 7b --family gpt", "demo --dtype int8", "demo --device tpu"}) {
    CommandResult run = Modelhub(args);
    EXPECT_EQ(run.exit_code, 2) << args;
    EXPECT_EQ(Lines(run.err), 1) << args << ": " << run.err;
    EXPECT_EQ(run.err.rfind("modelhub: error: ", 0), 0u) << args;
  }
  EXPECT_NE(Modelhub("config qwen25_7").err.find("did you mean qwen25_7b"), std::string::npos);
  EXPECT_NE(Modelhub("config 7b").err.find("--family"), std::string::npos);
}

TEST(CliTest, EveryCommandHasHelp) {
  for (const char* args : {"--help", "archs --help", "config --help", "demo --help"}) {
    CommandResult run = Modelhub(args);
    EXPECT_EQ(run.exit_code, 0) << args;
    EXPECT_NE(run.out.find("Usage"), std::string::npos) << args;
  }
}

TEST(CliTest, DemoCreatesRunsAndGenerates) {
  CommandResult run = Modelhub("demo");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("created: "), std::string::npos);
  EXPECT_NE(run.out.find("forward: logits [4, 128, 4096]"), std::string::npos);
  // The last line is the generated ids, comma separated.
  std::string last = run.out.substr(run.out.rfind('\n', run.out.size() - 2) + 1);
  int ids = 1;
  for (char c : last) ids += c == ',';
  EXPECT_EQ(ids, 16) << last;
}

}  // namespace
