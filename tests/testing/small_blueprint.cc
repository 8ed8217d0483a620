#include "tests/testing/small_blueprint.h"

namespace modelhub::testing {

DecoderBlueprint SmallBlueprint() {
  DecoderBlueprint b;
  b.family = "test";
  b.model_dim = 32;
  b.num_layers = 2;
  b.vocab_size = 50;
  b.max_seq_len = 40;
  b.attention.num_heads = 4;
  b.attention.num_kv_heads = 2;
  b.ffn.inner_dim = 48;
  return b;
}

}  // namespace modelhub::testing
