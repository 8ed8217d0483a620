#include "runtime/checkpoint/torch_checkpoint.h"

#include <algorithm>
#include <any>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/checkpoint/pickle.h"
#include "runtime/checkpoint/tensor_dtype.h"
#include "runtime/checkpoint/zip_archive.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

using Kind = PickleValue::Kind;

// data.pkl is read whole into memory: refuse more than this.
constexpr uint64_t kMaxPickleSize = uint64_t{1} << 30;
// The `version` and `byteorder` records are a few bytes.
constexpr uint64_t kMaxSmallRecord = 4096;
// The newest zip file format version torch 2.x reads
// (caffe2::serialize::kMaxSupportedFileFormatVersion); torch.save writes 3.
constexpr uint64_t kMaxFormatVersion = 10;
// Offset of the "ustar" magic in a tar header.
constexpr size_t kTarMagicOffset = 257;

const char kWeightsOnly[] = "modelhub reads weights only, like torch.load(weights_only=True)";
const char kResave[] =
    "re-save it with torch.save from PyTorch 1.6 or later (or convert to safetensors)";

// --- What the hooks make. Each is the std::any payload of a kObject value.

// An allowlisted function or class.
enum class Callee {
  kOrderedDict,
  kRebuildTensorV2,
  kRebuildTensorV3,
  kRebuildParameter,
  kRebuildParameterWithState,
  kRebuildFromTypeV2,
  kTensorClass,
  kParameterClass,
};

struct GlobalRef {
  Callee callee;
};

// torch.<Type>Storage, or torch.UntypedStorage (bytes).
struct StorageType {
  TensorDtype dtype;
  bool untyped;
};

// torch.float8_e4m3fn and the other dtypes (_rebuild_tensor_v3's argument).
struct DtypeRef {
  TensorDtype dtype;
};

// A storage: a record of the zip holding `bytes` bytes of elements.
struct Storage {
  std::string key;
  StorageType type;
  uint64_t numel = 0;  // in elements of type.dtype (bytes when untyped)
  uint64_t bytes = 0;
  const ZipRecord* record = nullptr;
};

// A tensor, located in the file; `entry.name` is set at the top level.
struct Tensor {
  TensorEntry entry;
};

// A class skipped with restrict = false, and its instances.
struct SkippedClass {
  std::string name;
};
struct SkippedInstance {};

template <typename T>
const T* As(const PickleValue* value) {
  if (value == nullptr || value->kind != Kind::kObject) return nullptr;
  return std::any_cast<T>(&value->object);
}

bool IsGlobal(const PickleValue* value, Callee callee) {
  const GlobalRef* ref = As<GlobalRef>(value);
  return ref != nullptr && ref->callee == callee;
}

std::string Describe(const PickleValue* value) { return DescribePickleValue(*value); }

std::string Quoted(std::string_view text) { return absl::StrCat("'", std::string(text), "'"); }

std::string DtypeName(TensorDtype dtype) { return std::string(TensorDtypeName(dtype)); }

// "tensor F32 [2, 3]"
std::string TensorLabel(const TensorEntry& entry) {
  return absl::StrCat("tensor ", DtypeName(entry.dtype), " [", absl::StrJoin(entry.shape, ", "),
                      "]");
}

std::optional<TensorDtype> LegacyStorageDtype(std::string_view name) {
  static const std::pair<const char*, TensorDtype> kStorages[] = {
      {"FloatStorage", TensorDtype::kF32}, {"DoubleStorage", TensorDtype::kF64},
      {"HalfStorage", TensorDtype::kF16},  {"BFloat16Storage", TensorDtype::kBF16},
      {"LongStorage", TensorDtype::kI64},  {"IntStorage", TensorDtype::kI32},
      {"ShortStorage", TensorDtype::kI16}, {"CharStorage", TensorDtype::kI8},
      {"ByteStorage", TensorDtype::kU8},   {"BoolStorage", TensorDtype::kBool},
  };
  for (const auto& [storage, dtype] : kStorages) {
    if (name == storage) return dtype;
  }
  return std::nullopt;
}

