#include "runtime/formats/torch_checkpoint.h"

#include <algorithm>
#include <any>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/errors.h"
#include "runtime/formats/pickle.h"
#include "runtime/formats/tensor_dtype.h"
#include "runtime/formats/zip_archive.h"

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

// A torch dtype of PyTorch's allowlist (torch.float32, torch.qint8, ...).
struct DtypeRow {
  const char* name;     // torch.<name>
  const char* storage;  // torch.<storage> (the legacy storage class), or null
  uint64_t size;        // bytes per element (1 for the sub-byte types)
  // The safetensors name of the TensorDtype that holds it, looked up in
  // ParseTensorDtype; null or unknown there: modelhub cannot hold it.
  const char* tensor_dtype;
};

// Every dtype torch.load(weights_only=True) knows as a global
// (torch.storage._dtype_to_storage_type_map and _new_dtypes, int1-7 and
// uint1-7).
constexpr DtypeRow kDtypeRows[] = {
    {"float64", "DoubleStorage", 8, "F64"},
    {"float32", "FloatStorage", 4, "F32"},
    {"float16", "HalfStorage", 2, "F16"},
    {"bfloat16", "BFloat16Storage", 2, "BF16"},
    {"int64", "LongStorage", 8, "I64"},
    {"int32", "IntStorage", 4, "I32"},
    {"int16", "ShortStorage", 2, "I16"},
    {"int8", "CharStorage", 1, "I8"},
    {"uint8", "ByteStorage", 1, "U8"},
    {"bool", "BoolStorage", 1, "BOOL"},
    {"complex128", "ComplexDoubleStorage", 16, "C128"},
    {"complex64", "ComplexFloatStorage", 8, "C64"},
    {"qint8", "QInt8Storage", 1, nullptr},
    {"qint32", "QInt32Storage", 4, nullptr},
    {"quint8", "QUInt8Storage", 1, nullptr},
    {"quint4x2", "QUInt4x2Storage", 1, nullptr},
    {"quint2x4", "QUInt2x4Storage", 1, nullptr},
    {"float8_e4m3fn", nullptr, 1, "F8_E4M3"},
    {"float8_e5m2", nullptr, 1, "F8_E5M2"},
    {"float8_e4m3fnuz", nullptr, 1, "F8_E4M3FNUZ"},
    {"float8_e5m2fnuz", nullptr, 1, "F8_E5M2FNUZ"},
    {"float8_e8m0fnu", nullptr, 1, "F8_E8M0"},
    {"float4_e2m1fn_x2", nullptr, 1, nullptr},
    {"complex32", nullptr, 4, nullptr},
    {"uint16", nullptr, 2, "U16"},
    {"uint32", nullptr, 4, "U32"},
    {"uint64", nullptr, 8, "U64"},
    {"bits8", nullptr, 1, nullptr},
    {"bits16", nullptr, 2, nullptr},
    {"bits1x8", nullptr, 1, nullptr},
    {"bits2x4", nullptr, 1, nullptr},
    {"bits4x2", nullptr, 1, nullptr},
    {"int1", nullptr, 1, nullptr},
    {"int2", nullptr, 1, nullptr},
    {"int3", nullptr, 1, nullptr},
    {"int4", nullptr, 1, nullptr},
    {"int5", nullptr, 1, nullptr},
    {"int6", nullptr, 1, nullptr},
    {"int7", nullptr, 1, nullptr},
    {"uint1", nullptr, 1, nullptr},
    {"uint2", nullptr, 1, nullptr},
    {"uint3", nullptr, 1, nullptr},
    {"uint4", nullptr, 1, nullptr},
    {"uint5", nullptr, 1, nullptr},
    {"uint6", nullptr, 1, nullptr},
    {"uint7", nullptr, 1, nullptr},
};

// The TensorDtype that holds `row`'s elements (whole bytes each), or none.
std::optional<TensorDtype> HeldDtype(const DtypeRow& row) {
  if (row.tensor_dtype == nullptr) return std::nullopt;
  std::optional<TensorDtype> dtype = ParseTensorDtype(row.tensor_dtype);
  if (!dtype || TensorDtypeSize(*dtype) != row.size) return std::nullopt;
  return dtype;
}

