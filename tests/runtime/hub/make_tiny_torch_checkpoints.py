"""Writes the `tiny` card's weights as torch.save checkpoints, for loading tests.

Usage: make_tiny_torch_checkpoints.py OUT_DIR TINY_FILES...

Reads the tiny checkpoint the build generates (Hugging Face safetensors shards,
parsed here with the json module, independently of modelhub) and writes, with
PyTorch's own torch.save, each layout modelhub must read:

  hf_bin/pytorch_model.bin             Hugging Face names, one file (+ config.json)
  hf_bin_sharded/pytorch_model-0000K-of-00002.bin + pytorch_model.bin.index.json
  hf_bf16/pytorch_model.bin            the same in bfloat16
  fairseq2/model.pt                    {"model": fairseq2 names, "model_key", step, config}
  namespace/model.pt                   a wrapper that also holds an argparse.Namespace
  meta/consolidated.0{0,1}.pth         Meta names, split over 2 tensor-parallel ranks,
                                       q/k rows in Meta's interleaved RoPE layout
  legacy/model.pt                      the pre-1.6 (non-zip) torch.save format
"""

import argparse
import collections
import json
import os
import shutil
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = bytearray(data[8 + n + begin : 8 + n + end])
        tensors[name] = torch.frombuffer(raw, dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
    return tensors


def hf_to_fairseq2(name):
    renames = [
        ("model.embed_tokens.", "decoder_frontend.embed."),
        ("model.norm.", "decoder.layer_norm."),
        ("model.layers.", "decoder.layers."),
        (".input_layernorm.", ".self_attn_layer_norm."),
        (".post_attention_layernorm.", ".ffn_layer_norm."),
        (".self_attn.o_proj.", ".self_attn.output_proj."),
        (".mlp.gate_proj.", ".ffn.gate_proj."),
        (".mlp.up_proj.", ".ffn.inner_proj."),
        (".mlp.down_proj.", ".ffn.output_proj."),
    ]
    for old, new in renames:
        name = name.replace(old, new)
    return name


def hf_to_meta(name):
    renames = [
        ("model.embed_tokens.", "tok_embeddings."),
        ("model.norm.", "norm."),
        ("model.layers.", "layers."),
        (".input_layernorm.", ".attention_norm."),
        (".post_attention_layernorm.", ".ffn_norm."),
        (".self_attn.q_proj.", ".attention.wq."),
        (".self_attn.k_proj.", ".attention.wk."),
        (".self_attn.v_proj.", ".attention.wv."),
        (".self_attn.o_proj.", ".attention.wo."),
        (".mlp.gate_proj.", ".feed_forward.w1."),
        (".mlp.up_proj.", ".feed_forward.w3."),
        (".mlp.down_proj.", ".feed_forward.w2."),
    ]
    for old, new in renames:
        name = name.replace(old, new)
    return name


def to_interleaved(weight, heads):
    """Rotate-half rows (pairs i, i + D/2) to Meta's interleaved pairs (2i, 2i+1)."""
    rows, cols = weight.shape
    head_dim = rows // heads
    return weight.view(heads, 2, head_dim // 2, cols).transpose(1, 2).reshape(rows, cols)


def meta_split_dim(meta_name):
    """The dimension Meta's reference model shards a tensor on, or None if replicated."""
    column = (".wq.", ".wk.", ".wv.", ".w1.", ".w3.", "output.")
    row = (".wo.", ".w2.", "tok_embeddings.")  # Llama 2's ParallelEmbedding: dim 1
    if any(part in meta_name or meta_name.startswith(part) for part in column):
        return 0
    if any(part in meta_name or meta_name.startswith(part) for part in row):
        return 1
    return None


def main():
    out = sys.argv[1]
    files = sys.argv[2:]
    config_path = next(f for f in files if f.endswith("config.json"))
    with open(config_path) as f:
        config = json.load(f)
    hf = {}
    for path in sorted(f for f in files if f.endswith(".safetensors")):
        hf.update(read_safetensors(path))
    names = sorted(hf)
    state = collections.OrderedDict((name, hf[name]) for name in names)

    def folder(name):
        path = os.path.join(out, name)
        os.makedirs(path, exist_ok=True)
        return path

    d = folder("hf_bin")
    torch.save(state, os.path.join(d, "pytorch_model.bin"))
    shutil.copy(config_path, os.path.join(d, "config.json"))

    d = folder("hf_bin_sharded")
    half = len(names) // 2
    weight_map = {}
    for k, part in enumerate((names[:half], names[half:]), start=1):
        file = "pytorch_model-%05d-of-00002.bin" % k
        torch.save(collections.OrderedDict((n, hf[n]) for n in part), os.path.join(d, file))
        weight_map.update({n: file for n in part})
    total = sum(t.numel() * t.element_size() for t in hf.values())
    with open(os.path.join(d, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    shutil.copy(config_path, os.path.join(d, "config.json"))

    d = folder("hf_bf16")
    torch.save(
        collections.OrderedDict((n, t.to(torch.bfloat16)) for n, t in state.items()),
        os.path.join(d, "pytorch_model.bin"),
    )

    fairseq2 = collections.OrderedDict((hf_to_fairseq2(n), t) for n, t in state.items())
    wrapper = {
        "model": fairseq2,
        "model_key": "model",
        "fs2": True,
        "step_nr": 1000,
        "config": {"nested": {"lr": 0.001, "betas": [0.9, 0.95]}, "name": "tiny"},
    }
    torch.save(wrapper, os.path.join(folder("fairseq2"), "model.pt"))

    wrapper = dict(wrapper, args=argparse.Namespace(arch="tiny", lr=0.001))
    torch.save(wrapper, os.path.join(folder("namespace"), "model.pt"))

    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    meta = collections.OrderedDict()
    for n, t in state.items():
        if ".q_proj." in n:
            t = to_interleaved(t, heads)
        elif ".k_proj." in n:
            t = to_interleaved(t, kv_heads)
        meta[hf_to_meta(n)] = t
    meta["output.weight"] = hf["model.embed_tokens.weight"]  # Meta writes the head even when tied
    meta["rope.freqs"] = torch.ones(config["head_dim"] // 2)
    d = folder("meta")
    for rank in range(2):
        shard = collections.OrderedDict()
        for n, t in meta.items():
            dim = meta_split_dim(n)
            shard[n] = t if dim is None else t.chunk(2, dim=dim)[rank].clone()
        torch.save(shard, os.path.join(d, "consolidated.%02d.pth" % rank))

    torch.save(
        state, os.path.join(folder("legacy"), "model.pt"), _use_new_zipfile_serialization=False
    )


if __name__ == "__main__":
    main()
