"""ONNX export of the networks, for runtimes outside PyTorch (ONNX Runtime, TensorRT).

- ``export_backbone``: crops (N, 1, S, S) in [-1, 1] -> features (N, D), logits (N, 7);
  the batch axis is dynamic.
- ``export_step``: one recurrent step for N faces (``StepModule``): appearance, geometry and
  the state (h, c, m, start, ema) in, the four heads and the new state out.

The TorchScript-based exporter is used (``dynamo=False``): both graphs are static, and it
needs no onnxscript at run time.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from .backbone import Backbone
from .expression import ExpressionModel, StepModule

OPSET = 17
STEP_INPUTS = ["appearance", "geometry", "h", "c", "m", "start", "ema"]
STEP_OUTPUTS = ["logits", "intensity", "activity", "phase_logits", "h_out", "c_out", "m_out", "start_out", "ema_out"]


class _Embed(nn.Module):
    def __init__(self, cnn: Backbone):
        super().__init__()
        self.cnn = cnn

    def forward(self, x):
        return self.cnn.embed(x)


def export_backbone(cnn: Backbone, path) -> None:
    """To a file path, or to a binary file object (an in-memory graph for ONNX Runtime)."""
    size = cnn.crop_size
    example = torch.zeros(2, 1, size, size)
    torch.onnx.export(
        _Embed(cnn).eval(),
        (example,),
        path if hasattr(path, "write") else os.fspath(path),
        input_names=["crops"],
        output_names=["features", "logits"],
        opset_version=OPSET,
        dynamo=False,
        dynamic_axes={"crops": {0: "faces"}, "features": {0: "faces"}, "logits": {0: "faces"}},
    )


def export_step(model: ExpressionModel, path) -> None:
    """To a file path, or to a binary file object (an in-memory graph for ONNX Runtime)."""
    wrapper = StepModule(model.eval()).eval()
    faces = {1: "faces"}  # state tensors are (layers, faces, size)
    axes = {
        "appearance": {0: "faces"},
        "geometry": {0: "faces"},
        "logits": {0: "faces"},
        "intensity": {0: "faces"},
        "activity": {0: "faces"},
        "phase_logits": {0: "faces"},
        **dict.fromkeys(("h", "c", "m", "start", "ema", "h_out", "c_out", "m_out", "start_out", "ema_out"), faces),
    }
    torch.onnx.export(
        wrapper,
        wrapper.example_inputs(2),
        path if hasattr(path, "write") else os.fspath(path),
        input_names=STEP_INPUTS,
        output_names=STEP_OUTPUTS,
        opset_version=OPSET,
        dynamo=False,
        dynamic_axes=axes,
    )