// torch.<name> as pickled by torch.dtype.__reduce__.
std::optional<TensorDtype> TorchDtype(std::string_view name) {
  static const std::pair<const char*, TensorDtype> kDtypes[] = {
      {"float32", TensorDtype::kF32},
      {"float64", TensorDtype::kF64},
      {"float16", TensorDtype::kF16},
      {"bfloat16", TensorDtype::kBF16},
      {"int64", TensorDtype::kI64},
      {"int32", TensorDtype::kI32},
      {"int16", TensorDtype::kI16},
      {"int8", TensorDtype::kI8},
      {"uint8", TensorDtype::kU8},
      {"bool", TensorDtype::kBool},
      {"float8_e4m3fn", TensorDtype::kF8E4M3},
      {"float8_e5m2", TensorDtype::kF8E5M2},
      {"uint16", TensorDtype::kU16},
      {"uint32", TensorDtype::kU32},
      {"uint64", TensorDtype::kU64},
  };
  for (const auto& [dtype_name, dtype] : kDtypes) {
    if (name == dtype_name) return dtype;
  }
  return std::nullopt;
}

// Why torch.<name> (a storage type or dtype modelhub does not read) is
// refused, or empty when it is no such type.
std::string UnsupportedTorchType(const std::string& name) {
  if (absl::StartsWith(name, "Complex") || absl::StartsWith(name, "complex") || name == "cfloat" ||
      name == "cdouble" || name == "chalf") {
    return "complex tensors are not supported";
  }
  if (absl::StartsWith(name, "QInt") || absl::StartsWith(name, "QUInt") ||
      absl::StartsWith(name, "qint") || absl::StartsWith(name, "quint")) {
    return "quantized tensors are not supported";
  }
  // Small floats and sub-byte types of torch 2.x that checkpoints lack a
  // dtype for.
  static const std::unordered_set<std::string> kOtherDtypes = {
      "float8_e4m3fnuz",
      "float8_e5m2fnuz",
      "float8_e8m0fnu",
      "float4_e2m1fn_x2",
      "bits8",
      "bits16",
      "bits1x8",
      "bits2x4",
      "bits4x2",
      "int1",
      "int2",
      "int3",
      "int4",
      "int5",
      "int6",
      "int7",
      "uint1",
      "uint2",
      "uint3",
      "uint4",
      "uint5",
      "uint6",
      "uint7",
  };
  if (kOtherDtypes.count(name) != 0) {
    return absl::StrCat("the dtype torch.", name, " is not supported");
  }
  return "";
}

// The C++ side of torch.load(weights_only=True): allowlisted globals only;
// tensors become TensorEntry values located in the zip.
class TorchHooks : public PickleHooks {
 public:
  TorchHooks(const ZipArchive& zip, std::string prefix, const TorchLoadOptions& options)
      : zip_(zip), prefix_(std::move(prefix)), options_(options) {}

  PickleValue* ResolveGlobal(PickleArena& arena, const std::string& module, const std::string& name,
                             uint64_t offset) override {
    const std::string full = absl::StrCat(module, ".", name);
    static const std::pair<const char*, Callee> kCallees[] = {
        {"collections.OrderedDict", Callee::kOrderedDict},
        {"torch._utils._rebuild_tensor_v2", Callee::kRebuildTensorV2},
        {"torch._utils._rebuild_tensor_v3", Callee::kRebuildTensorV3},
        {"torch._utils._rebuild_parameter", Callee::kRebuildParameter},
        {"torch._utils._rebuild_parameter_with_state", Callee::kRebuildParameterWithState},
        {"torch._tensor._rebuild_from_type_v2", Callee::kRebuildFromTypeV2},
        {"torch.Tensor", Callee::kTensorClass},
        {"torch._tensor.Tensor", Callee::kTensorClass},
        {"torch.nn.parameter.Parameter", Callee::kParameterClass},
    };
    for (const auto& [callee_name, callee] : kCallees) {
      if (full == callee_name) return arena.NewObject(full, GlobalRef{callee}, offset);
    }
    if (module == "torch") {
      if (std::optional<TensorDtype> dtype = LegacyStorageDtype(name)) {
        return arena.NewObject(full, StorageType{*dtype, false}, offset);
      }
      if (std::optional<TensorDtype> dtype = TorchDtype(name)) {
        return arena.NewObject(full, DtypeRef{*dtype}, offset);
      }
      const std::string why = UnsupportedTorchType(name);
      if (!why.empty()) throw PickleRefusal(absl::StrCat("global ", Quoted(full), ": ", why));
    }
    if (full == "torch.UntypedStorage" || full == "torch.storage.UntypedStorage") {
      return arena.NewObject(full, StorageType{TensorDtype::kU8, true}, offset);
    }
    const bool harmless = full == "argparse.Namespace" || module == "fairseq2" ||
                          absl::StartsWith(module, "fairseq2.");
    if (harmless && !options_.restrict) {
      return arena.NewObject("class " + full, SkippedClass{full}, offset);
    }
    throw PickleRefusal(absl::StrCat(
        "global ", Quoted(full), " is not allowed (", kWeightsOnly, ")",
        harmless ? "; set `restrict: false` on the model's card to skip argparse.Namespace and "
                   "fairseq2 objects"
                 : ""));
  }

