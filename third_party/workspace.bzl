"""Declares modelhub's external repositories so that builds need no network.

Call modelhub_dependencies() from the WORKSPACE of modelhub itself or of any workspace
that depends on it. Bazel 4.2.3 otherwise downloads rules_cc, rules_java and
remote_coverage_tools on first use; here each is a small generated stand-in that
forwards to the native rules. LibTorch comes from LIBTORCH_HOME (see libtorch.bzl).
"""

load("//third_party/libtorch:libtorch.bzl", "libtorch_repository")

_RULES_CC_DEFS = """\"\"\"Forwards the rules_cc API to Bazel's native C++ rules.\"\"\"

def cc_library(**kwargs):
    native.cc_library(**kwargs)

def cc_binary(**kwargs):
    native.cc_binary(**kwargs)

def cc_test(**kwargs):
    native.cc_test(**kwargs)

def cc_import(**kwargs):
    native.cc_import(**kwargs)

def cc_toolchain(**kwargs):
    native.cc_toolchain(**kwargs)

def cc_toolchain_suite(**kwargs):
    native.cc_toolchain_suite(**kwargs)

def cc_proto_library(**kwargs):
    native.cc_proto_library(**kwargs)

def objc_library(**kwargs):
    native.objc_library(**kwargs)
"""

_RULES_JAVA_DEFS = """\"\"\"Forwards the rules_java API to Bazel's native Java rules.\"\"\"

def java_import(**kwargs):
    native.java_import(**kwargs)

def java_runtime(**kwargs):
    native.java_runtime(**kwargs)

def java_toolchain(**kwargs):
    native.java_toolchain(**kwargs)

def java_binary(**kwargs):
    native.java_binary(**kwargs)

def java_library(**kwargs):
    native.java_library(**kwargs)
"""

def _offline_rules_cc_impl(ctx):
    ctx.file("WORKSPACE", "workspace(name = \"rules_cc\")\n")
    ctx.file("BUILD.bazel", "")
    ctx.file("cc/BUILD.bazel", """package(default_visibility = ["//visibility:public"])

alias(
    name = "toolchain_type",
    actual = "@bazel_tools//tools/cpp:toolchain_type",
)
""")
    ctx.file("cc/defs.bzl", _RULES_CC_DEFS)

_offline_rules_cc = repository_rule(implementation = _offline_rules_cc_impl)

def _offline_rules_java_impl(ctx):
    ctx.file("WORKSPACE", "workspace(name = \"rules_java\")\n")
    ctx.file("BUILD.bazel", "")
    ctx.file("java/BUILD.bazel", "package(default_visibility = [\"//visibility:public\"])\n")
    ctx.file("java/defs.bzl", _RULES_JAVA_DEFS)

_offline_rules_java = repository_rule(implementation = _offline_rules_java_impl)

def _offline_coverage_tools_impl(ctx):
    ctx.file("WORKSPACE", "workspace(name = \"remote_coverage_tools\")\n")
    ctx.file(
        "unsupported.sh",
        "#!/bin/sh\necho 'coverage is not supported in the offline build' >&2\nexit 1\n",
        executable = True,
    )
    ctx.file("BUILD.bazel", """package(default_visibility = ["//visibility:public"])

sh_binary(
    name = "coverage_report_generator",
    srcs = ["unsupported.sh"],
)

sh_binary(
    name = "lcov_merger",
    srcs = ["unsupported.sh"],
)
""")

_offline_coverage_tools = repository_rule(implementation = _offline_coverage_tools_impl)

def modelhub_dependencies():
    """Declares every repository modelhub needs; all are local, none downloads."""
    if "rules_cc" not in native.existing_rules():
        _offline_rules_cc(name = "rules_cc")
    if "rules_java" not in native.existing_rules():
        _offline_rules_java(name = "rules_java")
    if "remote_coverage_tools" not in native.existing_rules():
        _offline_coverage_tools(name = "remote_coverage_tools")
    if "libtorch" not in native.existing_rules():
        libtorch_repository(name = "libtorch")
