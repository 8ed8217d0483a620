#ifndef MODELHUB_RUNTIME_HUB_CHECKPOINT_FETCH_H_
#define MODELHUB_RUNTIME_HUB_CHECKPOINT_FETCH_H_

// Remote checkpoints and tokenizers made local: hg://org/name[@revision]
// through the Hugging Face Hub into its shared cache, http(s):// URLs into
// modelhub's cache (archives unpacked). Fetches only what a checkpoint or a
// tokenizer needs, once; a complete cached copy is used with no request at all.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "runtime/download/file_download.h"
#include "runtime/download/http_client.h"

namespace modelhub {

// How remote checkpoints are fetched.
struct FetchOptions {
  // No network: the cache or an AssetDownloadError. HF_HUB_OFFLINE=1 sets it too.
  bool offline = false;
  // Progress on stderr (see ChooseProgressStyle): bars on a terminal, else a
  // line per file; `quiet` keeps only the lines.
  bool progress = false;
  bool quiet = false;
  RetryPolicy retry;
  HttpTimeouts timeouts;
};

// What a fetch did.
struct FetchReport {
  // The checkpoint on this machine: a file or a folder.
  std::string path;
  int files_downloaded = 0;
  int files_cached = 0;
  uint64_t bytes_received = 0;
  // HTTP requests sent (0 when the cache had everything).
  int requests = 0;
};

// Makes the checkpoint at `uri` local and returns where it is. `inside` is the
// card's checkpoint_path: a file or folder inside the repo or the unpacked
// archive (AssetDownloadError when it does not exist there or leads out of it,
// symlinks included). `sha256` maps files to the hashes they must have (the
// key "" for the one file a URL names). For hg://, the files fetched are the
// ones FindCheckpointFiles would read in the chosen folder (the index and its
// shards, or the preferred tensor files) and config.json. Throws
// AssetDownloadError (see DownloadFile, FetchUrl; also for file system
// failures in the cache) and CorruptModelCheckpointError for a repo folder
// with no checkpoint.
FetchReport FetchCheckpoint(const std::string& uri, const std::optional<std::string>& inside,
                            const std::map<std::string, std::string>& sha256,
                            const FetchOptions& options);

// Makes the tokenizer at `uri` local, as FetchCheckpoint does, and returns
// where it is. `inside` is the card's tokenizer_path. For hg://, only the
// tokenizer files of the repo folder (or the one file) `inside` are fetched:
// tokenizer.json, tokenizer_config.json, special_tokens_map.json and
// tokenizer.model, whichever the repo has (AssetDownloadError when it has
// neither tokenizer.json nor tokenizer.model there). A URL is fetched whole
// (an archive unpacked: Mistral's .tar releases).
FetchReport FetchTokenizer(const std::string& uri, const std::optional<std::string>& inside,
                           const FetchOptions& options);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_CHECKPOINT_FETCH_H_
