#include "runtime/mapping/checkpoint_mapping.h"

#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

constexpr size_t kListed = 5;
// Replicas of a tensor larger than this are compared by shape only: the ones
// Meta replicates (norms) take kilobytes.
constexpr uint64_t kMaxComparedReplica = uint64_t{16} << 20;

// "a, b, c and 4 more" (the first few of `names`).
std::string FirstFew(const std::vector<std::string>& names) {
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(names.size(), kListed));
  std::string text = absl::StrJoin(shown, ", ");
  if (names.size() > kListed) absl::StrAppend(&text, " and ", names.size() - kListed, " more");
  return text;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// How the parts of `tensor` make a tensor of `shape` (see MappedTensor::split_dim);
// nullopt when they cannot.
std::optional<int> SplitDim(const CheckpointTensor& tensor, const std::vector<int64_t>& shape) {
  if (tensor.entry().shape == shape) return -1;
  if (tensor.parts.size() < 2) return std::nullopt;
  for (size_t d = 0; d < shape.size(); ++d) {
    int64_t total = 0;
    bool fits = true;
    for (const TensorPart& part : tensor.parts) {
      const std::vector<int64_t>& piece = part.entry->shape;
      if (piece.size() != shape.size()) return std::nullopt;
      for (size_t other = 0; other < shape.size(); ++other) {
        fits = fits && (other == d || piece[other] == shape[other]);
      }
      fits = fits && !__builtin_add_overflow(total, piece[d], &total);
    }
    if (fits && total == shape[d]) return static_cast<int>(d);
  }
  return std::nullopt;
}

// Checks that the parts of a tensor of several rank files have one shape:
// Meta's rank files hold equal slices of each split tensor and copies of
// each replicated one. Throws CorruptModelCheckpointError naming the tensor
// and both files.
void CheckPartShapes(const CheckpointTensor& tensor) {
  const TensorPart& first = tensor.parts.front();
  for (size_t rank = 1; rank < tensor.parts.size(); ++rank) {
    const TensorPart& part = tensor.parts[rank];
    if (part.entry->shape == first.entry->shape) continue;
    throw CorruptModelCheckpointError(
        part.file->path(),
        absl::StrCat("tensor '", tensor.name, "' is ", ShapeText(part.entry->shape),
                     " in this rank ", rank, " file but ", ShapeText(first.entry->shape),
                     " in the rank 0 file ", first.file->path(),
                     ": Meta's rank files hold equal slices or identical copies of a tensor"));
  }
}

// Checks that the replicas of a replicated tensor (a norm) hold the same
// values, byte for byte; larger than kMaxComparedReplica, only their shapes
// are compared. Throws CorruptModelCheckpointError naming the tensor, both
// files and the first differing element.
void CheckReplicaValues(const CheckpointTensor& tensor) {
  const TensorPart& first = tensor.parts.front();
  const uint64_t nbytes = first.entry->nbytes();
  if (nbytes == 0 || nbytes > kMaxComparedReplica) return;
  std::string expected(nbytes, '\0');
  first.file->ReadInto(*first.entry, expected.data());
  std::string actual(nbytes, '\0');
  for (size_t rank = 1; rank < tensor.parts.size(); ++rank) {
    const TensorPart& part = tensor.parts[rank];
    part.file->ReadInto(*part.entry, actual.data());
    if (actual == expected) continue;
    size_t at = 0;
    while (actual[at] == expected[at]) ++at;
    const size_t bits = TensorDtypeBits(first.entry->dtype);
    throw CorruptModelCheckpointError(
        part.file->path(),
        absl::StrCat("tensor '", tensor.name, "', replicated in every rank file, differs in ",
                     "this rank ", rank, " file from the rank 0 file ", first.file->path(),
                     " (first at element ", at * 8 / bits, " of ", first.entry->numel(), ")"));
  }
}

// Checks that `tensor` can load into a parameter: LibTorch holds its dtype,
// and it is real (parameters are). Throws UnsupportedDtypeError.
void CheckLoadableDtype(const CheckpointTensor& tensor) {
  const TensorPart& first = tensor.parts.front();
  const c10::ScalarType type = TorchDtypeOf(first.file->path(), *first.entry);
  if (c10::isComplexType(type)) {
    throw UnsupportedDtypeError(first.file->path(), tensor.name, first.entry->dtype,
                                "complex numbers; the model's parameters are real");
  }
}

// The shape of `tensor` in messages: "[2, 3]", or "4 parts of [2, 3]".
std::string PartsText(const CheckpointTensor& tensor) {
  const std::string shape = ShapeText(tensor.entry().shape);
  if (tensor.parts.size() == 1) return shape;
  return absl::StrCat(tensor.parts.size(), " parts of ", shape);
}