  PickleValue* Reduce(PickleArena& arena, PickleValue* callable, PickleValue* args,
                      uint64_t offset) override {
    if (const SkippedClass* skipped = As<SkippedClass>(callable)) {
      return arena.NewObject("skipped " + skipped->name, SkippedInstance{}, offset);
    }
    const GlobalRef* ref = As<GlobalRef>(callable);
    const std::vector<PickleValue*>& items = args->items;
    if (ref != nullptr) {
      switch (ref->callee) {
        case Callee::kOrderedDict:
          return NewOrderedDict(arena, items, offset);
        case Callee::kRebuildTensorV2:
        case Callee::kRebuildTensorV3:
          return RebuildTensor(arena, ref->callee, *args, offset);
        case Callee::kRebuildParameter:
        case Callee::kRebuildParameterWithState: {
          // (data, requires_grad, backward_hooks[, state]): the parameter is
          // its data; a state (Python attributes) is ignored.
          const size_t expected = ref->callee == Callee::kRebuildParameter ? 3 : 4;
          CheckArgCount(*callable, items, expected, expected);
          if (As<Tensor>(items[0]) == nullptr) {
            throw PickleRefusal(absl::StrCat(callable->text, " rebuilds a parameter from ",
                                             Describe(items[0]), ", not a tensor"));
          }
          return items[0];
        }
        case Callee::kRebuildFromTypeV2: {
          // (func, new_type, args, state): a tensor whose type or Python
          // attributes (state, ignored) are not plain torch.Tensor's.
          CheckArgCount(*callable, items, 4, 4);
          const bool rebuild = IsGlobal(items[0], Callee::kRebuildTensorV2) ||
                               IsGlobal(items[0], Callee::kRebuildTensorV3);
          const bool tensor_type = IsGlobal(items[1], Callee::kTensorClass) ||
                                   IsGlobal(items[1], Callee::kParameterClass);
          if (!rebuild || !tensor_type || items[2]->kind != Kind::kTuple) {
            throw PickleRefusal(absl::StrCat(
                callable->text, " with ", Describe(items[0]), " and ", Describe(items[1]),
                " is not allowed (only _rebuild_tensor_v2 or _v3 of torch.Tensor or "
                "torch.nn.parameter.Parameter)"));
          }
          return RebuildTensor(arena, As<GlobalRef>(items[0])->callee, *items[2], offset);
        }
        case Callee::kTensorClass:
        case Callee::kParameterClass:
          break;
      }
    }
    throw PickleRefusal(absl::StrCat("REDUCE calls ", Describe(callable),
                                     ", which is not allowed (", kWeightsOnly, ")"));
  }

  PickleValue* NewObject(PickleArena& arena, PickleValue* cls, PickleValue* /*args*/,
                         uint64_t offset) override {
    if (const SkippedClass* skipped = As<SkippedClass>(cls)) {
      return arena.NewObject("skipped " + skipped->name, SkippedInstance{}, offset);
    }
    throw PickleRefusal(
        absl::StrCat("NEWOBJ of ", Describe(cls), " is not allowed (", kWeightsOnly, ")"));
  }

