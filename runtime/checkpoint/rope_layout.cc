#include "runtime/checkpoint/rope_layout.h"

#include <string>
#include <vector>

#include "runtime/core/errors.h"

namespace modelhub {

at::Tensor ConvertRopeLayout(const at::Tensor& tensor, int64_t num_heads, RopeLayout from,
                             RopeLayout to) {
  if (from == to) return tensor;
  const int64_t rows = tensor.dim() > 0 ? tensor.size(0) : 0;
  if (num_heads <= 0 || rows % num_heads != 0 || (rows / num_heads) % 2 != 0) {
    throw InvalidModelInputError("cannot convert the RoPE layout of a tensor with " +
                                 std::to_string(rows) + " rows into " + std::to_string(num_heads) +
                                 " heads of even size");
  }
  const int64_t half = rows / num_heads / 2;
  std::vector<int64_t> shape = {num_heads, 0, 0};
  for (int64_t d = 1; d < tensor.dim(); ++d) shape.push_back(tensor.size(d));
  // Interleaved rows of a head are (pair, member); rotate-half rows are (member, pair).
  if (from == RopeLayout::kInterleaved) {
    shape[1] = half;
    shape[2] = 2;
  } else {
    shape[1] = 2;
    shape[2] = half;
  }
  return tensor.reshape(shape).transpose(1, 2).reshape(tensor.sizes()).contiguous();
}

}  // namespace modelhub
