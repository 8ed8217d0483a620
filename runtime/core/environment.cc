#include "runtime/core/environment.h"

#include <cstdlib>

namespace modelhub {

std::string GetEnv(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string UserCacheDir() {
  if (std::string xdg = GetEnv("XDG_CACHE_HOME"); !xdg.empty()) return xdg;
  return GetEnv("HOME") + "/.cache";
}

}  // namespace modelhub
