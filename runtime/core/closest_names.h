#ifndef MODELHUB_RUNTIME_CORE_CLOSEST_NAMES_H_
#define MODELHUB_RUNTIME_CORE_CLOSEST_NAMES_H_

#include <string>
#include <string_view>
#include <vector>

namespace modelhub {

// Returns up to `limit` names from `known` that are closest to `name` by edit
// distance (ties keep the order of `known`), leaving out names so far away that
// they cannot be what was meant. Used for "did you mean" hints in errors.
std::vector<std::string> ClosestNames(std::string_view name, const std::vector<std::string>& known,
                                      size_t limit = 3);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CORE_CLOSEST_NAMES_H_