  PickleValue* Build(PickleArena& /*arena*/, PickleValue* instance, PickleValue* state,
                     uint64_t /*offset*/) override {
    if (As<SkippedInstance>(instance) != nullptr) return instance;
    const bool no_state = state->kind == Kind::kNone ||
                          (state->kind == Kind::kDict && state->entries.empty()) ||
                          (state->kind == Kind::kTuple && state->items.empty());
    if (instance->kind == Kind::kDict) {
      // An OrderedDict's attributes: state dicts carry `_metadata` (module
      // versions), which is ignored.
      if (no_state) return instance;
      if (state->kind == Kind::kDict) {
        const bool only_metadata =
            std::all_of(state->entries.begin(), state->entries.end(), [](const auto& entry) {
              return entry.first->kind == Kind::kStr && entry.first->text == "_metadata";
            });
        if (only_metadata) return instance;
      }
      throw PickleRefusal(absl::StrCat("BUILD sets ", Describe(state),
                                       " on a dict; only a state dict's _metadata is allowed"));
    }
    if (As<Tensor>(instance) != nullptr && no_state) return instance;
    throw PickleRefusal(absl::StrCat("BUILD of ", Describe(instance), " with ", Describe(state),
                                     " is not allowed (", kWeightsOnly, ")"));
  }

