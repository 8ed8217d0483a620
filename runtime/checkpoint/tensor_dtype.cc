#include "runtime/checkpoint/tensor_dtype.h"

#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"

namespace modelhub {
namespace {

struct DtypeInfo {
  TensorDtype dtype;
  const char* name;
  size_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {TensorDtype::kBool, "BOOL", 1},      {TensorDtype::kU8, "U8", 1},
    {TensorDtype::kI8, "I8", 1},          {TensorDtype::kF8E4M3, "F8_E4M3", 1},
    {TensorDtype::kF8E5M2, "F8_E5M2", 1}, {TensorDtype::kI16, "I16", 2},
    {TensorDtype::kU16, "U16", 2},        {TensorDtype::kF16, "F16", 2},
    {TensorDtype::kBF16, "BF16", 2},      {TensorDtype::kI32, "I32", 4},
    {TensorDtype::kU32, "U32", 4},        {TensorDtype::kF32, "F32", 4},
    {TensorDtype::kI64, "I64", 8},        {TensorDtype::kU64, "U64", 8},
    {TensorDtype::kF64, "F64", 8},
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

std::optional<c10::ScalarType> ToScalarType(TensorDtype dtype) {
  switch (dtype) {
    case TensorDtype::kBool:
      return c10::ScalarType::Bool;
    case TensorDtype::kU8:
      return c10::ScalarType::Byte;
    case TensorDtype::kI8:
      return c10::ScalarType::Char;
    case TensorDtype::kI16:
      return c10::ScalarType::Short;
    case TensorDtype::kF16:
      return c10::ScalarType::Half;
    case TensorDtype::kBF16:
      return c10::ScalarType::BFloat16;
    case TensorDtype::kI32:
      return c10::ScalarType::Int;
    case TensorDtype::kF32:
      return c10::ScalarType::Float;
    case TensorDtype::kI64:
      return c10::ScalarType::Long;
    case TensorDtype::kF64:
      return c10::ScalarType::Double;
    case TensorDtype::kF8E4M3:
    case TensorDtype::kF8E5M2:
    case TensorDtype::kU16:
    case TensorDtype::kU32:
    case TensorDtype::kU64:
      return std::nullopt;
  }
  return std::nullopt;
}

TensorDtype FromScalarType(c10::ScalarType type) {
  switch (type) {
    case c10::ScalarType::Bool:
      return TensorDtype::kBool;
    case c10::ScalarType::Byte:
      return TensorDtype::kU8;
    case c10::ScalarType::Char:
      return TensorDtype::kI8;
    case c10::ScalarType::Short:
      return TensorDtype::kI16;
    case c10::ScalarType::Half:
      return TensorDtype::kF16;
    case c10::ScalarType::BFloat16:
      return TensorDtype::kBF16;
    case c10::ScalarType::Int:
      return TensorDtype::kI32;
    case c10::ScalarType::Float:
      return TensorDtype::kF32;
    case c10::ScalarType::Long:
      return TensorDtype::kI64;
    case c10::ScalarType::Double:
      return TensorDtype::kF64;
    default:
      throw std::invalid_argument(
          absl::StrCat("checkpoints have no dtype for LibTorch's ", c10::toString(type)));
  }
}

}  // namespace modelhub
