"""The node's ROS parameters: declarations with descriptions and ranges, reading and checking them.

Engine parameters (config/fer.yaml): defaults from EngineConfig / SpotterConfig, validation by
EngineConfig.validate (the one place for the exact rules); the ranges here are the outer bounds
ROS tools show. The node's own parameters (config/fer_node.yaml): NodeSettings, with its checks.
``declare_all`` declares both and makes every refusal name its parameter: unknown names (a typo
must not pass silently), ill-typed values; an int given for a double is taken as that double.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import asdict, dataclass, field, fields

from rcl_interfaces.msg import FloatingPointRange, IntegerRange

from fer_ros.engine import EngineConfig
from fer_ros.engine.config import default_params
from fer_ros.engine.predictors import resolve_device
from fer_ros.model.expression import DEFAULT_MODEL

from .messages import INTERVALS_DEPTH
from .timeline import DEFAULT_JITTER


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
    "runtime": (
        "what runs the appearance network: auto (ONNX Runtime on CPU, PyTorch on CUDA) | torch (the "
        "reference) | onnxruntime. A change rebuilds the engines.",
        {},
    ),
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
    "cpu_threads": (
        "threads of each ONNX Runtime / torch / OpenCV op (ONNX Runtime's sleep when idle; with runtime torch on "
        "a CPU, 1 leaves the cores to MediaPipe). A change rebuilds the engines.",
        _irange(1, 256),
    ),
    "front_threads": (
        "above 1, a frame's followed faces are meshed side by side on MediaPipe's threads; 1: one after the "
        "other. A change rebuilds the engines.",
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


@dataclass
class NodeSettings:
    """The node's own parameters (config/fer_node.yaml); the engine's are EngineConfig's."""

    input_mode: str = "images"  # images | ros4hri
    image_topics: list[str] = field(default_factory=lambda: ["image_raw"])
    compressed: bool = False
    image_qos: str = "sensor_data"
    output_namespaces: list[str] = field(default_factory=list)  # empty: each camera's own
    ros4hri: bool = True
    ros4hri_aligned: bool = False
    ros4hri_id_prefix: str = ""  # empty: two random letters per configure
    intervals_depth: int = INTERVALS_DEPTH
    stamp_jitter: float = DEFAULT_JITTER
    silence_timeout: float = 2.0  # s of wall time; 0: never
    diagnostics_period: float = 1.0
    diagnostics_rate_fall: float = 0.5
    diagnostics_max_dropped: float = 0.5

    def validate(self) -> None:
        """ValueError naming the parameter; ranges the descriptors cannot say."""
        if self.input_mode not in INPUT_MODES:
            raise ValueError(f"input_mode must be one of {INPUT_MODES}, got {self.input_mode!r}")
        if self.image_qos not in IMAGE_QOS:
            raise ValueError(f"image_qos must be one of {IMAGE_QOS}, got {self.image_qos!r}")
        if self.input_mode == "images":
            if not self.image_topics or any(not str(t).strip() for t in self.image_topics):
                raise ValueError(
                    f"image_topics must name at least one camera topic (e.g. image_topics:=[/camera/image_raw]), "
                    f"got {list(self.image_topics)}"
                )
            if len(set(self.image_topics)) != len(self.image_topics):
                raise ValueError(f"image_topics names a topic twice: {list(self.image_topics)}")
            if self.output_namespaces and len(self.output_namespaces) != len(self.image_topics):
                raise ValueError(
                    f"output_namespaces must be empty or give one namespace per image topic "
                    f"({len(self.image_topics)}), got {list(self.output_namespaces)}"
                )
        if self.ros4hri_id_prefix and not _ID_PREFIX.match(self.ros4hri_id_prefix):
            raise ValueError(
                "ros4hri_id_prefix must be letters, digits or _, starting with a letter (it begins topic "
                f"names), got {self.ros4hri_id_prefix!r}"
            )


