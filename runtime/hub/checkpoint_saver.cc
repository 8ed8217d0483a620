#include "runtime/hub/checkpoint_saver.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/core/durable_file.h"
#include "runtime/core/errors.h"
#include "runtime/core/progress_bar.h"
#include "runtime/formats/safetensors.h"
#include "runtime/hub/hf_config.h"
#include "runtime/mapping/key_map.h"
#include "runtime/mapping/rope_layout.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;

// One tensor of the checkpoint and the parameters it stores: one, or the
// parts of a fused tensor concatenated along split_dim.
struct SavedTensor {
  std::string name;  // in the checkpoint format
  std::vector<at::Tensor> parameters;
  std::vector<RopeProjection> ropes;  // of each parameter
  int split_dim = -1;
  uint64_t bytes = 0;  // as stored
};

// What SaveCheckpoint writes, decided before anything is written.
struct CheckpointPlan {
  std::string config_json;
  std::vector<SavedTensor> tensors;  // in parameter order
  std::vector<size_t> shard_starts;  // index of each shard's first tensor
  uint64_t total_bytes = 0;          // of all tensors, as stored
  DecoderBlueprint blueprint;
  RopeLayout layout = RopeLayout::kRotateHalf;  // the format's
  c10::ScalarType dtype = c10::kFloat;          // as stored
};

// The model's parameters under the names of `map`, in parameter order (a
// fused tensor where its first part is; a tied model has no LM head
// parameter, so none is stored).
std::vector<SavedTensor> NameTensors(const ModelFamily& family, const KeyMap& map,
                                     const DecoderModel& model, c10::ScalarType dtype,
                                     const std::string& dir) {
  const auto parameters = model.named_parameters();
  std::vector<SavedTensor> tensors;
  std::set<std::string> named;
  for (const auto& item : parameters) {
    std::optional<std::string> name = map.Unmap(item.key());
    if (!name) {
      throw CheckpointSaveError(
          dir, absl::StrCat("parameter '", item.key(), "' has no name in the '", map.format(),
                            "' key map of model family '", family.name(), "'"));
    }
    if (!named.insert(*name).second) continue;  // a later part of a fused tensor
    // Map inverts Unmap: the parameters the tensor holds, and whether they feed RoPE.
    const MappedKey key = map.Map(*name).value();
    SavedTensor tensor{*name, {}, {}, key.split_dim, 0};
    for (const MappedKey& target : TargetsOf(key)) {
      const at::Tensor* parameter = parameters.find(target.name);
      if (parameter == nullptr) {
        throw CheckpointSaveError(
            dir, absl::StrCat("tensor '", *name, "' of the '", map.format(), "' key map holds '",
                              target.name, "', which the model lacks"));
      }
      tensor.parameters.push_back(*parameter);
      tensor.ropes.push_back(target.rope);
      tensor.bytes += static_cast<uint64_t>(parameter->numel()) * c10::elementSize(dtype);
    }
    tensors.push_back(std::move(tensor));
  }
  return tensors;
}

// Where each shard starts in `tensors`: in order, a new shard begins when the
// next tensor would take a non-empty one past `max_bytes`.
std::vector<size_t> ShardStarts(const std::vector<SavedTensor>& tensors, uint64_t max_bytes) {
  std::vector<size_t> starts = {0};
  uint64_t filled = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (filled > 0 && filled + tensors[i].bytes > max_bytes) {
      starts.push_back(i);
      filled = 0;
    }
    filled += tensors[i].bytes;
  }
  return starts;
}

// Checks that `model` can be saved and decides how; throws CheckpointSaveError
// naming `dir` otherwise.
CheckpointPlan Plan(const ModelFamily& family, const AnyConfig& config, const DecoderModel& model,
                    const std::string& dir, const SaveOptions& options) {
  if (model.options().meta()) {
    throw CheckpointSaveError(dir, "the model is on the meta device: it has no weights to save");
  }
  const KeyMap* map = family.FindKeyMap("hf");
  if (map == nullptr) {
    throw CheckpointSaveError(dir, absl::StrCat("model family '", family.name(),
                                                "' has no 'hf' key map to name the tensors"));
  }
  CheckpointPlan plan;
  plan.blueprint = config.ToBlueprint();
  if (std::string diff = DescribeDifference(plan.blueprint, model.blueprint()); !diff.empty()) {
    throw CheckpointSaveError(
        dir, absl::StrCat("the model was not built from this config (", diff, ")"));
  }
  plan.layout = map->layout();
  plan.dtype = options.dtype.value_or(model.options().dtype);
  plan.config_json = FormatHfConfig(family, plan.blueprint, plan.dtype, dir);
  plan.tensors = NameTensors(family, *map, model, plan.dtype, dir);
  plan.shard_starts = ShardStarts(plan.tensors, options.max_shard_bytes);
  for (const SavedTensor& tensor : plan.tensors) plan.total_bytes += tensor.bytes;
  return plan;
}

// The file name of shard `index` of `count`, as transformers names them.
std::string ShardName(size_t index, size_t count) {
  if (count == 1) return "model.safetensors";
  return absl::StrFormat("model-%05d-of-%05d.safetensors", index + 1, count);
}

// `tensor` as `plan` stores it: rows in the format's RoPE layout, in its
// dtype, parts concatenated.
at::Tensor Stored(const SavedTensor& tensor, const CheckpointPlan& plan) {
  std::vector<at::Tensor> parts;
  for (size_t i = 0; i < tensor.parameters.size(); ++i) {
    at::Tensor value = tensor.parameters[i].detach();
    if (tensor.ropes[i] != RopeProjection::kNone) {
      value = ConvertRopeLayout(value, plan.blueprint.HeadDim(), plan.blueprint.rope.layout,
                                plan.layout);
    }
    parts.push_back(value.to(plan.dtype));
  }
  return parts.size() == 1 ? parts.front() : at::cat(parts, tensor.split_dim);
}

