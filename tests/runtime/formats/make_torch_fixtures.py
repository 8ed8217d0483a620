"""Writes the torch.save fixtures of torch_checkpoint_test into OUT_DIR.

Usage: /usr/bin/python3 make_torch_fixtures.py OUT_DIR

Run by the :torch_fixtures genrule with Debian's python3-torch (1.13). Real
checkpoints come from torch.save itself; hostile ones are torch-shaped zips
whose data.pkl is assembled opcode by opcode, or real files edited byte-wise.
Beside each readable checkpoint NAME.pt, NAME.expected lists every tensor as
one tab-separated line: state-dict key, dtype (safetensors names), shape
(comma-separated) and its values as contiguous little-endian bytes in hex,
taken from torch here (never from modelhub code).
"""

import argparse
import collections
import io
import os
import pickle
import struct
import sys
import tarfile
import zipfile

import torch

# The file the os.system fixture would create if anything ran it.
MARKER = "/tmp/modelhub-torch-fixture-os-system-ran"

DTYPE_NAMES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
    torch.complex64: "C64",
    torch.complex128: "C128",
}


def describe(value):
    """modelhub's description of a value beside the weights (DescribePickleValue
    and the torch reader's), computed from what torch.load returned."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return f"bool {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"int {value}"
    if isinstance(value, float):
        return f"float {value!r}"
    if isinstance(value, complex):
        return f"complex {value!r}"
    if isinstance(value, str):
        return f"str '{value}'"
    if isinstance(value, torch.Size):
        return f"torch.Size [{', '.join(str(d) for d in value)}]"
    if isinstance(value, torch.device):
        return f"torch.device '{value}'"
    if isinstance(value, torch.dtype):
        return str(value)
    if isinstance(value, torch.Tensor):
        return f"tensor {DTYPE_NAMES[value.dtype]} [{', '.join(str(d) for d in value.shape)}]"
    return f"{type(value).__name__} of {len(value)}"


def write_metadata(path, metadata):
    """NAME.metadata: one tab-separated line per metadata entry, key and
    description."""
    with open(path, "w") as out:
        for key, value in metadata.items():
            out.write(f"{key}\t{value}\n")


def tensor_bytes(tensor):
    """The tensor's elements, row-major, as little-endian bytes."""
    tensor = tensor.detach().contiguous()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.view(torch.int16)  # numpy has no bfloat16
    return tensor.numpy().tobytes()


def write_expected(path, tensors):
    with open(path, "w") as out:
        for name, tensor in tensors.items():
            shape = ",".join(str(d) for d in tensor.shape)
            out.write(f"{name}\t{DTYPE_NAMES[tensor.dtype]}\t{shape}\t{tensor_bytes(tensor).hex()}\n")


class Tiny(torch.nn.Module):
    """A small module whose state dict has every case the reader handles."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 4)
        self.norm = torch.nn.LayerNorm(4)
        self.halved = torch.nn.Parameter(torch.randn(2, 3).half())
        self.brained = torch.nn.Parameter(torch.randn(3, 2).bfloat16())
        self.register_buffer("steps", torch.arange(5, dtype=torch.int64) - 2)
        self.register_buffer("mask", torch.tensor([True, False, True]))
        # Non-contiguous: a transposed [2, 3] (strides (1, 3)).
        self.register_buffer("transposed", torch.arange(6, dtype=torch.float32).reshape(2, 3).t())
        # Two views of one storage, the second at an offset.
        base = torch.arange(10, dtype=torch.float32) * 0.5
        self.register_buffer("view_a", base[:4])
        self.register_buffer("view_b", base[5:].reshape(1, 5))
        self.register_buffer("empty", torch.empty(0, 3))
        self.register_buffer("scalar", torch.tensor(3.25))


def zip_checkpoint(path, records, prefix="archive/"):
    """A torch.save-shaped zip: stored records under `prefix`."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in records.items():
            zf.writestr(prefix + name, data)


def opcodes(*parts):
    """Concatenates pickle opcodes given as bytes or str (UTF-8)."""
    return b"".join(p if isinstance(p, bytes) else p.encode() for p in parts)


