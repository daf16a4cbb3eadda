"""Resumable training state in safetensors: tensors as tensors, their structure as JSON metadata.

No pickle anywhere, so a checkpoint loads without executing code. Used by every trainer:
``save_state`` after each epoch, ``load_state`` on ``--resume``; with ``rng_state`` /
``set_rng_state`` a resumed run draws the same random numbers as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch


def pack(obj, tensors: dict, key: str = "s"):
    """Nested dicts/lists/tensors -> a JSON-able tree; tensors go to `tensors` under their key."""
    if isinstance(obj, torch.Tensor):
        tensors[key] = obj.detach().cpu().contiguous()
        return {"tensor": key}
    if isinstance(obj, dict):  # as pairs: int keys (optimizer state) stay ints
        return {"dict": [[k, pack(v, tensors, f"{key}.{k}")] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"list": [pack(v, tensors, f"{key}.{i}") for i, v in enumerate(obj)]}
    return {"value": obj}


def unpack(node, tensors: dict):
    ((kind, v),) = node.items()
    if kind == "tensor":
        return tensors[v]
    if kind == "dict":
        return {k: unpack(x, tensors) for k, x in v}
    if kind == "list":
        return [unpack(x, tensors) for x in v]
    return v


def replace_atomically(write: Callable[[Path], None], path: Path) -> None:
    """write(tmp) then rename: an interrupted save never leaves a half-written file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_state(path: Path, state: dict, fmt: str) -> None:
    from safetensors.torch import save_file

    tensors: dict = {}
    meta = {"format": fmt, "state": json.dumps(pack(state, tensors), default=float)}
    replace_atomically(lambda p: save_file(tensors, os.fspath(p), metadata=meta), path)


def load_state(path: Path, fmt: str) -> dict:
    from safetensors import safe_open

    with safe_open(os.fspath(path), framework="pt", device="cpu") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if meta.get("format") != fmt:
        raise ValueError(f"{path}: not a {fmt} training state (format={meta.get('format')!r})")
    return unpack(json.loads(meta["state"]), tensors)


def rng_state(rng: np.random.Generator) -> dict:
    st = {"torch": torch.get_rng_state(), "numpy": rng.bit_generator.state, "python": random.getstate()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(rng: np.random.Generator, st: dict) -> None:
    torch.set_rng_state(st["torch"])
    rng.bit_generator.state = st["numpy"]
    version, internal, gauss = st["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])