  PickleValue* PersistentLoad(PickleArena& arena, PickleValue* pid, uint64_t offset) override {
    const std::vector<PickleValue*>& items = pid->items;
    const auto is_text = [](const PickleValue* value) {
      return value->kind == Kind::kStr || value->kind == Kind::kBytes;
    };
    if (pid->kind != Kind::kTuple || items.size() != 5 || !is_text(items[0]) ||
        items[0]->text != "storage") {
      throw PickleRefusal(absl::StrCat("persistent id ", Describe(pid),
                                       " is not a ('storage', type, key, location, numel) tuple"));
    }
    const StorageType* type = As<StorageType>(items[1]);
    if (type == nullptr) {
      throw PickleRefusal(
          absl::StrCat("the storage type of a persistent id is ", Describe(items[1])));
    }
    if (items[2]->kind != Kind::kStr) {
      throw PickleRefusal(absl::StrCat("the storage key of a persistent id is ", Describe(items[2]),
                                       ", not a str"));
    }
    if (!is_text(items[3])) {
      throw PickleRefusal(absl::StrCat("the storage location of a persistent id is ",
                                       Describe(items[3]), ", not a str"));
    }
    if (items[4]->kind != Kind::kInt || items[4]->integer < 0) {
      throw PickleRefusal(absl::StrCat("the storage size of a persistent id is ",
                                       Describe(items[4]), ", not a count"));
    }
    const std::string& key = items[2]->text;
    const uint64_t numel = static_cast<uint64_t>(items[4]->integer);

    // A storage named again (by several tensors) must say the same.
    auto seen = storages_.find(key);
    if (seen != storages_.end()) {
      const Storage& storage = *As<Storage>(seen->second);
      if (storage.type.dtype != type->dtype || storage.type.untyped != type->untyped ||
          storage.numel != numel) {
        throw PickleRefusal(absl::StrCat("storage ", Quoted(key), " is claimed as ",
                                         Describe(items[1]), " of ", numel, " elements after ",
                                         seen->second->text));
      }
      return seen->second;
    }

    const std::string record_name = absl::StrCat(prefix_, "data/", key);
    const ZipRecord* record = zip_.Find(record_name);
    if (record == nullptr) {
      throw PickleRefusal(absl::StrCat("storage ", Quoted(key), " has no record ",
                                       Quoted(record_name), " in the zip"));
    }
    const uint64_t element_size = type->untyped ? 1 : TensorDtypeSize(type->dtype);
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(numel, element_size, &bytes)) {
      throw PickleRefusal(absl::StrCat("claimed storage of ", numel, " elements of ", element_size,
                                       " bytes (", Describe(items[1]), ") overflows 64 bits"));
    }
    if (bytes > record->size) {
      throw PickleRefusal(absl::StrCat("claimed storage of ", bytes, " bytes (", numel, " x ",
                                       element_size, ", ", Describe(items[1]),
                                       ") exceeds its record ", Quoted(record_name), " of ",
                                       record->size, " bytes"));
    }
    Storage storage{key, *type, numel, bytes, record};
    PickleValue* value = arena.NewObject(
        absl::StrCat("storage ", Quoted(key), " (", items[1]->text, ")"), storage, offset);
    storages_.emplace(key, value);
    return value;
  }

 private:
  static void CheckArgCount(const PickleValue& callable, const std::vector<PickleValue*>& items,
                            size_t low, size_t high) {
    if (items.size() < low || items.size() > high) {
      throw PickleRefusal(
          absl::StrCat(callable.text, " takes ",
                       low == high ? absl::StrCat(low) : absl::StrCat(low, " to ", high),
                       " arguments, not ", items.size()));
    }
  }

  // collections.OrderedDict() or OrderedDict(pairs): a dict.
  static PickleValue* NewOrderedDict(PickleArena& arena, const std::vector<PickleValue*>& items,
                                     uint64_t offset) {
    PickleValue* dict = arena.New(Kind::kDict, offset);
    if (items.empty()) return dict;
    const PickleValue* source = items[0];
    if (items.size() == 1 && source->kind == Kind::kDict) {
      arena.ChargeItems(source->entries.size());
      dict->entries = source->entries;
      return dict;
    }
    if (items.size() == 1 && (source->kind == Kind::kList || source->kind == Kind::kTuple)) {
      arena.ChargeItems(source->items.size());
      for (PickleValue* pair : source->items) {
        if ((pair->kind != Kind::kTuple && pair->kind != Kind::kList) || pair->items.size() != 2) {
          throw PickleRefusal(absl::StrCat("collections.OrderedDict gets ", Describe(pair),
                                           " where a (key, value) pair belongs"));
        }
        dict->entries.emplace_back(pair->items[0], pair->items[1]);
      }
      return dict;
    }
    throw PickleRefusal(absl::StrCat("collections.OrderedDict gets ", items.size(),
                                     " arguments, the first ", Describe(items[0]),
                                     "; only () or a list of pairs is allowed"));
  }

  // A tuple of non-negative ints (a size or stride).
  static std::vector<int64_t> Dims(const PickleValue& value, const char* what) {
    if (value.kind != Kind::kTuple && value.kind != Kind::kList) {
      throw PickleRefusal(
          absl::StrCat("the tensor's ", what, " is ", Describe(&value), ", not a tuple of ints"));
    }
    std::vector<int64_t> dims;
    for (const PickleValue* item : value.items) {
      if (item->kind != Kind::kInt) {
        throw PickleRefusal(
            absl::StrCat("the tensor's ", what, " holds ", Describe(item), ", not an int"));
      }
      if (item->integer < 0) {
        throw PickleRefusal(
            absl::StrCat("the tensor's ", what, " holds the negative ", item->integer));
      }
      dims.push_back(item->integer);
    }
    return dims;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
  // backward_hooks[, metadata]) or _rebuild_tensor_v3(..., backward_hooks,
  // dtype[, metadata]).
  PickleValue* RebuildTensor(PickleArena& arena, Callee callee, const PickleValue& args,
                             uint64_t offset) {
    const bool v3 = callee == Callee::kRebuildTensorV3;
    const char* name = v3 ? "torch._utils._rebuild_tensor_v3" : "torch._utils._rebuild_tensor_v2";
    const std::vector<PickleValue*>& items = args.items;
    const size_t base = v3 ? 7 : 6;
    if (items.size() < base || items.size() > base + 1) {
      throw PickleRefusal(
          absl::StrCat(name, " takes ", base, " or ", base + 1, " arguments, not ", items.size()));
    }
    const Storage* storage = As<Storage>(items[0]);
    if (storage == nullptr) {
      throw PickleRefusal(
          absl::StrCat(name, " gets ", Describe(items[0]), " where a storage belongs"));
    }
    if (items[1]->kind != Kind::kInt || items[1]->integer < 0) {
      throw PickleRefusal(absl::StrCat(name, " gets the storage offset ", Describe(items[1])));
    }
    const uint64_t storage_offset = static_cast<uint64_t>(items[1]->integer);
    std::vector<int64_t> shape = Dims(*items[2], "size");
    std::vector<int64_t> strides = Dims(*items[3], "stride");
    if (items[4]->kind != Kind::kBool) {
      throw PickleRefusal(absl::StrCat(name, " gets requires_grad ", Describe(items[4])));
    }
    if (items[5]->kind != Kind::kDict && items[5]->kind != Kind::kNone) {
      throw PickleRefusal(absl::StrCat(name, " gets backward hooks ", Describe(items[5])));
    }
    TensorDtype dtype = storage->type.dtype;
    if (v3) {
      const DtypeRef* dtype_ref = As<DtypeRef>(items[6]);
      if (dtype_ref == nullptr) {
        throw PickleRefusal(absl::StrCat(name, " gets ", Describe(items[6]), " as its dtype"));
      }
      dtype = dtype_ref->dtype;
    } else if (storage->type.untyped) {
      dtype = TensorDtype::kU8;
    }
    if (items.size() == base + 1) CheckTensorMetadata(*items[base]);

    const std::string where =
        absl::StrCat("the tensor over storage ", Quoted(storage->key), " (", DtypeName(dtype),
                     ", size [", absl::StrJoin(shape, ", "), "], stride [",
                     absl::StrJoin(strides, ", "), "], offset ", storage_offset, ")");
    if (shape.size() != strides.size()) {
      throw PickleRefusal(
          absl::StrCat(where, " has ", shape.size(), " sizes but ", strides.size(), " strides"));
    }
    const uint64_t element_size = TensorDtypeSize(dtype);
    const uint64_t capacity = storage->bytes / element_size;  // elements of `dtype`
    int64_t numel = 1;
    uint64_t last = 0;  // the furthest element from the first, in elements
    for (size_t d = 0; d < shape.size(); ++d) {
      uint64_t span = 0;
      if (__builtin_mul_overflow(numel, shape[d], &numel) ||
          (shape[d] > 0 && (__builtin_mul_overflow(static_cast<uint64_t>(shape[d] - 1),
                                                   static_cast<uint64_t>(strides[d]), &span) ||
                            __builtin_add_overflow(last, span, &last)))) {
        throw PickleRefusal(absl::StrCat(where, " overflows 64 bits"));
      }
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(numel), element_size, &nbytes)) {
      throw PickleRefusal(absl::StrCat(where, " overflows 64 bits"));
    }
    if (numel == 0) {
      if (storage_offset > capacity) {
        throw PickleRefusal(
            absl::StrCat(where, " starts past the end of its storage of ", capacity, " elements"));
      }
      last = 0;
    } else if (storage_offset >= capacity || last >= capacity - storage_offset) {
      throw PickleRefusal(
          absl::StrCat(where, ": its strides reach past its storage of ", capacity, " elements"));
    }

    Tensor tensor;
    TensorEntry& entry = tensor.entry;
    entry.dtype = dtype;
    entry.begin = storage->record->offset + storage_offset * element_size;
    entry.end = numel == 0 ? entry.begin : entry.begin + (last + 1) * element_size;
    // Row-major and contiguous (sizes of 1 may have any stride, as torch's
    // is_contiguous has it) needs no strides.
    // With numel > 0, every partial product of sizes fits in int64.
    bool contiguous = true;
    int64_t expected = 1;
    for (size_t d = shape.size(); numel > 0 && d-- > 0;) {
      if (shape[d] != 1 && strides[d] != expected) contiguous = false;
      expected *= shape[d];
    }
    if (numel == 0 || contiguous) strides.clear();
    entry.shape = std::move(shape);
    entry.strides = std::move(strides);
    std::string label = TensorLabel(entry);
    return arena.NewObject(std::move(label), std::move(tensor), offset);
  }

  // The metadata argument of _rebuild_tensor_v2/v3: None or a dict of flags
  // (conj, neg) that would change the values, so none may be set.
  static void CheckTensorMetadata(const PickleValue& metadata) {
    if (metadata.kind == Kind::kNone) return;
    if (metadata.kind != Kind::kDict) {
      throw PickleRefusal(absl::StrCat("the tensor's metadata is ", Describe(&metadata)));
    }
    for (const auto& [key, value] : metadata.entries) {
      if (value->kind == Kind::kBool && !value->boolean) continue;
      throw PickleRefusal(absl::StrCat("the tensor's metadata sets ", Describe(key), " to ",
                                       Describe(value),
                                       "; conjugate or negative views are not "
                                       "supported"));
    }
  }

  const ZipArchive& zip_;
  std::string prefix_;
  TorchLoadOptions options_;
  std::unordered_map<std::string, PickleValue*> storages_;
};

