"""sensor_msgs Image / CompressedImage -> the engine's BGR uint8 array.

Pure functions on message objects (anything with the message's fields: a real
``sensor_msgs.msg.Image``, or a rosbags-deserialised one), so they are tested without a
running node and the bag runner can use them too.

- Raw ``Image``: bgr8, rgb8, mono8, bgra8, rgba8, mono16, and the OpenCV-style aliases
  8UC1, 8UC3 (taken as BGR), 8UC4 (taken as BGRA), 16UC1. ``step`` (row padding) and
  ``is_bigendian`` (16-bit data) are honoured. cv_bridge is used when it is importable
  (it is not on PyPI: a ROS install has it); numpy otherwise, with identical results.
- ``CompressedImage``: whatever OpenCV decodes (jpeg, png, ...) via ``cv2.imdecode``;
  compressedDepth is refused.

Anything else raises ``BadFrame`` naming the problem (the encoding, the sizes that do not
add up, the bytes that do not decode); the node logs it and keeps running.
"""

from __future__ import annotations

import cv2
import numpy as np

from fer_ros.engine.images import MAX_PIXELS, BadFrame, as_bgr

# encoding -> (bytes per channel, channels, cv2 conversion to BGR or None)
ENCODINGS: dict[str, tuple[int, int, int | None]] = {
    "bgr8": (1, 3, None),
    "rgb8": (1, 3, cv2.COLOR_RGB2BGR),
    "bgra8": (1, 4, cv2.COLOR_BGRA2BGR),
    "rgba8": (1, 4, cv2.COLOR_RGBA2BGR),
    "mono8": (1, 1, cv2.COLOR_GRAY2BGR),
    "mono16": (2, 1, cv2.COLOR_GRAY2BGR),
    "8UC1": (1, 1, cv2.COLOR_GRAY2BGR),
    "8UC3": (1, 3, None),
    "8UC4": (1, 4, cv2.COLOR_BGRA2BGR),
    "16UC1": (2, 1, cv2.COLOR_GRAY2BGR),
}
IMAGE = "sensor_msgs/msg/Image"  # the message types this module decodes, as bags name them
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)
SUPPORTED = tuple(ENCODINGS)

_bridge = None  # False once cv_bridge is known to be missing


def _cv_bridge():
    """A CvBridge when the ROS cv_bridge package is importable, else None (checked once)."""
    global _bridge
    if _bridge is None:
        try:
            from cv_bridge import (
                CvBridge,  # a ROS install's; the PyPI "cv-bridge" is an old ROS 1 copy
            )

            _bridge = CvBridge()
        except Exception:  # ImportError, or a cv_bridge broken against this numpy/OpenCV
            _bridge = False
    return _bridge or None


def _check_layout(msg) -> tuple[int, int, int, int, int]:
    """(height, width, step, bytes per channel, channels) after checking they fit the data."""
    encoding = msg.encoding
    if encoding not in ENCODINGS:
        raise BadFrame(f"unsupported image encoding {encoding!r}; supported: {', '.join(SUPPORTED)}")
    depth, channels, _ = ENCODINGS[encoding]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if h <= 0 or w <= 0:
        raise BadFrame(f"empty image ({w}x{h}, encoding {encoding!r})")
    if h * w > MAX_PIXELS:
        raise BadFrame(f"image too large ({w}x{h}); at most {MAX_PIXELS} pixels")
    row = w * channels * depth
    if step < row:
        raise BadFrame(
            f"step {step} is smaller than width x channels x bytes = {w}x{channels}x{depth} = {row} ({encoding!r})"
        )
    size = len(msg.data)
    if size != step * h:
        raise BadFrame(f"data has {size} bytes, expected step x height = {step}x{h} = {step * h} ({encoding!r})")
    return h, w, step, depth, channels


def image_to_bgr(msg) -> np.ndarray:
    """A sensor_msgs/Image -> contiguous BGR uint8 (H, W, 3). Raises BadFrame."""
    h, w, step, depth, channels = _check_layout(msg)
    bridge = _cv_bridge()
    if bridge is not None:
        try:
            return as_bgr(_to_uint8(bridge.imgmsg_to_cv2(msg, desired_encoding="passthrough"), msg))
        except BadFrame:
            raise
        except Exception as e:  # CvBridgeError and friends
            raise BadFrame(f"cv_bridge could not convert the {msg.encoding!r} image: {e}") from e
    raw = np.frombuffer(msg.data, np.uint8).reshape(h, step)[:, : w * channels * depth]
    if depth == 2:
        dtype = np.dtype(">u2" if msg.is_bigendian else "<u2")
        raw = np.ascontiguousarray(raw).view(dtype)
    img = raw.reshape(h, w, channels) if channels > 1 else raw.reshape(h, w)
    return as_bgr(_to_uint8(img, msg))


def _to_uint8(img: np.ndarray, msg) -> np.ndarray:
    """Channel order and depth of ``msg.encoding`` -> BGR uint8."""
    _, channels, code = ENCODINGS[msg.encoding]
    if img.dtype != np.uint8:
        img = (img.astype(np.uint16, copy=False) >> 8).astype(np.uint8)  # 16-bit: keep the high byte
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if code is not None:
        img = cv2.cvtColor(np.ascontiguousarray(img), code)
    return img


def compressed_to_bgr(msg) -> np.ndarray:
    """A sensor_msgs/CompressedImage (jpeg, png, ...) -> contiguous BGR uint8. Raises BadFrame."""
    fmt = str(getattr(msg, "format", "") or "")
    if "compresseddepth" in fmt.lower():
        raise BadFrame(f"compressed depth images are not supported (format {fmt!r})")
    data = np.frombuffer(msg.data, np.uint8)
    if data.size == 0:
        raise BadFrame(f"empty compressed image (format {fmt!r}, 0 bytes)")
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        raise BadFrame(
            f"could not decode the compressed image (format {fmt!r}, {data.size} bytes): corrupt or not an image"
        )
    return as_bgr(img)


def msg_to_bgr(msg) -> np.ndarray:
    """Either message type: CompressedImage when it has a ``format`` field, else Image."""
    return compressed_to_bgr(msg) if hasattr(msg, "format") else image_to_bgr(msg)
