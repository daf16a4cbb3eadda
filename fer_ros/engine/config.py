"""Engine settings: one dataclass, validated, loadable from ROS-style parameters.

Kept apart from engine.py so that reading and checking settings (CLI, node start-up)
does not import torch or MediaPipe.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, fields

from .images import MAX_SIDE
from .spotter import SpotterConfig

MODELS = ("recurrent", "baseline")
RUNTIMES = ("auto", "torch", "onnxruntime")  # runtime.py resolves them (not imported here: no torch)
# Settings a running engine cannot take (they choose its models or its front end): a change
# needs a new Engine; Engine.reconfigure applies every other one between two frames.
REBUILD = (
    "model",
    "weights",
    "device",
    "runtime",
    "cpu_threads",  # ONNX Runtime fixes its threads when its session is made
    "max_faces",
    "min_detection_confidence",
    "front_threads",
)


@dataclass
class EngineConfig:
    model: str = "recurrent"  # recurrent | baseline (the CNN alone, frame by frame)
    weights: str | None = None  # the model file (recurrent: an expression model; baseline: a backbone); None: shipped
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # What runs the per-frame networks (the appearance CNN and the recurrent step): auto (ONNX
    # Runtime on CPU when installed, the faster there; PyTorch on CUDA) | torch (the reference)
    # | onnxruntime. See runtime.py.
    runtime: str = "auto"
    max_faces: int = 8
    min_detection_confidence: float = 0.5
    # Most frames between two runs of the face detectors; in between, each face is followed
    # from its landmarks (front_end.DetectionSchedule: more often while faces come and go).
    # A face entering the view is found within this many frames (1/3 s at 30 Hz).
    detect_every: int = 10
    lost_timeout: float = 1.0  # seconds unseen before a face id ends
    iou_threshold: float = 0.2  # box overlap to keep an id
    aligned: bool = False  # inputs are already face crops: no detection
    max_side: int = MAX_SIDE  # larger frames are scaled down for detection
    default_fps: float = 30.0  # stamps for frames that come without one
    # Threads of each op of ONNX Runtime, torch and OpenCV (process-wide). ONNX Runtime's idle
    # op threads sleep (runtime.py: no spinning), so 2 halve the CNN batch when the other core
    # is free, as in ``Engine.process`` (measured: 1 face 91-93 -> 100 frames/s, 4 faces 33-34
    # -> 37.5), and cost nothing when the stages run side by side (pipelined: unchanged).
    # torch's CPU threads do spin: with ``runtime: torch`` on a CPU shared with MediaPipe use 1
    # (measured: CNN 4 ms with 1 thread, >200 ms with 2 on a loaded 2-core machine).
    cpu_threads: int = 2
    # > 1: a frame's followed faces are meshed side by side, one MediaPipe graph each, on
    # MediaPipe's own threads (its executors are not configurable; FaceLandmarker.track_all),
    # and an EngineGroup prepares this many streams' frames in parallel threads; 1: one after
    # the other on the calling thread. The video CLI and the node also run the front stage of
    # frame t+1 beside the networks of frame t (Engine.prepare/complete).
    front_threads: int = 2
    spotter: SpotterConfig = field(default_factory=SpotterConfig)

    @classmethod
    def from_params(cls, params: dict) -> EngineConfig:
        """From flat ROS-style parameters ({"model": ..., "spotter.on_threshold": ...}) or nested dicts.

        Unknown names are refused (a typo in a YAML file must not pass silently).
        """
        flat = flat_params(params)
        spotter_names = {f.name for f in fields(SpotterConfig)}
        engine_names = {f.name for f in fields(cls)} - {"spotter"}
        unknown = sorted(
            k for k in flat if k not in engine_names and not (k.startswith("spotter.") and k[8:] in spotter_names)
        )
        if unknown:
            raise ValueError(f"unknown engine parameter(s): {', '.join(unknown)}")
        spotter = SpotterConfig(**{k[8:]: v for k, v in flat.items() if k.startswith("spotter.")})
        cfg = cls(spotter=spotter, **{k: v for k, v in flat.items() if k in engine_names})
        if cfg.weights == "":
            cfg.weights = None
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {self.runtime!r}")
        for name in ("max_faces", "detect_every", "max_side", "cpu_threads", "front_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not 0.0 < self.min_detection_confidence < 1.0:
            raise ValueError(f"min_detection_confidence must be in (0, 1), got {self.min_detection_confidence}")
        if not self.lost_timeout >= 0:  # written so that NaN is refused too
            raise ValueError(f"lost_timeout must be >= 0 seconds, got {self.lost_timeout}")
        if not 0.0 < self.iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be in (0, 1], got {self.iou_threshold}")
        if not self.default_fps > 0:
            raise ValueError(f"default_fps must be > 0, got {self.default_fps}")
        self.spotter.validate()


def flat_params(params: dict) -> dict:
    """Nested parameter dicts ({"spotter": {"on_threshold": ...}}) as flat ROS-style names
    ({"spotter.on_threshold": ...}); flat names pass through."""
    flat = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def default_params() -> dict:
    """Every engine parameter's default under its flat name ({"spotter.on_threshold": 0.5, ...})."""
    cfg = EngineConfig()
    out = {f.name: getattr(cfg, f.name) for f in fields(EngineConfig) if f.name != "spotter"}
    out.update({f"spotter.{f.name}": getattr(cfg.spotter, f.name) for f in fields(SpotterConfig)})
    return out