// Writes the checkpoint `plan` describes into the folder `out`.
void WriteFolder(const CheckpointPlan& plan, const fs::path& out, ProgressBar& bar) {
  WriteSyncedFile((out / "config.json").string(), plan.config_json);
  nlohmann::json weight_map = nlohmann::json::object();
  const size_t count = plan.shard_starts.size();
  for (size_t s = 0; s < count; ++s) {
    const std::string file = ShardName(s, count);
    const size_t end = s + 1 < count ? plan.shard_starts[s + 1] : plan.tensors.size();
    std::vector<std::pair<std::string, at::Tensor>> shard;
    uint64_t bytes = 0;
    for (size_t i = plan.shard_starts[s]; i < end; ++i) {
      shard.emplace_back(plan.tensors[i].name, Stored(plan.tensors[i], plan));
      weight_map[plan.tensors[i].name] = file;
      bytes += plan.tensors[i].bytes;
    }
    WriteSafetensors((out / file).string(), shard, {{"format", "pt"}});
    bar.Advance(bytes);
  }
  if (count > 1) {
    const nlohmann::json index = {{"metadata", {{"total_size", plan.total_bytes}}},
                                  {"weight_map", weight_map}};
    WriteSyncedFile((out / "model.safetensors.index.json").string(), index.dump(2) + "\n");
  }
  if (const int error = SyncFolder(out.string())) {
    throw std::system_error(error, std::generic_category(), "cannot flush " + out.string());
  }
}

// A new, empty folder beside `target`, named `<target>.tmp.<pid>.<n>` (parent
// folders created), removed with its contents on destruction unless
// Release()d.
class TempFolder {
 public:
  explicit TempFolder(const fs::path& target) {
    static std::atomic<int> counter{0};
    fs::create_directories(target.parent_path());
    do {
      path_ = absl::StrCat(target.string(), ".tmp.", ::getpid(), ".", counter++);
    } while (!fs::create_directory(path_));
  }
  ~TempFolder() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  const fs::path& path() const { return path_; }
  void Release() { path_.clear(); }

 private:
  fs::path path_;
};

// `dir` as an absolute path without a trailing separator.
fs::path Target(const std::string& dir) {
  fs::path target = fs::absolute(dir).lexically_normal();
  return target.has_filename() ? target : target.parent_path();
}

}  // namespace

void CheckSaveDestination(const std::string& dir) {
  const fs::path target = Target(dir);
  std::error_code error;
  const fs::file_status status = fs::symlink_status(target, error);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) throw CheckpointSaveError(dir, "it exists and is not a folder");
    if (!fs::is_empty(target, error) || error) {
      throw CheckpointSaveError(dir, "it is a folder that is not empty");
    }
  }
  // The temporary sibling (and any missing parent) is created in the nearest
  // folder above that exists: it must be a writable folder.
  for (fs::path above = target.parent_path();; above = above.parent_path()) {
    struct stat info {};
    if (::stat(above.c_str(), &info) == 0) {
      if (!S_ISDIR(info.st_mode)) {
        throw CheckpointSaveError(dir, absl::StrCat(above.string(), " is not a folder"));
      }
      if (::access(above.c_str(), W_OK) != 0) {
        throw CheckpointSaveError(dir, absl::StrCat("the folder ", above.string(),
                                                    " is not writable: ", std::strerror(errno)));
      }
      return;
    }
    if (errno != ENOENT && errno != ENOTDIR) {
      throw CheckpointSaveError(
          dir, absl::StrCat("cannot look at ", above.string(), ": ", std::strerror(errno)));
    }
    if (above == above.root_path() || !above.has_parent_path()) return;
  }
}

void SaveCheckpoint(const ModelFamily& family, const AnyConfig& config, const DecoderModel& model,
                    const std::string& dir, const SaveOptions& options) {
  CheckSaveDestination(dir);
  const fs::path target = Target(dir);
  const CheckpointPlan plan = Plan(family, config, model, dir, options);
  try {
    TempFolder temp(target);
    ProgressBar bar("saving " + dir, plan.total_bytes, options.progress);
    WriteFolder(plan, temp.path(), bar);
    if (std::rename(temp.path().c_str(), target.c_str()) != 0) {
      throw std::system_error(
          errno, std::generic_category(),
          absl::StrCat("cannot rename ", temp.path().string(), " to ", target.string()));
    }
    temp.Release();
    // Makes the rename durable, if the file system can; the checkpoint is complete anyway.
    SyncFolder(target.parent_path().string());
  } catch (const c10::Error& e) {
    throw TorchError(absl::StrCat("saving a checkpoint to ", dir), e.what_without_backtrace());
  } catch (const CheckpointSaveError& e) {
    if (e.path() == dir) throw;
    // A file of the temporary folder failed (it is named in the reason).
    const std::string prefix = absl::StrCat("cannot save a checkpoint to ", e.path(), ": ");
    const std::string what = e.what();
    throw CheckpointSaveError(dir, what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what);
  } catch (const std::system_error& e) {
    throw CheckpointSaveError(dir, e.what());
  } catch (const std::invalid_argument& e) {
    throw CheckpointSaveError(dir, e.what());
  }
}

}  // namespace modelhub
