#include "runtime/hub/checkpoint_loader.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/errors.h"
#include "runtime/core/progress_bar.h"
#include "runtime/hub/parameter_arena.h"
#include "runtime/mapping/rope_layout.h"

namespace modelhub {
namespace {

// The parameter a tied model lacks (its LM head), or "".
std::string TiedHead(const DecoderBlueprint& blueprint) {
  return blueprint.tied_embeddings ? "final_proj.weight" : "";
}

// The checkpoint's key maps, in the family's spec order.
std::vector<const KeyMap*> KeyMaps(const ModelFamily& family) {
  std::vector<const KeyMap*> maps;
  for (const KeyMap& map : family.key_maps()) maps.push_back(&map);
  return maps;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// "<where config's `field` came from> is <value>": the origin options give
// when the config's own field of that name holds `value`, else the field.
std::string FieldText(const AnyConfig& config, const LoadOptions& options, const char* field,
                      int64_t value) {
  std::string origin;
  const YAML::Node node = config.ToYaml()[field];
  int64_t held = 0;
  if (options.config_origin && node.IsScalar() && YAML::convert<int64_t>::decode(node, held) &&
      held == value) {
    origin = options.config_origin(field);
  }
  if (origin.empty()) origin = absl::StrCat("the config's ", field);
  return absl::StrCat(origin, " is ", value);
}

// The layer index of a model parameter name "decoder.layers.N.…", or -1.
int64_t LayerIndex(std::string_view name) {
  constexpr std::string_view kLayers = "decoder.layers.";
  if (name.substr(0, kLayers.size()) != kLayers) return -1;
  name.remove_prefix(kLayers.size());
  const std::string_view digits = name.substr(0, name.find('.'));
  int64_t index = -1;
  const char* end = digits.data() + digits.size();
  const std::from_chars_result read = std::from_chars(digits.data(), end, index);
  return read.ec == std::errc() && read.ptr == end && index >= 0 ? index : -1;
}

// Checks the sizes the checkpoint's own tensors show against `blueprint`
// before any parameter is listed or allocated: its number of layers (the
// distinct N of the names that map to decoder.layers.N.…), then its embedding
// table's [vocab_size, model_dim]. Names are mapped by the format that maps the
// most of them into the model's name space. Throws CorruptModelCheckpointError
// naming `path`, the tensor and where the config's value came from.
void CheckSizes(const CheckpointReader& reader, const std::vector<const KeyMap*>& maps,
                const DecoderBlueprint& blueprint, const AnyConfig& config,
                const LoadOptions& options, const std::string& path) {
  const auto is_model_name = [](std::string_view name) {
    return name.substr(0, 8) == "decoder." || name.substr(0, 17) == "decoder_frontend." ||
           name.substr(0, 11) == "final_proj.";
  };
  const auto map_key = [](const KeyMap* map, const std::string& key) -> std::string {
    std::optional<MappedKey> mapped = MapKey(map, key);
    return mapped && !mapped->dropped ? mapped->name : "";
  };
  const KeyMap* best = ChooseKeyMap(reader, maps, is_model_name);
  std::set<int64_t> layers;
  const CheckpointTensor* embed = nullptr;
  for (const CheckpointTensor& tensor : reader.tensors()) {
    const std::string name = map_key(best, tensor.name);
    const int64_t layer = LayerIndex(name);
    if (layer >= 0) layers.insert(layer);
    if (name == "decoder_frontend.embed.weight") embed = &tensor;
  }
  const int64_t count = static_cast<int64_t>(layers.size());
  if (count != blueprint.num_layers || (count > 0 && *layers.rbegin() != count - 1)) {
    const std::string numbered = count > 0 && *layers.rbegin() != count - 1
                                     ? absl::StrCat(" (numbered up to ", *layers.rbegin(), ")")
                                     : "";
    throw CorruptModelCheckpointError(
        path,
        absl::StrCat("does not fit the model: it has tensors for ", count, " layers", numbered,
                     ", but ", FieldText(config, options, "num_layers", blueprint.num_layers)));
  }
  // A rank-sharded table is split along a dimension: MapCheckpoint checks it.
  if (embed == nullptr || embed->parts.size() != 1 || embed->entry().shape.size() != 2) return;
  const std::vector<int64_t>& shape = embed->entry().shape;
  const auto refuse = [&](const char* field, int64_t value, int64_t shown) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("does not fit the model: its embedding table '", embed->name,
                           "' has the wrong shape: it is ", ShapeText(shape), " (", field, " ",
                           shown, "), but ", FieldText(config, options, field, value)));
  };
  if (shape[0] != blueprint.vocab_size) refuse("vocab_size", blueprint.vocab_size, shape[0]);
  if (shape[1] != blueprint.model_dim) refuse("model_dim", blueprint.model_dim, shape[1]);
}

// The blueprint of `config`, validated, and the mapping of the checkpoint of
// `reader` onto a model of it: everything checked, nothing allocated.
CheckpointMapping MapOntoConfig(const CheckpointReader& reader, const ModelFamily& family,
                                const AnyConfig& config, const LoadOptions& options,
                                const std::string& path, DecoderBlueprint* blueprint) {
  config.Validate();
  *blueprint = config.ToBlueprint();
  blueprint->Validate();
  const std::vector<const KeyMap*> maps = KeyMaps(family);
  CheckSizes(reader, maps, *blueprint, config, options, path);
  return MapCheckpoint(reader, maps, DecoderParameterShapes(*blueprint), TiedHead(*blueprint),
                       path);
}

// Opens the checkpoint at `path` (indexes only).
std::unique_ptr<CheckpointReader> Open(const std::string& path, const LoadOptions& options) {
  return std::make_unique<CheckpointReader>(
      FindCheckpointFiles(path), options.mmap ? ReadStrategy::kMmap : ReadStrategy::kPread,
      TorchLoadOptions{options.restrict});
}

// The LibTorch dtype of a checkpoint tensor, or a CorruptModelCheckpointError.
c10::ScalarType DtypeOf(const TensorPart& part) {
  std::optional<c10::ScalarType> dtype = ToScalarType(part.entry->dtype);
  if (!dtype) {
    throw CorruptModelCheckpointError(part.file->path(),
                                      absl::StrCat("tensor '", part.entry->name, "' has dtype ",
                                                   std::string(TensorDtypeName(part.entry->dtype)),
                                                   ", which LibTorch cannot hold"));
  }
  return *dtype;
}

// `tensor` (checkpoint rows of `item`) in the model's RoPE layout: reordered
// when the checkpoint's layout `from` differs and the tensor feeds RoPE.
at::Tensor InModelLayout(const at::Tensor& tensor, const MappedTensor& item, RopeLayout from,
                         const DecoderBlueprint& blueprint) {
  if (item.rope == RopeProjection::kNone || from == blueprint.rope.layout) return tensor;
  return ConvertRopeLayout(tensor, blueprint.HeadDim(), from, blueprint.rope.layout);
}

// One read of a loading thread: the part of one stored piece of a mapped
// tensor that this rank holds, and where it goes in the parameter.
struct PartTask {
  const MappedTensor* item;
  TensorPart part;
  // What to read of the part: `length` entries from `start` along `dim`
  // (dim -1: all of it).
  int dim = -1;
  int64_t start = 0;
  int64_t length = 0;
  // Where it goes: `place_length` entries from `place_start` along
  // `place_dim` of the parameter (place_dim -1: all of it).
  int place_dim = -1;
  int64_t place_start = 0;
  int64_t place_length = 0;

