#!/usr/bin/python3
"""Fails on a googletest test body that asserts nothing.

Scans tests/**/*.cc (under --root, default: the repository holding this script) for
TEST, TEST_F, TEST_P, TYPED_TEST and TYPED_TEST_P bodies. A body passes when, outside
comments and string literals, it uses an assertion (EXPECT_*, ASSERT_*, ADD_FAILURE,
ADD_FAILURE_AT, FAIL, GTEST_FAIL, GTEST_FATAL_FAILURE_, GTEST_NONFATAL_FAILURE_) or calls
one of ASSERTION_HELPERS below, helpers whose own bodies assert (this script checks that
each one is defined under tests/ with an assertion in its body). Tests in EXEMPTIONS pass
too; an exemption naming a test that its file no longer has is an error, so the list stays
true.

  tools/check_test_assertions.py [--root DIR]

Prints one line "FILE:LINE: Suite.Name: no assertion in the test body" per offending test
and exits 1 when there is any; otherwise prints "N test bodies checked, all assert" and
exits 0. Exit 2 for a file it cannot parse (an unbalanced body).
"""

import argparse
import os
import re
import sys

# Helpers that count as assertions when a test body calls them, each with why. A helper
# belongs here only when its own body asserts (or fails the test) on every path that
# returns without the property holding; the script checks that its definition asserts.
ASSERTION_HELPERS = {
    # tests/testing/error_of.h (and any local ErrorOf, which must assert too).
    "ErrorOf": "ADD_FAILURE() when the call throws nothing or another type",
    # tests/families/families_test.cc
    # tests/runtime/assets/asset_store_test.cc
    "ExpectMentions": "EXPECT_THAT the message holds each expected piece",
    # tests/runtime/formats/torch_checkpoint_test.cc
    "ExpectTensors": "EXPECTs each tensor's name, dtype, shape and values against the fixture",
    # tests/runtime/hub/hf_checkpoint_test.cc
    "ExpectMatchesReference": "EXPECTs modelhub's logits against the independent reference",
    # tests/testing/hf_reference_test.cc
    "ExpectMatchesElementary": "EXPECTs the reference logits against elementary loops",
    # tests/tools/cli_test.cc
    "ExpectOneLineError": "EXPECTs exit 1 and one 'modelhub: error:' line with the pieces",
    # tests/runtime/distributed/gang_test.cc
    "ExpectAllPassed": "EXPECTs every rank (whose own body asserts) to have exited 0",
    # tests/tools/parallel_cli_test.cc
    "ExpectRanksMatchOneProcess": "ASSERTs each run exits 0 and EXPECTs the same logits",
    # tests/runtime/hub/tensor_parallel_test.cc
    "ExpectLogitsOfOneProcessOver": "EXPECTs every rank to pass; each rank EXPECTs the logits",
}

# Tests that legitimately assert nothing: (path relative to the root, "Suite.Name") with a
# one-line reason. Keep this list short; prefer adding an assertion.
EXEMPTIONS = {}

TEST_MACROS = ("TEST", "TEST_F", "TEST_P", "TYPED_TEST", "TYPED_TEST_P")
ASSERTION = re.compile(
    r"\b(?:EXPECT_[A-Z0-9_]+|ASSERT_[A-Z0-9_]+|ADD_FAILURE|ADD_FAILURE_AT|FAIL|GTEST_FAIL"
    r"|GTEST_FATAL_FAILURE_|GTEST_NONFATAL_FAILURE_)\s*\("
)
TEST_START = re.compile(r"^[ \t]*(" + "|".join(TEST_MACROS) + r")\s*\(", re.MULTILINE)


class ParseError(Exception):
    """A file whose braces or parentheses do not balance."""


