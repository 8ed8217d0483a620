#ifndef MODELHUB_RUNTIME_CHECKPOINT_ROPE_LAYOUT_H_
#define MODELHUB_RUNTIME_CHECKPOINT_ROPE_LAYOUT_H_

#include <ATen/ATen.h>

#include "runtime/models/decoder_blueprint.h"

namespace modelhub {

// Reorders the output rows of a query or key projection (weight [num_heads *
// head_dim, ...] or bias [num_heads * head_dim]) from RoPE layout `from` to `to`,
// so that rotary embeddings in layout `to` compute what `from` computed on the
// original (REFERENCE §4: Meta's interleaved pairs vs Hugging Face's halves).
// Returns `tensor` itself when the layouts agree. Throws InvalidModelInputError
// when the rows do not split into num_heads heads of even size.
at::Tensor ConvertRopeLayout(const at::Tensor& tensor, int64_t num_heads, RopeLayout from,
                             RopeLayout to);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_ROPE_LAYOUT_H_