  // The shape of what is read.
  std::vector<int64_t> shape() const {
    std::vector<int64_t> shape = part.entry->shape;
    if (dim >= 0) shape[dim] = length;
    return shape;
  }
  // Its bytes.
  uint64_t nbytes() const {
    if (dim < 0) return part.entry->nbytes();
    return part.entry->nbytes() / static_cast<uint64_t>(part.entry->shape[dim]) *
           static_cast<uint64_t>(length);
  }
};

// The reads of `mapping` a rank holding `shards` makes (all of every tensor
// when `shards` is empty), in reading order. A stored piece of a
// rank-sharded tensor covers a range along item.split_dim; the rank reads
// only what overlaps its shard and skips pieces that do not.
std::vector<PartTask> PartTasks(const CheckpointMapping& mapping,
                                const std::map<std::string, ParameterShard>& shards) {
  std::vector<PartTask> tasks;
  for (const MappedTensor& item : mapping.tensors) {
    const auto found = shards.find(item.name);
    const ParameterShard* shard =
        found == shards.end() || found->second.dim < 0 ? nullptr : &found->second;
    int64_t offset = 0;
    for (const TensorPart& part : item.parts()) {
      PartTask task{&item, part};
      const int64_t size = item.split_dim >= 0 ? part.entry->shape[item.split_dim] : 0;
      const int64_t part_start = offset;
      offset += size;
      if (item.split_dim >= 0) {
        task.place_dim = item.split_dim;
        task.place_start = part_start;
        task.place_length = size;
      }
      if (item.slice_dim >= 0) {
        // A slice of a fused tensor (one stored piece), narrowed by the shard.
        task.dim = item.slice_dim;
        task.start = item.slice_start;
        task.length = item.slice_length;
        if (shard != nullptr) {
          if (shard->dim != item.slice_dim) {
            throw ConfigError(
                "tensor parallelism", "", SourceMark{},
                absl::StrCat("parameter ", item.name, " is sharded along dimension ", shard->dim,
                             " but read from the fused tensor '", item.source->name,
                             "' split along dimension ", item.slice_dim,
                             ": only a split along the sharded dimension can be read by rank"));
          }
          task.start += shard->start;
          task.length = shard->length;
        }
      } else if (shard != nullptr && shard->dim == item.split_dim) {
        // Sliced along the dimension the pieces split: their overlap, if any.
        const int64_t begin = std::max(part_start, shard->start);
        const int64_t end = std::min(part_start + size, shard->start + shard->length);
        if (begin >= end) continue;
        task.dim = shard->dim;
        task.start = begin - part_start;
        task.length = end - begin;
        task.place_start = begin - shard->start;
        task.place_length = end - begin;
      } else if (shard != nullptr) {
        task.dim = shard->dim;
        task.start = shard->start;
        task.length = shard->length;
      }
      tasks.push_back(task);
    }
  }
  return tasks;
}

// Reads one task into its place in `parameter`: straight into the
// parameter's memory when nothing needs converting and the place is
// contiguous, else through `staging` (a byte buffer reused across tensors, so
// that it is faulted in once).
void LoadPart(const PartTask& task, RopeLayout from, const DecoderBlueprint& blueprint,
              at::Tensor& parameter, at::Tensor& staging) {
  const MappedTensor& item = *task.item;
  const TensorEntry& entry = *task.part.entry;
  const TensorFile& file = *task.part.file;
  const c10::ScalarType dtype = DtypeOf(task.part);
  const auto read = [&](void* dst) {
    if (task.dim < 0) {
      file.ReadInto(entry, dst);
    } else {
      file.ReadSliceInto(entry, task.dim, task.start, task.length, dst);
    }
  };
  try {
    at::Tensor place = task.place_dim < 0
                           ? parameter
                           : parameter.narrow(task.place_dim, task.place_start, task.place_length);
    const bool converts = item.rope != RopeProjection::kNone && from != blueprint.rope.layout;
    if (!converts && place.device().is_cpu() && place.is_contiguous() &&
        place.scalar_type() == dtype) {
      read(place.data_ptr());
      return;
    }
    const int64_t nbytes = static_cast<int64_t>(task.nbytes());
    if (!staging.defined() || staging.numel() < nbytes) staging = at::empty({nbytes}, at::kByte);
    read(staging.data_ptr());
    place.copy_(InModelLayout(
        at::from_blob(staging.data_ptr(), task.shape(), at::TensorOptions().dtype(dtype)), item,
        from, blueprint));
  } catch (const c10::Error& e) {
    throw TorchError(absl::StrCat("loading tensor '", entry.name, "' of ", task.part.file->path(),
                                  " into ", item.name),
                     e.what_without_backtrace());
  }
}

// Threads for populating and reading: the machine's cores, at most 8.
int LoadThreads() {
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
}

}  // namespace

