#include "runtime/distributed/gang.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"
#include "runtime/distributed/process_group_gang.h"
#include "tests/runtime/distributed/rank_runner.h"

namespace modelhub {
namespace {

using ::modelhub::testing::InRank;
using ::modelhub::testing::RankResults;
using ::modelhub::testing::RunAsRanks;
using ::testing::HasSubstr;

GangOptions Options(int tp_size = 0) {
  GangOptions options;
  options.tp_size = tp_size;
  options.timeout = GangTimeoutFromEnvironment();
  return options;
}

// Every rank exited 0.
void ExpectAllPassed(const RankResults& results) {
  for (const RankExit& exit : results.exits) {
    EXPECT_EQ(exit.status, 0) << results.AllLogs();
  }
}

// The collectives every multi-rank test checks, over `gang`.
void CheckCollectives(Gang& gang) {
  const int n = gang.size();
  const int r = gang.rank();
  const double total = n * (n + 1) / 2.0;
  for (c10::ScalarType type : {at::kFloat, at::kBFloat16, at::kHalf, at::kShort, at::kLong}) {
    at::Tensor sum = at::full({3}, r + 1, at::TensorOptions().dtype(type));
    gang.AllReduceSum(sum);
    EXPECT_EQ(sum.scalar_type(), type);
    EXPECT_TRUE(sum.to(at::kDouble).eq(total).all().item<bool>()) << c10::toString(type);

    at::Tensor gathered = gang.AllGather(at::full({1, 2}, r, at::TensorOptions().dtype(type)), 0);
    ASSERT_EQ(gathered.sizes(), (at::IntArrayRef{n, 2}));
    EXPECT_TRUE(gathered.select(1, 1).to(at::kLong).equal(at::arange(n)));

    at::Tensor broadcast = at::full({2}, r * 10, at::TensorOptions().dtype(type));
    gang.Broadcast(broadcast, n - 1);
    EXPECT_TRUE(broadcast.to(at::kDouble).eq((n - 1) * 10).all().item<bool>());
  }
  at::Tensor any = at::full({1}, r == 0, at::TensorOptions().dtype(at::kBool));
  gang.AllReduceSum(any);
  EXPECT_TRUE(any.item<bool>());
  gang.Barrier();
  std::vector<std::string> texts = gang.AllGatherText(std::string(r + 1, 'x'));
  ASSERT_EQ(texts.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(texts[i], std::string(i + 1, 'x'));
}

TEST(GangTest, FakeGangIsOneProcessAndLeavesTensorsAsTheyAre) {
  Gangs gangs = Gangs::Single();
  CheckCollectives(*gangs.root);
  EXPECT_EQ(gangs.tp->size(), 1);
  EXPECT_EQ(gangs.dp->rank(), 0);
}

TEST(GangTest, CollectivesOfEveryDtypeOverTwoRanks) {
  if (InRank()) {
    Gangs gangs = SetupGangsFromEnvironment(Options());
    ASSERT_EQ(gangs.root->size(), 2);
    EXPECT_EQ(gangs.tp.get(), gangs.root.get());
    EXPECT_EQ(gangs.dp->size(), 1);
    CheckCollectives(*gangs.root);
    return;
  }
  ExpectAllPassed(RunAsRanks(2));
}

TEST(GangTest, FourRanksFormATwoByTwoGrid) {
  if (InRank()) {
    Gangs gangs = SetupGangsFromEnvironment(Options(2));
    const int r = gangs.root->rank();
    ASSERT_EQ(gangs.root->size(), 4);
    EXPECT_EQ(gangs.tp->size(), 2);
    EXPECT_EQ(gangs.tp->rank(), r % 2);
    EXPECT_EQ(gangs.dp->size(), 2);
    EXPECT_EQ(gangs.dp->rank(), r / 2);
    CheckCollectives(*gangs.root);
    CheckCollectives(*gangs.tp);
    CheckCollectives(*gangs.dp);
    at::Tensor ranks = at::full({1}, r, at::TensorOptions().dtype(at::kLong));
    gangs.tp->AllReduceSum(ranks);
    EXPECT_EQ(ranks.item<int64_t>(), r / 2 * 4 + 1);  // {0,1} or {2,3}
    return;
  }
  ExpectAllPassed(RunAsRanks(4));
}

TEST(GangTest, RanksThatDisagreeAreRefusedNamingBothValues) {
  if (InRank()) {
    Gangs gangs = SetupGangsFromEnvironment(Options());
    const std::string model = gangs.root->rank() == 1 ? "llama3_8b" : "qwen25_7b";
    try {
      CheckSameOnEveryRank(*gangs.root, "model", model);
      ADD_FAILURE() << "no GangError";
    } catch (const GangError& e) {
      EXPECT_THAT(e.what(), HasSubstr("rank 1 has 'llama3_8b' but rank 0 has 'qwen25_7b'"));
      EXPECT_EQ(e.rank(), 1);
    }
    CheckSameOnEveryRank(*gangs.root, "dtype", "bfloat16");
    return;
  }
  ExpectAllPassed(RunAsRanks(2));
}

// A TCP port nothing listens on now, and a socket listening on it when `hold`.
int TcpPort(bool hold, int* fd) {
  *fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(*fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  ::getsockname(*fd, reinterpret_cast<sockaddr*>(&address), &length);
  if (hold) {
    EXPECT_EQ(::listen(*fd, 1), 0);
  } else {
    ::close(*fd);
  }
  return ntohs(address.sin_port);
}

TEST(GangTest, RankZeroHostsTheStoreWithoutAnAgentAndEveryRankMayBeOnItsOwnNode) {
  if (InRank()) {
    Gangs gangs = SetupGangsFromEnvironment(Options());
    CheckCollectives(*gangs.root);
    return;
  }
  // Two "nodes" of one rank each, as two torchrun --nnodes 2 launches give:
  // LOCAL_RANK is 0 on both. The port is free when chosen; should another
  // process take it before rank 0 binds it, the launch is tried again.
  RankResults results;
  for (int attempt = 0; attempt < 5; ++attempt) {
    int fd = -1;
    const std::string port = absl::StrCat(TcpPort(false, &fd));
    std::vector<std::map<std::string, std::string>> nodes;
    for (int r = 0; r < 2; ++r) {
      nodes.push_back({{"TORCHELASTIC_USE_AGENT_STORE", "False"},
                       {"MASTER_PORT", port},
                       {"LOCAL_RANK", "0"},
                       {"LOCAL_WORLD_SIZE", "1"},
                       {"GROUP_RANK", absl::StrCat(r)}});
    }
    results = RunAsRanks(2, {}, nodes);
    if (results.logs[0].find("already in use") == std::string::npos) break;
  }
  ExpectAllPassed(results);
}

TEST(GangTest, ARankThatDiesIsNamedByTheOthers) {
  if (InRank()) {
    Gangs gangs = SetupGangsFromEnvironment(Options());
    gangs.root->Barrier();
    if (gangs.root->rank() == 1) ::raise(SIGKILL);
    at::Tensor tensor = at::ones({4});
    try {
      gangs.root->AllReduceSum(tensor);
      ADD_FAILURE() << "no GangError";
    } catch (const GangError& e) {
      std::cout << e.what() << std::endl;
      EXPECT_THAT(e.what(),
                  HasSubstr("all-reduce over the root gang failed on rank 0: rank 1 (pid "));
      EXPECT_EQ(e.rank(), 1);
    }
    return;
  }
  RankResults results = RunAsRanks(2, {{"MODELHUB_GANG_TIMEOUT", "60"}});
  EXPECT_EQ(results.exits[0].status, 0) << results.AllLogs();
  EXPECT_EQ(results.exits[1].status, 128 + SIGKILL) << results.AllLogs();
  EXPECT_FALSE(results.exits[0].killed_by_launcher);
}

TEST(GangTest, AMissingRankIsReportedWhenTheTimeoutPasses) {
  if (InRank()) {
    try {
      SetupGangsFromEnvironment(Options());
      ADD_FAILURE() << "no GangError";
    } catch (const GangError& e) {
      EXPECT_THAT(e.what(), HasSubstr("within 2 s"));
    }
    return;
  }
  // WORLD_SIZE says 3, but only 2 ranks run.
  ExpectAllPassed(RunAsRanks(2, {{"MODELHUB_GANG_TIMEOUT", "2"}},
                             {{{"WORLD_SIZE", "3"}}, {{"WORLD_SIZE", "3"}}}));
}

TEST(GangTest, APortInUseIsOneClearLine) {
  if (InRank()) {
    try {
      SetupGangsFromEnvironment(Options());
      ADD_FAILURE() << "no GangError";
    } catch (const GangError& e) {
      EXPECT_THAT(e.what(), HasSubstr("rank 0 cannot host the store on 127.0.0.1:"));
      EXPECT_THAT(e.what(),
                  HasSubstr("the port is already in use (set MASTER_PORT to a free one)"));
    }
    return;
  }
  int fd = -1;
  const int port = TcpPort(true, &fd);
  ExpectAllPassed(RunAsRanks(
      1, {}, {{{"TORCHELASTIC_USE_AGENT_STORE", "False"}, {"MASTER_PORT", absl::StrCat(port)}}}));
  ::close(fd);
}

TEST(GangTest, ATensorParallelSizeThatDoesNotDivideTheRanksIsRefused) {
  GangEnvironment env;
  env.world_size = 4;
  env.master_addr = "127.0.0.1";
  env.master_port = 1;
  try {
    SetupGangs(env, Options(3));
    ADD_FAILURE() << "no GangError";
  } catch (const GangError& e) {
    EXPECT_STREQ(e.what(),
                 "the tensor-parallel size 3 does not divide the 4 processes (WORLD_SIZE)");
  }
}

}  // namespace
}  // namespace modelhub
