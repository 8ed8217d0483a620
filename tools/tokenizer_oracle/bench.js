// Measures the reference tokenizer's speed (Hugging Face's Rust `tokenizers` crate 0.22.2
// through @anush008/tokenizers 0.6.0) so modelhub's tokenizer can be compared with it:
//
//   NODE_PATH="$(tools/tokenizer_oracle/freeze.sh --install-only)" RAYON_NUM_THREADS=1 \
//     node tools/tokenizer_oracle/bench.js TOKENIZER_JSON TEXT_FILE
//
// (make_bench_text.py writes the usual TEXT_FILE.) The caller must set
// RAYON_NUM_THREADS=1 so the crate runs on one thread; the script refuses otherwise.
// It loads the tokenizer three times (best load time), encodes the whole file as one
// string, then line by line (one encode call per line, each line keeping its '\n'),
// add_special_tokens=false, several repetitions each, best time, and prints one line:
//   {"load_ms":..., "whole_mb_s":..., "lines_mb_s":..., "ids":N_whole,
//    "ids_lines":N_lines, "ids_hash":"<sha256 hex of the whole-text ids joined by ','>"}
// MB is 1e6 bytes of UTF-8 input. Each encode call is an async N-API task, so the
// line-by-line figure includes the binding's per-call cost.

"use strict";

const crypto = require("crypto");
const fs = require("fs");
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

const LOADS = 3;
const WHOLE_REPS = 5;
const LINE_REPS = 3;

function seconds(start) {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function encodeIds(tokenizer, text) {
  const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
  return encoding.getIds();
}

async function main() {
  const [tokenizerPath, textPath] = process.argv.slice(2);
  if (!textPath) {
    console.error("usage: RAYON_NUM_THREADS=1 node bench.js TOKENIZER_JSON TEXT_FILE");
    process.exit(2);
  }
  if (process.env.RAYON_NUM_THREADS !== "1") {
    console.error("bench.js: run with RAYON_NUM_THREADS=1 (one thread for the crate)");
    process.exit(2);
  }

  let tokenizer = null;
  let loadBest = Infinity;
  for (let i = 0; i < LOADS; i++) {
    const start = process.hrtime.bigint();
    tokenizer = Tokenizer.fromFile(tokenizerPath);
    loadBest = Math.min(loadBest, seconds(start));
  }

  const text = fs.readFileSync(textPath, "utf8");
  const bytes = Buffer.byteLength(text, "utf8");
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) || [];

  let wholeIds = null;
  let wholeBest = Infinity;
  for (let r = 0; r < WHOLE_REPS; r++) {
    const start = process.hrtime.bigint();
    const ids = await encodeIds(tokenizer, text);
    wholeBest = Math.min(wholeBest, seconds(start));
    wholeIds = ids;
  }

  let lineIds = 0;
  let linesBest = Infinity;
  for (let r = 0; r < LINE_REPS; r++) {
    let count = 0;
    const start = process.hrtime.bigint();
    for (const line of lines) {
      count += (await encodeIds(tokenizer, line)).length;
    }
    linesBest = Math.min(linesBest, seconds(start));
    lineIds = count;
  }

  const hash = crypto.createHash("sha256").update(Array.from(wholeIds).join(",")).digest("hex");
  const round = (x, digits) => Number(x.toFixed(digits));
  console.log(
    JSON.stringify({
      load_ms: round(loadBest * 1e3, 1),
      whole_mb_s: round(bytes / wholeBest / 1e6, 3),
      lines_mb_s: round(bytes / linesBest / 1e6, 3),
      ids: wholeIds.length,
      ids_lines: lineIds,
      ids_hash: hash,
    })
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
