#ifndef MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_JSON_H_
#define MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_JSON_H_

// JSON files that come with checkpoints (sharded indexes, Hugging Face
// config.json), parsed with one error for every way the text can be wrong.

#include <nlohmann/json.hpp>
#include <string>

namespace modelhub {

// The JSON value of `text`, the contents of the checkpoint file `path`. Throws
// CorruptModelCheckpointError(path, ...) when `text` is not JSON (naming the
// byte where it stops being JSON) or holds a number too large for a double.
nlohmann::json ParseCheckpointJson(const std::string& text, const std::string& path);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_JSON_H_
