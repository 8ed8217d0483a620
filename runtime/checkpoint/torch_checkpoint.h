#ifndef MODELHUB_RUNTIME_CHECKPOINT_TORCH_CHECKPOINT_H_
#define MODELHUB_RUNTIME_CHECKPOINT_TORCH_CHECKPOINT_H_

// modelhub's reader of torch.save checkpoints (.pt, .pth, .bin; PyTorch 1.6
// and later): an uncompressed zip holding `<prefix>/data.pkl` (a pickle of the
// state dict whose tensors refer to storages by persistent id) and each
// storage's raw bytes as `<prefix>/data/<key>`. It does what
// torch.load(weights_only=True) does, in C++, without running any Python: the
// pickle is read by a restricted unpickler that only knows the globals that
// rebuild tensors (and OrderedDict), so a checkpoint that calls os.system or
// eval is refused, never run. Tensor bytes are not read here: each tensor
// becomes a TensorEntry at its absolute place in the file, read later in
// place (pread or mmap), from any number of threads.

#include <cstddef>
#include <string>
#include <string_view>

#include "runtime/checkpoint/tensor_file.h"

namespace modelhub {

// How OpenTorchCheckpoint treats the objects of a pickle.
struct TorchLoadOptions {
  // true: only what torch.load(weights_only=True) allows, the globals that
  // rebuild tensors and parameters, storage types, dtypes and OrderedDict.
  // false (a card's `restrict: false`): also argparse.Namespace and the
  // classes of fairseq2.* modules (training configs stored beside the
  // weights), which become opaque "skipped" values. Nothing is ever called or
  // executed either way.
  bool restrict = true;
};

// Opens the torch.save checkpoint at `path` and lists its tensors, read with
// `strategy`. The top level must be a state dict (str keys to tensors, as
// `torch.save(model.state_dict())` and Hugging Face's pytorch_model.bin
// write) or a fairseq2-style wrapper: a dict whose value under the key named
// by its str "model_key" entry (else under "model") is the state dict.
// Entries are named by their state-dict keys; tensors may share storage and
// need not be contiguous. The metadata of the result has "wrapper" naming the
// unwrapped key (absent without a wrapper) and, for every other key of a
// wrapper, a short description of its value ("int 1000", "str 'abc'",
// "dict of 3", "tensor F32 [2, 3]", "skipped argparse.Namespace").
//
// Throws AssetNotFoundError if `path` does not exist, and
// CorruptModelCheckpointError naming the problem and where it is (record,
// data.pkl byte offset, state-dict key) when: the file is the legacy pre-1.6
// format (pickle or tar); the zip is malformed or compressed (see ZipArchive;
// this refuses TorchScript archives too); its `version` is newer than torch
// 2.x writes or its `byteorder` is not "little"; data.pkl exceeds 1 GiB, names
// a global outside the allowlist or uses an unsupported opcode; a storage is
// missing, complex, quantized or claims more bytes than its record holds; a
// tensor's sizes or strides are negative, mismatched, overflow, or reach past
// its storage; or the top level is not one of the shapes above (a non-tensor
// value inside the state dict names its key).
TensorFile OpenTorchCheckpoint(const std::string& path, ReadStrategy strategy,
                               const TorchLoadOptions& options = {});

// How many leading bytes of a file StartsLikeTorchSave needs.
inline constexpr size_t kTorchSaveStartBytes = 262;

// True when `start`, the first bytes of a file (kTorchSaveStartBytes, or the
// whole file if shorter), begins as a torch.save file does: a zip, or one of
// the legacy formats OpenTorchCheckpoint refuses by name (a pickle: the PROTO
// opcode then the format's magic number; a tar archive). Safetensors files
// never do: their first 8 bytes are a header length of at most 100 MB.
bool StartsLikeTorchSave(std::string_view start);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_TORCH_CHECKPOINT_H_
