"""The ``vgg`` backbone family: plain conv stages, then a small head.

Stages of ``convs`` 3x3 conv-BN-ReLU layers, each stage ending in a 2x2 max-pool, then the
head: flatten -> dropout -> Linear(``hidden``) -> ReLU -> dropout -> Linear(7) (``hidden`` 0:
global average pooling -> dropout -> Linear(7)). With ``hidden`` the features are that
hidden layer's activations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from .classes import NUM_CLASSES

if TYPE_CHECKING:
    from .backbone_config import BackboneConfig


class Vgg(nn.Module):
    """forward: (N, 1, S, S) crops scaled to [-1, 1] -> logits (N, 7) in CLASS_NAMES order."""

    metadata: dict  # what the weights file says of its training (backbone.load_backbone)

    def __init__(self, cfg: BackboneConfig):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        cin = 1
        for width in cfg.widths:
            for _ in range(cfg.convs):
                layers += [
                    nn.Conv2d(cin, width, 3, padding=1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True),
                ]
                cin = width
            layers.append(nn.MaxPool2d(2))
        self.stem = nn.Sequential(*layers)
        side = cfg.input_size // 2 ** len(cfg.widths)
        if cfg.hidden:
            self.pool = nn.Sequential(
                nn.Flatten(), nn.Dropout(cfg.dropout), nn.Linear(cin * side * side, cfg.hidden), nn.ReLU(inplace=True)
            )
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
