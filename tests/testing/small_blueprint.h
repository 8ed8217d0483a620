#ifndef MODELHUB_TESTS_TESTING_SMALL_BLUEPRINT_H_
#define MODELHUB_TESTS_TESTING_SMALL_BLUEPRINT_H_

#include "runtime/blueprint/decoder_blueprint.h"

namespace modelhub::testing {

// A valid two-layer decoder small enough for exhaustive checks: model_dim 32,
// 4 query / 2 key-value heads of 8, SwiGLU width 48, vocabulary 50, 40 positions.
DecoderBlueprint SmallBlueprint();

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_TESTING_SMALL_BLUEPRINT_H_