std::shared_ptr<DecoderModel> LoadCheckpoint(const ModelFamily& family, const AnyConfig& config,
                                             const std::string& path,
                                             const ModelPlacement& placement,
                                             const LoadOptions& options, LoadStats* stats) {
  std::unique_ptr<CheckpointReader> reader = Open(path, options);
  DecoderBlueprint checked;
  const CheckpointMapping mapping = MapOntoConfig(*reader, family, config, options, path, &checked);
  ModelPlacement uninitialized = placement;
  uninitialized.initialize = false;
  std::shared_ptr<DecoderModel> model = family.CreateNewModel(config, uninitialized);
  const DecoderBlueprint& blueprint = model->blueprint();
  if (model->options().meta()) return model;

  const auto start = std::chrono::steady_clock::now();
  auto parameters = model->named_parameters();
  const int threads = LoadThreads();
  if (model->options().device.is_cpu()) MoveToPopulatedArena(parameters.values(), threads);
  const TensorParallelRank tp = model->tp_rank();
  const std::vector<PartTask> tasks =
      PartTasks(mapping, tp.size > 1 ? DecoderParameterShards(blueprint, tp)
                                     : std::map<std::string, ParameterShard>{});
  uint64_t planned = 0;
  for (const PartTask& task : tasks) planned += task.nbytes();
  const auto bytes_read = [&reader] {
    uint64_t total = 0;
    for (const auto& file : reader->opened()) total += file->bytes_read();
    return total;
  };
  const uint64_t read_before = bytes_read();
  ProgressBar bar(options.label.empty() ? "loading" : "loading " + options.label, planned,
                  options.progress);
  std::mutex bar_mutex;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  // Each worker takes the next tensor until none is left or one failed.
  auto work = [&]() {
    at::NoGradGuard no_grad;
    at::Tensor staging;  // reused for tensors that need converting
    try {
      for (size_t i = next++; i < tasks.size() && !failed; i = next++) {
        const PartTask& task = tasks[i];
        LoadPart(task, mapping.layout, blueprint, *parameters.find(task.item->name), staging);
        std::lock_guard<std::mutex> lock(bar_mutex);
        bar.Advance(task.nbytes());
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(bar_mutex);
      if (!failed.exchange(true)) error = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& worker : pool) worker.join();
  if (error) std::rethrow_exception(error);
  if (stats != nullptr) {
    stats->format = mapping.format;
    stats->bytes = bytes_read() - read_before;
    stats->checkpoint_bytes = mapping.bytes;
    stats->seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return model;
}

CheckpointStream::CheckpointStream(const ModelFamily& family, const AnyConfig& config,
                                   const std::string& path, const LoadOptions& options)
    : reader_(Open(path, options)),
      mapping_(MapOntoConfig(*reader_, family, config, options, path, &blueprint_)) {}

CheckpointStream::~CheckpointStream() = default;
CheckpointStream::CheckpointStream(CheckpointStream&&) noexcept = default;
CheckpointStream& CheckpointStream::operator=(CheckpointStream&&) noexcept = default;

bool CheckpointStream::Next(std::string* name, at::Tensor* tensor) {
  if (next_ >= mapping_.tensors.size()) return false;
  const MappedTensor& item = mapping_.tensors[next_++];
  *name = item.name;
  std::vector<at::Tensor> parts;
  for (const TensorPart& part : item.parts()) {
    at::Tensor read = part.file->Read(*part.entry);
    if (item.slice_dim >= 0) {
      read = read.narrow(item.slice_dim, item.slice_start, item.slice_length).contiguous();
    }
    parts.push_back(InModelLayout(read, item, mapping_.layout, blueprint_));
  }
  *tensor = parts.size() == 1 ? parts.front() : at::cat(parts, item.split_dim);
  return true;
}

size_t CheckpointStream::size() const { return mapping_.tensors.size(); }

}  // namespace modelhub