INPUT_MODES = ("images", "ros4hri")
IMAGE_QOS = ("sensor_data", "reliable")
_ID_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,15}$")
# name -> (description, descriptor extras, when it applies). "configure": read when the node is
# configured (at start-up in the plain mode); a change while configured is refused, naming it.
# "live": applied to the running node.
NODE_PARAMS: dict[str, tuple[str, dict, str]] = {
    "input_mode": (
        "images (camera topics, image_topics) | ros4hri (the aligned face crops of a ROS4HRI detector, "
        "/humans/faces/<id>/aligned)",
        {},
        "configure",
    ),
    "image_topics": ("camera image topics, one engine each", {}, "configure"),
    "compressed": ("subscribe to <topic>/compressed (sensor_msgs/CompressedImage) instead", {}, "configure"),
    "image_qos": (
        "image subscription QoS: sensor_data (best effort, the camera default) | reliable (bag replay, "
        "large frames over loopback)",
        {},
        "configure",
    ),
    "output_namespaces": (
        "one output namespace per image topic (expressions, intervals); empty: <camera namespace>/<node name>",
        {},
        "configure",
    ),
    "ros4hri": ("publish ROS4HRI (REP 155) /humans/faces/... topics beside fer_msgs", {}, "configure"),
    "ros4hri_aligned": ("also publish /humans/faces/<id>/aligned (the model's aligned crop)", {}, "configure"),
    "ros4hri_id_prefix": (
        "start of every ROS4HRI face id (letters, digits, _); empty: two random letters per configure",
        {},
        "configure",
    ),
    "intervals_depth": (
        "interval events kept for late subscribers (transient-local QoS depth)",
        _irange(1, 10000),
        "configure",
    ),
    "stamp_jitter": (
        "seconds an image stamp may fall behind the newest one and only be dropped; further back is a time "
        "jump (open intervals end, tracks reset)",
        _frange(0.0, 3600.0),
        "live",
    ),
    "silence_timeout": (
        "seconds without frames after which a camera's open intervals end ('stream stopped'); 0: never",
        _frange(0.0, 3600.0),
        "live",
    ),
    "diagnostics_period": ("seconds between two /diagnostics messages", _frange(0.05, 3600.0), "live"),
    "diagnostics_rate_fall": (
        "WARN when a camera's input rate falls below this fraction of its usual rate",
        _frange(0.0, 1.0),
        "live",
    ),
    "diagnostics_max_dropped": (
        "WARN when more than this fraction of a camera's frames is dropped or lost in a period",
        _frange(0.0, 1.0),
        "live",
    ),
}
assert set(NODE_PARAMS) == {f.name for f in fields(NodeSettings)}, "NODE_PARAMS out of step with NodeSettings"


def node_defaults() -> dict[str, object]:
    return asdict(NodeSettings())


def engine_defaults() -> dict[str, object]:
    """Flat ROS parameter defaults of the engine, e.g. {"model": "recurrent", "spotter.on_threshold": 0.5}."""
    out = default_params()
    out["weights"] = out["weights"] or ""
    assert set(out) == set(ENGINE_PARAMS), "ENGINE_PARAMS out of step with EngineConfig"
    return out


def check_buildable(cfg: EngineConfig, load_weights: bool = True) -> None:
    """What EngineConfig.validate cannot see: the device exists, the weights file exists and (with
    ``load_weights``, at configure only: it takes a while) loads. Raises ValueError."""
    try:
        resolve_device(cfg.device)
    except RuntimeError as e:  # torch.device("gpu"): not a device string at all
        raise ValueError(f"device {cfg.device!r} is not a device (auto, cpu, cuda, cuda:N): {e}") from e
    if cfg.weights and not os.path.isfile(cfg.weights):  # cheap: checked on every change, loading is not
        raise ValueError(f"weights: no model file at {cfg.weights}")
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


# -- declaring them on a node ------------------------------------------------------------------
def _ros_type(default):
    """The ROS parameter type of a default value (empty lists: string arrays)."""
    from rclpy.parameter import Parameter

    if isinstance(default, list) and not default:
        return Parameter.Type.STRING_ARRAY
    return Parameter.Type.from_parameter_value(default)


