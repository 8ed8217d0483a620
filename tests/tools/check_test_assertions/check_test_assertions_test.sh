#!/bin/bash
# tools/check_test_assertions.py: a tree whose tests all assert passes (exit 0);
# test bodies without an assertion, and an allow-listed helper that does not
# assert, are each reported with file:line (exit 1). Assertions inside comments
# and strings do not count.
set -u

script="${TEST_SRCDIR}/${TEST_WORKSPACE}/tools/check_test_assertions.py"
work="${TEST_TMPDIR}/check_test_assertions"
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# A tree with tests/testing/error_of.h and the other helpers the script's
# allow-list names, each asserting, plus the given test file.
make_tree() {
  local root="$1"
  rm -rf "${root}"
  mkdir -p "${root}/tests/testing" "${root}/tests/sample"
  cat >"${root}/tests/testing/error_of.h" <<'CC'
template <typename E, typename Function>
std::string ErrorOf(Function&& call) {
  try {
    call();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "nothing thrown";
  return "<no E thrown>";
}
CC
  local helper
  for helper in ExpectYamlRoundTrip ExpectMentions ExpectTensors ExpectMatchesReference \
                ExpectMatchesElementary ExpectOneLineError ExpectAllPassed \
                ExpectLogitsOfOneProcessOver ExpectRanksMatchOneProcess; do
    printf 'void %s(int x) {\n  EXPECT_EQ(x, 1);\n}\n' "${helper}" >>"${root}/tests/testing/helpers.h"
  done
}

run() {
  python3 "${script}" --root "$1" >"${work}/out" 2>&1
  echo $?
}

# --- good: every body asserts, in each accepted way -------------------------
make_tree "${work}/good"
cat >"${work}/good/tests/sample/good_test.cc" <<'CC'
TEST(Good, Expect) { EXPECT_EQ(1, 1); }
TEST_F(Good, Assert) {
  int x = 1;
  ASSERT_TRUE(x);
}
TEST_P(Good, AddFailure) {
  if (false) ADD_FAILURE() << "}";  // a brace in a string
}
TEST(Good, Fail) {
  try {
    Run();
    FAIL() << "no throw";
  } catch (...) {
  }
}
TEST(Good, Helper) {
  EXPECT_THAT(testing::ErrorOf<Error>([] { Run("{"); }), HasSubstr("x"));
}
TEST(Good, HelperOnItsOwn) { ExpectMentions(1); }
TEST(Good, RawString) {
  const char* text = R"x(a "quoted" ) { brace)x";
  EXPECT_NE(text, nullptr);
}
TYPED_TEST(Good, Typed) { GTEST_FAIL() << "never"; }
CC
status=$(run "${work}/good")
[[ "${status}" == 0 ]] || fail "good tree: exit ${status}, want 0: $(cat "${work}/out")"
grep -q "^8 test bodies checked, all assert$" "${work}/out" ||
  fail "good tree: want '8 test bodies checked, all assert', got: $(cat "${work}/out")"

# --- bad: bodies that only look like they assert ----------------------------
make_tree "${work}/bad"
cat >"${work}/bad/tests/sample/bad_test.cc" <<'CC'
TEST(Bad, Empty) {}

TEST(Bad, OnlyACall) { MoveToPopulatedArena({}, 4); }

TEST_F(Bad, AssertionInAComment) {
  Run();  // EXPECT_EQ(Run(), 1);
  /* ASSERT_TRUE(x); */
}

TEST(Bad, AssertionInAString) {
  const std::string text = "EXPECT_TRUE(ok)";
  Use(R"(ASSERT_EQ(a, b))");
}

TEST(Good, Asserts) { EXPECT_TRUE(true); }

TEST_P(Bad, ALookAlikeName) { MY_EXPECT_EQ(1, 2); }
CC
status=$(run "${work}/bad")
[[ "${status}" == 1 ]] || fail "bad tree: exit ${status}, want 1: $(cat "${work}/out")"
for expected in \
    "tests/sample/bad_test.cc:1: Bad.Empty: no assertion in the test body" \
    "tests/sample/bad_test.cc:3: Bad.OnlyACall: no assertion in the test body" \
    "tests/sample/bad_test.cc:5: Bad.AssertionInAComment: no assertion in the test body" \
    "tests/sample/bad_test.cc:10: Bad.AssertionInAString: no assertion in the test body" \
    "tests/sample/bad_test.cc:17: Bad.ALookAlikeName: no assertion in the test body"; do
  grep -qxF "${expected}" "${work}/out" || fail "bad tree: missing '${expected}' in: $(cat "${work}/out")"
done
grep -q "Good.Asserts" "${work}/out" && fail "bad tree: Good.Asserts was flagged: $(cat "${work}/out")"

# --- an error helper that returns "" when nothing is thrown -----------------
make_tree "${work}/helper"
cat >"${work}/helper/tests/sample/helper_test.cc" <<'CC'
// The message of the error, or "" when none is thrown: a missing throw passes.
std::string ErrorOf(const std::string& input) {
  try {
    Parse(input);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Helper, UsesIt) { Use(ErrorOf("x")); }
CC
status=$(run "${work}/helper")
[[ "${status}" == 1 ]] || fail "helper tree: exit ${status}, want 1: $(cat "${work}/out")"
grep -qF "tests/sample/helper_test.cc:2: assertion helper ErrorOf does not assert" "${work}/out" ||
  fail "helper tree: the non-asserting ErrorOf is not reported: $(cat "${work}/out")"

if [[ "${failures}" -gt 0 ]]; then
  echo "${failures} check(s) failed"
  exit 1
fi
echo "all checks passed"
