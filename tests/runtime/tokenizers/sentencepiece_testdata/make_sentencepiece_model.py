#!/usr/bin/env python3
"""Writes a SentencePiece BPE tokenizer.model from Mistral v0.1's tokenizer.json (stdlib only).

Run by the genrule in this folder's BUILD.bazel; by hand:

  python3 make_sentencepiece_model.py TOKENIZER.json OUT.model

Mistral's own tokenizer.model cannot be downloaded here, but its tokenizer.json
(transformers' conversion of that very file) holds everything a SentencePiece BPE
model needs: every piece by id, and the merge order. The output is a ModelProto
(sentencepiece_model.proto), written in the protobuf wire format by hand:

  pieces (1)           one per id: piece (1), score (2), type (3)
                       id 0 <unk> UNKNOWN, ids 1 and 2 <s> and </s> CONTROL,
                       <0xNN> BYTE, the rest NORMAL
  trainer_spec (2)     model_type (3) BPE, vocab_size (4), byte_fallback (35),
                       unk_id (40) 0, bos_id (41) 1, eos_id (42) 2, pad_id (43) -1
  normalizer_spec (3)  name (1) "identity", add_dummy_prefix (3) true,
                       remove_extra_whitespaces (4) false, escape_whitespaces (5) true

as Mistral's and Llama 2's models have them.

Scores: SentencePiece's BPE merges the adjacent pair whose concatenation is the
piece of highest score. Mistral's pieces are numbered in merge order, so a NORMAL
piece scores -id; except the pieces made only of "▁" ("▁▁", "▁▁▁▁", ...: ids 259,
260, 273, ...), which Mistral's and Llama's models score -1e9, all alike, so they
merge last. The tokenizer.json shows it: transformers sorts the merges by score,
and those pieces' merges are the last ones in the file although their ids are
small. The script checks that the merges are in that order. BYTE, CONTROL and
UNKNOWN pieces score 0 (they never merge).

The output is the same on every run.
"""

import json
import re
import struct
import sys

NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6
BPE = 2
WHITESPACE_SCORE = -1e9
SPACE = "\u2581"
BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")


def varint(value):
    if value < 0:
        value += 1 << 64  # int32/int64 fields: negative numbers take ten bytes
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(field, wire_type):
    return varint(field << 3 | wire_type)


def int_field(field, value):
    return key(field, 0) + varint(value)


def bool_field(field, value):
    return int_field(field, 1 if value else 0)


def bytes_field(field, data):
    return key(field, 2) + varint(len(data)) + data


def string_field(field, text):
    return bytes_field(field, text.encode("utf-8"))


def float_field(field, value):
    return key(field, 5) + struct.pack("<f", value)


def is_whitespace_run(piece):
    return len(piece) >= 2 and set(piece) == {SPACE}


def pieces_of(doc):
    vocab = doc["model"]["vocab"]
    pieces = [None] * len(vocab)
    for piece, i in vocab.items():
        if not 0 <= i < len(pieces) or pieces[i] is not None:
            sys.exit("the vocabulary's ids are not 0..%d, each once" % (len(pieces) - 1))
        pieces[i] = piece
    if pieces[:3] != ["<unk>", "<s>", "</s>"]:
        sys.exit("expected <unk>, <s>, </s> as ids 0, 1, 2; found %r" % pieces[:3])
    return pieces


def check_merge_order(doc, vocab):
    """Fails unless the merges are ordered by the score this script gives their result."""
    previous = None
    for i, merge in enumerate(doc["model"]["merges"]):
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        result = vocab[left + right]
        score = WHITESPACE_SCORE if is_whitespace_run(left + right) else -result
        if previous is not None and score > previous:
            sys.exit("merge %d (%r + %r) is out of score order" % (i, left, right))
        previous = score


def model_proto(pieces):
    out = bytearray()
    byte_pieces = 0
    for i, piece in enumerate(pieces):
        if i == 0:
            kind, score = UNKNOWN, 0.0
        elif i in (1, 2):
            kind, score = CONTROL, 0.0
        elif BYTE_PIECE.fullmatch(piece):
            kind, score = BYTE, 0.0
            byte_pieces += 1
        elif is_whitespace_run(piece):
            kind, score = NORMAL, WHITESPACE_SCORE
        else:
            kind, score = NORMAL, float(-i)
        entry = string_field(1, piece) + float_field(2, score) + int_field(3, kind)
        out += bytes_field(1, entry)
    if byte_pieces != 256:
        sys.exit("expected 256 <0xNN> pieces, found %d" % byte_pieces)
    trainer = (int_field(3, BPE) + int_field(4, len(pieces)) + bool_field(35, True) +
               int_field(40, 0) + int_field(41, 1) + int_field(42, 2) + int_field(43, -1))
    out += bytes_field(2, trainer)
    normalizer = (string_field(1, "identity") + bool_field(3, True) + bool_field(4, False) +
                  bool_field(5, True))
    out += bytes_field(3, normalizer)
    return bytes(out)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    with open(argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    if doc["model"].get("type") != "BPE" or not doc["model"].get("byte_fallback"):
        sys.exit("expected a BPE model with byte_fallback")
    pieces = pieces_of(doc)
    check_merge_order(doc, doc["model"]["vocab"])
    with open(argv[2], "wb") as f:
        f.write(model_proto(pieces))


if __name__ == "__main__":
    main(sys.argv)