// An allowlisted function or class that REDUCE or NEWOBJ may call.
enum class Callee {
  kOrderedDict,
  kCounter,
  kParameterClass,
  kGetLayout,
  kSize,
  kTensorClass,
  kDevice,
  kCodecsEncode,
  kByteArray,
  kSet,
  kComplex,
  kRebuildTensor,
  kRebuildTensorV2,
  kRebuildTensorV3,
  kRebuildParameter,
  kRebuildParameterWithState,
  kRebuildFromTypeV2,
  // Allowlisted by PyTorch, for tensors modelhub does not hold (quantized,
  // sparse, meta, subclasses, numpy or device copies) or legacy tensor
  // classes: calling them is refused.
  kUnsupported,
};

struct GlobalRef {
  Callee callee;
};

// torch.<Type>Storage, or torch.storage.UntypedStorage (bytes).
struct StorageType {
  const DtypeRow* row;  // null when untyped
};

// torch.float8_e4m3fn and the other dtypes (_rebuild_tensor_v3's argument).
struct DtypeRef {
  const DtypeRow* row;
};

// A storage: a record of the zip holding `bytes` bytes.
struct Storage {
  std::string key;
  StorageType type;
  uint64_t bytes = 0;
  const ZipRecord* record = nullptr;
};

// A tensor, located in the file; `entry.name` is set at the top level.
struct Tensor {
  TensorEntry entry;
};

// A value made by a call whose type has no PickleValue kind (complex,
// torch.device, torch.Size, a layout): its description is its `text`.
struct PlainObject {};

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

// Python's truth value of `value` (objects and tensors count as true).
bool Truthy(const PickleValue& value) {
  switch (value.kind) {
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return value.boolean;
    case Kind::kInt:
      return value.integer != 0;
    case Kind::kFloat:
      return value.real != 0;
    case Kind::kStr:
    case Kind::kBytes:
      return !value.text.empty();
    case Kind::kList:
    case Kind::kTuple:
    case Kind::kSet:
      return !value.items.empty();
    case Kind::kDict:
      return !value.entries.empty();
    case Kind::kBigInt:
    case Kind::kObject:
      return true;
  }
  return true;
}

bool IsNumber(const PickleValue& value) {
  return value.kind == Kind::kInt || value.kind == Kind::kBool || value.kind == Kind::kFloat;
}

double NumberOf(const PickleValue& value) {
  if (value.kind == Kind::kInt) return static_cast<double>(value.integer);
  if (value.kind == Kind::kBool) return value.boolean ? 1 : 0;
  return value.real;
}

// `part` of a complex as Python's repr spells it: a float's repr without
// its ".0".
std::string ComplexPart(double part) {
  std::string text = FormatPickleFloat(part);
  if (absl::EndsWith(text, ".0")) text.resize(text.size() - 2);
  return text;
}

// "(1+2j)", "2j", "(-0-1j)", as Python's repr of a complex.
std::string ComplexText(double real, double imag) {
  const std::string imag_text = absl::StrCat(ComplexPart(imag), "j");
  if (real == 0 && !std::signbit(real)) return imag_text;
  return absl::StrCat("(", ComplexPart(real), std::signbit(imag) ? "" : "+", imag_text, ")");
}

// `text` (UTF-8) encoded as `encoding` by Python's _codecs.encode, for the
// encodings pickles use: latin-1 (protocol 2's bytes) and UTF-8/ASCII.
// Throws PickleRefusal for characters the encoding lacks, or another
// encoding.
std::string EncodeText(const std::string& text, const std::string& encoding) {
  std::string lower = absl::AsciiStrToLower(encoding);
  std::replace(lower.begin(), lower.end(), '_', '-');
  if (lower == "utf-8" || lower == "utf8") return text;
  const bool latin1 = lower == "latin1" || lower == "latin-1" || lower == "iso-8859-1" ||
                      lower == "iso8859-1" || lower == "l1";
  if (!latin1 && lower != "ascii") {
    throw PickleRefusal(absl::StrCat("_codecs.encode to ", Quoted(encoding),
                                     " is not supported (only latin-1, UTF-8 and ASCII)"));
  }
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t lead = static_cast<uint8_t>(text[i]);
    unsigned code = lead;
    if (lead >= 0x80) {
      // Two-byte sequences hold U+0080..U+07FF; latin-1 ends at U+00FF.
      if ((lead & 0xe0) != 0xc0 || i + 1 >= text.size())
        code = 0x100;
      else
        code = ((lead & 0x1fu) << 6) | (static_cast<uint8_t>(text[++i]) & 0x3fu);
    }
    if (code > (latin1 ? 0xffu : 0x7fu)) {
      throw PickleRefusal(absl::StrCat("_codecs.encode cannot encode a character of str of ",
                                       text.size(), " bytes as ", encoding));
    }
    out.push_back(static_cast<char>(code));
  }
  return out;
}

