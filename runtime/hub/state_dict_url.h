#ifndef MODELHUB_RUNTIME_HUB_STATE_DICT_URL_H_
#define MODELHUB_RUNTIME_HUB_STATE_DICT_URL_H_

// torch.hub.load_state_dict_from_url in C++: a checkpoint file at a URL,
// cached where Python's torch.hub caches it, read into tensors by modelhub's
// readers (safetensors, torch.save zip and legacy pickle files).

#include <ATen/ATen.h>

#include <map>
#include <string>

namespace modelhub {

// How LoadStateDictFromUrl fetches and reads.
struct LoadStateDictOptions {
  // The cache folder; "" is <GetHubDir()>/checkpoints, as torch.hub's.
  std::string model_dir;
  // Where the tensors go (torch.hub's map_location).
  c10::Device map_location = c10::kCPU;
  // Progress on stderr while downloading.
  bool progress = true;
  // Check the file's SHA-256 against the hash prefix in its name (the hex of
  // its first "-<hex>.", e.g. resnet18-f37072fd.pth) when downloading; a name
  // without a prefix of 8 or more hex digits is refused.
  bool check_hash = false;
  // The cached file's name; "" is the last part of the URL's path.
  std::string file_name;
};

// The tensors of the checkpoint at `url`, by name. The file goes to
// <model_dir>/<file name>, exactly where Python's
// torch.hub.load_state_dict_from_url puts it, so a file either side downloaded
// serves the other; a file already there is read without any request (as
// torch.hub does: offline use works). The file is always read as weights only
// (torch.load(weights_only=True)'s allowlist; no code runs): there is no
// unsafe mode to ask for. A zip holding exactly one file (torch.hub's legacy
// zip format) is unpacked into model_dir and that file is read. Throws
// AssetDownloadError for download failures (hash mismatch included: nothing is
// left at the cache path), CorruptModelCheckpointError for a file that does
// not read, UnsupportedDtypeError for tensors LibTorch cannot hold.
std::map<std::string, at::Tensor> LoadStateDictFromUrl(const std::string& url,
                                                       const LoadStateDictOptions& options = {});

// The local checkpoint file LoadStateDictFromUrl reads for `url`: fetched
// into its cache path (unless there already), with the same checks, and a
// legacy zip unpacked. Throws as LoadStateDictFromUrl does.
std::string FetchStateDictFile(const std::string& url, const LoadStateDictOptions& options = {});

// Where LoadStateDictFromUrl caches `url` (its model_dir and file_name
// options applied): <model_dir>/<file name>.
std::string StateDictCachePath(const std::string& url, const LoadStateDictOptions& options = {});

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_STATE_DICT_URL_H_
