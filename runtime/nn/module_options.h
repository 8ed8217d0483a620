#ifndef MODELHUB_RUNTIME_NN_MODULE_OPTIONS_H_
#define MODELHUB_RUNTIME_NN_MODULE_OPTIONS_H_

#include <ATen/core/TensorBody.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <c10/core/TensorOptions.h>

namespace modelhub {

// Where and how a module creates its parameters. On the meta device parameters
// have shapes and dtypes but no storage, and initialization is skipped; elsewhere
// they are initialized (from the global LibTorch generator, so torch::manual_seed
// makes creation reproducible) unless `initialize` is false: then they hold
// whatever memory held, for a loader that overwrites every parameter.
struct ModuleOptions {
  c10::Device device = c10::Device(c10::kCPU);
  c10::ScalarType dtype = c10::kFloat;
  bool initialize = true;

  bool meta() const { return device.type() == c10::kMeta; }
  // True when parameters get initial values.
  bool initializes() const { return initialize && !meta(); }
  c10::TensorOptions tensor_options() const {
    return c10::TensorOptions().device(device).dtype(dtype);
  }
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_MODULE_OPTIONS_H_
