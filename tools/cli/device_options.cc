#include "tools/cli/device_options.h"

#include <ATen/Context.h>
#include <c10/util/Exception.h>

#include "tools/cli/usage_error.h"

namespace modelhub::cli {

c10::Device ParseDevice(const std::string& name) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw UsageError("unknown device '" + name + "' (use cpu, cuda, cuda:N or meta)");
  }
  if (device.is_cuda() && !at::hasCUDA()) {
    throw UsageError("device '" + name + "' needs a LibTorch built with CUDA (see LIBTORCH_HOME)");
  }
  return device;
}

c10::ScalarType ParseDtype(const std::string& name) {
  if (name == "float32" || name == "float") return c10::kFloat;
  if (name == "bfloat16") return c10::kBFloat16;
  if (name == "float16" || name == "half") return c10::kHalf;
  throw UsageError("unknown dtype '" + name + "' (use float32, bfloat16 or float16)");
}

std::string DtypeName(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::kFloat:
      return "float32";
    case c10::kBFloat16:
      return "bfloat16";
    case c10::kHalf:
      return "float16";
    default:
      return c10::toString(dtype);
  }
}

}  // namespace modelhub::cli
