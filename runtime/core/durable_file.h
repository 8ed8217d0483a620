#ifndef MODELHUB_RUNTIME_CORE_DURABLE_FILE_H_
#define MODELHUB_RUNTIME_CORE_DURABLE_FILE_H_

// Small files written so that a crash leaves either the old state or the new
// one: fsync before rename, and the folder synced after.

#include <string>
#include <string_view>

namespace modelhub {

// Writes `contents` to a new file at `path` (which must not exist) and flushes
// it to the disk. Throws std::system_error naming the path.
void WriteSyncedFile(const std::string& path, std::string_view contents);

// Flushes the entries of the folder `path` (creations, renames) to the disk;
// returns 0, or the errno of the failure.
int SyncFolder(const std::string& path);

// Makes `path` hold `contents`, atomically: a synced temporary sibling is
// renamed over it, then the folder is synced. Readers see the old file or the
// new one, never a part. Throws std::system_error naming the path (the
// temporary file is removed then).
void ReplaceFileAtomically(const std::string& path, std::string_view contents);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CORE_DURABLE_FILE_H_
