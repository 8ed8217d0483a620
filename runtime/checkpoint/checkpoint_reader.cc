#include "runtime/checkpoint/checkpoint_reader.h"

#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"

namespace modelhub {

CheckpointReader::CheckpointReader(const CheckpointFiles& files, ReadStrategy strategy)
    : files_(files) {
  std::unordered_map<std::string, const TensorFile*> owner;
  for (const std::string& path : files_.tensor_files) {
    opened_.push_back(std::make_unique<TensorFile>(OpenSafetensors(path, strategy)));
    const TensorFile* file = opened_.back().get();
    for (const TensorEntry& entry : file->entries()) {
      auto [it, inserted] = owner.emplace(entry.name, file);
      if (!inserted) {
        throw CorruptModelCheckpointError(
            path, absl::StrCat("tensor '", entry.name, "' is also in ", it->second->path()));
      }
      if (!files_.weight_map.empty()) {
        auto mapped = files_.weight_map.find(entry.name);
        if (mapped != files_.weight_map.end() && mapped->second != path) {
          throw CorruptModelCheckpointError(
              path, absl::StrCat("tensor '", entry.name, "' is here, but the index ",
                                 files_.index_file, " places it in ", mapped->second));
        }
      }
      tensors_.push_back({entry.name, file, &entry});
      total_bytes_ += entry.nbytes();
    }
  }
  for (const auto& [name, path] : files_.weight_map) {
    if (owner.count(name) == 0) {
      throw CorruptModelCheckpointError(
          path, absl::StrCat("tensor '", name, "' is missing, though the index ", files_.index_file,
                             " places it in this file"));
    }
  }
}

}  // namespace modelhub
