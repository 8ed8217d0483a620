#ifndef MODELHUB_RUNTIME_DISTRIBUTED_GANG_H_
#define MODELHUB_RUNTIME_DISTRIBUTED_GANG_H_

// Gangs, in fairseq2's sense: a set of processes that run collectives
// together. A model runs tensor-parallel over a gang; a FakeGang stands for
// one process alone. Collectives take any dtype: those Gloo cannot handle
// (bfloat16, int16, bool) are moved as same-size views or reduced in float32,
// so no caller can abort the process by sending one.

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <vector>

namespace modelhub {

// A group of processes running collectives. Every member calls the same
// collectives in the same order; each call blocks until done. Failures (a
// member died, the timeout passed) throw GangError naming the operation.
class Gang {
 public:
  virtual ~Gang() = default;

  // This process's rank in the gang, in [0, size()).
  virtual int rank() const = 0;
  // The number of processes.
  virtual int size() const = 0;
  // The device the gang's tensors live on (CPU for Gloo, CUDA for NCCL).
  virtual c10::Device device() const = 0;

  // Sums `tensor` over the gang, in place; every member ends with the same
  // values. Low-precision floats are summed in float32 and rounded once.
  void AllReduceSum(at::Tensor& tensor);
  // Every member's `tensor` (same shape and dtype on each), concatenated in
  // rank order along `dim`.
  at::Tensor AllGather(const at::Tensor& tensor, int64_t dim);
  // Replaces `tensor` by the values of rank `root`'s.
  void Broadcast(at::Tensor& tensor, int root);
  // Returns once every member has called it.
  void Barrier();
  // Every member's `text`, in rank order.
  std::vector<std::string> AllGatherText(const std::string& text);

 protected:
  // The collectives on tensors of dtypes the engine takes (never bfloat16,
  // int16 or bool): contiguous, on device().
  virtual void DoAllReduceSum(at::Tensor& tensor) = 0;
  virtual std::vector<at::Tensor> DoAllGather(const at::Tensor& tensor) = 0;
  virtual void DoBroadcast(at::Tensor& tensor, int root) = 0;
  virtual void DoBarrier() = 0;
};

// One process alone: rank 0 of 1; every collective leaves its input as is.
class FakeGang : public Gang {
 public:
  explicit FakeGang(c10::Device device = c10::Device(c10::kCPU)) : device_(device) {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  c10::Device device() const override { return device_; }

 protected:
  void DoAllReduceSum(at::Tensor&) override {}
  std::vector<at::Tensor> DoAllGather(const at::Tensor& tensor) override { return {tensor}; }
  void DoBroadcast(at::Tensor&, int) override {}
  void DoBarrier() override {}

 private:
  c10::Device device_;
};

// Checks that every member of `gang` has the same `value` of `what` ("model",
// "dtype", "checkpoint"); otherwise throws GangError, on every member, naming
// the first rank that differs from rank 0 and both values. A collective: every
// member calls it.
void CheckSameOnEveryRank(Gang& gang, const std::string& what, const std::string& value);

// The gangs of a run (fairseq2's Gangs): `root` holds every process; the
// processes form a grid of `dp` data-parallel replicas by `tp`
// tensor-parallel ranks, tensor-parallel ranks adjacent (root rank r is tp
// rank r % tp_size of replica r / tp_size). `tp` is this process's
// tensor-parallel gang, `dp` the gang of the processes holding the same
// shard in the other replicas.
struct Gangs {
  std::shared_ptr<Gang> root = nullptr;
  std::shared_ptr<Gang> dp = nullptr;
  std::shared_ptr<Gang> tp = nullptr;

  // One process: three FakeGangs on `device`.
  static Gangs Single(c10::Device device = c10::Device(c10::kCPU));
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DISTRIBUTED_GANG_H_
