"""Write a trained weights file in the form that ships: float32 tensors stored as float16.

    .venv/bin/python tools/ship_weights.py out/backbone/best.safetensors fer_ros/weights/backbone_fer2013.safetensors

Halves the file (the recurrent model carries its backbone: 5.5 MB -> 2.8 MB) and keeps the
metadata (config, class order, training record) byte for byte. The loaders copy every tensor
into the float32 parameters of a freshly built module (``load_state_dict``), so inference
still runs in float32; the rounding moves the class scores by about 1e-3 (the model card's
figures are measured on the shipped files). Integer tensors (BatchNorm's counters) are kept.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file


def ship(src: str, dst: str) -> tuple[int, int]:
    """Copy ``src`` to ``dst`` with float32 tensors as float16; returns (bytes before, after)."""
    with safe_open(src, framework="pt", device="cpu") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    small = {k: v.half() if v.dtype == torch.float32 else v for k, v in tensors.items()}
    tmp = dst + ".part"
    save_file(small, tmp, metadata=meta)
    os.replace(tmp, dst)
    return os.path.getsize(src), os.path.getsize(dst)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src", help="a backbone or expression-model .safetensors written by training")
    p.add_argument("dst", help="where the shipped copy goes")
    a = p.parse_args(argv)
    if not os.path.isfile(a.src):
        print(f"ship_weights: no such file: {a.src}", file=sys.stderr)
        return 2
    before, after = ship(a.src, a.dst)
    print(f"{a.dst}: {before / 1e6:.2f} MB -> {after / 1e6:.2f} MB (float16 storage)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
