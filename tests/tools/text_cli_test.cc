// Text in and out on the command line: tokenize/detokenize (arguments, stdin,
// JSON lines), forward and generate with --prompt (streamed text), and the
// command line checked as people type it: bad options exit 2 before any model
// loads, global flags after the subcommand, --version, "did you mean".

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "tests/tools/modelhub_command.h"

namespace {

using ::modelhub::testing::CommandResult;
using ::modelhub::testing::Modelhub;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kQwen3[] = "tests/runtime/tokenizers/testdata/tokenizers/qwen3";

int Lines(const std::string& text) {
  int lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

TEST(TextCliTest, TokenizeAndDetokenizeRoundTrip) {
  CommandResult ids = Modelhub("tokenize tiny 'Hello world'");
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  EXPECT_THAT(ids.out, ::testing::MatchesRegex("[0-9]+(,[0-9]+)*\n"));
  CommandResult special = Modelhub("tokenize tiny --special 'Hello world'");
  EXPECT_EQ(special.out, "4093," + ids.out);  // <|begin_of_text|> first
  CommandResult text = Modelhub("detokenize tiny " + ids.out.substr(0, ids.out.size() - 1));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out, "Hello world\n");
  EXPECT_EQ(Modelhub("detokenize tiny " + special.out.substr(0, special.out.size() - 1)).out,
            "<|begin_of_text|>Hello world\n");
  EXPECT_EQ(
      Modelhub("detokenize tiny --skip-special " + special.out.substr(0, special.out.size() - 1))
          .out,
      "Hello world\n");
}

TEST(TextCliTest, TokenizeTakesAFileACheckpointOrStdin) {
  // Qwen 3's real tokenizer.json: "Hello world" is 9707, 1879 in Qwen's vocabulary.
  EXPECT_EQ(
      Modelhub(std::string("tokenize --tokenizer ") + kQwen3 + "/tokenizer.json 'Hello world'").out,
      "9707,1879\n");
  EXPECT_EQ(Modelhub(std::string("tokenize --tokenizer ") + kQwen3 + " 'Hello world'").out,
            "9707,1879\n");
  EXPECT_EQ(Modelhub("tokenize --checkpoint cards/tiny 'Hello world'").out,
            Modelhub("tokenize tiny 'Hello world'").out);
  EXPECT_EQ(Modelhub("tokenize tiny", "printf 'Hello world' |").out,
            Modelhub("tokenize tiny 'Hello world'").out);
  CommandResult pieces =
      Modelhub(std::string("tokenize --tokenizer ") + kQwen3 + " --pieces 'Hello world'");
  EXPECT_EQ(pieces.out, "9707\t\"Hello\"\n1879\t\"Ġworld\"\n");
}

TEST(TextCliTest, JsonLinesKeepTheirOrder) {
  CommandResult ids = Modelhub(std::string("tokenize --jsonl --tokenizer ") + kQwen3,
                               "printf '\"Hello world\"\\n\"\"\\n\"a\\\\nb\"\\n' |");
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  EXPECT_EQ(ids.out, "[9707,1879]\n[]\n[64,198,65]\n");
  CommandResult text = Modelhub(std::string("detokenize --jsonl --tokenizer ") + kQwen3,
                                "printf '[9707,1879]\\n[]\\n[64,198,65]\\n' |");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out, "\"Hello world\"\n\"\"\n\"a\\nb\"\n");
  CommandResult bad =
      Modelhub(std::string("tokenize --jsonl --tokenizer ") + kQwen3, "printf '\"ok\"\\n42\\n' |");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("standard input line 2: expected a JSON string"));
}

TEST(TextCliTest, BadTokenizerInputIsAnError) {
  CommandResult not_utf8 = Modelhub("tokenize tiny", "printf 'ab\\377' |");
  EXPECT_EQ(not_utf8.exit_code, 1);
  EXPECT_THAT(not_utf8.err, HasSubstr("not UTF-8: byte 2"));
  CommandResult out_of_range = Modelhub("detokenize tiny 1,4096");
  EXPECT_EQ(out_of_range.exit_code, 1);
  EXPECT_THAT(out_of_range.err, HasSubstr("token id 4096 at position 1"));
  CommandResult no_tokenizer = Modelhub("tokenize --tokenizer /nonexistent 'x'");
  EXPECT_EQ(no_tokenizer.exit_code, 1);
  EXPECT_THAT(no_tokenizer.err, HasSubstr("/nonexistent"));
}