// Refuses the legacy (pre-1.6) formats, which are not zips: a bare pickle
// stream or a tar archive.
// The legacy pickle format: PROTO, then the magic number as a LONG1, whose
// bytes 4-7 are not zero.
bool IsLegacyPickle(std::string_view start) {
  return start.size() >= 8 && static_cast<uint8_t>(start[0]) == 0x80 &&
         (start[4] | start[5] | start[6] | start[7]) != 0;
}

bool IsLegacyTar(std::string_view start) {
  return start.size() >= kTarMagicOffset + 5 && start.substr(kTarMagicOffset, 5) == "ustar";
}

void RefuseLegacyFormats(const TensorFile& file) {
  const std::string& path = file.path();
  std::string head(std::min<uint64_t>(file.file_size(), kTorchSaveStartBytes), '\0');
  file.ReadBytes(0, head.size(), head.data(), "the start of the file");
  if (IsLegacyPickle(head)) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("legacy (pre-1.6) torch.save format; ", kResave));
  }
  if (IsLegacyTar(head)) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("legacy (pre-1.6) torch.save format (a tar archive); ", kResave));
  }
}

// The folder holding data.pkl ("archive/"), with its slash.
std::string FindPrefix(const std::string& path, const ZipArchive& zip) {
  std::vector<std::string> prefixes;
  for (const ZipRecord& record : zip.records()) {
    const size_t slash = record.name.find('/');
    if (slash != std::string::npos &&
        record.name.compare(slash + 1, std::string::npos, "data.pkl") == 0) {
      prefixes.push_back(record.name.substr(0, slash + 1));
    }
  }
  if (prefixes.empty()) {
    std::vector<std::string> names;
    for (size_t i = 0; i < zip.records().size() && i < 5; ++i) {
      names.push_back(Quoted(zip.records()[i].name));
    }
    throw CorruptModelCheckpointError(
        path, absl::StrCat("a zip without a <folder>/data.pkl record, so not a torch.save "
                           "checkpoint (its records: ",
                           names.empty() ? "none" : absl::StrJoin(names, ", "),
                           zip.records().size() > 5 ? ", ..." : "", ")"));
  }
  if (prefixes.size() > 1) {
    throw CorruptModelCheckpointError(
        path,
        absl::StrCat("the zip has several data.pkl records, in ", absl::StrJoin(prefixes, ", ")));
  }
  return prefixes[0];
}

