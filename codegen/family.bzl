"""modelhub_family: compiles a family spec into C++ libraries as a build action.

    load("//codegen:family.bzl", "modelhub_family")
    modelhub_family(name = "qwen", spec = "//specs:qwen.yaml")

defines, in the calling package:
    :<name>_config   the config structs and their traits (no LibTorch);
    :<name>          the family: arch presets, key maps, registration (alwayslink)
                     and get_<name>_model_hub(). Depend on this one.
    :<name>_conformance_test
                     the family conformance kit (//tests/conformance) run on it:
                     parameter counts against the spec's `params:`, YAML and
                     config.json round trips, export and reload in every
                     checkpoint format. A new family is tested with no test edit.
The spec's `family:` must equal `name`. `imports` lists the spec files the spec
imports from (`checkpoints: {import: llama.yaml}`), transitively: the compiler
reads no other file. Generated files are build outputs named after `name`;
nothing is checked in.
"""

def modelhub_family(name, spec, imports = [], visibility = None):
    outs = [
        name + "_config.h",
        name + "_config.cc",
        name + ".h",
        name + ".cc",
    ]
    native.genrule(
        name = name + "_codegen",
        srcs = [spec] + imports,
        outs = outs,
        tools = [Label("//codegen:modelhub_codegen")],
        cmd = "$(location {tool}) --spec $(location {spec}) --include_prefix {prefix} --out_dir $(@D) --family {name}{imports}".format(
            name = name,
            tool = Label("//codegen:modelhub_codegen"),
            spec = spec,
            prefix = native.package_name(),
            imports = "".join([" --import $(location {})".format(file) for file in imports]),
        ),
        visibility = ["//visibility:private"],
    )
    native.cc_library(
        name = name + "_config",
        srcs = [name + "_config.cc"],
        hdrs = [name + "_config.h"],
        visibility = visibility,
        deps = [
            Label("//runtime/config:config_traits"),
            Label("//runtime/config:yaml_fields"),
            Label("//runtime/blueprint:decoder_blueprint"),
            Label("//third_party/system:yaml_cpp"),
        ],
    )
    native.cc_library(
        name = name,
        srcs = [name + ".cc"],
        hdrs = [name + ".h"],
        alwayslink = True,
        visibility = visibility,
        deps = [
            ":" + name + "_config",
            Label("//runtime/mapping:key_map"),
            Label("//runtime/hub:model_family_registry"),
            Label("//runtime/hub:model_hub"),
            Label("//runtime/hub:typed_model_family"),
        ],
    )
    native.cc_test(
        name = name + "_conformance_test",
        size = "small",
        deps = [
            ":" + name,
            Label("//tests/conformance:family_conformance"),
            Label("//third_party/system:gtest_main"),
        ],
    )