def binunicode(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


class Storage:
    """Pickles as the persistent id of a storage (see forged_pickle)."""

    def __init__(self, storage_type, key, numel):
        self.pid = ("storage", storage_type, key, "cpu", numel)


class Rebuild:
    """Pickles as a REDUCE of `func` with `args` (a forged tensor)."""

    def __init__(self, func, args):
        self.func = func
        self.args = args

    def __reduce__(self):
        return (self.func, self.args)


def forged_pickle(obj):
    """data.pkl for `obj`, whose Storage objects become persistent ids."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=2)
    pickler.persistent_id = lambda o: o.pid if isinstance(o, Storage) else None
    pickler.dump(obj)
    return buffer.getvalue()


def forged_tensor(storage, offset, size, stride):
    return Rebuild(
        torch._utils._rebuild_tensor_v2,
        (storage, offset, size, stride, False, collections.OrderedDict()),
    )


def edit_record_size(data, name, size):
    """`data` (a zip) with the sizes of record `name` set to `size` in both its
    central and local headers."""
    data = bytearray(data)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_length, = struct.unpack_from("<H", data, at + 28)
        if data[at + 46:at + 46 + name_length] == name.encode():
            struct.pack_into("<II", data, at + 20, size, size)
            header, = struct.unpack_from("<I", data, at + 42)
            struct.pack_into("<II", data, header + 18, size, size)
            return bytes(data)
        at = data.find(b"PK\x01\x02", at + 4)
    raise ValueError(f"no record {name}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    out = parser.parse_args().out_dir
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)

    def path(name):
        return os.path.join(out, name)

    # A real state dict (an OrderedDict with _metadata), saved as HF does.
    model = Tiny()
    state_dict = model.state_dict()
    torch.save(state_dict, path("state_dict.pt"))
    write_expected(path("state_dict.expected"), state_dict)

    # A fairseq2-style wrapper; its state dict also holds a Parameter
    # (_rebuild_parameter).
    wrapped = collections.OrderedDict(state_dict)
    wrapped["extra.param"] = torch.nn.Parameter(torch.arange(4, dtype=torch.float64))
    torch.save(
        {
            "model": wrapped,
            "model_key": "model",
            "step_nr": 1000,
            "config": {"nested": {"dim": 8, "names": ["a", "b"]}},
        },
        path("wrapper.pt"),
    )
    write_expected(path("wrapper.expected"), wrapped)

    # model_key names another entry than "model".
    small = collections.OrderedDict(w=torch.ones(2, 2))
    torch.save({"ema": small, "model_key": "ema", "model": "not this"}, path("model_key.pt"))
    write_expected(path("model_key.expected"), small)

    # A training config object beside the weights: refused unless restrict=false.
    torch.save({"model": small, "args": argparse.Namespace(lr=0.1, arch="tiny")},
               path("namespace.pt"))
    write_expected(path("namespace.expected"), small)

    # The legacy formats.
    torch.save(state_dict, path("legacy.pt"), _use_new_zipfile_serialization=False)
    with tarfile.open(path("legacy_tar.pt"), "w") as tar:
        for name in ("sys_info", "pickle", "storages", "tensors"):
            info = tarfile.TarInfo(name)
            info.size = 4
            tar.addfile(info, io.BytesIO(b"\x80\x02N."))

    # A TorchScript archive: a zip with data.pkl too, but code to run.
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), path("torchscript.pt"))

    # A state dict that is a plain dict holding a non-tensor.
    torch.save({"w": torch.ones(2), "step": 5}, path("not_tensor.pt"))

    # float8 and uint16 tensors as torch 2.x saves them: _rebuild_tensor_v3
    # over an UntypedStorage with the dtype as a global. torch 1.13 lacks
    # those dtypes, so torch.uint8 stands in and its GLOBAL is renamed.
    # torch 1.13 has neither those dtypes nor _rebuild_tensor_v3: stand-ins
    # are pickled and their GLOBALs renamed.
    f8_bytes = bytes([0x38, 0x40, 0xb8, 0x00])  # 1, 2, -1, 0 in E4M3
    u16_bytes = struct.pack("<3H", 1, 65535, 300)
    v3 = forged_pickle(collections.OrderedDict(
        f8=Rebuild(torch._utils._rebuild_tensor_v2,
                   (Storage(torch.UntypedStorage, "0", 4), 0, (2, 2), (2, 1), False,
                    collections.OrderedDict(), torch.uint8)),
        u16=Rebuild(torch._utils._rebuild_tensor_v2,
                    (Storage(torch.UntypedStorage, "1", 6), 0, (3,), (1,), False,
                     collections.OrderedDict(), torch.int8)),
    ))
    v3 = v3.replace(b"torch._utils\n_rebuild_tensor_v2\n", b"torch._utils\n_rebuild_tensor_v3\n")
    v3 = v3.replace(b"torch\nuint8\n", b"torch\nfloat8_e4m3fn\n")
    v3 = v3.replace(b"torch\nint8\n", b"torch\nuint16\n")
    zip_checkpoint(path("v3.pt"), {"data.pkl": v3, "data/0": f8_bytes, "data/1": u16_bytes,
                                   "version": b"3\n", "byteorder": b"little"})
    with open(path("v3.expected"), "w") as expected:
        expected.write(f"f8\tF8_E4M3\t2,2\t{f8_bytes.hex()}\n")
        expected.write(f"u16\tU16\t3\t{u16_bytes.hex()}\n")

    # Tensors with Python attributes, as torch 2.x saves them:
    # _rebuild_from_type_v2(_rebuild_tensor_v2, type, args, state), here
    # over one storage of three int32.
    storage = Storage(torch.IntStorage, "0", 3)
    hooks = collections.OrderedDict()
    zip_checkpoint(path("from_type.pt"), {
        "data.pkl": forged_pickle(collections.OrderedDict(
            tagged=Rebuild(torch._tensor._rebuild_from_type_v2,
                           (torch._utils._rebuild_tensor_v2, torch.Tensor,
                            (storage, 0, (3,), (1,), False, hooks), {"note": "an attribute"})),
            param=Rebuild(torch._tensor._rebuild_from_type_v2,
                          (torch._utils._rebuild_tensor_v2, torch.nn.Parameter,
                           (storage, 1, (2,), (1,), False, hooks), {})),
        )),
        "data/0": struct.pack("<3i", 7, 8, 9),
        "version": b"3\n",
    })
    with open(path("from_type.expected"), "w") as expected:
        expected.write(f"tagged\tI32\t3\t{struct.pack('<3i', 7, 8, 9).hex()}\n")
        expected.write(f"param\tI32\t2\t{struct.pack('<2i', 8, 9).hex()}\n")

    # --- Hostile and broken files.

    # os.system via GLOBAL + REDUCE; builtins.eval likewise.
    command = f"touch {MARKER}"
    zip_checkpoint(path("os_system.pt"), {
        "data.pkl": opcodes(b"\x80\x02", "cos\nsystem\n", binunicode(command), b"\x85R."),
        "version": b"3\n",
    })
    zip_checkpoint(path("eval.pt"), {
        "data.pkl": opcodes(b"\x80\x02", "cbuiltins\neval\n",
                            binunicode(f"__import__('os').system('{command}')"), b"\x85R."),
        "version": b"3\n",
    })
    # INST, a protocol 0 opcode that imports and calls in one go.
    zip_checkpoint(path("bad_opcode.pt"), {
        "data.pkl": opcodes(b"\x80\x02(", binunicode(command), "ios\nsystem\n."),
        "version": b"3\n",
    })

    # A storage claiming 1000 floats over a 16-byte record.
    zip_checkpoint(path("storage_too_big.pt"), {
        "data.pkl": forged_pickle({"w": forged_tensor(Storage(torch.FloatStorage, "0", 1000),
                                                      0, (4,), (1,))}),
        "data/0": bytes(16),
        "version": b"3\n",
    })
    # A [2, 3] tensor with strides (3, 2) over 6 floats: element 7 is past it.
    zip_checkpoint(path("strides_past_storage.pt"), {
        "data.pkl": forged_pickle({"w": forged_tensor(Storage(torch.FloatStorage, "0", 6),
                                                      0, (2, 3), (3, 2))}),
        "data/0": bytes(24),
        "version": b"3\n",
    })

    with open(path("state_dict.pt"), "rb") as f:
        real = f.read()
    prefix = "state_dict/"
    with open(path("truncated.pt"), "wb") as f:
        f.write(real[:len(real) // 2])
    with open(path("zip_bomb.pt"), "wb") as f:
        f.write(edit_record_size(real, prefix + "data/0", 0xfffffff0))

    # --- Files torch.load(weights_only=True) of current PyTorch reads: values
    # beside the weights, other top levels, complex tensors. Their .expected
    # and .metadata come from what torch.load returns here.

    # A training checkpoint: the model, and every kind of value PyTorch's
    # allowlist reads beside it.
    weights = collections.OrderedDict(w=torch.arange(6, dtype=torch.float32).reshape(2, 3))
    weights["version"] = 2  # a non-tensor inside the state dict
    training = {
        "model": weights,
        "epoch": 3,
        "lr": 0.001,
        "betas": (0.9, 0.999),
        "z": complex(1.5, -2.0),
        "blob": b"\x00\xff",
        "tags": {"a"},
        "counts": collections.Counter(a=2),
        "device": torch.device("cuda", 0),
        "cpu": torch.device("cpu"),
        "shape": torch.Size([2, 3]),
        "seed": 2**70,
        "negative": -2**70,
        "dtype": torch.float16,
        "buffer": bytearray(b"xy"),
        "optimizer": {"state": {0: {"exp_avg": torch.zeros(2, 3)}}, "param_groups": [{"lr": 0.001}]},
        "none": None,
        "flag": True,
        "bias": torch.ones(3),
    }
    torch.save(training, path("metadata.pt"))
    loaded = torch.load(path("metadata.pt"))
    write_expected(path("metadata.expected"), {"w": loaded["model"]["w"]})
    described = {"wrapper": "model", "model.version": describe(loaded["model"]["version"])}
    described.update((key, describe(value)) for key, value in loaded.items() if key != "model")
    write_metadata(path("metadata.metadata"), described)
    # Its data.pkl alone, for tests that change it byte by byte.
    with zipfile.ZipFile(path("metadata.pt")) as archive:
        with open(path("metadata.pkl"), "wb") as pickle_file:
            pickle_file.write(archive.read("metadata/data.pkl"))

    # A top-level list, and a bare tensor.
    items = [torch.arange(3, dtype=torch.int64), torch.full((2,), 0.5, dtype=torch.float64), 5]
    torch.save(items, path("top_list.pt"))
    loaded = torch.load(path("top_list.pt"))
    write_expected(path("top_list.expected"), {"0": loaded[0], "1": loaded[1]})
    write_metadata(path("top_list.metadata"), {"2": describe(loaded[2])})
    torch.save(torch.arange(4, dtype=torch.int16), path("bare_tensor.pt"))
    write_expected(path("bare_tensor.expected"), {"": torch.load(path("bare_tensor.pt"))})

    # Complex tensors (and a view of one).
    c64 = torch.complex(torch.arange(4.0), -torch.arange(4.0))
    torch.save({"c": c64, "view": c64[1:3]}, path("complex64.pt"))
    write_expected(path("complex64.expected"), torch.load(path("complex64.pt")))
    c128 = torch.tensor([1 + 2j, -3.5j], dtype=torch.complex128)
    torch.save({"c": c128}, path("complex128.pt"))
    write_expected(path("complex128.expected"), torch.load(path("complex128.pt")))

    # --- Files PyTorch's weights_only reader refuses (and why).

    # pickle_protocol=4: FRAME ("Unsupported operand 149").
    torch.save(collections.OrderedDict(w=torch.ones(2)), path("protocol4.pt"), pickle_protocol=4)
    # frozenset and b"" pickle through globals PyTorch does not allow.
    torch.save({"w": torch.ones(2), "frozen": frozenset([1])}, path("frozenset.pt"))
    torch.save({"w": torch.ones(2), "empty": b""}, path("empty_bytes.pt"))
    # sys is a blocked module.
    zip_checkpoint(path("sys_exit.pt"), {
        "data.pkl": opcodes(b"\x80\x02", "csys\nexit\n", b"K\x01\x85R."),
        "version": b"3\n",
    })
    # One str of 1000 bytes encoded as bytes 10 times: the calls would make
    # 10 times the text data.pkl holds.
    zip_checkpoint(path("bytes_bomb.pt"), {
        "data.pkl": opcodes(b"\x80\x02", "c_codecs\nencode\nq\x00", binunicode("a" * 1000),
                            b"q\x01", binunicode("latin1"), b"q\x02(",
                            b"h\x00h\x01h\x02\x86R" * 10, b"t."),
        "version": b"3\n",
    })
    # BUILD sets attributes on a plain dict, which PyTorch refuses.
    zip_checkpoint(path("build_dict.pt"), {
        "data.pkl": opcodes(b"\x80\x02}}", binunicode("a"), b"K\x01sb."),
        "version": b"3\n",
    })
    # A complex32 tensor as torch 2.x saves it (_rebuild_tensor_v3 over an
    # UntypedStorage; torch 1.13's uint8 stands in and is renamed), and a
    # quantized tensor (_rebuild_qtensor): PyTorch reads them, modelhub cannot
    # hold them.
    complex32 = forged_pickle({"c": Rebuild(
        torch._utils._rebuild_tensor_v2,
        (Storage(torch.UntypedStorage, "0", 8), 0, (2,), (1,), False,
         collections.OrderedDict(), torch.uint8))})
    complex32 = complex32.replace(b"torch._utils\n_rebuild_tensor_v2\n",
                                  b"torch._utils\n_rebuild_tensor_v3\n")
    complex32 = complex32.replace(b"torch\nuint8\n", b"torch\ncomplex32\n")
    zip_checkpoint(path("complex32.pt"), {"data.pkl": complex32, "data/0": bytes(8),
                                          "version": b"3\n"})
    quantized = torch.quantize_per_tensor(torch.ones(2), 0.5, 0, torch.qint8)
    torch.save({"q": quantized}, path("quantized.pt"))

    zip_checkpoint(path("big_endian.pt"), {
        "data.pkl": forged_pickle({}), "version": b"3\n", "byteorder": b"big"})
    zip_checkpoint(path("future_version.pt"), {"data.pkl": forged_pickle({}), "version": b"99\n"})


if __name__ == "__main__":
    sys.exit(main())
