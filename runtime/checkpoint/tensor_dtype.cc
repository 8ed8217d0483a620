#include "runtime/checkpoint/tensor_dtype.h"

#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"

namespace modelhub {
namespace {

using c10::ScalarType;

struct DtypeInfo {
  TensorDtype dtype;
  const char* name;
  size_t size;
  std::optional<ScalarType> torch;  // none where LibTorch 1.13 lacks it
};

constexpr DtypeInfo kDtypes[] = {
    {TensorDtype::kBool, "BOOL", 1, ScalarType::Bool},
    {TensorDtype::kU8, "U8", 1, ScalarType::Byte},
    {TensorDtype::kI8, "I8", 1, ScalarType::Char},
    {TensorDtype::kF8E4M3, "F8_E4M3", 1, std::nullopt},
    {TensorDtype::kF8E5M2, "F8_E5M2", 1, std::nullopt},
    {TensorDtype::kI16, "I16", 2, ScalarType::Short},
    {TensorDtype::kU16, "U16", 2, std::nullopt},
    {TensorDtype::kF16, "F16", 2, ScalarType::Half},
    {TensorDtype::kBF16, "BF16", 2, ScalarType::BFloat16},
    {TensorDtype::kI32, "I32", 4, ScalarType::Int},
    {TensorDtype::kU32, "U32", 4, std::nullopt},
    {TensorDtype::kF32, "F32", 4, ScalarType::Float},
    {TensorDtype::kI64, "I64", 8, ScalarType::Long},
    {TensorDtype::kU64, "U64", 8, std::nullopt},
    {TensorDtype::kF64, "F64", 8, ScalarType::Double},
};

const DtypeInfo& Info(TensorDtype dtype) {
  for (const DtypeInfo& info : kDtypes) {
    if (info.dtype == dtype) return info;
  }
  throw std::invalid_argument("not a TensorDtype: " + std::to_string(static_cast<int>(dtype)));
}

}  // namespace

std::string_view TensorDtypeName(TensorDtype dtype) { return Info(dtype).name; }

std::optional<TensorDtype> ParseTensorDtype(std::string_view name) {
  for (const DtypeInfo& info : kDtypes) {
    if (name == info.name) return info.dtype;
  }
  return std::nullopt;
}

size_t TensorDtypeSize(TensorDtype dtype) { return Info(dtype).size; }

std::optional<c10::ScalarType> ToScalarType(TensorDtype dtype) { return Info(dtype).torch; }

TensorDtype FromScalarType(c10::ScalarType type) {
  for (const DtypeInfo& info : kDtypes) {
    if (info.torch == type) return info.dtype;
  }
  throw std::invalid_argument(
      absl::StrCat("checkpoints have no dtype for LibTorch's ", c10::toString(type)));
}

}  // namespace modelhub
