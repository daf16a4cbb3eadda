"""sensor_msgs Image / CompressedImage -> BGR: every encoding, row padding, byte order, bad input.

Uses the real sensor_msgs message classes when the ROS build is importable; the functions
only read message fields, so a plain namespace stands in where it is not (they stay tested
on a machine without ROS).
"""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from fer_ros.engine.images import BadFrame
from fer_ros.ros import images as ros_images
from fer_ros.ros.images import SUPPORTED, compressed_to_bgr, image_to_bgr, msg_to_bgr

try:
    from sensor_msgs.msg import CompressedImage, Image
except Exception:  # no ROS build: the same fields on a namespace

    def Image(**kw):  # noqa: N802
        base = dict(height=0, width=0, encoding="", is_bigendian=0, step=0, data=b"")
        return SimpleNamespace(**{**base, **kw})

    def CompressedImage(**kw):  # noqa: N802
        return SimpleNamespace(**{**dict(format="", data=b""), **kw})


H, W = 24, 40  # >= MIN_SIDE, and W not a multiple of 16 so padding matters


@pytest.fixture(scope="module")
def bgr():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    img[0, 0] = (255, 0, 0)  # pure blue in BGR: catches a channel swap
    return img


def make(arr: np.ndarray, encoding: str, pad: int = 0, bigendian: bool = False):
    """An Image of ``arr`` with ``pad`` bytes of garbage after each row."""
    arr = np.ascontiguousarray(arr)
    if arr.dtype.itemsize > 1:
        arr = arr.astype(arr.dtype.newbyteorder(">" if bigendian else "<"))
    rows = arr.reshape(arr.shape[0], -1).view(np.uint8)
    if pad:
        rows = np.hstack([rows, np.full((rows.shape[0], pad), 0xAB, np.uint8)])
    return Image(
        height=arr.shape[0],
        width=arr.shape[1],
        encoding=encoding,
        is_bigendian=int(bigendian),
        step=rows.shape[1],
        data=rows.tobytes(),
    )


def grey_bgr(grey8):
    return np.repeat(grey8[:, :, None], 3, axis=2)


CASES = {
    "bgr8": lambda b: (b, b),
    "8UC3": lambda b: (b, b),
    "rgb8": lambda b: (b[:, :, ::-1], b),
    "bgra8": lambda b: (np.dstack([b, np.full(b.shape[:2], 7, np.uint8)]), b),
    "8UC4": lambda b: (np.dstack([b, np.full(b.shape[:2], 7, np.uint8)]), b),
    "rgba8": lambda b: (np.dstack([b[:, :, ::-1], np.full(b.shape[:2], 7, np.uint8)]), b),
    "mono8": lambda b: (b[:, :, 1], grey_bgr(b[:, :, 1])),
    "8UC1": lambda b: (b[:, :, 1], grey_bgr(b[:, :, 1])),
    "mono16": lambda b: (b[:, :, 2].astype(np.uint16) * 257, grey_bgr(b[:, :, 2])),
    "16UC1": lambda b: (b[:, :, 2].astype(np.uint16) * 256 + 3, grey_bgr(b[:, :, 2])),
}


def test_every_supported_encoding_has_a_case():
    assert set(CASES) == set(SUPPORTED)


@pytest.mark.parametrize("encoding", sorted(CASES))
@pytest.mark.parametrize("pad", [0, 5], ids=["packed", "padded-rows"])
def test_encodings_decode_to_bgr(bgr, encoding, pad):
    data, want = CASES[encoding](bgr)
    out = image_to_bgr(make(data, encoding, pad=pad))
    assert out.dtype == np.uint8 and out.shape == (H, W, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("encoding", ["mono16", "16UC1"])
def test_sixteen_bit_big_endian(bgr, encoding):
    data, want = bgr[:, :, 0].astype(np.uint16) * 256 + 3, grey_bgr(bgr[:, :, 0])  # high and low bytes differ
    big, little = make(data, encoding, bigendian=True), make(data, encoding, bigendian=False)
    assert bytes(big.data) != bytes(little.data)
    np.testing.assert_array_equal(image_to_bgr(big), want)
    np.testing.assert_array_equal(image_to_bgr(little), want)


@pytest.mark.parametrize("encoding", ["yuv422", "32FC1", "bayer_rggb8", "BGR8", ""])
def test_unknown_encoding_is_refused_naming_it(bgr, encoding):
    msg = make(bgr, "bgr8")
    msg.encoding = encoding
    with pytest.raises(BadFrame, match=f"unsupported image encoding '{encoding}'"):
        image_to_bgr(msg)


def test_inconsistent_sizes_are_refused(bgr):
    short = make(bgr, "bgr8")
    short.data = bytes(short.data)[:-1]
    with pytest.raises(BadFrame, match=r"data has \d+ bytes, expected step x height"):
        image_to_bgr(short)
    narrow = make(bgr, "bgr8")
    narrow.step = W * 3 - 1
    with pytest.raises(BadFrame, match="step .* smaller than width"):
        image_to_bgr(narrow)
    wide = make(bgr, "bgr8")
    wide.width = W + 1
    with pytest.raises(BadFrame, match="step .* smaller than width"):
        image_to_bgr(wide)


def test_empty_and_tiny_images_are_refused():
    with pytest.raises(BadFrame, match="empty image"):
        image_to_bgr(Image(height=0, width=0, encoding="bgr8", step=0, data=b""))
    with pytest.raises(BadFrame, match="too small"):
        image_to_bgr(make(np.zeros((4, 4, 3), np.uint8), "bgr8"))


def test_compressed_jpeg_and_png(bgr):
    ok, png = cv2.imencode(".png", bgr)
    assert ok
    np.testing.assert_array_equal(compressed_to_bgr(CompressedImage(format="png", data=png.tobytes())), bgr)
    smooth = cv2.GaussianBlur(np.kron(bgr, np.ones((4, 4, 1), np.uint8)), (9, 9), 0)
    ok, jpg = cv2.imencode(".jpg", smooth, [cv2.IMWRITE_JPEG_QUALITY, 95])
    out = msg_to_bgr(CompressedImage(format="bgr8; jpeg compressed bgr8", data=jpg.tobytes()))
    assert out.shape == smooth.shape and np.abs(out.astype(int) - smooth).mean() < 10  # lossy


def test_corrupt_and_empty_compressed_are_refused():
    with pytest.raises(BadFrame, match="could not decode the compressed image .*'jpeg', 64 bytes"):
        compressed_to_bgr(CompressedImage(format="jpeg", data=bytes(range(64))))
    with pytest.raises(BadFrame, match="empty compressed image"):
        compressed_to_bgr(CompressedImage(format="jpeg", data=b""))
    with pytest.raises(BadFrame, match="compressed depth"):
        compressed_to_bgr(CompressedImage(format="16UC1; compressedDepth png", data=b"\x89PNG"))


def test_cv_bridge_path_gives_the_numpy_result(bgr):
    if ros_images._cv_bridge() is None:
        pytest.skip("cv_bridge not importable here (not on PyPI); the numpy path is the one in use")
    for encoding, case in CASES.items():
        data, want = case(bgr)
        np.testing.assert_array_equal(image_to_bgr(make(data, encoding, pad=3)), want)
