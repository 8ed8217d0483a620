#include "bench/proc_memory.h"

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

namespace modelhub::bench {

uint64_t ProcBytes(const char* key, const char* file) {
  std::ifstream in(file);
  std::string line;
  const size_t n = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':') {
      return std::stoull(line.substr(n + 1)) * 1024;
    }
  }
  throw std::runtime_error(std::string("no ") + key + " in " + file);
}

void ResetPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  if (!out) throw std::runtime_error("cannot write /proc/self/clear_refs");
}

}  // namespace modelhub::bench
