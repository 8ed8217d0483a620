// Runs the reference tokenizer (Hugging Face's Rust `tokenizers` crate 0.22.2 through
// the npm package @anush008/tokenizers 0.6.0) on every string of the tokenizer test
// corpus under each of the six tokenizer layouts, and writes the frozen results that
// modelhub's tokenizer tests compare against. freeze.sh runs it; by hand:
//
//   NODE_PATH=<dir with @anush008/tokenizers installed>/node_modules \
//     node freeze.js TOKENIZERS_DIR CORPUS_JSON OUT_JSON
//
// TOKENIZERS_DIR holds <layout>/tokenizer.json (built by
// //tests/runtime/tokenizers/testdata:tokenizer_files). OUT_JSON gets
//   {"reference": "...", "layouts": {"<layout>": [record, ...], ...}}
// with one record per corpus string, in corpus order:
//   ids           encode(text, add_special_tokens=false)
//   ids_special   encode(text, add_special_tokens=true)
//   decoded       decode(ids_special, skip_special_tokens=false)
//   decoded_skip  decode(ids_special, skip_special_tokens=true)
// One record a line, so diffs stay readable.

"use strict";

const fs = require("fs");
const path = require("path");
const { Tokenizer } = requireOracle();

function requireOracle() {
  try {
    return require("@anush008/tokenizers");
  } catch (err) {
    console.error(
      "cannot load @anush008/tokenizers: set NODE_PATH to the node_modules that\n" +
        "`tools/tokenizer_oracle/freeze.sh --install-only` installs and prints"
    );
    throw err;
  }
}

const LAYOUTS = ["qwen3", "qwen25", "llama3", "mistral", "mistral_metaspace_first", "llama2"];
const REFERENCE =
  "Hugging Face tokenizers crate 0.22.2 via @anush008/tokenizers@0.6.0 (npm), frozen by tools/tokenizer_oracle/freeze.sh";

function checkIds(ids, what) {
  if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id) && id >= 0)) {
    throw new Error(`${what}: ids are not an array of non-negative integers`);
  }
  return ids;
}

async function record(tokenizer, text, where) {
  const plain = await tokenizer.encode(text, null, { addSpecialTokens: false });
  const special = await tokenizer.encode(text, null, { addSpecialTokens: true });
  const ids = checkIds(Array.from(plain.getIds()), where);
  const idsSpecial = checkIds(Array.from(special.getIds()), where);
  // decode(ids, skipSpecialTokens): the second argument is the crate's skip_special_tokens.
  const decoded = await tokenizer.decode(idsSpecial, false);
  const decodedSkip = await tokenizer.decode(idsSpecial, true);
  return { ids, ids_special: idsSpecial, decoded, decoded_skip: decodedSkip };
}

async function main() {
  const [tokenizersDir, corpusPath, outPath] = process.argv.slice(2);
  if (!outPath) {
    console.error("usage: node freeze.js TOKENIZERS_DIR CORPUS_JSON OUT_JSON");
    process.exit(2);
  }
  const corpus = JSON.parse(fs.readFileSync(corpusPath, "utf8"));
  if (!Array.isArray(corpus) || !corpus.every((s) => typeof s === "string")) {
    throw new Error(`${corpusPath}: not a JSON array of strings`);
  }
  const lines = ["{", `"reference": ${JSON.stringify(REFERENCE)},`, `"layouts": {`];
  for (const [n, layout] of LAYOUTS.entries()) {
    const tokenizer = Tokenizer.fromFile(path.join(tokenizersDir, layout, "tokenizer.json"));
    const records = [];
    for (const [i, text] of corpus.entries()) {
      records.push(JSON.stringify(await record(tokenizer, text, `${layout}[${i}]`)));
    }
    lines.push(`${JSON.stringify(layout)}: [`);
    lines.push(records.join(",\n"));
    lines.push(n + 1 < LAYOUTS.length ? "]," : "]");
  }
  lines.push("}", "}");
  fs.writeFileSync(outPath, lines.join("\n") + "\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