void CheckVersion(const std::string& path, const ZipArchive& zip, const std::string& prefix) {
  const ZipRecord* version = zip.Find(prefix + "version");
  if (version == nullptr) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("the zip has no record ", Quoted(prefix + "version")));
  }
  std::string text = zip.ReadRecord(*version, kMaxSmallRecord);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  uint64_t number = 0;
  bool valid = !text.empty() && text.size() <= 18;
  for (char c : text) {
    if (c < '0' || c > '9') valid = false;
    number = number * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!valid) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("record ", Quoted(version->name), " at byte ", version->offset,
                           " holds ", Quoted(text.substr(0, 20)), ", not a version number"));
  }
  if (number > kMaxFormatVersion) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("record ", Quoted(version->name), " says format version ", number,
                           ", newer than the newest torch 2.x writes (", kMaxFormatVersion, ")"));
  }

  const ZipRecord* byteorder = zip.Find(prefix + "byteorder");
  if (byteorder == nullptr) return;  // written since torch 2.1; older files are little-endian
  const std::string order = zip.ReadRecord(*byteorder, kMaxSmallRecord);
  if (order == "little") return;
  if (order == "big") {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("the checkpoint was saved on a big-endian machine (record ",
                           Quoted(byteorder->name),
                           " says 'big'); modelhub reads little-endian checkpoints only: re-save "
                           "it on a little-endian machine or convert it to safetensors"));
  }
  throw CorruptModelCheckpointError(
      path, absl::StrCat("record ", Quoted(byteorder->name), " says ", Quoted(order.substr(0, 20)),
                         ", neither 'little' nor 'big'"));
}

