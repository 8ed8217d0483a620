#include "runtime/formats/tensor_dtype.h"

#include <iterator>

namespace modelhub {
namespace {

using c10::ScalarType;

struct DtypeInfo {
  TensorDtype dtype;
  const char* name;
  size_t bits;
  std::optional<ScalarType> torch;  // none where LibTorch 1.13 lacks it
};

// Indexed by TensorDtype (checked below); bit sizes as the safetensors crate's
// Dtype::bitsize gives them.
constexpr DtypeInfo kDtypes[] = {
    {TensorDtype::kBool, "BOOL", 8, ScalarType::Bool},
    {TensorDtype::kF4, "F4", 4, std::nullopt},
    {TensorDtype::kF6E2M3, "F6_E2M3", 6, std::nullopt},
    {TensorDtype::kF6E3M2, "F6_E3M2", 6, std::nullopt},
    {TensorDtype::kU8, "U8", 8, ScalarType::Byte},
    {TensorDtype::kI8, "I8", 8, ScalarType::Char},
    {TensorDtype::kF8E5M2, "F8_E5M2", 8, std::nullopt},
    {TensorDtype::kF8E4M3, "F8_E4M3", 8, std::nullopt},
    {TensorDtype::kF8E8M0, "F8_E8M0", 8, std::nullopt},
    {TensorDtype::kF8E4M3Fnuz, "F8_E4M3FNUZ", 8, std::nullopt},
    {TensorDtype::kF8E5M2Fnuz, "F8_E5M2FNUZ", 8, std::nullopt},
    {TensorDtype::kI16, "I16", 16, ScalarType::Short},
    {TensorDtype::kU16, "U16", 16, std::nullopt},
    {TensorDtype::kF16, "F16", 16, ScalarType::Half},
    {TensorDtype::kBF16, "BF16", 16, ScalarType::BFloat16},
    {TensorDtype::kI32, "I32", 32, ScalarType::Int},
    {TensorDtype::kU32, "U32", 32, std::nullopt},
    {TensorDtype::kF32, "F32", 32, ScalarType::Float},
    {TensorDtype::kC64, "C64", 64, ScalarType::ComplexFloat},
    {TensorDtype::kF64, "F64", 64, ScalarType::Double},
    {TensorDtype::kI64, "I64", 64, ScalarType::Long},
    {TensorDtype::kU64, "U64", 64, std::nullopt},
    {TensorDtype::kC128, "C128", 128, ScalarType::ComplexDouble},
};

constexpr bool TableIsIndexedByDtype() {
  for (size_t i = 0; i < std::size(kDtypes); ++i) {
    if (static_cast<size_t>(kDtypes[i].dtype) != i) return false;
  }
  return std::size(kDtypes) == static_cast<size_t>(TensorDtype::kC128) + 1;
}
static_assert(TableIsIndexedByDtype(), "kDtypes must list every TensorDtype in enum order");

const DtypeInfo& Info(TensorDtype dtype) { return kDtypes[static_cast<size_t>(dtype)]; }

}  // namespace

std::string_view TensorDtypeName(TensorDtype dtype) { return Info(dtype).name; }

std::optional<TensorDtype> ParseTensorDtype(std::string_view name) {
  for (const DtypeInfo& info : kDtypes) {
    if (name == info.name) return info.dtype;
  }
  return std::nullopt;
}

bool IsSafetensorsDtype(TensorDtype dtype) { return dtype != TensorDtype::kC128; }

size_t TensorDtypeBits(TensorDtype dtype) { return Info(dtype).bits; }

size_t TensorDtypeSize(TensorDtype dtype) {
  const size_t bits = Info(dtype).bits;
  return bits % 8 == 0 ? bits / 8 : 0;
}

std::optional<c10::ScalarType> ToScalarType(TensorDtype dtype) { return Info(dtype).torch; }

std::optional<TensorDtype> FromScalarType(c10::ScalarType type) {
  for (const DtypeInfo& info : kDtypes) {
    if (info.torch == type) return info.dtype;
  }
  return std::nullopt;
}

}  // namespace modelhub
