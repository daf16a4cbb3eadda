"""Which runtime runs the appearance network: PyTorch (the reference) or ONNX Runtime.

Measured on this 2-core CPU (one thread, the shipped backbone; ``tools/cnn_runtimes.py``),
ONNX Runtime runs the CNN batch about twice as fast as eager PyTorch, and faster than
``channels_last`` or ``torch.compile``. So on CPU ``auto`` picks ONNX Runtime when it is
installed, exporting the loaded network in memory at start-up (a quarter of a second); on
CUDA it keeps PyTorch. ``torch`` forces the reference path; the two agree to 1e-4
(tested in test_engine.py).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch

from fer_ros.model.backbone import Backbone

from .config import RUNTIMES


def onnxruntime_available() -> bool:
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_runtime(runtime: str, device: torch.device) -> str:
    """'auto' -> 'onnxruntime' on CPU when installed, else 'torch'. An explicit 'onnxruntime'
    that cannot run is an error, not a silent fallback."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
    if runtime == "auto":
        return "onnxruntime" if device.type == "cpu" and onnxruntime_available() else "torch"
    if runtime == "onnxruntime":
        if device.type != "cpu":
            raise ValueError(f"runtime 'onnxruntime' runs on the CPU; device is {device}")
        if not onnxruntime_available():
            raise ValueError("runtime 'onnxruntime' asked for, but onnx / onnxruntime are not installed")
    return runtime


class OrtAppearance:
    """``Backbone.appearance`` through ONNX Runtime: crops in [-1, 1] (N, 1, S, S) -> (N, D + 7)."""

    def __init__(self, cnn: Backbone, threads: int = 1):
        import onnxruntime as ort

        from fer_ros.model.export import export_backbone

        graph = io.BytesIO()
        with warnings.catch_warnings():  # the TorchScript exporter's deprecation notes (export.py says why it is used)
            warnings.simplefilter("ignore", DeprecationWarning)
            export_backbone(cnn.cpu().eval(), graph)
        options = ort.SessionOptions()
        # As torch: one thread by default, the cores are MediaPipe's (EngineConfig.cpu_threads).
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its start-up notes are not the user's business
        self._session = ort.InferenceSession(graph.getvalue(), options, providers=["CPUExecutionProvider"])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        features, logits = self._session.run(None, {"crops": np.ascontiguousarray(x.numpy(), np.float32)})
        return torch.from_numpy(np.concatenate([features, logits], axis=1))
