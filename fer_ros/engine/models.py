"""The networks of an engine, in one object several engines can share.

``Models(cfg)`` resolves the device, loads the predictor (the recurrent model, or the
frame-wise baseline) and the appearance encoder with the predictor's own backbone (for a
recurrent model, the one stored in its file); the one ``runtime`` setting runs both
(``runtime.py``: ONNX Runtime on CPU by default, PyTorch on CUDA). Engines that share one
``Models`` (one per camera, ``group.EngineGroup``) put all their faces through one CNN call
and one recurrent step; their face ids must then be unique across them (one shared id counter).
"""

from __future__ import annotations

import cv2
import torch

from .config import EngineConfig
from .features import AppearanceEncoder
from .predictors import FramewisePredictor, RecurrentPredictor, resolve_device
from .runtime import resolve_runtime


class Models:
    def __init__(self, cfg: EngineConfig):
        self.device = resolve_device(cfg.device)
        cv2.setNumThreads(cfg.cpu_threads)  # process-wide, like torch's: see EngineConfig.cpu_threads
        if self.device.type == "cpu":
            torch.set_num_threads(cfg.cpu_threads)
        runtime = resolve_runtime(cfg.runtime, self.device)  # one setting for both networks
        # The recurrent step is a few tiny matmuls: one thread, a second would only add hand-offs.
        self.predictor: RecurrentPredictor | FramewisePredictor = (
            RecurrentPredictor(cfg.weights, self.device, runtime, threads=1)
            if cfg.model == "recurrent"
            else FramewisePredictor(cfg.weights, self.device)
        )
        self.encoder = AppearanceEncoder(self.device, self.predictor.cnn, runtime, cfg.cpu_threads)
        # Engines sharing these models must agree on them:
        self.key = (cfg.model, cfg.weights, str(self.device), self.encoder.runtime)
