"""fer_msgs for rosbags: the message definitions, a typestore with them, building messages from
the field dicts of ros.messages, decoding input images, the output topics and their QoS."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np

from .images import COMPRESSED_IMAGE
from .messages import EXPRESSIONS_TOPIC, INTERVALS_TOPIC, PACKAGE

DEFAULT_NAMESPACE = "/fer_node"
_NAME_TOKEN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# -- fer_msgs definitions ----------------------------------------------------------------
def msg_dir_candidates() -> list[Path]:
    """Where the fer_msgs .msg files are looked for, in order."""
    dirs = []
    if os.environ.get("FER_MSGS_DIR"):
        dirs.append(Path(os.environ["FER_MSGS_DIR"]))
    dirs.append(Path(__file__).resolve().parents[2] / PACKAGE / "msg")  # source checkout / editable install
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p] + [sys.prefix]
    dirs += [Path(p) / "share" / PACKAGE / "msg" for p in prefixes]  # colcon install / ament share
    return dirs


def msg_dir() -> Path:
    """The folder holding FaceExpression.msg, FrameExpressions.msg and ExpressionInterval.msg."""
    names = ("FaceExpression.msg", "FrameExpressions.msg", "ExpressionInterval.msg")
    candidates = msg_dir_candidates()
    for d in candidates:
        if all((d / n).is_file() for n in names):
            return d
    raise FileNotFoundError(
        "fer_msgs message definitions ("
        + ", ".join(names)
        + ") not found; looked in: "
        + ", ".join(str(d) for d in candidates)
        + ". Run from the fer_ros source tree, source the colcon install that built fer_msgs, "
        "or set FER_MSGS_DIR to the fer_msgs/msg folder."
    )


def fer_types() -> dict:
    """rosbags type definitions of every fer_msgs message, from the .msg text."""
    from rosbags.typesys import get_types_from_msg

    types = {}
    for path in sorted(msg_dir().glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"{PACKAGE}/msg/{path.stem}"))
    return types


def output_typestore():
    """ROS 2 (Jazzy; std_msgs/builtin_interfaces as in Humble) types plus fer_msgs."""
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_JAZZY)
    store.register(fer_types())
    return store


# -- building rosbags messages from field dicts --------------------------------------------
_DTYPES = {
    "bool": np.bool_,
    "byte": np.uint8,
    "char": np.uint8,
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "uint16": np.uint16,
    "int32": np.int32,
    "uint32": np.uint32,
    "int64": np.int64,
    "uint64": np.uint64,
    "float32": np.float32,
    "float64": np.float64,
}


def _value(store, node: tuple, value):
    kind, spec = node
    kind = int(kind)  # rosbags Nodetype: BASE 1, NAME 2, ARRAY 3, SEQUENCE 4
    if kind == 1:  # base type
        return value
    if kind == 2:  # nested message
        return build_message(store, spec, value)
    (sub_kind, sub_spec), _ = spec  # array / sequence
    if int(sub_kind) == 1 and sub_spec[0] != "string":
        return np.asarray(value, dtype=_DTYPES[sub_spec[0]])
    return [_value(store, (sub_kind, sub_spec), v) for v in value]


def build_message(store, msgtype: str, values: dict):
    """A rosbags message object of ``msgtype`` from a nested dict of field values (see fer_ros.ros.messages)."""
    _, fielddefs = store.fielddefs[msgtype]
    names = [name for name, _ in fielddefs]
    if set(values) != set(names):
        raise ValueError(f"{msgtype}: fields {sorted(values)} do not match the definition {names}")
    return store.types[msgtype](**{name: _value(store, node, values[name]) for name, node in fielddefs})


# -- decoding input images ------------------------------------------------------------------
def decode_image(msg, msgtype: str) -> np.ndarray:
    """rosbags Image / CompressedImage -> BGR uint8; BadFrame when it cannot be decoded.

    The node's decoder (fer_ros.ros.images) works on message fields, so it serves the
    rosbags dataclasses as well: one decoder for both paths.
    """
    from .images import compressed_to_bgr, image_to_bgr

    return compressed_to_bgr(msg) if msgtype == COMPRESSED_IMAGE else image_to_bgr(msg)


def resolve_namespace(ns: str) -> str:
    """'/fer_node' -> '/fer_node'; 'robot/fer' -> '/robot/fer'; '/' -> ''. Invalid names are refused."""
    parts = [p for p in ns.strip().split("/") if p]
    bad = [p for p in parts if not _NAME_TOKEN.match(p)]
    if bad or "//" in ns.strip().strip("/"):
        raise ValueError(
            f"--namespace {ns!r} is not a valid ROS name (tokens of letters, digits and _, not starting with a digit)"
        )
    return "".join("/" + p for p in parts)


def output_topics(namespace: str = DEFAULT_NAMESPACE) -> tuple[str, str]:
    ns = resolve_namespace(namespace)
    return f"{ns}/{EXPRESSIONS_TOPIC}", f"{ns}/{INTERVALS_TOPIC}"


def output_qos(depth: int = 10, transient_local: bool = False):
    """What the node offers on an output: reliable, keep last ``depth``; the interval topics are
    transient local (outputs.py), the per-frame ones volatile."""
    from rosbags.interfaces import (
        Qos,
        QosDurability,
        QosHistory,
        QosLiveliness,
        QosReliability,
        QosTime,
    )

    zero = QosTime(0, 0)
    return [
        Qos(
            QosHistory.KEEP_LAST,
            depth,
            QosReliability.RELIABLE,
            QosDurability.TRANSIENT_LOCAL if transient_local else QosDurability.VOLATILE,
            zero,
            zero,
            QosLiveliness.AUTOMATIC,
            zero,
            False,
        )
    ]
