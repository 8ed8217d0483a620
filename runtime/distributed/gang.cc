#include "runtime/distributed/gang.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

// The dtype `type` is summed in: Gloo has no bfloat16, int16 or bool, and
// half precision would round at every step of a ring.
c10::ScalarType ReduceType(c10::ScalarType type) {
  switch (type) {
    case c10::kBFloat16:
    case c10::kHalf:
      return c10::kFloat;
    case c10::kBool:
    case c10::kShort:
      return c10::kInt;
    default:
      return type;
  }
}

// A dtype of the same element size that Gloo moves, for `type`.
c10::ScalarType CarrierType(c10::ScalarType type) {
  switch (type) {
    case c10::kBFloat16:
    case c10::kShort:
      return c10::kHalf;
    case c10::kBool:
      return c10::kByte;
    default:
      return type;
  }
}

// `tensor`, or a normal copy of it if it is an inference tensor: engines write
// from their own threads, where inference tensors may not be written.
at::Tensor Writable(const at::Tensor& tensor) {
  if (!tensor.is_inference()) return tensor;
  c10::InferenceMode normal(false);
  return tensor.clone();
}

}  // namespace

void Gang::AllReduceSum(at::Tensor& tensor) {
  if (size() == 1) return;
  const c10::ScalarType type = tensor.scalar_type();
  at::Tensor work = Writable(tensor.to(device(), ReduceType(type)).contiguous());
  DoAllReduceSum(work);
  if (type == c10::kBool) work = work.ne(0);
  if (work.data_ptr() != tensor.data_ptr()) tensor.copy_(work);
}

at::Tensor Gang::AllGather(const at::Tensor& tensor, int64_t dim) {
  if (size() == 1) return tensor;
  const c10::ScalarType type = tensor.scalar_type();
  at::Tensor carried = tensor.to(device()).contiguous().view(CarrierType(type));
  std::vector<at::Tensor> parts = DoAllGather(carried);
  for (at::Tensor& part : parts) part = part.view(type);
  return at::cat(parts, dim);
}

void Gang::Broadcast(at::Tensor& tensor, int root) {
  if (size() == 1) return;
  const c10::ScalarType type = tensor.scalar_type();
  at::Tensor carried = Writable(tensor.to(device()).contiguous()).view(CarrierType(type));
  DoBroadcast(carried, root);
  if (carried.data_ptr() != tensor.data_ptr()) tensor.copy_(carried.view(type));
}

void Gang::Barrier() {
  if (size() > 1) DoBarrier();
}

std::vector<std::string> Gang::AllGatherText(const std::string& text) {
  if (size() == 1) return {text};
  const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong);
  at::Tensor lengths = AllGather(at::full({1}, static_cast<int64_t>(text.size()), longs), 0);
  const int64_t longest = lengths.max().item<int64_t>();
  at::Tensor bytes = at::zeros({longest}, at::TensorOptions().dtype(at::kByte));
  std::copy(text.begin(), text.end(), bytes.data_ptr<uint8_t>());
  at::Tensor all = AllGather(bytes, 0).cpu();
  std::vector<std::string> texts;
  for (int r = 0; r < size(); ++r) {
    const char* begin = reinterpret_cast<const char*>(all.data_ptr<uint8_t>()) + r * longest;
    texts.emplace_back(begin, static_cast<size_t>(lengths[r].item<int64_t>()));
  }
  return texts;
}

void CheckSameOnEveryRank(Gang& gang, const std::string& what, const std::string& value) {
  const std::vector<std::string> values = gang.AllGatherText(value);
  for (int r = 0; r < static_cast<int>(values.size()); ++r) {
    if (values[r] == values[0]) continue;
    throw GangError(absl::StrCat("the ranks disagree on the ", what, ": rank ", r, " has '",
                                 values[r], "' but rank 0 has '", values[0], "'"),
                    r);
  }
}

Gangs Gangs::Single(c10::Device device) {
  return {std::make_shared<FakeGang>(device), std::make_shared<FakeGang>(device),
          std::make_shared<FakeGang>(device)};
}

}  // namespace modelhub
