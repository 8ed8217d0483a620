#ifndef MODELHUB_TOOLS_CLI_DOWNLOAD_COMMANDS_H_
#define MODELHUB_TOOLS_CLI_DOWNLOAD_COMMANDS_H_

#include <ostream>
#include <string>

namespace modelhub::cli {

// `modelhub download TARGET`: fetches the checkpoint of a card name, an
// hg://org/name[@rev] or an http(s) URL into the cache (progress on stderr,
// one line per file with `quiet` or without a terminal), then prints a summary
// and, last, the local path.
void RunDownload(const std::string& target, bool quiet, std::ostream& out);

// `modelhub download URL --to DST [--hash-prefix HEX]`: torch.hub's
// download_url_to_file (DownloadUrlToFile); prints the SHA-256 and, last, DST.
// A target that is no http(s) URL is a UsageError.
void RunDownloadTo(const std::string& url, const std::string& dst, const std::string& hash_prefix,
                   bool quiet, std::ostream& out);

// For `modelhub inspect URL [--check-hash]`: the local file of the http(s)
// checkpoint `url`, fetched as LoadStateDictFromUrl fetches it (torch.hub's
// cache path, the same checks).
std::string FetchInspectedUrl(const std::string& url, bool check_hash);

// Whether `target` is an http:// or https:// URL.
bool IsHttpUrl(const std::string& target);

// `modelhub cache ls`: one line per cached repo or URL (size, files, partial
// bytes, revisions), then the cache folders.
void ListCacheEntries(std::ostream& out);

// `modelhub cache rm TARGET`: removes the entries whose URI is `target`
// (hg://org/name removes every revision). UsageError when none matches.
void RemoveCacheEntries(const std::string& target, std::ostream& out);

// `modelhub cache verify [TARGET]`: re-hashes every file of the entries (all
// of them without a target) and prints each problem. Returns false when a
// file is missing or does not match.
bool VerifyCacheEntries(const std::string& target, std::ostream& out);

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_DOWNLOAD_COMMANDS_H_
