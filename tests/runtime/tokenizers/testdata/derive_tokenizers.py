#!/usr/bin/env python3
"""Writes one tokenizer.json layout of the tokenizer exactness tests (stdlib only).

Run by the genrules in this folder's BUILD.bazel; by hand:

  python3 derive_tokenizers.py LAYOUT OUT.json SOURCE.json [LLAMA_TOKENIZER_JS]

LAYOUT is one of
  copy                     SOURCE.json byte for byte (qwen3, llama3, mistral)
  qwen25                   SOURCE.json (Qwen 3's file) without the added tokens of
                           ids 151665-151668, which Qwen 3 introduced
  mistral_metaspace_first  SOURCE.json (Mistral v0.1's legacy file) in the layout of
                           newer conversions: no normalizer, a Metaspace pre-tokenizer
                           with prepend_scheme "first" and split false
  llama2                   SOURCE.json's layout (Mistral v0.1's file: normalizer,
                           post-processor, decoder, model options, added tokens)
                           with the Llama 1/2 vocabulary and merges that
                           llama-tokenizer-js carries in LLAMA_TOKENIZER_JS

Derived files are json.dump'ed with indent 2 and ensure_ascii=False, keys in the
source's order, so the output is the same on every run.
"""

import base64
import json
import re
import shutil
import struct
import sys

QWEN3_ONLY_ADDED_IDS = range(151665, 151669)
LLAMA_VOCAB_SIZE = 32000


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def dump(doc, path):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)
        f.write("\n")


def qwen25(doc):
    before = len(doc["added_tokens"])
    doc["added_tokens"] = [t for t in doc["added_tokens"] if t["id"] not in QWEN3_ONLY_ADDED_IDS]
    if before - len(doc["added_tokens"]) != len(QWEN3_ONLY_ADDED_IDS):
        sys.exit("qwen25: the source does not hold the added tokens 151665-151668")
    return doc


def mistral_metaspace_first(doc):
    metaspace = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
    doc["normalizer"] = None
    doc["pre_tokenizer"] = dict(metaspace)
    # The decoder stays the Replace/ByteFallback/Fuse/Strip sequence that
    # transformers' LlamaConverter writes in this layout too.
    return doc


def js_string_constant(source, name):
    """The base64 text of `const NAME = "...";` in llama-tokenizer.js."""
    found = re.search(r'^const %s = "([A-Za-z0-9+/=]*)"' % re.escape(name), source, re.M)
    if not found:
        sys.exit("llama2: no constant %s in llama-tokenizer.js" % name)
    return found.group(1)


def llama_vocab_and_merges(js_path):
    """Llama 1/2's pieces by id and merges by rank, as llama-tokenizer-js stores them.

    The vocabulary is the pieces in id order, joined by '\\n', UTF-8, base64. The merges
    are base64 of little-endian uint16 pairs (left piece id, right piece id), highest
    priority first.
    """
    with open(js_path, encoding="utf-8") as f:
        source = f.read()
    pieces = base64.b64decode(js_string_constant(source, "llama_vocab_base64")).decode("utf-8").split("\n")
    if len(pieces) != LLAMA_VOCAB_SIZE or len(set(pieces)) != LLAMA_VOCAB_SIZE:
        sys.exit("llama2: expected %d distinct pieces, got %d" % (LLAMA_VOCAB_SIZE, len(pieces)))
    raw = base64.b64decode(js_string_constant(source, "llama_merges_binary"))
    if len(raw) % 4:
        sys.exit("llama2: merges data is not a whole number of id pairs")
    ids = struct.unpack("<%dH" % (len(raw) // 2), raw)
    known = set(pieces)
    merges = []
    for i in range(0, len(ids), 2):
        left, right = pieces[ids[i]], pieces[ids[i + 1]]
        if " " in left or " " in right or left + right not in known:
            sys.exit("llama2: merge %r + %r is not usable" % (left, right))
        merges.append(left + " " + right)
    return pieces, merges


def llama2(doc, js_path):
    pieces, merges = llama_vocab_and_merges(js_path)
    for token in doc["added_tokens"]:
        if pieces[token["id"]] != token["content"]:
            sys.exit("llama2: added token %r is not piece %d" % (token["content"], token["id"]))
    model = doc["model"]
    if not isinstance(model["merges"][0], str):
        sys.exit("llama2: expected the source's merges as 'left right' strings")
    model["vocab"] = {piece: i for i, piece in enumerate(pieces)}
    model["merges"] = merges
    return doc


def main(argv):
    if len(argv) not in (4, 5):
        sys.exit(__doc__)
    layout, out, source = argv[1:4]
    if layout == "copy":
        shutil.copyfile(source, out)
    elif layout == "qwen25":
        dump(qwen25(load(source)), out)
    elif layout == "mistral_metaspace_first":
        dump(mistral_metaspace_first(load(source)), out)
    elif layout == "llama2":
        if len(argv) != 5:
            sys.exit("llama2 needs the path of llama-tokenizer.js")
        dump(llama2(load(source), argv[4]), out)
    else:
        sys.exit("unknown layout %r" % layout)


if __name__ == "__main__":
    main(sys.argv)