TEST(TextCliTest, GenerateStreamsTextFromAPrompt) {
  CommandResult run = Modelhub("generate tiny --prompt 'The garden in spring' --max-new-tokens 8");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // Only the continuation on stdout, one line; what was loaded and timed on stderr.
  EXPECT_EQ(Lines(run.out), 1) << run.out;
  EXPECT_THAT(run.err, HasSubstr("loaded: "));
  EXPECT_THAT(run.err, HasSubstr("generated "));
  // The same through --tokens: the text is the decoding of the generated ids.
  const std::string prompt_ids = Modelhub("tokenize tiny --special 'The garden in spring'").out;
  CommandResult ids = Modelhub("generate tiny --max-new-tokens 8 --tokens " +
                               prompt_ids.substr(0, prompt_ids.size() - 1));
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  const std::string last = ids.out.substr(ids.out.rfind('\n', ids.out.size() - 2) + 1);
  CommandResult text =
      Modelhub("detokenize tiny --skip-special " + last.substr(0, last.size() - 1));
  EXPECT_EQ(run.out, text.out);
  // A Hugging Face folder brings its own tokenizer; text can come on stdin.
  CommandResult folder = Modelhub("generate --checkpoint cards/tiny --max-new-tokens 8",
                                  "printf 'The garden in spring' |");
  ASSERT_EQ(folder.exit_code, 0) << folder.err;
  EXPECT_EQ(folder.out, run.out);
}

TEST(TextCliTest, ForwardTakesAPrompt) {
  CommandResult run = Modelhub("forward tiny --prompt 'Hello world'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("next token after 3 tokens (id, probability, logit, text):"));
}

TEST(TextCliTest, BadOptionsExit2BeforeLoading) {
  for (const char* args :
       {"generate tiny --tokens 1 --max-new-tokens -5", "generate tiny --tokens 1 --temperature -1",
        "generate tiny --tokens 1 --top-p 7", "generate tiny --tokens 1 --top-k -3",
        "generate tiny --tokens 1 --max-new-tokens 2048", "forward tiny --tokens 1 --prompt x",
        "tokenize", "tokenize tiny a b", "detokenize tiny 1,x", "tokenize --jsonl --pieces tiny",
        "forward tiny --tokens 1 --device meta"}) {
    CommandResult run = Modelhub(args, "true |");
    EXPECT_EQ(run.exit_code, 2) << args << ": " << run.err;
    EXPECT_EQ(Lines(run.err), 1) << args << ": " << run.err;
    EXPECT_THAT(run.err, StartsWith("modelhub: error: ")) << args;
    EXPECT_THAT(run.err, ::testing::Not(HasSubstr("loaded"))) << args;
  }
  EXPECT_THAT(Modelhub("generate tiny --tokens 1 --max-new-tokens 2048").err,
              HasSubstr("max_seq_len 2048"));
}

TEST(TextCliTest, TheCommandLineAsPeopleTypeIt) {
  CommandResult version = Modelhub("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, StartsWith("modelhub "));
  // Global flags after the subcommand.
  CommandResult offline = Modelhub("download qwen25_0.5b --offline");
  EXPECT_EQ(offline.exit_code, 1) << offline.err;
  EXPECT_THAT(offline.err, HasSubstr("offline"));
  // A misspelled card name gets the closest names.
  EXPECT_THAT(Modelhub("forward tinny --tokens 1").err, HasSubstr("did you mean: tiny"));
  EXPECT_THAT(Modelhub("tokenize tinny x").err, HasSubstr("did you mean: tiny"));
  // Removing what is not cached is not a usage error.
  EXPECT_EQ(Modelhub("cache rm hg://org/never-downloaded").exit_code, 1);
  for (const char* args : {"tokenize --help", "detokenize --help"}) {
    CommandResult help = Modelhub(args);
    EXPECT_EQ(help.exit_code, 0) << args;
    EXPECT_THAT(help.out, HasSubstr("Usage")) << args;
  }
}

TEST(TextCliTest, DemoPrintsThePromptAndItsText) {
  CommandResult run = Modelhub("demo");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("prompt: The garden in spring\n"));
  EXPECT_THAT(run.out, HasSubstr("text: \""));
}

}  // namespace
