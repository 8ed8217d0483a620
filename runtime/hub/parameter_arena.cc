#include "runtime/hub/parameter_arena.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

constexpr size_t kAlignment = 64;              // each tensor starts on a cache line
constexpr size_t kHugePage = size_t{2} << 20;  // where the arena starts

size_t AlignUp(size_t value, size_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// Fills the page tables of [begin, begin + size): one madvise, or a write per
// page where the kernel lacks MADV_POPULATE_WRITE (Linux < 5.14).
void Populate(char* begin, size_t size) {
  if (size == 0) return;
#ifdef MADV_POPULATE_WRITE
  if (::madvise(begin, size, MADV_POPULATE_WRITE) == 0) return;
#endif
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  for (size_t offset = 0; offset < size; offset += page) begin[offset] = 0;
}

}  // namespace

void MoveToPopulatedArena(const std::vector<at::Tensor>& tensors, int threads) {
  size_t total = 0;
  std::vector<size_t> offsets;
  for (const at::Tensor& tensor : tensors) {
    offsets.push_back(total);
    total += AlignUp(tensor.nbytes(), kAlignment);
  }
  if (total == 0) return;
  // Over-allocate so that the arena can start on a huge page boundary.
  const size_t mapped = AlignUp(total, kHugePage) + kHugePage;
  void* raw = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) {
    throw Error(
        absl::StrCat("cannot map a parameter arena of ", mapped, " bytes: ", std::strerror(errno)));
  }
  char* base = reinterpret_cast<char*>(AlignUp(reinterpret_cast<uintptr_t>(raw), kHugePage));
  ::madvise(base, AlignUp(total, kHugePage), MADV_HUGEPAGE);  // advice: may be refused

  // Slices that no thread could be started for are populated here.
  const size_t workers = static_cast<size_t>(std::max(1, threads));
  const size_t slice = AlignUp((total + workers - 1) / workers, kHugePage);
  std::vector<std::thread> pool;
  for (size_t begin = slice; begin < total; begin += slice) {
    const size_t size = std::min(slice, total - begin);
    try {
      pool.emplace_back(Populate, base + begin, size);
    } catch (const std::system_error&) {
      Populate(base + begin, size);
    }
  }
  Populate(base, std::min(slice, total));
  for (std::thread& worker : pool) worker.join();

  at::Tensor arena;
  try {
    arena = at::from_blob(
        base, {static_cast<int64_t>(total)}, [raw, mapped](void*) { ::munmap(raw, mapped); },
        at::TensorOptions().dtype(at::kByte));
  } catch (const c10::Error& e) {
    ::munmap(raw, mapped);
    throw TorchError("creating a parameter arena", e.what_without_backtrace());
  }
  at::NoGradGuard no_grad;
  try {
    for (size_t i = 0; i < tensors.size(); ++i) {
      at::Tensor tensor = tensors[i];
      const int64_t element = static_cast<int64_t>(tensor.element_size());
      const std::vector<int64_t> sizes = tensor.sizes().vec();
      const std::vector<int64_t> strides = tensor.strides().vec();
      tensor.set_(arena.storage(), static_cast<int64_t>(offsets[i]) / element, sizes, strides);
    }
  } catch (const c10::Error& e) {
    throw TorchError("moving parameters into their arena", e.what_without_backtrace());
  }
}

}  // namespace modelhub
