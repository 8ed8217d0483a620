#ifndef MODELHUB_RUNTIME_CHECKPOINT_TENSOR_DTYPE_H_
#define MODELHUB_RUNTIME_CHECKPOINT_TENSOR_DTYPE_H_

// The element types checkpoint files store, whatever their format, named as
// safetensors names them. A checkpoint may hold types LibTorch 1.13 lacks
// (float4/6/8, unsigned 16-64 bit): they are described and copied as bytes,
// and only refused where a LibTorch tensor of them is needed.

#include <c10/core/ScalarType.h>

#include <cstddef>
#include <optional>
#include <string_view>

namespace modelhub {

// Element types of checkpoint tensors: the 22 dtypes of the safetensors crate
// (safetensors/src/tensor.rs, Dtype) and C128, which only torch.save files
// hold.
enum class TensorDtype {
  kBool,
  kF4,
  kF6E2M3,
  kF6E3M2,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kF8E8M0,
  kF8E4M3Fnuz,
  kF8E5M2Fnuz,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kC64,
  kF64,
  kI64,
  kU64,
  kC128,
};

// The dtype's name ("BF16", "F8_E4M3", "F6_E2M3"), as safetensors headers
// write it ("C128", which safetensors lacks, as torch names it in modelhub).
std::string_view TensorDtypeName(TensorDtype dtype);

// The dtype named `name` (see TensorDtypeName), or nullopt if none is.
std::optional<TensorDtype> ParseTensorDtype(std::string_view name);

// True for the dtypes the safetensors format knows (all but C128).
bool IsSafetensorsDtype(TensorDtype dtype);

// The size in bits of one element of `dtype` (4 for F4, 6 for F6_*).
size_t TensorDtypeBits(TensorDtype dtype);

// The size in bytes of one element of `dtype`, or 0 for the sub-byte dtypes
// (F4, F6_E2M3, F6_E3M2), whose elements are not whole bytes: see
// TensorDtypeBits.
size_t TensorDtypeSize(TensorDtype dtype);

// The LibTorch dtype of `dtype`, or nullopt where LibTorch 1.13 has none
// (F4, F6_*, F8_*, U16, U32, U64).
std::optional<c10::ScalarType> ToScalarType(TensorDtype dtype);

// The checkpoint dtype of LibTorch dtype `type`, or nullopt where checkpoints
// have none (quantized types, ComplexHalf).
std::optional<TensorDtype> FromScalarType(c10::ScalarType type);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_TENSOR_DTYPE_H_