def strip_comments_and_strings(text):
    """`text` with comments and the contents of string and character literals blanked
    (newlines kept, so offsets and line numbers stay the same)."""
    out = []
    i, n = 0, len(text)

    def blank(segment):
        return "".join(c if c == "\n" else " " for c in segment)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(blank(text[i:end]))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(blank(text[i:end]))
            i = end
        elif c == '"' or c == "'":
            # A raw string: R"delim( ... )delim", with an optional u8/u/U/L prefix.
            raw = re.search(r'(?:u8|u|U|L)?R$', text[max(0, i - 3):i])
            is_identifier_before = raw is not None and (
                i - len(raw.group(0)) - 1 >= 0
                and (text[i - len(raw.group(0)) - 1].isalnum()
                     or text[i - len(raw.group(0)) - 1] == "_"))
            if c == '"' and raw is not None and not is_identifier_before:
                open_paren = text.find("(", i)
                if open_paren < 0:
                    raise ParseError("unterminated raw string")
                delimiter = text[i + 1:open_paren]
                end = text.find(")" + delimiter + '"', open_paren)
                if end < 0:
                    raise ParseError("unterminated raw string")
                end += len(delimiter) + 2
                out.append('"' + blank(text[i + 1:end - 1]) + '"')
                i = end
                continue
            if c == "'" and i > 0 and (text[i - 1].isalnum()) and i + 1 < n and text[i + 1].isalnum():
                out.append(c)  # a digit separator: 1'000'000
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n":
                    break  # not a literal after all (an unmatched quote); keep going
                j += 1
            out.append(c + blank(text[i + 1:j]) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching(code, start, opening, closing):
    """The index of the bracket that closes the one at `start`."""
    depth = 0
    for index in range(start, len(code)):
        if code[index] == opening:
            depth += 1
        elif code[index] == closing:
            depth -= 1
            if depth == 0:
                return index
    raise ParseError("unbalanced %s%s from offset %d" % (opening, closing, start))


def test_bodies(code):
    """(line, "Suite.Name", body) for each test macro in the stripped code."""
    for match in TEST_START.finditer(code):
        open_paren = match.end() - 1
        close_paren = matching(code, open_paren, "(", ")")
        args = [part.strip() for part in code[open_paren + 1:close_paren].split(",")]
        name = ".".join(args[:2])
        brace = close_paren + 1
        while brace < len(code) and code[brace].isspace():
            brace += 1
        if brace >= len(code) or code[brace] != "{":
            continue  # a declaration or a macro use that is not a test definition
        end = matching(code, brace, "{", "}")
        line = code.count("\n", 0, match.start(1)) + 1
        yield line, name, code[brace + 1:end]


def calls(body, helper):
    """True when `body` calls `helper`, templated or not: Helper(...), Helper<T>(...)."""
    return re.search(r"\b" + re.escape(helper) + r"\s*(?:<[^;{}]*?>)?\s*\(", body) is not None


def asserts(body):
    return ASSERTION.search(body) is not None or any(
        calls(body, helper) for helper in ASSERTION_HELPERS)


def source_files(root, folder, extensions):
    for directory, dirs, names in os.walk(os.path.join(root, folder)):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(extensions):
                yield os.path.join(directory, name)


def helper_definitions_assert(texts):
    """Messages for allow-listed helpers that are defined nowhere under tests/, and for
    each definition of one (any overload, in any file) whose body does not assert: a
    same-named helper that, say, returns "" when nothing is thrown would otherwise pass
    for an assertion."""
    problems = []
    for helper in ASSERTION_HELPERS:
        # A definition: a return type, the name, the parameters, then the body.
        definition = re.compile(
            r"^[ \t]*[\w:<>,*& \t]*[\w>*&][ \t*&]+" + re.escape(helper) +
            r"\s*\([^;{}]*\)\s*(?:const\s*)?\{", re.MULTILINE)
        found = False
        for relative, code in sorted(texts.items()):
            for match in definition.finditer(code):
                found = True
                end = matching(code, match.end() - 1, "{", "}")
                if not asserts(code[match.end():end]):
                    problems.append(
                        "%s:%d: assertion helper %s does not assert: make it fail the test "
                        "(ADD_FAILURE, or use tests/testing/error_of.h) or rename it" %
                        (relative, code.count("\n", 0, match.start()) + 1, helper))
        if not found:
            problems.append("tools/check_test_assertions.py: assertion helper %s is defined "
                            "nowhere under tests/; remove it from ASSERTION_HELPERS" % helper)
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        help="the repository root (tests/ is scanned under it)")
    args = parser.parse_args()

    texts = {}  # relative path -> stripped code, of .cc and .h files
    for path in source_files(args.root, "tests", (".cc", ".h")):
        relative = os.path.relpath(path, args.root)
        with open(path, encoding="utf-8", errors="replace") as f:
            try:
                texts[relative] = strip_comments_and_strings(f.read())
            except ParseError as error:
                print("%s: cannot parse: %s" % (relative, error), file=sys.stderr)
                return 2

    problems = helper_definitions_assert(texts)
    seen = set()
    checked = 0
    for relative, code in sorted(texts.items()):
        if not relative.endswith(".cc"):
            continue
        try:
            for line, name, body in test_bodies(code):
                checked += 1
                seen.add((relative, name))
                if asserts(body) or (relative, name) in EXEMPTIONS:
                    continue
                problems.append("%s:%d: %s: no assertion in the test body" %
                                (relative, line, name))
        except ParseError as error:
            print("%s: cannot parse: %s" % (relative, error), file=sys.stderr)
            return 2
    for (relative, name) in sorted(EXEMPTIONS):
        if relative in texts and (relative, name) not in seen:
            problems.append("%s: exempted test %s is not there any more; remove its exemption" %
                            (relative, name))
    for problem in problems:
        print(problem)
    if problems:
        print("%d problem(s) in %d test bodies (see tools/check_test_assertions.py)" %
              (len(problems), checked))
        return 1
    print("%d test bodies checked, all assert" % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
