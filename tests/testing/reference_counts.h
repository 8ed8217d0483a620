#ifndef MODELHUB_TESTS_TESTING_REFERENCE_COUNTS_H_
#define MODELHUB_TESTS_TESTING_REFERENCE_COUNTS_H_

#include <cstdint>

#include "runtime/blueprint/decoder_blueprint.h"

namespace modelhub::testing {

// The parameter count of a decoder with `blueprint`, computed from the
// architecture's definition (independently of the runtime's modules).
int64_t ReferenceParameterCount(const DecoderBlueprint& blueprint);

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_TESTING_REFERENCE_COUNTS_H_
