"""Appearance backbones: frame-wise expression CNNs on aligned grey face crops.

One family per class, timm-style: ``forward_features`` (the pooled feature vector the
recurrent model reads) is split from ``forward_head`` (7 class logits, CLASS_NAMES order),
and a ``BackboneConfig`` describes the weights completely. It travels in the safetensors
metadata, so ``load_backbone(path)`` rebuilds the net and the front end reads from it how
to cut the crops (``input_size``, ``equalize``) without executing any code.

``vgg``: stages of ``convs`` 3x3 conv-BN-ReLU layers, each stage ending in a 2x2 max-pool,
then the head: flatten -> dropout -> Linear(``hidden``) -> ReLU -> dropout -> Linear(7)
(``hidden`` 0: global average pooling -> dropout -> Linear(7)). With ``hidden`` the features
are that hidden layer's activations. Measured choices are in fer_ros/weights/MODEL_CARD.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields

import torch
from torch import Tensor, nn

from . import WEIGHTS_DIR
from .classes import CLASS_NAMES, NUM_CLASSES

FORMAT = "fer_ros.Backbone/1"
DEFAULT_BACKBONE = WEIGHTS_DIR / "backbone_fer2013.safetensors"  # the shipped frame-wise CNN


@dataclass(frozen=True)
class BackboneConfig:
    arch: str = "vgg"
    widths: tuple[int, ...] = (32, 64, 128, 256)  # channels of each stage
    convs: int = 2  # 3x3 convolutions per stage
    hidden: int = 256  # width of the hidden fully connected layer; 0: global average pooling
    dropout: float = 0.4
    input_size: int = 48  # side of the square grey crop the net reads
    equalize: bool = True  # crops are histogram-equalised by the front end (features.face_crops)

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if self.arch not in ARCHS:
            raise ValueError(f"unknown backbone arch {self.arch!r}; known: {', '.join(ARCHS)}")
        if not self.widths or min(self.widths) < 1 or self.convs < 1 or self.hidden < 0:
            raise ValueError(f"bad backbone shape: widths={self.widths}, convs={self.convs}, hidden={self.hidden}")
        if self.input_size % (2 ** len(self.widths)):
            raise ValueError(f"input_size {self.input_size} is not divisible by 2^{len(self.widths)} (one pool a stage)")

    @property
    def feature_dim(self) -> int:
        return self.hidden or self.widths[-1]

    def to_dict(self) -> dict:
        """JSON-like (widths as a list), so a config read back from a file compares equal."""
        return {**asdict(self), "widths": list(self.widths)}

    @classmethod
    def from_dict(cls, d: dict) -> "BackboneConfig":
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown backbone config keys: {sorted(unknown)}")
        return cls(**d)


class Vgg(nn.Module):
    """forward: (N, 1, S, S) crops scaled to [-1, 1] -> logits (N, 7) in CLASS_NAMES order."""

    def __init__(self, cfg: BackboneConfig):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        cin = 1
        for width in cfg.widths:
            for _ in range(cfg.convs):
                layers += [nn.Conv2d(cin, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                           nn.ReLU(inplace=True)]
                cin = width
            layers.append(nn.MaxPool2d(2))
        self.stem = nn.Sequential(*layers)
        side = cfg.input_size // 2 ** len(cfg.widths)
        if cfg.hidden:
            self.pool = nn.Sequential(nn.Flatten(), nn.Dropout(cfg.dropout),
                                      nn.Linear(cin * side * side, cfg.hidden), nn.ReLU(inplace=True))
        else:
            self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(cfg.feature_dim, NUM_CLASSES))

    # What the front end must cut for this net (features.AppearanceEncoder reads these).
    @property
    def crop_size(self) -> int:
        return self.cfg.input_size

    @property
    def equalize(self) -> bool:
        return self.cfg.equalize

    @property
    def feature_dim(self) -> int:
        return self.cfg.feature_dim

    def forward_features(self, x: Tensor) -> Tensor:
        return self.pool(self.stem(x))

    def forward_head(self, features: Tensor) -> Tensor:
        return self.head(features)

    def embed(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """-> (features (N, feature_dim), logits (N, 7))."""
        features = self.forward_features(x)
        return features, self.forward_head(features)

    def appearance(self, x: Tensor) -> Tensor:
        """-> (N, feature_dim + 7) features ++ logits: the appearance vector of the temporal model."""
        return torch.cat(self.embed(x), dim=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


ARCHS = {"vgg": Vgg}


def create_backbone(cfg: BackboneConfig | None = None, **overrides) -> nn.Module:
    cfg = BackboneConfig(**{**(cfg.to_dict() if cfg else {}), **overrides})
    return ARCHS[cfg.arch](cfg)


def scale(x: Tensor) -> Tensor:
    """Grey pixel values 0..255 (any dtype) -> float32 in [-1, 1]."""
    return x.to(torch.float32) / 127.5 - 1.0


def save_backbone(model: nn.Module, path, extra: dict | None = None) -> None:
    from safetensors.torch import save_file

    meta = {"format": FORMAT, "config": json.dumps(model.cfg.to_dict()),
            "class_names": json.dumps(CLASS_NAMES), "extra": json.dumps(extra or {}, default=float)}
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


def load_backbone(path=None, device="cpu") -> nn.Module:
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


__all__ = ["BackboneConfig", "Vgg", "DEFAULT_BACKBONE", "create_backbone", "load_backbone", "save_backbone",
           "read_backbone", "scale"]
