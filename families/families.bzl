"""The built-in model families: one entry per family under families/.

A family is a spec (specs/<name>.yaml), a BUILD line in families/<name>/
(modelhub_family, which also gives it the conformance suite) and its name here,
which adds it to //families:all (the CLI, benchmarks and tests that serve
every family).
"""

FAMILIES = [
    "gemma",
    "gemma2",
    "gemma3",
    "granite",
    "llama",
    "mistral",
    "olmo2",
    "phi3",
    "qwen",
    "starcoder2",
]
