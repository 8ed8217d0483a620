#ifndef MODELHUB_RUNTIME_HUB_PARAMETER_ARENA_H_
#define MODELHUB_RUNTIME_HUB_PARAMETER_ARENA_H_

#include <ATen/core/Tensor.h>

#include <vector>

namespace modelhub {

// Moves the storage of `tensors` (CPU, contiguous, distinct) into one anonymous
// memory arena whose page tables are filled up front: huge pages where the
// kernel offers them (MADV_HUGEPAGE), populated by `threads` threads
// (MADV_POPULATE_WRITE, or one write per page on kernels without it). Reading
// checkpoint bytes into the tensors then runs at copy speed instead of paying
// a page fault per 4 KiB on first touch (tens of microseconds each on some
// virtual machines). Contents are not kept: this is for parameters about to be
// overwritten. The arena is freed with the last tensor that uses it. Throws
// modelhub::Error naming the size and the system's reason when the arena
// cannot be mapped (the tensors are untouched then), TorchError when LibTorch
// refuses a tensor.
void MoveToPopulatedArena(const std::vector<at::Tensor>& tensors, int threads);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_PARAMETER_ARENA_H_
