#ifndef MODELHUB_TESTS_TESTING_TINY_MODEL_H_
#define MODELHUB_TESTS_TESTING_TINY_MODEL_H_

// Shared by the tests that load the built-in `tiny` card's model.

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>

#include "runtime/models/decoder_model.h"

namespace modelhub::testing {

// Keeps the machine out of a test: points $MODELHUB_ASSET_DIR and
// $MODELHUB_USER_ASSET_DIR at an empty folder (the machine's card folders stay
// out of the default store), the download caches ($HF_HOME, $HF_HUB_CACHE,
// $MODELHUB_CACHE_DIR) into the test's temporary folder, unsets HF_TOKEN and
// HF_ENDPOINT, and sets HF_HUB_OFFLINE=1 so nothing reaches the network unless
// a test points HF_ENDPOINT at a loopback server and unsets it. Call from a
// test environment's SetUp (before the store is first used).
void IsolateFromMachine();

// An empty folder `name` under the test's temporary folder (emptied if it
// exists).
std::filesystem::path FreshDir(const std::string& name);

// The logits of `model` (float, inference mode) for one fixed sequence of 12
// token ids, all below 10: comparable across loads of one model.
at::Tensor FixedLogits(const DecoderModel& model);

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_TESTING_TINY_MODEL_H_
