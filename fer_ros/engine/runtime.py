"""Which runtime runs the per-frame networks: PyTorch (the reference) or ONNX Runtime.

One ``runtime`` setting governs both, the appearance CNN and the recurrent model's step.
Measured on this 2-core CPU (one thread, the shipped models; ``tools/cnn_runtimes.py`` for the
CNN), ONNX Runtime runs the CNN batch about twice as fast as eager PyTorch (and faster than
``channels_last`` or ``torch.compile``), and the recurrent predictor's call about three times
as fast (0.11 ms against 0.32 ms for one face, 0.13 against 0.43 for eight): the step is a few
small matmuls, where eager PyTorch's per-op overhead dominates. So on CPU ``auto`` picks ONNX
Runtime when it is installed, exporting the loaded networks in memory at start-up (a quarter
of a second for the CNN, 50 ms for the step); on CUDA it keeps PyTorch. ``torch`` forces the
reference path; the two agree to 1e-4 (tested in test_engine.py). The recurrent model's
whole-sequence forward (``RecurrentPredictor.batch``, the reference evaluation checks
streaming against) always runs on PyTorch.
"""

from __future__ import annotations

import io
import threading
import warnings

import numpy as np
import torch

from fer_ros.model.backbone import Backbone
from fer_ros.model.expression import ExpressionModel

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


_EXPORTING = threading.Lock()


def _session(export, threads: int):
    """An ONNX Runtime CPU session for the graph ``export(file)`` writes, exported in memory."""
    import onnxruntime as ort

    graph = io.BytesIO()
    # torch's exporter keeps global state: engines built in threads at once (an EngineGroup, a
    # test) failed with "GLOBALS.in_onnx_export must be False" without this lock.
    with _EXPORTING, warnings.catch_warnings():  # the TorchScript exporter's deprecation notes (export.py)
        warnings.simplefilter("ignore", DeprecationWarning)
        export(graph)
    options = ort.SessionOptions()
    # EngineConfig.cpu_threads: a second thread when the CNN runs with the other core free.
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if threads > 1:  # idle op threads sleep instead of spinning on cores MediaPipe needs
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: its start-up notes are not the user's business
    return ort.InferenceSession(graph.getvalue(), options, providers=["CPUExecutionProvider"])


class OrtAppearance:
    """``Backbone.appearance`` through ONNX Runtime: crops in [-1, 1] (N, 1, S, S) -> (N, D + 7)."""

    def __init__(self, cnn: Backbone, threads: int = 1):
        from fer_ros.model.export import export_backbone

        self._session = _session(lambda f: export_backbone(cnn.cpu().eval(), f), threads)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        features, logits = self._session.run(None, {"crops": np.ascontiguousarray(x.numpy(), np.float32)})
        return torch.from_numpy(np.concatenate([features, logits], axis=1))


class OrtStep:
    """``ExpressionModel.step`` through ONNX Runtime, numpy in and out: appearance (N, A), geometry
    (N, G), the state (h, c, m, start, ema) as (layers, N, .) arrays -> (logits (N, 7),
    intensity (N,), activity (N,), new state)."""

    def __init__(self, model: ExpressionModel, threads: int = 1):
        from fer_ros.model.export import STEP_INPUTS, STEP_OUTPUTS, export_step

        self._session = _session(lambda f: export_step(model.cpu().eval(), f), threads)
        self._inputs = STEP_INPUTS
        keep = ("logits", "intensity", "activity", "h_out", "c_out", "m_out", "start_out", "ema_out")
        self._outputs = [name for name in STEP_OUTPUTS if name in keep]  # not the phase head

    def __call__(
        self, appearance: np.ndarray, geometry: np.ndarray, state: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        out = self._session.run(self._outputs, dict(zip(self._inputs, (appearance, geometry, *state))))
        return out[0], out[1], out[2], tuple(out[3:])
