"""The node's ROS parameters: declarations with descriptions and ranges, defaults from the engine.

Every engine parameter of config/fer.yaml is declared here with a description and the outer
range ROS tools show; defaults come from EngineConfig / SpotterConfig and validation from
EngineConfig.validate (the one place for the exact rules).
"""

from __future__ import annotations

from dataclasses import fields

from rcl_interfaces.msg import FloatingPointRange, IntegerRange

from fer_ros.engine import EngineConfig, SpotterConfig
from fer_ros.engine.predictors import resolve_device
from fer_ros.model.expression import DEFAULT_MODEL


def _frange(lo, hi):
    return {"floating_point_range": [FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]}


def _irange(lo, hi):
    return {"integer_range": [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]}


# Every engine parameter of config/fer.yaml: name -> (description, range). Defaults come
# from EngineConfig / SpotterConfig; validation from EngineConfig.validate (ranges here are
# the outer bounds ROS tools show; the exact rules, e.g. open intervals, are the engine's).
ENGINE_PARAMS: dict[str, tuple[str, dict]] = {
    "model": (
        "recurrent (mode-variational LSTM per face) | baseline (the frame-wise CNN alone). "
        "A change rebuilds the engines.",
        {},
    ),
    "weights": (
        "model file (.safetensors): an expression model (recurrent) or a backbone (baseline); empty: the "
        "shipped default. A change rebuilds the engines.",
        {},
    ),
    "device": ("auto (CUDA when present) | cpu | cuda | cuda:N. A change rebuilds the engines.", {}),
    "max_faces": ("most faces tracked per frame. A change rebuilds the engines.", _irange(1, 64)),
    "min_detection_confidence": (
        "face detector score threshold, in (0, 1). A change rebuilds the engines.",
        _frange(0.0, 1.0),
    ),
    "detect_every": (
        "most frames between two face detections (faces are followed from their landmarks in between)",
        _irange(1, 1000),
    ),
    "lost_timeout": (
        "seconds of stream time unseen before a face id ends (its open interval is closed)",
        _frange(0.0, 3600.0),
    ),
    "iou_threshold": ("box overlap that keeps a face id from frame to frame, in (0, 1]", _frange(0.0, 1.0)),
    "aligned": ("inputs are already aligned face crops (no detection)", {}),
    "max_side": ("larger frames are scaled down to this longer side before detection", _irange(16, 16384)),
    "default_fps": ("frame rate assumed for images with a zero stamp", _frange(0.01, 1000.0)),
    "cpu_threads": ("torch threads on CPU (1 leaves the cores to MediaPipe)", _irange(1, 256)),
    "front_threads": (
        "followed faces meshed in parallel threads (MediaPipe releases the GIL). A change rebuilds the engines.",
        _irange(1, 64),
    ),
    "spotter.on_threshold": ("expression activity that opens an interval...", _frange(0.0, 1.0)),
    "spotter.confirm_frames": ("...for this many frames in a row (event 'started')", _irange(1, 1000)),
    "spotter.off_threshold": ("activity below which an interval closes (<= on_threshold)...", _frange(0.0, 1.0)),
    "spotter.release_frames": ("...after this many frames in a row (event 'ended')", _irange(1, 1000)),
    "spotter.apex_drop": (
        "intensity fall below the peak that confirms the apex (event 'apex'), in (0, 1)",
        _frange(0.0, 1.0),
    ),
    "spotter.switch_frames": (
        "split an interval when another class dominates this many active frames in a row (0: never)",
        _irange(0, 10000),
    ),
    "spotter.switch_share": (
        "share of the non-neutral score with which a frame votes for its class, in (0, 1]",
        _frange(0.0, 1.0),
    ),
}
NODE_PARAMS: dict[str, tuple[object, str, dict]] = {
    "image_topics": (["image_raw"], "camera image topics, one engine each (read at start-up)", {"read_only": True}),
    "compressed": (
        False,
        "subscribe to <topic>/compressed (sensor_msgs/CompressedImage) instead of raw images (read at start-up)",
        {"read_only": True},
    ),
    "image_qos": (
        "sensor_data",
        "image subscription QoS: sensor_data (best effort, the camera default) | "
        "reliable (bag replay, large frames over loopback) (read at start-up)",
        {"read_only": True},
    ),
    "diagnostics_period": (1.0, "seconds between two /diagnostics messages", _frange(0.05, 3600.0)),
}
IMAGE_QOS = ("sensor_data", "reliable")


def engine_defaults() -> dict[str, object]:
    """Flat ROS parameter defaults of the engine, e.g. {"model": "recurrent", "spotter.on_threshold": 0.5}."""
    cfg = EngineConfig()
    out = {f.name: getattr(cfg, f.name) for f in fields(EngineConfig) if f.name != "spotter"}
    out["weights"] = out["weights"] or ""
    out.update({f"spotter.{f.name}": getattr(cfg.spotter, f.name) for f in fields(SpotterConfig)})
    assert set(out) == set(ENGINE_PARAMS), "ENGINE_PARAMS out of step with EngineConfig"
    return out


def check_buildable(cfg: EngineConfig, load_weights: bool = True) -> None:
    """What EngineConfig.validate cannot see: the device exists, the weights file loads. Raises ValueError."""
    try:
        resolve_device(cfg.device)
    except RuntimeError as e:  # torch.device("gpu"): not a device string at all
        raise ValueError(f"device {cfg.device!r} is not a device (auto, cpu, cuda, cuda:N): {e}") from e
    if load_weights:
        from fer_ros.model.backbone import DEFAULT_BACKBONE
        from fer_ros.model.expression import load_cnn, load_model

        recurrent = cfg.model == "recurrent"
        path = cfg.weights or (DEFAULT_MODEL if recurrent else DEFAULT_BACKBONE)
        try:
            (load_model if recurrent else load_cnn)(path, device="cpu")
        except FileNotFoundError as e:
            raise ValueError(f"weights: no model file at {path}") from e
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise ValueError(f"weights: {e}") from e
