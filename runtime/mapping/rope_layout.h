#ifndef MODELHUB_RUNTIME_CHECKPOINT_ROPE_LAYOUT_H_
#define MODELHUB_RUNTIME_CHECKPOINT_ROPE_LAYOUT_H_

#include <ATen/ATen.h>

#include "runtime/blueprint/rope_settings.h"

namespace modelhub {

// Reorders the rows of a tensor that feeds rotary embeddings, head by head,
// from RoPE layout `from` to `to`, so that rotary embeddings in layout `to`
// compute what `from` computed on the original (REFERENCE §4: Meta's
// interleaved pairs vs Hugging Face's halves). Rows are heads of `head_dim`:
// a q/k projection weight [heads * head_dim, model_dim], its bias, or a per-head
// q/k norm weight [head_dim]. Returns `tensor` itself when the layouts agree.
// Throws InvalidModelInputError when the rows do not split into heads of
// `head_dim`, or head_dim is odd.
at::Tensor ConvertRopeLayout(const at::Tensor& tensor, int64_t head_dim, RopeLayout from,
                             RopeLayout to);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_ROPE_LAYOUT_H_
