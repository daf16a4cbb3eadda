"""Appearance backbones: frame-wise expression CNNs on aligned grey face crops.

timm-style: one family per module (``vgg``), ``forward_features`` (the pooled feature vector
the recurrent model reads) split from ``forward_head`` (7 class logits, CLASS_NAMES order),
and a ``BackboneConfig`` that describes the weights completely. It travels in the safetensors
metadata, so ``load_backbone(path)`` rebuilds the net and the front end reads from it how
to cut the crops (``input_size``, ``equalize``) without executing any code. Measured choices
are in fer_ros/weights/MODEL_CARD.md.
"""

from __future__ import annotations

import json
import os

import torch
from torch import Tensor

from . import WEIGHTS_DIR
from .backbone_config import ARCH_NAMES, BackboneConfig
from .classes import CLASS_NAMES
from .vgg import Vgg

FORMAT = "fer_ros.Backbone/1"
DEFAULT_BACKBONE = WEIGHTS_DIR / "backbone_fer2013.safetensors"  # the shipped frame-wise CNN


ARCHS = {"vgg": Vgg}  # one family per module; a new family adds its class here and its name to ARCH_NAMES
assert set(ARCHS) == set(ARCH_NAMES)
Backbone = Vgg  # the type every family satisfies (crop_size, equalize, feature_dim, embed, appearance)


def create_backbone(cfg: BackboneConfig | None = None, **overrides) -> Vgg:
    cfg = BackboneConfig(**{**(cfg.to_dict() if cfg else {}), **overrides})
    return ARCHS[cfg.arch](cfg)


def scale(x: Tensor) -> Tensor:
    """Grey pixel values 0..255 (any dtype) -> float32 in [-1, 1]."""
    return x.to(torch.float32) / 127.5 - 1.0


def save_backbone(model: Vgg, path, extra: dict | None = None) -> None:
    from safetensors.torch import save_file

    meta = {
        "format": FORMAT,
        "config": json.dumps(model.cfg.to_dict()),
        "class_names": json.dumps(CLASS_NAMES),
        "extra": json.dumps(extra or {}, default=float),
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, os.fspath(path), metadata=meta)


def read_backbone(path) -> tuple[BackboneConfig, dict, dict]:
    """(config, tensors, extra metadata) of a backbone file; ValueError naming the file when bad."""
    from safetensors import safe_open

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"backbone weights not found: {path}")
    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for bad headers / truncation
        raise ValueError(f"{path}: not a readable safetensors file ({e})") from e
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a fer_ros backbone (format={meta.get('format')!r})")
    try:
        if tuple(json.loads(meta["class_names"])) != CLASS_NAMES:
            raise ValueError(f"class order {meta['class_names']} != {CLASS_NAMES}")
        return BackboneConfig.from_dict(json.loads(meta["config"])), tensors, json.loads(meta.get("extra", "{}"))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: bad backbone metadata ({e})") from e


def load_backbone(path=None, device="cpu") -> Vgg:
    """The backbone saved at ``path`` (None: the shipped one), in eval mode; ``.metadata`` holds
    its extra metadata."""
    cfg, tensors, extra = read_backbone(DEFAULT_BACKBONE if path is None else path)
    model = create_backbone(cfg)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        raise ValueError(f"{os.fspath(path)}: weights do not fit the config ({e})") from e
    model.metadata = extra
    return model.to(device).eval()


__all__ = [
    "BackboneConfig",
    "Vgg",
    "DEFAULT_BACKBONE",
    "create_backbone",
    "load_backbone",
    "save_backbone",
    "read_backbone",
    "scale",
]
