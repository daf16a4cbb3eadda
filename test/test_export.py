"""ONNX export of the shipped networks, run by ONNX Runtime on real face crops: parity with torch."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from fer_ros.engine import Engine, EngineConfig
from fer_ros.io.media import SHORT_FACE_CLIP
from fer_ros.model.backbone import load_backbone, scale
from fer_ros.model.export import STEP_INPUTS, export_backbone, export_step
from fer_ros.model.expression import DEFAULT_MODEL, load_model


@pytest.fixture(scope="module")
def real_features(clip_frames):
    """Crops, appearance and geometry the engine fed the models on 12 frames of a real clip."""
    frames, stamps = clip_frames(SHORT_FACE_CLIP)
    with Engine(EngineConfig(model="baseline"), keep_features=True) as engine:
        feats = [engine.process(f, s).features for f, s in zip(frames[:12], stamps[:12])]
    feats = [f for f in feats if len(f.crops)]
    assert len(feats) >= 10
    return (
        np.concatenate([f.crops for f in feats]),
        np.concatenate([f.appearance for f in feats]),
        np.concatenate([f.geometry for f in feats]),
    )


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_backbone_onnx_matches_torch_on_real_crops(real_features, tmp_path):
    crops = real_features[0]
    cnn = load_backbone()
    export_backbone(cnn, tmp_path / "cnn.onnx")
    assert not cnn.training  # exporting leaves the net as it was
    x = scale(torch.from_numpy(crops)).unsqueeze(1)
    with torch.inference_mode():
        ref_f, ref_l = cnn.embed(x)
    got_f, got_l = _session(tmp_path / "cnn.onnx").run(None, {"crops": x.numpy()})
    np.testing.assert_allclose(got_f, ref_f.numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(got_l, ref_l.numpy(), atol=1e-4, rtol=0)
    one_f, _ = _session(tmp_path / "cnn.onnx").run(None, {"crops": x[:1].numpy()})  # any batch size
    np.testing.assert_allclose(one_f, ref_f[:1].numpy(), atol=1e-4, rtol=0)


def test_recurrent_step_onnx_matches_torch_over_a_real_sequence(real_features, tmp_path):
    _, appearance, geometry = real_features
    model = load_model(DEFAULT_MODEL)
    export_step(model, tmp_path / "step.onnx")
    sess = _session(tmp_path / "step.onnx")
    state = [s.numpy() for s in model.init_state(1)]
    torch_state = model.init_state(1)
    with torch.inference_mode():
        for t in range(len(appearance)):
            app, geo = torch.from_numpy(appearance[t : t + 1]), torch.from_numpy(geometry[t : t + 1])
            ref, torch_state = model.step(app, geo, torch_state)
            out = sess.run(None, dict(zip(STEP_INPUTS, [app.numpy(), geo.numpy(), *state])))
            for k, name in enumerate(("logits", "intensity", "activity", "phase_logits")):
                np.testing.assert_allclose(out[k], ref[name].numpy(), atol=1e-4, rtol=0)
            state = out[4:]
            for a, b in zip(state, torch_state):
                np.testing.assert_allclose(a, b.numpy(), atol=1e-4, rtol=0)
