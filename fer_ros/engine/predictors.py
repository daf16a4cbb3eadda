"""Per-frame predictors over all live faces: the recurrent model and the frame-wise baseline.

Both take the features of the faces in one frame (one row per face id) and return, per
face, class probabilities, intensity and expression activity. The recurrent predictor
keeps each face's recurrent state in a pool of rows and steps every live face in ONE
batched call; the baseline is the CNN's softmax alone.

The recurrent step runs where ``runtime`` says (``runtime.py``): on PyTorch, with the pool
in device tensors, or on ONNX Runtime (the CPU default), with the pool in numpy arrays, the
step's inputs and outputs staying numpy (the appearance tensor is a view of the CNN's ONNX
Runtime output, no copy). ``batch``, the whole-sequence forward that streaming is checked
against, is always PyTorch.

``cnn``: the appearance network the engine must encode faces with for this predictor: the
backbone the recurrent model was trained on (it is stored in its file), or for the
baseline the backbone itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fer_ros.model.classes import NEUTRAL, NUM_CLASSES
from fer_ros.model.expression import DEFAULT_MODEL, load_cnn, load_model

from .runtime import OrtStep, resolve_runtime


@dataclass
class Predictions:
    """Outputs for N faces, numpy on the host."""

    probs: np.ndarray  # (N, 7) CLASS_NAMES order, rows sum to 1
    intensity: np.ndarray  # (N,) 0..1
    activity: np.ndarray  # (N,) 0..1

    def rows(self, part: slice) -> Predictions:
        """The faces ``part`` of a batch (the faces of one engine's frame)."""
        return Predictions(self.probs[part], self.intensity[part], self.activity[part])


def _host(x: torch.Tensor) -> np.ndarray:
    return x.detach().float().cpu().numpy()


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities of numpy logits over the last axis (the one copy: training uses it too)."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class StatePool:
    """Recurrent state of every live face, rows of arrays shaped (layers, capacity, H): torch
    tensors on the model's device, or numpy arrays for ONNX Runtime (as ``init_state`` makes them).

    Rows are handed out per face id and recycled when a face ends; a new face's row starts
    from the initial state; the pool doubles when full. Gather/scatter by row index keeps
    one batched model call per frame.
    """

    def __init__(self, init_state, capacity: int = 16):
        self._init_state = init_state  # n -> tuple of (layers, n, H) arrays, the state of n new faces
        self.tensors = list(init_state(capacity))
        self._torch = isinstance(self.tensors[0], torch.Tensor)
        self._fresh = [t[:, 0] for t in init_state(1)]  # (layers, H) each
        self.rows: dict[int, int] = {}
        self.free = list(range(capacity))[::-1]

    def _grow(self) -> None:
        old = len(self.tensors[0][0])
        extra = self._init_state(old)
        cat = torch.cat if self._torch else np.concatenate
        self.tensors = [cat([t, e], 1) for t, e in zip(self.tensors, extra)]
        self.free = list(range(old, 2 * old))[::-1] + self.free

    def rows_for(self, ids: list[int]) -> torch.Tensor | np.ndarray:
        for fid in ids:
            if fid not in self.rows:
                if not self.free:
                    self._grow()
                row = self.free.pop()
                for t, fresh in zip(self.tensors, self._fresh):  # a new face starts from the initial state
                    t[:, row] = fresh
                self.rows[fid] = row
        rows = [self.rows[f] for f in ids]
        if self._torch:
            return torch.tensor(rows, dtype=torch.long, device=self.tensors[0].device)
        return np.array(rows, np.intp)

    def gather(self, idx) -> tuple:
        if self._torch:
            return tuple(t.index_select(1, idx) for t in self.tensors)
        return tuple(t[:, idx] for t in self.tensors)  # fancy indexing: contiguous copies

    def scatter(self, idx, state) -> None:
        for t, s in zip(self.tensors, state):
            if self._torch:
                t.index_copy_(1, idx, s)
            else:
                t[:, idx] = s

    def drop(self, fid: int) -> None:
        row = self.rows.pop(fid, None)
        if row is not None:
            self.free.append(row)

    def clear(self) -> None:
        for fid in list(self.rows):
            self.drop(fid)


class RecurrentPredictor:
    """The recurrent model over all live faces. runtime: what runs the per-frame step (torch |
    onnxruntime | auto, see ``runtime.py``); threads: ONNX Runtime's intra-op threads."""

    name = "recurrent"

    def __init__(
        self,
        path: str | Path | None = None,
        device: str | torch.device = "cpu",
        runtime: str = "torch",
        threads: int = 1,
    ):
        self.path = Path(path) if path else DEFAULT_MODEL
        self.device = torch.device(device)
        self.model = load_model(self.path, device=self.device)
        self.cnn = self.model.cnn  # the backbone it was trained on
        self.runtime = resolve_runtime(runtime, self.device)
        self._ort: OrtStep | None = None
        if self.runtime == "onnxruntime":
            self._ort = OrtStep(self.model, threads)
            self.pool = StatePool(lambda n: tuple(t.numpy() for t in self.model.init_state(n)))
        else:
            self.pool = StatePool(lambda n: self.model.init_state(n, self.device))

    def __call__(self, ids: list[int], appearance: torch.Tensor | np.ndarray, geometry: np.ndarray) -> Predictions:
        """appearance (N, A): the encoder's tensor (on the ONNX Runtime path a view of numpy, read
        as such) or an array; geometry (N, G)."""
        if not ids:
            return Predictions(np.zeros((0, NUM_CLASSES), np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32))
        if self._ort is None:
            return self._torch_step(ids, appearance, geometry)
        idx = self.pool.rows_for(ids)
        app = appearance.numpy() if isinstance(appearance, torch.Tensor) else appearance
        logits, intensity, activity, state = self._ort(
            np.ascontiguousarray(app, np.float32), np.ascontiguousarray(geometry, np.float32), self.pool.gather(idx)
        )
        self.pool.scatter(idx, state)
        return Predictions(softmax(logits), intensity, activity)

    @torch.inference_mode()
    def _torch_step(self, ids: list[int], appearance: torch.Tensor | np.ndarray, geometry: np.ndarray) -> Predictions:
        idx = self.pool.rows_for(ids)
        app = torch.as_tensor(appearance, dtype=torch.float32, device=self.device)
        geo = torch.from_numpy(np.ascontiguousarray(geometry, np.float32)).to(self.device)
        out, state = self.model.step(app, geo, self.pool.gather(idx))
        self.pool.scatter(idx, state)
        return Predictions(_host(torch.softmax(out["logits"], -1)), _host(out["intensity"]), _host(out["activity"]))

    @torch.inference_mode()
    def batch(self, appearance: np.ndarray, geometry: np.ndarray) -> dict[str, np.ndarray]:
        """``ExpressionModel.forward`` over one face's whole sequence at once (always PyTorch: the
        reference): appearance (T, A), geometry (T, G) -> per-frame ``probs`` (T, 7),
        ``intensity`` and ``activity`` (T,)."""
        app = torch.as_tensor(np.asarray(appearance, np.float32), device=self.device)[None]
        geo = torch.as_tensor(np.asarray(geometry, np.float32), device=self.device)[None]
        out = self.model(app, geo)
        return {
            "probs": _host(torch.softmax(out["logits"][0], -1)),
            "intensity": _host(out["intensity"][0]),
            "activity": _host(out["activity"][0]),
        }

    def drop(self, fid: int) -> None:
        self.pool.drop(fid)

    def reset(self) -> None:
        self.pool.clear()


class FramewisePredictor:
    """Baseline: the backbone alone, no memory. Intensity and activity = 1 - P(neutral).

    path: a backbone file, or an expression model file whose backbone to use (None: the shipped one)."""

    name = "baseline"

    def __init__(self, path: str | Path | None = None, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.path = Path(path) if path else None
        self.cnn = load_cnn(self.path, device=self.device)

    @torch.inference_mode()
    def __call__(self, ids: list[int], appearance: torch.Tensor, geometry: np.ndarray) -> Predictions:
        probs = _host(torch.softmax(appearance[:, -NUM_CLASSES:], -1))
        expressive = 1.0 - probs[:, NEUTRAL]
        return Predictions(probs, expressive.copy(), expressive.copy())

    def drop(self, fid: int) -> None:
        pass

    def reset(self) -> None:
        pass


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' picks CUDA when present; an unavailable CUDA request is an error, not a silent CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev
