#ifndef MODELHUB_RUNTIME_CHECKPOINT_TENSOR_DTYPE_H_
#define MODELHUB_RUNTIME_CHECKPOINT_TENSOR_DTYPE_H_

// The element types checkpoint files store, whatever their format, named as
// safetensors names them. A checkpoint may hold types LibTorch 1.13 lacks
// (float8, unsigned 16-64 bit): they are described and copied as bytes, and
// only refused where a LibTorch tensor of them is needed.

#include <c10/core/ScalarType.h>

#include <cstddef>
#include <optional>
#include <string_view>

namespace modelhub {

// Element types of checkpoint tensors.
enum class TensorDtype {
  kBool,
  kU8,
  kI8,
  kF8E4M3,
  kF8E5M2,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kI64,
  kU64,
  kF64,
};

// The dtype's name in safetensors headers ("BF16", "F8_E4M3").
std::string_view TensorDtypeName(TensorDtype dtype);

// The dtype named `name` in a safetensors header, or nullopt if none is.
std::optional<TensorDtype> ParseTensorDtype(std::string_view name);

// The size in bytes of one element of `dtype`.
size_t TensorDtypeSize(TensorDtype dtype);

// The LibTorch dtype of `dtype`, or nullopt where LibTorch 1.13 has none
// (F8_E4M3, F8_E5M2, U16, U32, U64).
std::optional<c10::ScalarType> ToScalarType(TensorDtype dtype);

// The checkpoint dtype of LibTorch dtype `type`. Throws std::invalid_argument
// where checkpoints have none (complex and quantized types).
TensorDtype FromScalarType(c10::ScalarType type);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_TENSOR_DTYPE_H_
