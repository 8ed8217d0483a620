#include "runtime/hub/checkpoint_loader.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "runtime/checkpoint/rope_layout.h"
#include "runtime/core/errors.h"
#include "runtime/core/progress_bar.h"
#include "runtime/hub/parameter_arena.h"

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

ParameterShapes ShapesOf(const DecoderModel& model) {
  ParameterShapes shapes;
  for (const auto& item : model.named_parameters()) {
    shapes[item.key()] = item.value().sizes().vec();
  }
  return shapes;
}

// Opens the checkpoint at `path` (headers only).
std::unique_ptr<CheckpointReader> Open(const std::string& path, bool mmap) {
  return std::make_unique<CheckpointReader>(FindCheckpointFiles(path),
                                            mmap ? ReadStrategy::kMmap : ReadStrategy::kPread);
}

// The LibTorch dtype of a checkpoint tensor, or a CorruptModelCheckpointError.
c10::ScalarType DtypeOf(const CheckpointTensor& tensor) {
  std::optional<c10::ScalarType> dtype = ToScalarType(tensor.entry->dtype);
  if (!dtype) {
    throw CorruptModelCheckpointError(
        tensor.file->path(), absl::StrCat("tensor '", tensor.name, "' has dtype ",
                                          std::string(TensorDtypeName(tensor.entry->dtype)),
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

// Reads one checkpoint tensor into its parameter: straight into the
// parameter's memory when nothing needs converting, else through `staging` (a
// byte buffer reused across tensors, so that it is faulted in once).
void LoadTensor(const MappedTensor& item, RopeLayout from, const DecoderBlueprint& blueprint,
                at::Tensor& parameter, at::Tensor& staging, const std::string& path) {
  const c10::ScalarType dtype = DtypeOf(*item.source);
  try {
    const bool converts = item.rope != RopeProjection::kNone && from != blueprint.rope.layout;
    if (!converts && parameter.device().is_cpu() && parameter.is_contiguous() &&
        parameter.scalar_type() == dtype) {
      item.source->file->ReadInto(*item.source->entry, parameter.data_ptr());
      return;
    }
    const int64_t nbytes = static_cast<int64_t>(item.source->entry->nbytes());
    if (!staging.defined() || staging.numel() < nbytes) staging = at::empty({nbytes}, at::kByte);
    item.source->file->ReadInto(*item.source->entry, staging.data_ptr());
    parameter.copy_(InModelLayout(at::from_blob(staging.data_ptr(), item.source->entry->shape,
                                                at::TensorOptions().dtype(dtype)),
                                  item, from, blueprint));
  } catch (const c10::Error& e) {
    throw TorchError(
        absl::StrCat("loading tensor '", item.source->name, "' of ", path, " into ", item.name),
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
  std::unique_ptr<CheckpointReader> reader = Open(path, options.mmap);
  ModelPlacement uninitialized = placement;
  uninitialized.initialize = false;
  std::shared_ptr<DecoderModel> model = family.CreateNewModel(config, uninitialized);
  const DecoderBlueprint& blueprint = model->blueprint();
  CheckpointMapping mapping =
      MapCheckpoint(*reader, KeyMaps(family), ShapesOf(*model), TiedHead(blueprint), path);
  if (model->options().meta()) return model;

  const auto start = std::chrono::steady_clock::now();
  auto parameters = model->named_parameters();
  const int threads = LoadThreads();
  if (model->options().device.is_cpu()) MoveToPopulatedArena(parameters.values(), threads);
  ProgressBar bar(options.label.empty() ? "loading" : "loading " + options.label, mapping.bytes,
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
      for (size_t i = next++; i < mapping.tensors.size() && !failed; i = next++) {
        const MappedTensor& item = mapping.tensors[i];
        LoadTensor(item, mapping.layout, blueprint, *parameters.find(item.name), staging, path);
        std::lock_guard<std::mutex> lock(bar_mutex);
        bar.Advance(item.source->entry->nbytes());
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
    stats->bytes = mapping.bytes;
    stats->seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return model;
}

CheckpointStream::CheckpointStream(const ModelFamily& family, const AnyConfig& config,
                                   const std::string& path, bool mmap)
    : reader_(Open(path, mmap)) {
  ModelPlacement meta;
  meta.meta = true;
  std::shared_ptr<DecoderModel> model = family.CreateNewModel(config, meta);
  blueprint_ = model->blueprint();
  mapping_ = MapCheckpoint(*reader_, KeyMaps(family), ShapesOf(*model), TiedHead(blueprint_), path);
}

CheckpointStream::~CheckpointStream() = default;
CheckpointStream::CheckpointStream(CheckpointStream&&) noexcept = default;
CheckpointStream& CheckpointStream::operator=(CheckpointStream&&) noexcept = default;

bool CheckpointStream::Next(std::string* name, at::Tensor* tensor) {
  if (next_ >= mapping_.tensors.size()) return false;
  const MappedTensor& item = mapping_.tensors[next_++];
  *name = item.name;
  *tensor = InModelLayout(item.source->file->Read(*item.source->entry), item, mapping_.layout,
                          blueprint_);
  return true;
}

size_t CheckpointStream::size() const { return mapping_.tensors.size(); }

}  // namespace modelhub
