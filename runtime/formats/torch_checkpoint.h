#ifndef MODELHUB_RUNTIME_CHECKPOINT_TORCH_CHECKPOINT_H_
#define MODELHUB_RUNTIME_CHECKPOINT_TORCH_CHECKPOINT_H_

// modelhub's reader of torch.save checkpoints (.pt, .pth, .bin; PyTorch 1.6
// and later): an uncompressed zip holding `<prefix>/data.pkl` (a pickle of the
// state dict whose tensors refer to storages by persistent id) and each
// storage's raw bytes as `<prefix>/data/<key>`. It reads what
// torch.load(weights_only=True) reads, in C++, without running any Python:
// the pickle is read by a restricted unpickler that knows only PyTorch's
// allowlist (the globals that rebuild tensors, storage types, dtypes,
// OrderedDict, Counter, set, bytes, bytearray, complex, torch.device,
// torch.Size) and the opcodes PyTorch reads, so a checkpoint that calls
// os.system or eval is refused, never run. Tensor bytes are not read here:
// each tensor becomes a TensorEntry at its absolute place in the file, read
// later in place (pread or mmap), from any number of threads.

#include <cstddef>
#include <string>
#include <string_view>

#include "runtime/formats/tensor_file.h"

namespace modelhub {

// How OpenTorchCheckpoint treats the objects of a pickle.
struct TorchLoadOptions {
  // true: only what torch.load(weights_only=True) allows (PyTorch's
  // allowlist: the globals that rebuild tensors and parameters, storage
  // types, dtypes, OrderedDict, Counter, set, bytes, bytearray, complex,
  // torch.device, torch.Size).
  // false (a card's `restrict: false`): also argparse.Namespace and the
  // classes of fairseq2.* modules (training configs stored beside the
  // weights), which become opaque "skipped" values. Nothing is ever called or
  // executed either way.
  bool restrict = true;
};

// Opens the torch.save checkpoint at `path` and lists its tensors, read with
// `strategy`. Whatever value the file holds, the tensors are the entries and
// every other value is described in the metadata ("int 1000", "int
// 1180591620717411303424", "float 0.001", "complex (1+2j)", "str 'abc'",
// "bytes of 3", "set of 2", "Counter of 2", "OrderedDict of 4", "torch.device
// 'cuda:0'", "torch.Size [2, 3]", "torch.float32", "tensor F32 [2, 3]" for a
// tensor that is no weight, "skipped argparse.Namespace"):
// - a dict is a state dict: its str keys name its tensors; other values go
//   to the metadata under their key (a key that is no str as "<int 0>"). A
//   key set twice keeps its last value, as in Python.
// - a fairseq2-style wrapper, a dict whose value under the key named by its
//   str "model_key" entry (else under "model") is a dict, has that dict as
//   its state dict, whose non-tensors go to the metadata as "<key>.<name>";
//   the metadata has "wrapper" naming the key, and every other key of the
//   wrapper with a description of its value (tensors there, e.g. an
//   optimizer's, are no weights).
// - a list or tuple names its tensors by their index ("0", "1", ...); other
//   items go to the metadata under their index.
// - a bare tensor is one entry with the empty name ""; any other value is
//   described in the metadata under "".
// Tensors may share storage and need not be contiguous.
//
// Throws AssetNotFoundError if `path` does not exist, and
// CorruptModelCheckpointError naming the problem and where it is (record,
// data.pkl byte offset) when: the file is the legacy pre-1.6 format (pickle or
// tar); the zip is malformed or compressed (see ZipArchive; this refuses
// TorchScript archives too); its `version` is newer than torch 2.x writes or
// its `byteorder` is not "little"; data.pkl exceeds 1 GiB, names a global
// outside PyTorch's allowlist, uses an opcode PyTorch does not read, or calls
// an allowlisted function in a way PyTorch would fail on; a tensor has a
// dtype modelhub cannot hold ("unsupported dtype": quantized, complex32,
// float4_e2m1fn_x2, bits*, int1-7, uint1-7) or is sparse, meta or a
// conjugate/negative view; a storage is missing or
// claims more bytes than its record holds; a tensor's sizes or strides are
// negative, mismatched, overflow, or reach past its storage.
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