// Maps the fused checkpoint tensor `tensor` (mapped as `key`) onto its
// parameters: consecutive slices along key.split_dim, sized by the parameters'
// shapes, which must agree with the tensor's elsewhere and add up to it along
// the split. Appends to `mapping` and `loaded`, or a description to
// `misshaped` (its parameters then count as loaded: reported once). A rank-sharded fused tensor is
// misshaped: no format has one.
void MapFusedTensor(const CheckpointTensor& tensor, const MappedKey& key,
                    const ParameterShapes& parameters, std::set<std::string>& loaded,
                    CheckpointMapping& mapping, std::vector<std::string>& misshaped) {
  const std::vector<int64_t>& shape = tensor.entry().shape;
  const size_t dim = static_cast<size_t>(key.split_dim);
  std::vector<std::string> shapes;
  std::vector<MappedTensor> slices;
  int64_t offset = 0;
  bool fits = tensor.parts.size() == 1 && dim < shape.size();
  for (const MappedKey& part : key.parts) {
    auto parameter = parameters.find(part.name);
    if (parameter == parameters.end() || loaded.count(part.name) > 0) {
      fits = false;
      shapes.push_back(absl::StrCat(part.name, parameter == parameters.end()
                                                   ? " (no parameter of the model)"
                                                   : " (already loaded from another tensor)"));
      continue;
    }
    const std::vector<int64_t>& want = parameter->second;
    shapes.push_back(absl::StrCat(part.name, " ", ShapeText(want)));
    fits = fits && want.size() == shape.size();
    for (size_t d = 0; fits && d < shape.size(); ++d) fits = d == dim || want[d] == shape[d];
    if (!fits) continue;
    slices.push_back({&tensor, part.name, part.rope, -1, key.split_dim, offset, want[dim]});
    offset += want[dim];
  }
  if (!fits || offset != shape[dim]) {
    // Its parameters are reported with it, not again as missing.
    for (const MappedKey& part : key.parts) {
      if (parameters.count(part.name) > 0) loaded.insert(part.name);
    }
    misshaped.push_back(absl::StrCat(tensor.name, " is ", PartsText(tensor), ", which should hold ",
                                     absl::StrJoin(shapes, ", "), " along dimension ", dim));
    return;
  }
  CheckLoadableDtype(tensor);
  for (MappedTensor& slice : slices) {
    loaded.insert(slice.name);
    mapping.tensors.push_back(std::move(slice));
  }
  mapping.bytes += tensor.entry().nbytes();
}

}  // namespace

std::optional<MappedKey> MapKey(const KeyMap* map, const std::string& key) {
  if (map == nullptr) return MappedKey{key, false, RopeProjection::kNone};
  return map->Map(key);
}

const KeyMap* ChooseKeyMap(const CheckpointReader& reader, const std::vector<const KeyMap*>& maps,
                           const std::function<bool(const std::string&)>& wanted) {
  std::vector<const KeyMap*> candidates = {nullptr};
  candidates.insert(candidates.end(), maps.begin(), maps.end());
  const KeyMap* best = nullptr;
  size_t best_score = 0;
  for (const KeyMap* map : candidates) {
    size_t score = 0;
    for (const CheckpointTensor& tensor : reader.tensors()) {
      std::optional<MappedKey> mapped = MapKey(map, tensor.name);
      if (!mapped || mapped->dropped) continue;
      for (const MappedKey& target : TargetsOf(*mapped)) score += wanted(target.name) ? 1 : 0;
    }
    if (score > best_score) {
      best = map;
      best_score = score;
    }
  }
  return best;
}

CheckpointMapping MapCheckpoint(const CheckpointReader& reader,
                                const std::vector<const KeyMap*>& maps,
                                const ParameterShapes& parameters, const std::string& tied_head,
                                const std::string& path) {
  // The format that maps the most names onto parameters.
  const KeyMap* best = ChooseKeyMap(
      reader, maps, [&](const std::string& name) { return parameters.count(name) > 0; });
  CheckpointMapping mapping;
  mapping.format = best == nullptr ? "native" : best->format();
  mapping.layout = best == nullptr ? RopeLayout::kRotateHalf : best->layout();

  std::vector<std::string> unexpected;
  std::vector<std::string> misshaped;
  std::set<std::string> loaded;
  for (const CheckpointTensor& tensor : reader.tensors()) {
    std::optional<MappedKey> mapped = MapKey(best, tensor.name);
    if (mapped && mapped->dropped) continue;
    if (mapped && mapped->split_dim >= 0) {
      MapFusedTensor(tensor, *mapped, parameters, loaded, mapping, misshaped);
      continue;
    }
    if (mapped && !tied_head.empty() && mapped->name == tied_head) continue;
    auto parameter = mapped ? parameters.find(mapped->name) : parameters.end();
    if (parameter == parameters.end()) {
      unexpected.push_back(tensor.name);
      continue;
    }
    if (!loaded.insert(parameter->first).second) {
      unexpected.push_back(
          absl::StrCat(tensor.name, " (a second source of ", parameter->first, ")"));
      continue;
    }
    if (tensor.parts.size() > 1) CheckPartShapes(tensor);
    const std::optional<int> split_dim = SplitDim(tensor, parameter->second);
    if (!split_dim) {
      misshaped.push_back(absl::StrCat(tensor.name, " is ", PartsText(tensor), ", the model's ",
                                       parameter->first, " is ", ShapeText(parameter->second)));
      continue;
    }
    CheckLoadableDtype(tensor);
    if (*split_dim < 0 && tensor.parts.size() > 1) CheckReplicaValues(tensor);
    mapping.tensors.push_back({&tensor, parameter->first, mapped->rope, *split_dim});
    for (const TensorPart& part : mapping.tensors.back().parts()) {
      mapping.bytes += part.entry->nbytes();
    }
  }
  std::vector<std::string> missing;
  for (const auto& [name, shape] : parameters) {
    if (loaded.count(name) == 0) missing.push_back(name);
  }
  std::vector<std::string> problems;
  if (!misshaped.empty()) {
    problems.push_back(
        absl::StrCat(misshaped.size(), " tensor(s) of the wrong shape: ", FirstFew(misshaped)));
  }
  if (!missing.empty()) {
    problems.push_back(absl::StrCat(missing.size(), " parameter(s) missing: ", FirstFew(missing)));
  }
  if (!unexpected.empty()) {
    problems.push_back(
        absl::StrCat(unexpected.size(), " unexpected tensor(s): ", FirstFew(unexpected)));
  }
  if (!problems.empty()) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("does not fit the model (read as '", mapping.format,
                           "' names): ", absl::StrJoin(problems, "; ")));
  }
  return mapping;
}

}  // namespace modelhub