// The description of a top-level key in the metadata map.
std::string KeyText(const PickleValue* key) {
  return key->kind == Kind::kStr ? key->text : absl::StrCat("<", Describe(key), ">");
}

}  // namespace

bool StartsLikeTorchSave(std::string_view start) {
  return start.substr(0, 2) == "PK" || IsLegacyPickle(start) || IsLegacyTar(start);
}

TensorFile OpenTorchCheckpoint(const std::string& path, ReadStrategy strategy,
                               const TorchLoadOptions& options) {
  TensorFile file = TensorFile::Open(path, strategy, "torch");
  RefuseLegacyFormats(file);
  const ZipArchive zip =
      ZipArchive::Read(path, file.file_size(),
                       [&file](uint64_t offset, size_t size, void* dst, std::string_view what) {
                         file.ReadBytes(offset, size, dst, what);
                       });
  const std::string prefix = FindPrefix(path, zip);
  CheckVersion(path, zip, prefix);

  const ZipRecord* pickle_record = zip.Find(prefix + "data.pkl");
  const std::string pickle = zip.ReadRecord(*pickle_record, kMaxPickleSize);
  TorchHooks hooks(zip, prefix, options);
  const PickleDocument doc = Unpickle(pickle, hooks, path, "data.pkl");

  const PickleValue& root = doc.root();
  if (root.kind != Kind::kDict) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("data.pkl holds ", Describe(&root),
                           ", not a state dict (a dict of tensors) or a dict holding one"));
  }
  // A wrapper names its state dict by "model_key", else "model".
  std::string wrapper_key = "model";
  if (const PickleValue* model_key = FindPickleDictValue(root, "model_key");
      model_key != nullptr && model_key->kind == Kind::kStr) {
    wrapper_key = model_key->text;
  }
  const PickleValue* state_dict = &root;
  const PickleValue* wrapped = FindPickleDictValue(root, wrapper_key);
  std::map<std::string, std::string> metadata;
  std::string key_prefix;  // for messages: "model." inside a wrapper
  if (wrapped != nullptr && wrapped->kind == Kind::kDict) {
    state_dict = wrapped;
    key_prefix = wrapper_key + ".";
    metadata.emplace("wrapper", wrapper_key);
    for (const auto& [key, value] : root.entries) {
      if (key->kind == Kind::kStr && key->text == wrapper_key) continue;
      metadata.emplace(KeyText(key), Describe(value));
    }
  } else if (wrapped != nullptr && As<Tensor>(wrapped) == nullptr) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("data.pkl holds a dict whose ", Quoted(wrapper_key), " entry is ",
                           Describe(wrapped), ", not a state dict"));
  }

  std::vector<TensorEntry> entries;
  entries.reserve(state_dict->entries.size());
  std::unordered_set<std::string> names;
  for (const auto& [key, value] : state_dict->entries) {
    if (key->kind != Kind::kStr) {
      throw CorruptModelCheckpointError(
          path, absl::StrCat("the state dict has the key ", Describe(key), " (data.pkl byte ",
                             key->offset, "), not a str"));
    }
    const Tensor* tensor = As<Tensor>(value);
    if (tensor == nullptr) {
      throw CorruptModelCheckpointError(
          path,
          absl::StrCat("state dict entry ", Quoted(key_prefix + key->text), " is ", Describe(value),
                       " (data.pkl byte ", value->offset, "), not a tensor"));
    }
    if (!names.insert(key->text).second) {
      throw CorruptModelCheckpointError(
          path, absl::StrCat("state dict entry ", Quoted(key_prefix + key->text),
                             " appears twice (data.pkl byte ", key->offset, ")"));
    }
    TensorEntry entry = tensor->entry;
    entry.name = key->text;
    entries.push_back(std::move(entry));
  }
  file.SetEntries(std::move(entries), std::move(metadata));
  return file;
}

}  // namespace modelhub
