#include "runtime/formats/checkpoint_reader.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"
#include "runtime/formats/safetensors.h"

namespace modelhub {

TensorFile OpenCheckpointFile(const std::string& path, ReadStrategy strategy,
                              const TorchLoadOptions& torch) {
  // Opened once to read its first bytes: a file that cannot be opened fails
  // here, whatever its format (AssetNotFoundError, CorruptModelCheckpointError
  // naming the system's reason).
  const TensorFile probe = TensorFile::Open(path, ReadStrategy::kPread, "checkpoint");
  std::string start(std::min<uint64_t>(kTorchSaveStartBytes, probe.file_size()), '\0');
  probe.ReadBytes(0, start.size(), start.data(), "the first bytes");
  if (StartsLikeTorchSave(start)) return OpenTorchCheckpoint(path, strategy, torch);
  return OpenSafetensors(path, strategy);
}

CheckpointReader::CheckpointReader(const CheckpointFiles& files, ReadStrategy strategy,
                                   const TorchLoadOptions& torch)
    : files_(files) {
  for (size_t i = 0; i < files_.tensor_files.size(); ++i) {
    opened_.push_back(
        std::make_unique<TensorFile>(OpenCheckpointFile(files_.tensor_files[i], strategy, torch)));
    if (files_.rank_sharded) {
      AddRankFile(*opened_.back(), i);
    } else {
      AddShardedFile(*opened_.back());
    }
  }
  for (const auto& [name, path] : files_.weight_map) {
    if (owner_.count(name) == 0) {
      throw CorruptModelCheckpointError(
          path, absl::StrCat("tensor '", name, "' is missing, though the index ", files_.index_file,
                             " places it in this file"));
    }
  }
}

void CheckpointReader::AddShardedFile(const TensorFile& file) {
  for (const TensorEntry& entry : file.entries()) {
    auto [owner, inserted] = owner_.emplace(entry.name, &file);
    if (!inserted) {
      throw CorruptModelCheckpointError(
          file.path(),
          absl::StrCat("tensor '", entry.name, "' is also in ", owner->second->path()));
    }
    if (!files_.weight_map.empty()) {
      auto mapped = files_.weight_map.find(entry.name);
      if (mapped != files_.weight_map.end() && mapped->second != file.path()) {
        throw CorruptModelCheckpointError(
            file.path(), absl::StrCat("tensor '", entry.name, "' is here, but the index ",
                                      files_.index_file, " places it in ", mapped->second));
      }
    }
    tensors_.push_back({entry.name, {{&file, &entry}}});
    total_bytes_ += entry.nbytes();
  }
}

void CheckpointReader::AddRankFile(const TensorFile& file, size_t rank) {
  if (rank == 0) {
    for (const TensorEntry& entry : file.entries()) {
      tensors_.push_back({entry.name, {{&file, &entry}}});
      total_bytes_ += entry.nbytes();
    }
    return;
  }
  const TensorFile& first = *opened_.front();
  if (file.entries().size() != first.entries().size()) {
    throw CorruptModelCheckpointError(
        file.path(), absl::StrCat("holds ", file.entries().size(), " tensors but ", first.path(),
                                  " holds ", first.entries().size(),
                                  ": every rank file of a Meta checkpoint holds the same names"));
  }
  for (CheckpointTensor& tensor : tensors_) {
    const TensorEntry* entry = file.Find(tensor.name);
    if (entry == nullptr) {
      throw CorruptModelCheckpointError(
          file.path(), absl::StrCat("lacks tensor '", tensor.name, "', which rank 0's ",
                                    first.path(), " holds"));
    }
    if (entry->dtype != tensor.entry().dtype ||
        entry->shape.size() != tensor.entry().shape.size()) {
      throw CorruptModelCheckpointError(
          file.path(),
          absl::StrCat("tensor '", tensor.name, "' is ", std::string(TensorDtypeName(entry->dtype)),
                       " of rank ", entry->shape.size(), " here but ",
                       std::string(TensorDtypeName(tensor.entry().dtype)), " of rank ",
                       tensor.entry().shape.size(), " in ", first.path()));
    }
    tensor.parts.push_back({&file, entry});
    total_bytes_ += entry->nbytes();
  }
}

}  // namespace modelhub
