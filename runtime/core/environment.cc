#include "runtime/core/environment.h"

#include <cstdlib>

#include "absl/strings/ascii.h"

namespace modelhub {

std::string GetEnv(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

bool EnvFlag(const char* name) {
  const std::string value = absl::AsciiStrToLower(GetEnv(name));
  return value == "1" || value == "true" || value == "yes" || value == "on";
}

std::string UserCacheDir() {
  if (std::string xdg = GetEnv("XDG_CACHE_HOME"); !xdg.empty()) return xdg;
  return GetEnv("HOME") + "/.cache";
}

}  // namespace modelhub
