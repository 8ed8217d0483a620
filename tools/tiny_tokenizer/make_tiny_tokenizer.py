#!/usr/bin/env python3
"""Generates the tokenizer of the built-in `tiny` card (see cards/BUILD.bazel).

    make_tiny_tokenizer.py TRAINING_TEXT OUT_DIR

writes OUT_DIR/tokenizer.json and OUT_DIR/tokenizer_config.json: a Hugging Face tokenizer
in Llama 3's layout (byte-level BPE, `ignore_merges`, Llama 3's Split pre-tokenizer, a
BOS-adding post-processor, the ByteLevel decoder) with a 4096-token vocabulary learned
from TRAINING_TEXT:

    ids 0..255      the 256 byte tokens, in GPT-2's byte-to-unicode order (as Llama 3)
    ids 256..4092   learned merges, in the order they were learned
    ids 4093..4095  <|begin_of_text|>, <|end_of_text|>, <|eot_id|> (added, special)

Training is standard BPE over the words of the text, split the way Llama 3's regex
splits them (approximated with Python's `re`, which has no \\p{L}), counting pair
frequencies over words. The most frequent pair is merged next; ties go to the
lexicographically smallest pair (by code point). Standard library only, and nothing
depends on hash order, the locale or the Python version: the output is the same bytes
on every run and machine.
"""

import collections
import heapq
import json
import os
import re
import sys

VOCAB_SIZE = 4096
SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
NUM_MERGED = VOCAB_SIZE - 256 - len(SPECIAL_TOKENS)  # 3837 learned tokens
MODEL_MAX_LENGTH = 2048

