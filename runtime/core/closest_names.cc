#include "runtime/core/closest_names.h"

#include <algorithm>
#include <utility>

namespace modelhub {
namespace {

// Levenshtein distance with one rolling row; names are short.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::vector<std::string> ClosestNames(std::string_view name, const std::vector<std::string>& known,
                                      size_t limit) {
  // A name is a plausible typo when at most a third of it (or 2 chars) differs.
  const size_t max_distance = std::max<size_t>(2, name.size() / 3);
  std::vector<std::pair<size_t, size_t>> scored;  // (distance, index in known)
  for (size_t i = 0; i < known.size(); ++i) {
    size_t distance = EditDistance(name, known[i]);
    if (distance <= max_distance) scored.emplace_back(distance, i);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> result;
  for (size_t i = 0; i < scored.size() && i < limit; ++i) {
    result.push_back(known[scored[i].second]);
  }
  return result;
}

}  // namespace modelhub
