"""modelhub_fuzzer: a libFuzzer target that is also an ordinary test.

With --config=fuzz (clang, -fsanitize=fuzzer) the binary is a libFuzzer
fuzzer; tools/fuzz.sh runs it from its seeds (listed in `<name>.seeds`). In every other build it links replay_main,
which runs the fuzz function once on each seed, and `<name>_seeds` replays the
seed corpus as a test (under --config=asan and --config=ubsan too).
"""

def modelhub_fuzzer(name, srcs, deps = [], seeds = [], dictionary = None):
    """Declares fuzzer `name`, its seed test `name_seeds` and `name.seeds`.

    Args:
      name: the fuzzer binary's name.
      srcs: sources defining LLVMFuzzerTestOneInput.
      deps: libraries the sources use.
      seeds: labels of seed files (the corpus the fuzzer starts from).
      dictionary: a libFuzzer dictionary file, or None.
    """
    native.cc_binary(
        name = name,
        testonly = True,
        srcs = srcs,
        deps = deps + [":fuzz_support"] + select({
            "//tests/fuzz:fuzzing": [],
            "//conditions:default": [":replay_main"],
        }),
        linkopts = select({
            "//tests/fuzz:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
    )

    # <name>.seeds: the dictionary's path ("-" for none), then one seed path a
    # line, each relative to the workspace root (generated ones under
    # bazel-out/), for tools/fuzz.sh.
    native.genrule(
        name = name + "_seed_list",
        testonly = True,
        srcs = seeds + ([dictionary] if dictionary else []),
        outs = [name + ".seeds"],
        cmd = "(echo %s; for seed in %s; do echo $$seed; done) > $@" % (
            "$(location %s)" % dictionary if dictionary else "-",
            " ".join(["$(locations %s)" % seed for seed in seeds]),
        ),
    )
    native.sh_test(
        name = name + "_seeds",
        size = "small",
        srcs = ["replay_seeds.sh"],
        args = ["$(location :%s)" % name] + ["$(locations %s)" % seed for seed in seeds],
        data = [":" + name] + seeds,
    )