# What the tokenizer itself uses at run time (Llama 3's pattern, verbatim).
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# The same pattern for Python's `re`, used only to split the training text:
# \p{L} ~ [^\W\d_] (word characters that are not digits or '_'), \p{N} ~ \d, so
# "not a letter or a number" ~ [^\w] or '_'.
_L = r"[^\W\d_]"
_N = r"\d"
TRAINING_SPLIT = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)"
    r"|(?:[^\w\r\n]|_)?" + _L + r"+"
    r"|" + _N + r"{1,3}"
    r"| ?(?:[^\s\w]|_)+[\r\n]*"
    r"|\s*[\r\n]+"
    r"|\s+(?!\S)"
    r"|\s+"
)


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map, in its order (ids 0..255)."""
    printable = list(range(ord("!"), ord("~") + 1))
    printable += list(range(ord("\u00a1"), ord("\u00ac") + 1))
    printable += list(range(ord("\u00ae"), ord("\u00ff") + 1))
    order = list(printable)
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            order.append(b)
            chars.append(256 + extra)
            extra += 1
    return [(b, chr(c)) for b, c in zip(order, chars)]


def train(text, byte_chars):
    """Returns (new tokens in id order, merges in rank order) learned from `text`."""
    byte_to_char = dict(byte_chars)
    # Word types in order of first appearance, with their counts.
    counts = collections.Counter()
    for piece in TRAINING_SPLIT.findall(text):
        counts[piece] += 1
    words = []  # [symbols (list of str), count]
    for piece, count in counts.items():  # insertion order: first appearance
        symbols = [byte_to_char[b] for b in piece.encode("utf-8")]
        if len(symbols) > 1:
            words.append([symbols, count])

    pair_counts = collections.defaultdict(int)
    pair_words = collections.defaultdict(set)  # pair -> indices of words holding it
    for index, (symbols, count) in enumerate(words):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += count
            pair_words[pair].add(index)
    # Max-heap by count, then the smallest pair; stale entries are skipped on pop.
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)

    known = set(char for _, char in byte_chars)
    new_tokens = []
    merges = []
    while len(new_tokens) < NUM_MERGED:
        while heap:
            negative, pair = heapq.heappop(heap)
            if pair_counts.get(pair, 0) == -negative and -negative > 0:
                break
        else:
            raise SystemExit(
                "make_tiny_tokenizer: the training text ran out of pairs after %d of %d "
                "tokens; give it more text" % (len(new_tokens), NUM_MERGED))
        first, second = pair
        merged = first + second
        merges.append(pair)
        if merged not in known:  # two merges can make the same token (as in Llama 3)
            known.add(merged)
            new_tokens.append(merged)

        changed = collections.defaultdict(int)  # pair -> count delta
        for index in sorted(pair_words.pop(pair)):
            symbols, count = words[index]
            out = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == first and symbols[i + 1] == second:
                    out.append(merged)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            if len(out) == len(symbols):
                continue
            for old in zip(symbols, symbols[1:]):
                changed[old] -= count
            for new in zip(out, out[1:]):
                changed[new] += count
                if new != pair:
                    pair_words[new].add(index)
            words[index][0] = out
        del pair_counts[pair]
        for changed_pair in sorted(changed):
            delta = changed[changed_pair]
            if changed_pair == pair or delta == 0:
                continue
            count = pair_counts.get(changed_pair, 0) + delta
            if count > 0:
                pair_counts[changed_pair] = count
                heapq.heappush(heap, (-count, changed_pair))
            else:
                pair_counts.pop(changed_pair, None)
                # pair_words may keep stale indices; they are only scanned, never trusted.
    return new_tokens, merges


def added_token(token_id, content):
    return {
        "id": token_id,
        "content": content,
        "single_word": False,
        "lstrip": False,
        "rstrip": False,
        "normalized": False,
        "special": True,
    }


def tokenizer_json(byte_chars, new_tokens, merges):
    vocab = {}
    for token_id, (_, char) in enumerate(byte_chars):
        vocab[char] = token_id
    for token in new_tokens:
        vocab[token] = len(vocab)
    assert len(vocab) == VOCAB_SIZE - len(SPECIAL_TOKENS)
    first_special = len(vocab)
    bos = SPECIAL_TOKENS[0]
    byte_level = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                  "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added_token(first_special + i, content)
                         for i, content in enumerate(SPECIAL_TOKENS)],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": {"Regex": LLAMA3_PATTERN},
                    "behavior": "Isolated",
                    "invert": False,
                },
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                 "use_regex": False},
            ],
        },
        "post_processor": {
            "type": "Sequence",
            "processors": [
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                 "use_regex": True},
                {
                    "type": "TemplateProcessing",
                    "single": [
                        {"SpecialToken": {"id": bos, "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}},
                    ],
                    "pair": [
                        {"SpecialToken": {"id": bos, "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}},
                        {"SpecialToken": {"id": bos, "type_id": 1}},
                        {"Sequence": {"id": "B", "type_id": 1}},
                    ],
                    "special_tokens": {
                        bos: {"id": bos, "ids": [first_special], "tokens": [bos]},
                    },
                },
            ],
        },
        "decoder": byte_level,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": True,
            "vocab": vocab,
            "merges": ["%s %s" % pair for pair in merges],
        },
    }


def tokenizer_config_json(first_special):
    # The keys of Llama 3's tokenizer_config.json, less the chat template (tiny is not
    # an instruct model); sorted as in the real file.
    decoder = {}
    for i, content in enumerate(SPECIAL_TOKENS):
        entry = added_token(first_special + i, content)
        del entry["id"]
        decoder[str(first_special + i)] = dict(sorted(entry.items()))
    return {
        "added_tokens_decoder": decoder,
        "bos_token": SPECIAL_TOKENS[0],
        "clean_up_tokenization_spaces": True,
        "eos_token": SPECIAL_TOKENS[1],
        "model_input_names": ["input_ids", "attention_mask"],
        "model_max_length": MODEL_MAX_LENGTH,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def write(path, value, trailing_newline):
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if trailing_newline:
        text += "\n"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: make_tiny_tokenizer.py TRAINING_TEXT OUT_DIR\n")
        return 2
    with open(argv[1], "r", encoding="utf-8", newline="") as f:
        text = f.read()
    byte_chars = bytes_to_unicode()
    new_tokens, merges = train(text, byte_chars)
    os.makedirs(argv[2], exist_ok=True)
    # Formatting as Hugging Face writes them: two-space indent, UTF-8, tokenizer.json
    # without a final newline, tokenizer_config.json with one.
    write(os.path.join(argv[2], "tokenizer.json"), tokenizer_json(byte_chars, new_tokens, merges),
          trailing_newline=False)
    write(os.path.join(argv[2], "tokenizer_config.json"),
          tokenizer_config_json(256 + len(new_tokens)), trailing_newline=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
