#ifndef MODELHUB_TOOLS_CLI_DEVICE_OPTIONS_H_
#define MODELHUB_TOOLS_CLI_DEVICE_OPTIONS_H_

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace modelhub::cli {

// Parses --device ("cpu", "cuda", "cuda:1", "meta"); UsageError when LibTorch
// does not know it or was built without it.
c10::Device ParseDevice(const std::string& name);

// Parses --dtype: float32 (float), bfloat16, float16 (half); UsageError otherwise.
c10::ScalarType ParseDtype(const std::string& name);

// The name ParseDtype reads for `dtype` ("float32", "bfloat16", "float16"), or
// LibTorch's name for any other.
std::string DtypeName(c10::ScalarType dtype);

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_DEVICE_OPTIONS_H_