def _coerced(name: str, param, want):
    """An override or a set request of another type than declared: an int for a double (YAML's `1`
    for `1.0`) becomes that double, an int array a double array; anything else is refused, naming it."""
    from rclpy.parameter import Parameter

    got = param.type_
    if got == want:
        return param
    if want == Parameter.Type.DOUBLE and got == Parameter.Type.INTEGER:
        return Parameter(name, Parameter.Type.DOUBLE, float(param.value))
    if want == Parameter.Type.DOUBLE_ARRAY and got == Parameter.Type.INTEGER_ARRAY:
        return Parameter(name, Parameter.Type.DOUBLE_ARRAY, [float(v) for v in param.value])
    if got == Parameter.Type.NOT_SET and want in (Parameter.Type.STRING_ARRAY,):  # `[]` or `~` in YAML
        return Parameter(name, want, [])
    shown = param.value if got != Parameter.Type.NOT_SET else "nothing"
    raise ValueError(f"parameter {name} must be {_TYPE_NAMES.get(want.name, want.name.lower())}, got {shown!r}")


_TYPE_NAMES = {
    "BOOL": "true or false",
    "INTEGER": "an integer",
    "DOUBLE": "a number",
    "STRING": "a string",
    "STRING_ARRAY": "a list of strings",
}


def declare_all(node) -> None:
    """Declare the engine's and the node's parameters with descriptions and ranges.

    rclpy would refuse an int for a double parameter and silently ignore overrides of names
    the node does not have; both are handled here. Raises ValueError naming the parameter."""
    from rcl_interfaces.msg import ParameterDescriptor
    from rclpy.parameter import Parameter

    overrides = node._parameter_overrides  # rclpy keeps them here; read before declaring
    ours = set(ENGINE_PARAMS) | set(NODE_PARAMS) | {"use_sim_time"}  # use_sim_time: rclpy declares it
    unknown = sorted(n for n in overrides if n not in ours and not n.startswith("qos_overrides."))
    if unknown:
        raise ValueError(f"unknown parameter(s): {', '.join(unknown)}")
    table = {name: (default, *ENGINE_PARAMS[name]) for name, default in engine_defaults().items()}
    table.update({name: (default, *NODE_PARAMS[name][:2]) for name, default in node_defaults().items()})
    for name, (default, desc, extra) in table.items():
        want = _ros_type(default)
        empty = False
        if name in overrides:
            overrides[name] = _coerced(name, overrides[name], want)
            # rclpy types an empty list as a byte array: declare those by type, left empty (value() -> [])
            empty = want == Parameter.Type.STRING_ARRAY and not overrides[name].value
            if empty:
                del overrides[name]
        descriptor = ParameterDescriptor(description=desc, **extra)
        if empty or (isinstance(default, list) and not default):
            node.declare_parameter(name, Parameter.Type.STRING_ARRAY, descriptor)
        else:
            node.declare_parameter(name, default, descriptor)


def coerce_request(node, params: list) -> list:
    """Pre-set callback: an int set for a double parameter is taken as that double (as at start-up)."""
    from rclpy.parameter import Parameter

    out = []
    for p in params:
        if node.has_parameter(p.name):
            # the declared type (a parameter declared by type alone has no value to ask); a ValueError:
            # rclpy refuses it with its own reason ("Wrong parameter type ...")
            with contextlib.suppress(ValueError):
                p = _coerced(p.name, p, Parameter.Type(node.describe_parameter(p.name).type))
        out.append(p)
    return out


def value(node, name: str):
    """A declared parameter's value; an empty string array declared without a value gives []."""
    from rclpy.exceptions import ParameterUninitializedException

    try:
        return node.get_parameter(name).value
    except ParameterUninitializedException:
        return []


def settings_values(node) -> dict:
    """The node's own parameters as they are now (unchecked)."""
    return {name: value(node, name) for name in NODE_PARAMS}


def read_settings(node) -> NodeSettings:
    """The node's own parameters, checked: ValueError names the bad one."""
    settings = NodeSettings(**settings_values(node))
    settings.image_topics = list(settings.image_topics or [])
    settings.output_namespaces = list(settings.output_namespaces or [])
    settings.validate()
    return settings


def read_engine_config(node, overrides: dict | None = None) -> EngineConfig:
    params = {name: value(node, name) for name in ENGINE_PARAMS}
    params.update(overrides or {})
    return EngineConfig.from_params(params)
