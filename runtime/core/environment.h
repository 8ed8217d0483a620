#ifndef MODELHUB_RUNTIME_CORE_ENVIRONMENT_H_
#define MODELHUB_RUNTIME_CORE_ENVIRONMENT_H_

// Environment variables, read where they are used (never cached, so tests and
// the CLI's --offline can set them).

#include <string>

namespace modelhub {

// The value of environment variable `name`, "" when unset.
std::string GetEnv(const char* name);

// True when environment variable `name` is 1, true, yes or on (any case), as
// huggingface_hub reads its flags (HF_HUB_OFFLINE).
bool EnvFlag(const char* name);

// The user's cache folder: $XDG_CACHE_HOME, else $HOME/.cache.
std::string UserCacheDir();

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CORE_ENVIRONMENT_H_
