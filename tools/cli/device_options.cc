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

namespace {

// The --dtype names, each dtype's canonical name first, then PyTorch's aliases.
struct DtypeNames {
  c10::ScalarType dtype;
  const char* names[2];
};
constexpr DtypeNames kDtypes[] = {
    {c10::kFloat, {"float32", "float"}},
    {c10::kBFloat16, {"bfloat16", nullptr}},
    {c10::kHalf, {"float16", "half"}},
};

}  // namespace

c10::ScalarType ParseDtype(const std::string& name) {
  for (const DtypeNames& entry : kDtypes) {
    for (const char* known : entry.names) {
      if (known != nullptr && name == known) return entry.dtype;
    }
  }
  throw UsageError("unknown dtype '" + name + "' (use float32, bfloat16 or float16)");
}

std::string DtypeName(c10::ScalarType dtype) {
  for (const DtypeNames& entry : kDtypes) {
    if (entry.dtype == dtype) return entry.names[0];
  }
  return c10::toString(dtype);
}

}  // namespace modelhub::cli