// The C++ side of torch.load(weights_only=True): the globals of PyTorch's
// allowlist (_get_allowed_globals) only, called the way PyTorch's
// Unpickler calls them; tensors become TensorEntry values located in the zip,
// other values the PickleValue kinds (or kObject values described by their
// `text`: complex, torch.device, torch.Size, dtypes, layouts).
class TorchHooks : public PickleHooks {
 public:
  // `pickle_size`, the size of data.pkl, bounds the text the calls make
  // (bytes, bytearrays, names): twice that, as torch.save writes each such
  // value once and a bytearray copies its bytes once more.
  TorchHooks(const ZipArchive& zip, std::string prefix, const TorchLoadOptions& options,
             uint64_t pickle_size)
      : zip_(zip), prefix_(std::move(prefix)), options_(options), text_budget_(2 * pickle_size) {}

  PickleValue* ResolveGlobal(PickleArena& arena, const std::string& module, const std::string& name,
                             uint64_t offset) override {
    const std::string full = absl::StrCat(module, ".", name);
    static const std::pair<const char*, Callee> kCallees[] = {
        {"collections.OrderedDict", Callee::kOrderedDict},
        {"collections.Counter", Callee::kCounter},
        {"torch.nn.parameter.Parameter", Callee::kParameterClass},
        {"torch.serialization._get_layout", Callee::kGetLayout},
        {"torch.Size", Callee::kSize},
        {"torch.Tensor", Callee::kTensorClass},
        {"torch.device", Callee::kDevice},
        {"_codecs.encode", Callee::kCodecsEncode},
        {"builtins.bytearray", Callee::kByteArray},
        {"builtins.set", Callee::kSet},
        {"builtins.complex", Callee::kComplex},
        {"torch._utils._rebuild_tensor", Callee::kRebuildTensor},
        {"torch._utils._rebuild_tensor_v2", Callee::kRebuildTensorV2},
        {"torch._utils._rebuild_tensor_v3", Callee::kRebuildTensorV3},
        {"torch._utils._rebuild_parameter", Callee::kRebuildParameter},
        {"torch._utils._rebuild_parameter_with_state", Callee::kRebuildParameterWithState},
        {"torch._tensor._rebuild_from_type_v2", Callee::kRebuildFromTypeV2},
        {"torch._utils._rebuild_qtensor", Callee::kUnsupported},
        {"torch._utils._rebuild_sparse_tensor", Callee::kUnsupported},
        {"torch._utils._rebuild_meta_tensor_no_storage", Callee::kUnsupported},
        {"torch._utils._rebuild_wrapper_subclass", Callee::kUnsupported},
        {"torch._utils._rebuild_device_tensor_from_numpy", Callee::kUnsupported},
        {"torch._utils._rebuild_device_tensor_from_cpu_tensor", Callee::kUnsupported},
        {"torch.storage.TypedStorage", Callee::kUnsupported},
    };
    for (const auto& [callee_name, callee] : kCallees) {
      if (full == callee_name) return arena.NewObject(full, GlobalRef{callee}, offset);
    }
    if (full == "torch.storage.UntypedStorage") {
      return arena.NewObject(full, StorageType{nullptr}, offset);
    }
    if (module == "torch") {
      for (const DtypeRow& row : kDtypeRows) {
        if (row.storage != nullptr && name == row.storage) {
          return arena.NewObject(full, StorageType{&row}, offset);
        }
        if (name == row.name) return arena.NewObject(full, DtypeRef{&row}, offset);
      }
      static const std::unordered_set<std::string> kSchemes = {
          "per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
          "per_channel_symmetric", "per_channel_affine_float_qparams"};
      if (kSchemes.count(name) != 0) return arena.NewObject(full, PlainObject{}, offset);
    }
    if (IsTensorClass(module, name)) {
      return arena.NewObject("class " + full, GlobalRef{Callee::kUnsupported}, offset);
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
    if (ref == nullptr) {
      throw PickleRefusal(absl::StrCat("REDUCE calls ", Describe(callable),
                                       ", which is not allowed (", kWeightsOnly, ")"));
    }
    const std::vector<PickleValue*>& items = args->items;
    switch (ref->callee) {
      case Callee::kOrderedDict:
      case Callee::kCounter:
        return NewMapping(arena, *callable, items, offset);
      case Callee::kParameterClass:
        // Parameter(data=None, requires_grad=True): the parameter is its data.
        CheckArgCount(*callable, items, 1, 2);
        return TensorArgument(*callable, items[0]);
      case Callee::kGetLayout:
        CheckArgCount(*callable, items, 1, 1);
        if (items[0]->kind != Kind::kStr) {
          throw PickleRefusal(absl::StrCat(callable->text, " gets ", Describe(items[0])));
        }
        ChargeText(items[0]->text.size());
        return arena.NewObject(items[0]->text, PlainObject{}, offset);
      case Callee::kSize:
        return NewSize(arena, *callable, items, offset);
      case Callee::kDevice:
        return NewDevice(arena, *callable, items, offset);
      case Callee::kCodecsEncode: {
        // encode(obj, encoding="utf-8"): bytes.
        CheckArgCount(*callable, items, 1, 2);
        if (items[0]->kind != Kind::kStr || (items.size() == 2 && items[1]->kind != Kind::kStr)) {
          throw PickleRefusal(
              absl::StrCat(callable->text, " gets ", Describe(args), ", not (str, str)"));
        }
        PickleValue* bytes = arena.New(Kind::kBytes, offset);
        ChargeText(items[0]->text.size());
        bytes->text = EncodeText(items[0]->text, items.size() == 2 ? items[1]->text : "utf-8");
        return bytes;
      }
      case Callee::kByteArray:
        return NewByteArray(arena, *callable, items, offset);
      case Callee::kSet:
        return NewSet(arena, *callable, items, offset);
      case Callee::kComplex:
        return NewComplex(arena, *callable, items, offset);
      case Callee::kRebuildTensor:
      case Callee::kRebuildTensorV2:
      case Callee::kRebuildTensorV3:
        return RebuildTensor(arena, ref->callee, *args, offset);
      case Callee::kRebuildParameter:
      case Callee::kRebuildParameterWithState: {
        // (data, requires_grad, backward_hooks[, state]): the parameter is
        // its data; a state (Python attributes) is ignored.
        const size_t expected = ref->callee == Callee::kRebuildParameter ? 3 : 4;
        CheckArgCount(*callable, items, expected, expected);
        return TensorArgument(*callable, items[0]);
      }
      case Callee::kRebuildFromTypeV2: {
        // (func, new_type, args, state): a tensor whose type or Python
        // attributes (state, ignored) are not plain torch.Tensor's.
        CheckArgCount(*callable, items, 4, 4);
        const bool rebuild = IsGlobal(items[0], Callee::kRebuildTensor) ||
                             IsGlobal(items[0], Callee::kRebuildTensorV2) ||
                             IsGlobal(items[0], Callee::kRebuildTensorV3);
        const bool tensor_type =
            IsGlobal(items[1], Callee::kTensorClass) || IsGlobal(items[1], Callee::kParameterClass);
        if (!rebuild || !tensor_type || items[2]->kind != Kind::kTuple) {
          throw PickleRefusal(absl::StrCat(
              callable->text, " with ", Describe(items[0]), " and ", Describe(items[1]),
              " is not supported (only _rebuild_tensor, _v2 or _v3 of torch.Tensor or "
              "torch.nn.parameter.Parameter)"));
        }
        return RebuildTensor(arena, As<GlobalRef>(items[0])->callee, *items[2], offset);
      }
      case Callee::kTensorClass:
      case Callee::kUnsupported:
        break;
    }
    throw PickleRefusal(
        absl::StrCat("REDUCE calls ", Describe(callable), ", which ", UnsupportedWhy(*callable)));
  }

  PickleValue* NewObject(PickleArena& arena, PickleValue* cls, PickleValue* args,
                         uint64_t offset) override {
    if (const SkippedClass* skipped = As<SkippedClass>(cls)) {
      return arena.NewObject("skipped " + skipped->name, SkippedInstance{}, offset);
    }
    // cls.__new__(cls, *args), which for the containers ignores args.
    const GlobalRef* ref = As<GlobalRef>(cls);
    const std::vector<PickleValue*>& items = args->items;
    if (ref != nullptr) {
      switch (ref->callee) {
        case Callee::kOrderedDict:
        case Callee::kCounter: {
          PickleValue* dict = arena.New(Kind::kDict, offset);
          dict->python_class = cls->text;
          return dict;
        }
        case Callee::kParameterClass:
          CheckArgCount(*cls, items, 1, 2);
          return TensorArgument(*cls, items[0]);
        case Callee::kSize:
          return NewSize(arena, *cls, items, offset);
        case Callee::kDevice:
          return NewDevice(arena, *cls, items, offset);
        case Callee::kByteArray: {
          PickleValue* bytes = arena.New(Kind::kBytes, offset);
          bytes->python_class = cls->text;
          return bytes;
        }
        case Callee::kSet:
          return arena.New(Kind::kSet, offset);
        case Callee::kComplex:
          return NewComplex(arena, *cls, items, offset);
        default:
          throw PickleRefusal(
              absl::StrCat("NEWOBJ of ", Describe(cls), ", which ", UnsupportedWhy(*cls)));
      }
    }
    throw PickleRefusal(
        absl::StrCat("NEWOBJ of ", Describe(cls), " is not allowed (", kWeightsOnly, ")"));
  }

  // PyTorch builds tensors, parameters and OrderedDicts, and sets the
  // attributes of other allowlisted types (none of which has any but
  // Counter): attributes are ignored, as they are no weights.
  PickleValue* Build(PickleArena& /*arena*/, PickleValue* instance, PickleValue* state,
                     uint64_t /*offset*/) override {
    if (As<SkippedInstance>(instance) != nullptr) return instance;
    if (As<Tensor>(instance) != nullptr) {
      // torch.save never writes it; PyTorch calls set_(*state) or
      // __setstate__(state), which refuse or replace the tensor.
      throw PickleRefusal(absl::StrCat("BUILD of ", Describe(instance), " with ", Describe(state),
                                       " is not supported (the legacy set_ or __setstate__ of "
                                       "a tensor)"));
    }
    if (instance->kind == Kind::kDict && !instance->python_class.empty()) {
      // OrderedDict and Counter: __dict__.update(state), e.g. a state
      // dict's _metadata (module versions).
      if (state->kind == Kind::kDict) return instance;
      throw PickleRefusal(absl::StrCat("BUILD sets ", Describe(state), " on ", Describe(instance),
                                       ", whose attributes take a dict"));
    }
    const bool allowlisted = instance->kind == Kind::kSet || !instance->python_class.empty() ||
                             As<PlainObject>(instance) != nullptr;
    if (!allowlisted) {
      throw PickleRefusal(absl::StrCat(
          "BUILD of ", Describe(instance),
          " is not allowed: torch.load(weights_only=True) builds only tensors, parameters, "
          "OrderedDicts and allowlisted types"));
    }
    // These have no attributes: only an empty state (or pair of them) goes.
    const bool empty_pair = state->kind == Kind::kTuple && state->items.size() == 2 &&
                            !Truthy(*state->items[0]) && !Truthy(*state->items[1]);
    if (!Truthy(*state) || empty_pair) return instance;
    throw PickleRefusal(absl::StrCat("BUILD sets ", Describe(state), " on ", Describe(instance),
                                     ", which has no attributes"));
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

    // A storage named again (by several tensors) is the one loaded first,
    // whatever type and size it is claimed as, as torch.load has it.
    auto seen = storages_.find(key);
    if (seen != storages_.end()) return seen->second;

    const std::string record_name = absl::StrCat(prefix_, "data/", key);
    const ZipRecord* record = zip_.Find(record_name);
    if (record == nullptr) {
      throw PickleRefusal(absl::StrCat("storage ", Quoted(key), " has no record ",
                                       Quoted(record_name), " in the zip"));
    }
    const uint64_t element_size = type->row == nullptr ? 1 : type->row->size;
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
    Storage storage{key, *type, bytes, record};
    PickleValue* value = arena.NewObject(
        absl::StrCat("storage ", Quoted(key), " (", items[1]->text, ")"), storage, offset);
    storages_.emplace(key, value);
    return value;
  }

 private:
  // torch.<T>Tensor and its cuda and sparse variants (torch._tensor_classes).
  static bool IsTensorClass(const std::string& module, const std::string& name) {
    static const std::unordered_set<std::string> kModules = {"torch", "torch.cuda", "torch.sparse",
                                                             "torch.cuda.sparse"};
    static const std::unordered_set<std::string> kNames = {
        "DoubleTensor", "FloatTensor", "HalfTensor", "BFloat16Tensor", "LongTensor",
        "IntTensor",    "ShortTensor", "CharTensor", "ByteTensor",     "BoolTensor"};
    return kModules.count(module) != 0 && kNames.count(name) != 0;
  }

  // Accounts for `size` bytes of text a call is about to make.
  void ChargeText(uint64_t size) {
    if (size > text_budget_) {
      throw PickleRefusal(absl::StrCat(
          "the pickle's calls make more bytes of text than twice its size (a value is built "
          "again and again)"));
    }
    text_budget_ -= size;
  }

  // Why calling allowlisted `callee` is refused.
  static std::string UnsupportedWhy(const PickleValue& callee) {
    const std::string& name = callee.text;
    if (absl::StrContains(name, "qtensor")) return "makes quantized tensors: unsupported dtype";
    if (absl::StrContains(name, "sparse")) return "makes sparse tensors, not supported";
    if (absl::StrContains(name, "meta_tensor")) {
      return "makes meta tensors (no data), not supported";
    }
    if (absl::StrContains(name, "wrapper_subclass")) {
      return "makes tensor subclasses, not supported";
    }
    if (absl::StrContains(name, "_rebuild_device_tensor")) {
      return "makes tensors from numpy arrays or device copies, not supported";
    }
    return "modelhub does not call (only torch.save's tensor and value rebuilds are supported)";
  }

  static void CheckArgCount(const PickleValue& callable, const std::vector<PickleValue*>& items,
                            size_t low, size_t high) {
    if (items.size() < low || items.size() > high) {
      throw PickleRefusal(
          absl::StrCat(callable.text, " takes ",
                       low == high ? absl::StrCat(low) : absl::StrCat(low, " to ", high),
                       " arguments, not ", items.size()));
    }
  }

  // `value`, which `callable` needs to be a tensor.
  static PickleValue* TensorArgument(const PickleValue& callable, PickleValue* value) {
    if (As<Tensor>(value) == nullptr) {
      throw PickleRefusal(absl::StrCat(callable.text, " rebuilds a parameter from ",
                                       Describe(value), ", not a tensor"));
    }
    return value;
  }

  // collections.OrderedDict() or Counter(), or either of a dict, a list or
  // tuple of pairs: a dict of that class.
  static PickleValue* NewMapping(PickleArena& arena, const PickleValue& callable,
                                 const std::vector<PickleValue*>& items, uint64_t offset) {
    PickleValue* dict = arena.New(Kind::kDict, offset);
    dict->python_class = callable.text;
    if (items.empty()) return dict;
    const PickleValue* source = items[0];
    if (items.size() == 1 && source->kind == Kind::kDict) {
      arena.ChargeItems(source->entries.size());
      dict->entries = source->entries;
      return dict;
    }
    const bool ordered_dict = callable.text == "collections.OrderedDict";
    if (ordered_dict && items.size() == 1 &&
        (source->kind == Kind::kList || source->kind == Kind::kTuple)) {
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
    throw PickleRefusal(absl::StrCat(
        callable.text, " gets ", items.size(), " arguments, the first ", Describe(items[0]),
        "; only ()", ordered_dict ? ", a dict or a list of pairs" : " or a dict", " is supported"));
  }

  // torch.Size((d0, d1, ...)).
  static PickleValue* NewSize(PickleArena& arena, const PickleValue& callable,
                              const std::vector<PickleValue*>& items, uint64_t offset) {
    CheckArgCount(callable, items, 0, 1);
    std::vector<int64_t> dims;
    if (!items.empty()) {
      if (items[0]->kind != Kind::kTuple && items[0]->kind != Kind::kList) {
        throw PickleRefusal(
            absl::StrCat("torch.Size gets ", Describe(items[0]), ", not a tuple of ints"));
      }
      arena.ChargeItems(items[0]->items.size());
      for (const PickleValue* item : items[0]->items) {
        if (item->kind != Kind::kInt) {
          throw PickleRefusal(absl::StrCat("torch.Size gets ", Describe(item), ", not an int"));
        }
        dims.push_back(item->integer);
      }
    }
    return arena.NewObject(absl::StrCat("torch.Size [", absl::StrJoin(dims, ", "), "]"),
                           PlainObject{}, offset);
  }

  // torch.device(type[, index]) or torch.device("type:index").
  PickleValue* NewDevice(PickleArena& arena, const PickleValue& callable,
                         const std::vector<PickleValue*>& items, uint64_t offset) {
    CheckArgCount(callable, items, 1, 2);
    const bool index_ok = items.size() == 1 || items[1]->kind == Kind::kNone ||
                          (items[1]->kind == Kind::kInt && items[1]->integer >= 0);
    if (items[0]->kind != Kind::kStr || !index_ok) {
      throw PickleRefusal(absl::StrCat("torch.device gets ", Describe(items[0]),
                                       items.size() == 2 ? " and " + Describe(items[1]) : "",
                                       ", not a device type and index"));
    }
    ChargeText(items[0]->text.size());
    std::string device = items[0]->text;
    if (items.size() == 2 && items[1]->kind == Kind::kInt) {
      absl::StrAppend(&device, ":", items[1]->integer);
    }
    return arena.NewObject(absl::StrCat("torch.device ", Quoted(device)), PlainObject{}, offset);
  }

  // bytearray(), bytearray(bytes) or bytearray(str, encoding).
  PickleValue* NewByteArray(PickleArena& arena, const PickleValue& callable,
                            const std::vector<PickleValue*>& items, uint64_t offset) {
    CheckArgCount(callable, items, 0, 2);
    PickleValue* bytes = arena.New(Kind::kBytes, offset);
    bytes->python_class = callable.text;
    if (items.size() == 1 && items[0]->kind == Kind::kBytes) {
      ChargeText(items[0]->text.size());
      bytes->text = items[0]->text;
    } else if (items.size() == 2 && items[0]->kind == Kind::kStr && items[1]->kind == Kind::kStr) {
      ChargeText(items[0]->text.size());
      bytes->text = EncodeText(items[0]->text, items[1]->text);
    } else if (!items.empty()) {
      throw PickleRefusal(absl::StrCat(callable.text, " gets ", Describe(items[0]),
                                       "; only (), (bytes) or (str, encoding) is supported"));
    }
    return bytes;
  }

  // set() or set(list): Python dedupes its items, which the pickles
  // torch.save writes never repeat.
  static PickleValue* NewSet(PickleArena& arena, const PickleValue& callable,
                             const std::vector<PickleValue*>& items, uint64_t offset) {
    CheckArgCount(callable, items, 0, 1);
    PickleValue* set = arena.New(Kind::kSet, offset);
    if (items.empty()) return set;
    const Kind kind = items[0]->kind;
    if (kind != Kind::kList && kind != Kind::kTuple && kind != Kind::kSet) {
      throw PickleRefusal(absl::StrCat(callable.text, " gets ", Describe(items[0]),
                                       "; only a list, tuple or set is supported"));
    }
    arena.ChargeItems(items[0]->items.size());
    set->items = items[0]->items;
    return set;
  }

  // complex(), complex(real) or complex(real, imag), of numbers.
  static PickleValue* NewComplex(PickleArena& arena, const PickleValue& callable,
                                 const std::vector<PickleValue*>& items, uint64_t offset) {
    CheckArgCount(callable, items, 0, 2);
    for (const PickleValue* item : items) {
      if (!IsNumber(*item)) {
        throw PickleRefusal(
            absl::StrCat(callable.text, " gets ", Describe(item), "; only numbers are supported"));
      }
    }
    const double real = items.empty() ? 0 : NumberOf(*items[0]);
    const double imag = items.size() < 2 ? 0 : NumberOf(*items[1]);
    return arena.NewObject(absl::StrCat("complex ", ComplexText(real, imag)), PlainObject{},
                           offset);
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

  // _rebuild_tensor(storage, storage_offset, size, stride),
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
  // backward_hooks[, metadata]) or _rebuild_tensor_v3(..., backward_hooks,
  // dtype[, metadata]).
  PickleValue* RebuildTensor(PickleArena& arena, Callee callee, const PickleValue& args,
                             uint64_t offset) {
    const bool v1 = callee == Callee::kRebuildTensor;
    const bool v3 = callee == Callee::kRebuildTensorV3;
    const char* name = v1   ? "torch._utils._rebuild_tensor"
                       : v3 ? "torch._utils._rebuild_tensor_v3"
                            : "torch._utils._rebuild_tensor_v2";
    const std::vector<PickleValue*>& items = args.items;
    const size_t base = v1 ? 4 : v3 ? 7 : 6;
    const size_t most = v1 ? 4 : base + 1;
    if (items.size() < base || items.size() > most) {
      throw PickleRefusal(absl::StrCat(name, " takes ", base,
                                       most > base ? absl::StrCat(" or ", most) : "",
                                       " arguments, not ", items.size()));
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
    if (!v1 && items[4]->kind != Kind::kBool) {
      throw PickleRefusal(absl::StrCat(name, " gets requires_grad ", Describe(items[4])));
    }
    if (!v1 && items[5]->kind != Kind::kDict && items[5]->kind != Kind::kNone) {
      throw PickleRefusal(absl::StrCat(name, " gets backward hooks ", Describe(items[5])));
    }
    const DtypeRow* row = storage->type.row;
    if (v3) {
      const DtypeRef* dtype_ref = As<DtypeRef>(items[6]);
      if (dtype_ref == nullptr) {
        throw PickleRefusal(absl::StrCat(name, " gets ", Describe(items[6]), " as its dtype"));
      }
      row = dtype_ref->row;
    }
    if (items.size() == base + 1 && !v1) CheckTensorMetadata(*items[base]);
    std::optional<TensorDtype> held = TensorDtype::kU8;  // an untyped storage's bytes
    if (row != nullptr) held = HeldDtype(*row);
    if (!held) {
      throw PickleRefusal(absl::StrCat(
          "the tensor over storage ", Quoted(storage->key), " has the unsupported dtype torch.",
          row->name, " (modelhub holds ",
          absl::StartsWith(row->name, "q") ? "no quantized tensors" : "no tensors of it", ")"));
    }
    const TensorDtype dtype = *held;

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
  uint64_t text_budget_;  // bytes of text the calls may still make
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

// The entries of `dict` as the Python dict holds them: a str or int key set
// twice keeps its first place and takes its last value.
std::vector<std::pair<const PickleValue*, const PickleValue*>> DictItems(const PickleValue& dict) {
  std::vector<std::pair<const PickleValue*, const PickleValue*>> items;
  std::unordered_map<std::string, size_t> places;
  for (const auto& [key, value] : dict.entries) {
    std::string identity;
    if (key->kind == Kind::kStr) identity = "s" + key->text;
    if (key->kind == Kind::kInt) identity = absl::StrCat("i", key->integer);
    if (!identity.empty()) {
      auto [place, inserted] = places.emplace(identity, items.size());
      if (!inserted) {
        items[place->second].second = value;
        continue;
      }
    }
    items.emplace_back(key, value);
  }
  return items;
}

// What a torch.save file holds, split into tensors (named) and the values
// beside them (described).
struct Contents {
  std::vector<TensorEntry> entries;
  std::map<std::string, std::string> metadata;

  // Adds `value` under `name`: a tensor entry, or a description.
  void Add(const std::string& name, const PickleValue* value) {
    if (const Tensor* tensor = As<Tensor>(value)) {
      TensorEntry entry = tensor->entry;
      entry.name = name;
      entries.push_back(std::move(entry));
    } else {
      metadata.emplace(name, Describe(value));
    }
  }
};

// Splits the value data.pkl holds (see OpenTorchCheckpoint).
Contents SplitContents(const PickleValue& root) {
  Contents contents;
  if (As<Tensor>(&root) != nullptr) {
    contents.Add("", &root);
    return contents;
  }
  if (root.kind == Kind::kList || root.kind == Kind::kTuple) {
    for (size_t i = 0; i < root.items.size(); ++i) contents.Add(absl::StrCat(i), root.items[i]);
    return contents;
  }
  if (root.kind != Kind::kDict) {
    contents.Add("", &root);
    return contents;
  }
  const auto root_items = DictItems(root);
  // A wrapper names its state dict by "model_key", else "model".
  std::string wrapper_key = "model";
  const PickleValue* state_dict = &root;
  for (const auto& [key, value] : root_items) {
    if (key->kind == Kind::kStr && key->text == "model_key" && value->kind == Kind::kStr) {
      wrapper_key = value->text;
    }
  }
  for (const auto& [key, value] : root_items) {
    if (key->kind == Kind::kStr && key->text == wrapper_key && value->kind == Kind::kDict) {
      state_dict = value;
    }
  }
  std::string key_prefix;
  if (state_dict != &root) {
    key_prefix = wrapper_key + ".";
    contents.metadata.emplace("wrapper", wrapper_key);
    for (const auto& [key, value] : root_items) {
      if (value != state_dict) contents.metadata.emplace(KeyText(key), Describe(value));
    }
  }
  for (const auto& [key, value] : DictItems(*state_dict)) {
    if (key->kind == Kind::kStr && As<Tensor>(value) != nullptr) {
      contents.Add(key->text, value);
    } else {
      contents.metadata.emplace(key_prefix + KeyText(key), Describe(value));
    }
  }
  return contents;
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
  TorchHooks hooks(zip, prefix, options, pickle.size());
  const PickleDocument doc = Unpickle(pickle, hooks, path, "data.pkl");

  Contents contents = SplitContents(doc.root());
  file.SetEntries(std::move(contents.entries), std::move(contents.metadata));
  return file;
}

}  // namespace modelhub
