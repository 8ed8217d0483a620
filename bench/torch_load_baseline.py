#!/usr/bin/python3
"""The checkpoint load of bench/load_bench.cc, done by Python: torch.load + load_state_dict.

    /usr/bin/python3 bench/torch_load_baseline.py DIR/manifest.tsv [--reps 3] [--threads 1] [--keep]

Reads the manifest load_bench writes next to its checkpoint (each tensor's Hugging Face
name, dtype, shape and byte range in its safetensors shard) and, once, writes the same
tensors with torch.save as DIR/torch_state_dict.pt: the shards' own bytes when they are
still there (load_bench --keep), otherwise seeded random values of the same shapes. That
file is reused while the manifest is unchanged. Then, with the .pt file in the page
cache, it times --reps times what a PyTorch user runs:

    model = Model()                      # nn.Parameter(torch.empty(...)): untouched memory
    model.load_state_dict(torch.load(path))

and prints GB/s (model bytes / seconds) and the peak resident memory growth over the
model's bytes (VmHWM after, reset through /proc/self/clear_refs, minus VmRSS before), as
load_bench does. Lines starting with RESULT are read by bench/compare_load.sh.

Needs Debian's python3-torch (tools/install_deps.sh); /usr/bin/python3 on purpose, as
the `python3` on PATH may be another interpreter without torch.
"""

import argparse
import ctypes
import gc
import os
import sys
import time

import torch
from torch import nn

DTYPES = {
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F64": torch.float64,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


class Tensor:
    def __init__(self, name, dtype, shape, file, begin, end):
        self.name, self.dtype, self.shape = name, dtype, shape
        self.file, self.begin, self.end = file, begin, end


def read_manifest(path):
    """Returns (arch, model_bytes, [Tensor]) from load_bench's manifest.tsv."""
    arch, model_bytes, tensors = "?", None, []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "arch":
                arch = fields[1]
            elif fields[0] == "model_bytes":
                model_bytes = int(fields[1])
            elif fields[0] == "tensor":
                name, dtype, shape, file, begin, end = fields[1:7]
                if dtype not in DTYPES:
                    sys.exit(f"torch_load_baseline: dtype {dtype} of {name} is not supported")
                dims = [int(d) for d in shape.split(",")] if shape else []
                tensors.append(Tensor(name, DTYPES[dtype], dims, file, int(begin), int(end)))
    if model_bytes is None or not tensors:
        sys.exit(f"torch_load_baseline: {path} is not a load_bench manifest")
    return arch, model_bytes, tensors


def write_state_dict(manifest, tensors, pt):
    """torch.save's the manifest's tensors as `pt` unless a file from this manifest is there."""
    stamp = pt + ".manifest"
    with open(manifest, "rb") as f:
        wanted = f.read()
    if os.path.exists(pt) and os.path.exists(stamp):
        with open(stamp, "rb") as f:
            if f.read() == wanted:
                return "reused"
    folder = os.path.dirname(os.path.abspath(manifest))
    shards = {t.file for t in tensors}
    from_shards = all(os.path.exists(os.path.join(folder, s)) for s in shards)
    generator = torch.Generator().manual_seed(0)
    state = {}
    files = {}
    for t in tensors:
        if from_shards:
            f = files.get(t.file) or files.setdefault(t.file, open(os.path.join(folder, t.file), "rb"))
            f.seek(t.begin)
            data = bytearray(f.read(t.end - t.begin))
            state[t.name] = torch.frombuffer(data, dtype=t.dtype).reshape(t.shape)
        elif t.dtype.is_floating_point:
            state[t.name] = torch.randn(t.shape, generator=generator).to(t.dtype)
        else:
            state[t.name] = torch.zeros(t.shape, dtype=t.dtype)
    for f in files.values():
        f.close()
    torch.save(state, pt)
    with open(stamp, "wb") as f:
        f.write(wanted)
    return "written from the safetensors shards' bytes" if from_shards else "written, random values"


def build_model(tensors):
    """A module tree with the checkpoint's names; parameters are untouched torch.empty memory."""
    root = nn.Module()
    for t in tensors:
        *path, leaf = t.name.split(".")
        module = root
        for part in path:
            child = module._modules.get(part)
            if child is None:
                child = nn.Module()
                module.add_module(part, child)
            module = child
        module.register_parameter(leaf, nn.Parameter(torch.empty(t.shape, dtype=t.dtype)))
    return root


def status_bytes(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def warm_page_cache(path):
    with open(path, "rb", buffering=0) as f:
        while f.read(16 << 20):
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("manifest", help="manifest.tsv written by load_bench")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--pt", help="the .pt file (default: torch_state_dict.pt by the manifest)")
    parser.add_argument("--keep", action="store_true", help="keep the .pt file")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    # As load_bench: glibc's default mmap threshold, fixed, so that each repetition gets
    # fresh pages as a process loading once does.
    ctypes.CDLL(None).mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD

    arch, model_bytes, tensors = read_manifest(args.manifest)
    pt = args.pt or os.path.join(os.path.dirname(os.path.abspath(args.manifest)), "torch_state_dict.pt")
    start = time.perf_counter()
    how = write_state_dict(args.manifest, tensors, pt)
    print(f"torch_load_baseline: {arch}, torch {torch.__version__}, "
          f"torch.get_num_threads() = {torch.get_num_threads()}, {args.reps} reps")
    print(f"state dict: {pt} ({len(tensors)} tensors, {model_bytes / 1e9:.3f} GB; "
          f"{how} in {time.perf_counter() - start:.1f} s)")
    gc.collect()
    warm_page_cache(pt)
    print(f"VmRSS now {status_bytes('VmRSS') / 1e6:.0f} MB")

    totals, loads, copies, peaks = [], [], [], []
    for _ in range(args.reps):
        gc.collect()
        reset_peak()
        before = status_bytes("VmRSS")
        t0 = time.perf_counter()
        model = build_model(tensors)
        t1 = time.perf_counter()
        state = torch.load(pt)
        t2 = time.perf_counter()
        model.load_state_dict(state, strict=True)
        t3 = time.perf_counter()
        peaks.append(status_bytes("VmHWM") - before)
        totals.append(t3 - t0)
        loads.append(t2 - t1)
        copies.append(t3 - t2)
        del state, model

    gbps = lambda seconds: model_bytes / seconds / 1e9
    median = lambda values: sorted(values)[len(values) // 2]
    print(f"\n{'what':<58} {'GB/s':>8} {'median':>8} {'peak/size':>9}")
    print("-" * 87)
    rows = [
        ("torch.load + load_state_dict (model creation included)", totals),
        ("  torch.load alone", loads),
        ("  load_state_dict alone", copies),
    ]
    for name, seconds in rows:
        peak = f"{max(peaks) / model_bytes:8.2f}x" if seconds is totals else ""
        print(f"{name:<58} {gbps(min(seconds)):8.2f} {gbps(median(seconds)):8.2f} {peak:>9}")
    print(f"RESULT\ttorch.load + load_state_dict\t{gbps(min(totals)):.3f}\t{max(peaks) / model_bytes:.3f}")

    if not args.keep:
        for path in (pt, pt + ".manifest"):
            if os.path.exists(path):
                os.remove(path)


if __name__ == "__main__":
    main()
