#!/usr/bin/env python3
"""Writes Llama 3's tiktoken rank file (tokenizer.model) from its tokenizer.json (stdlib only).

Run by the genrule in this folder's BUILD.bazel; by hand:

  python3 make_tiktoken_file.py TOKENIZER.json OUT.model

Meta's tokenizer.model for Llama 3 cannot be downloaded here, but the Hugging Face
tokenizer.json converted from it holds the same ranks: model.vocab maps each token,
written in GPT-2's byte-to-character map, to its id, which is its tiktoken rank.
This maps every character back to its byte and writes one line per id below
128000 (the base vocabulary; the ids above are the special tokens, which are not
in the rank file): `<base64 of the bytes> <rank>`, in rank order, as Meta's
file has them. The output is the same on every run.
"""

import base64
import json
import sys

BASE_VOCAB_SIZE = 128000


def gpt2_char_to_byte():
    """GPT-2's bytes_to_unicode, inverted: printable Latin-1 bytes stand for
    themselves, the other bytes for U+0100 onwards in byte order."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) +
                 list(range(0xAE, 0xFF + 1)))
    mapping = {}
    extra = 0
    for byte in range(256):
        if byte in printable:
            mapping[chr(byte)] = byte
        else:
            mapping[chr(256 + extra)] = byte
            extra += 1
    return mapping


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    with open(argv[1], encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    char_to_byte = gpt2_char_to_byte()
    by_rank = {}
    for token, rank in vocab.items():
        if rank >= BASE_VOCAB_SIZE:
            continue
        try:
            data = bytes(char_to_byte[c] for c in token)
        except KeyError as e:
            sys.exit("token %r of id %d has a character outside GPT-2's byte map: %s" % (token, rank, e))
        by_rank[rank] = data
    if sorted(by_rank) != list(range(BASE_VOCAB_SIZE)):
        sys.exit("expected the ids 0..%d in model.vocab" % (BASE_VOCAB_SIZE - 1))
    if len(set(by_rank.values())) != BASE_VOCAB_SIZE:
        sys.exit("two ids have the same bytes")
    with open(argv[2], "w", encoding="ascii", newline="\n") as f:
        for rank in range(BASE_VOCAB_SIZE):
            f.write("%s %d\n" % (base64.b64encode(by_rank[rank]).decode("ascii"), rank))


if __name__ == "__main__":
    main(sys.argv)
