#include "runtime/distributed/gang_environment.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "runtime/core/errors.h"

namespace modelhub {
namespace {

// Sets the launcher's variables for one test, and clears them after.
class GangEnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override { Clear(); }
  void TearDown() override { Clear(); }
  static void Clear() {
    for (const char* name :
         {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
          "TORCHELASTIC_USE_AGENT_STORE", "TORCHELASTIC_RESTART_COUNT"}) {
      ::unsetenv(name);
    }
  }
  static void SetTorchrun() {
    ::setenv("RANK", "3", 1);
    ::setenv("WORLD_SIZE", "4", 1);
    ::setenv("LOCAL_RANK", "1", 1);
    ::setenv("LOCAL_WORLD_SIZE", "2", 1);
    ::setenv("MASTER_ADDR", "node0", 1);
    ::setenv("MASTER_PORT", "29500", 1);
  }
  // The message of the GangError ReadGangEnvironment throws.
  static std::string ErrorText() {
    try {
      ReadGangEnvironment();
    } catch (const GangError& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST_F(GangEnvironmentTest, NoLauncherMeansOneProcess) {
  EXPECT_FALSE(ReadGangEnvironment().has_value());
}

TEST_F(GangEnvironmentTest, ReadsTorchrunsVariables) {
  SetTorchrun();
  ::setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
  ::setenv("TORCHELASTIC_RESTART_COUNT", "2", 1);
  std::optional<GangEnvironment> env = ReadGangEnvironment();
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->rank, 3);
  EXPECT_EQ(env->world_size, 4);
  EXPECT_EQ(env->local_rank, 1);
  EXPECT_EQ(env->local_world_size, 2);
  EXPECT_EQ(env->master_addr, "node0");
  EXPECT_EQ(env->master_port, 29500);
  EXPECT_TRUE(env->use_agent_store);
  EXPECT_EQ(env->restart_count, 2);
}

TEST_F(GangEnvironmentTest, LocalVariablesDefaultToOneNode) {
  SetTorchrun();
  ::unsetenv("LOCAL_RANK");
  ::unsetenv("LOCAL_WORLD_SIZE");
  std::optional<GangEnvironment> env = ReadGangEnvironment();
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->local_rank, 3);
  EXPECT_EQ(env->local_world_size, 4);
  EXPECT_FALSE(env->use_agent_store);
}

TEST_F(GangEnvironmentTest, AMissingVariableIsNamed) {
  SetTorchrun();
  ::unsetenv("MASTER_PORT");
  EXPECT_EQ(ErrorText(),
            "the environment variable MASTER_PORT is not set: a multi-process run is launched by "
            "torchrun, srun or mpirun exporting torchrun's variables");
  SetTorchrun();
  ::unsetenv("MASTER_ADDR");
  EXPECT_NE(ErrorText().find("MASTER_ADDR is not set"), std::string::npos);
  SetTorchrun();
  ::unsetenv("WORLD_SIZE");
  EXPECT_NE(ErrorText().find("WORLD_SIZE is not set"), std::string::npos);
}

TEST_F(GangEnvironmentTest, AnInvalidValueIsNamedWithItsRange) {
  SetTorchrun();
  ::setenv("RANK", "4", 1);
  EXPECT_EQ(ErrorText(), "the environment variable RANK is '4', not an integer in [0, 3]");
  SetTorchrun();
  ::setenv("MASTER_PORT", "http", 1);
  EXPECT_EQ(ErrorText(),
            "the environment variable MASTER_PORT is 'http', not an integer in [1, 65535]");
  SetTorchrun();
  ::setenv("WORLD_SIZE", "0", 1);
  EXPECT_NE(ErrorText().find("WORLD_SIZE is '0'"), std::string::npos);
}

}  // namespace
}  // namespace modelhub
