#include "runtime/mapping/rope_layout.h"

#include <string>
#include <vector>

#include "runtime/core/errors.h"

namespace modelhub {

at::Tensor ConvertRopeLayout(const at::Tensor& tensor, int64_t head_dim, RopeLayout from,
                             RopeLayout to) {
  if (from == to) return tensor;
  const int64_t rows = tensor.dim() > 0 ? tensor.size(0) : 0;
  if (head_dim <= 0 || head_dim % 2 != 0 || rows == 0 || rows % head_dim != 0) {
    throw InvalidModelInputError("cannot convert the RoPE layout of a tensor with " +
                                 std::to_string(rows) + " rows: not heads of " +
                                 std::to_string(head_dim) + " (an even size)");
  }
  const int64_t num_heads = rows / head_dim;
  const int64_t half = head_dim / 2;
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
