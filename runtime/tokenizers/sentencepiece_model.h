#ifndef MODELHUB_RUNTIME_TOKENIZERS_SENTENCEPIECE_MODEL_H_
#define MODELHUB_RUNTIME_TOKENIZERS_SENTENCEPIECE_MODEL_H_

// Reads a SentencePiece BPE `.model` file (the `tokenizer.model` of Llama 1/2,
// Mistral v0.1 and others) into a PipelineSpec, converted as Hugging Face
// transformers' LlamaConverter (legacy layout) converts it into the
// tokenizer.json of the model's fast tokenizer, so PipelineTokenizer gives the
// ids of that tokenizer.json. No SentencePiece library is involved: the file is
// a ModelProto (sentencepiece_model.proto) in the protobuf wire format, read
// here by hand.
//
// The conversion:
//   - vocab: the pieces, id = index;
//   - merges: for every piece, each split of it into two pieces of the vocab
//     (at character boundaries); ordered by the score of the merged piece,
//     highest first, then by the merged piece's id, then by the ids of the left
//     and right pieces (transformers' SentencePieceExtractor, stable-sorting by
//     score the splits it collected in id order; LlamaConverter scores the
//     pieces of ids 0, 1 and 2 as 0). This is the order of the merges of
//     Mistral's and Llama 2's published tokenizer.json files. Newer
//     transformers also sort equal scores by the lengths of the left and right
//     pieces (longest first), which reorders merges of equal score (of one
//     piece, or of the -1e9 "▁▁..." pieces) but gave the same ids on all test
//     text;
//   - model options: byte_fallback from trainer_spec, unk token the UNKNOWN
//     piece, fuse_unk;
//   - normalizer: Prepend("▁") when normalizer_spec.add_dummy_prefix, then
//     Replace(" ", "▁"); no pre-tokenizer;
//   - added tokens, matched in the raw text (normalized false): the UNKNOWN and
//     CONTROL pieces, special; USER_DEFINED pieces, not special;
//   - template: the BOS piece, then the sequence (no EOS), when the model has a
//     BOS (SentencePiece's bos_id(): trainer_spec.bos_piece, a CONTROL piece);
//   - decoder: Replace("▁", " "), ByteFallback, Fuse, then Strip(" ", 1, 0)
//     when add_dummy_prefix.
//
// What this conversion cannot give exactly as SentencePiece would is refused
// with a TokenizerLoadError naming the field: a model type other than BPE
// (unigram, word, char), a normalizer (a precompiled_charsmap, or a name other
// than "identity"), remove_extra_whitespaces (SentencePiece's default: true),
// escape_whitespaces false, treat_whitespace_as_suffix, a denormalizer, UNUSED
// pieces.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/tokenizers/pipeline_spec.h"

namespace modelhub {

// The model's beginning- and end-of-sequence pieces, as SentencePiece's
// bos_id() and eos_id() find them: the id of trainer_spec.bos_piece
// (eos_piece), "<s>" ("</s>") unless set, when the model has it as a CONTROL
// piece; nullopt otherwise.
struct SentencePieceSpecialIds {
  std::optional<int32_t> bos;
  std::optional<int32_t> eos;
};

// Parses the ModelProto `bytes`, read from `path` (for messages), into the
// PipelineSpec above; sets `*special_ids` when not null. Throws
// TokenizerLoadError with `where` "byte N" (the offset in the file) for bytes
// that are not a well-formed ModelProto (a truncated varint, key or field, a
// length past the end of its message, a field number 0, a group or an unknown
// wire type, a known field with the wrong wire type, a piece type that does
// not exist) and for pieces SentencePiece itself would refuse (empty, not
// UTF-8, given twice, no UNKNOWN piece or two, a BYTE piece that is not
// <0xHH>, byte_fallback without all 256 BYTE pieces or BYTE pieces without
// byte_fallback), and for what the conversion cannot represent (see above).
PipelineSpec ParseSentencePieceModel(std::string_view bytes, const std::string& path,
                                     SentencePieceSpecialIds* special_ids = nullptr);

// Reads and parses the SentencePiece model at `path`. Throws TokenizerLoadError
// as ParseSentencePieceModel does, or when the file cannot be read.
PipelineSpec ReadSentencePieceModel(const std::string& path,
                                    SentencePieceSpecialIds* special_ids = nullptr);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_TOKENIZERS_SENTENCEPIECE_MODEL_H_
