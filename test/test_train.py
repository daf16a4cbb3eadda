"""Trainer and dataset builder: a tiny run lowers the loss and writes a loadable checkpoint;
the builder runs generated frames through the real streaming path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from fer_ros import dataset as ds
from fer_ros import train as tr
from fer_ros.classes import NUM_CLASSES
from fer_ros.geometry import GEOMETRY_DIM
from fer_ros.media import media_dir
from fer_ros.model import load_model


def _fake_split(path, n, seed, person):
    """A split file in the dataset format whose features carry the labels (learnable)."""
    rng = np.random.default_rng(seed)
    results = []
    for i in range(n):
        T = int(rng.integers(30, 50))
        cls = 1 + i % (NUM_CLASSES - 1)  # every expression class in every split
        on, off = 8, T - 8
        inten = np.zeros(T, np.float32)
        inten[on:off + 1] = np.sin(np.linspace(0.1, np.pi - 0.1, off - on + 1))
        label = np.where(inten > 0, cls, 0)
        phase = np.where(inten > 0, 1, 0)  # onset ... apex ... offset
        phase[inten > 0.9] = 2
        phase[(np.arange(T) > (on + off) // 2) & (inten > 0) & (inten <= 0.9)] = 3
        app = rng.normal(0, 0.1, (T, 135)).astype(np.float32)  # uninformative; geometry carries the class
        geo = rng.normal(0, 0.1, (T, GEOMETRY_DIM)).astype(np.float32)
        geo[:, cls] += 3 * inten
        det = np.ones(T, bool)
        det[0] = False  # one undetected frame: masked
        app[0] = geo[0] = 0
        results.append(dict(appearance=app, geometry=geo, detected=det, label=label.astype(np.int64),
                            intensity=inten, phase=phase.astype(np.int64),
                            intervals=[[on, on + 5, on + 6, off, cls, 1.0, 0.0]], rest_label=0,
                            identity=person, person=person, t_synth=0.0, t_features=0.0))
    ds._save(path, results, {"persons": [person], "frames": sum(len(r["label"]) for r in results),
                             "detected_frames": 0, "wall_s": 0.0})


@pytest.fixture
def tiny_config(tmp_path):
    data_dir = tmp_path / "data"
    _fake_split(data_dir / "tiny_train.npz", 6, 0, "a")
    _fake_split(data_dir / "tiny_heldout.npz", 6, 1, "b")
    cfg = {
        "data": {"dir": str(data_dir), "name": "tiny", "build_if_missing": False},
        "model": {"hidden": 24, "stream_dim": 16},
        "train": {"epochs": 2, "batch_size": 1, "lr": 0.02, "p_crop": 0.5, "p_resample": 0.5,
                  "crop_min": 12, "device": "cpu"},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_tiny_training_lowers_loss_and_writes_loadable_checkpoint(tiny_config, tmp_path):
    out = tmp_path / "out"
    path = tr.train(tiny_config, out)
    assert path == out / tr.CHECKPOINT and path.is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    first = metrics["initial_val"]["loss"]
    last = metrics["history"][-1]["val"]["loss"]
    assert last < first, (first, last)
    assert len(metrics["history"]) == 2
    model = load_model(path)
    assert model.cfg.residual_cnn_logits and model.cfg.geometry_dim == GEOMETRY_DIM
    assert model.metadata["heldout_persons"] == ["b"] and "val" in model.metadata
    # streaming use: one step on one face
    out1, _ = model.step(torch.zeros(1, 135), torch.zeros(1, GEOMETRY_DIM))
    assert out1["logits"].shape == (1, NUM_CLASSES)


def test_same_person_in_both_splits_is_refused(tmp_path):
    data_dir = tmp_path / "data"
    _fake_split(data_dir / "tiny_train.npz", 2, 0, "a")
    _fake_split(data_dir / "tiny_heldout.npz", 2, 1, "a")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"data": {"dir": str(data_dir), "name": "tiny", "build_if_missing": False},
                                    "train": {"epochs": 1}}))
    with pytest.raises(RuntimeError, match="share people"):
        tr.train(path, tmp_path / "out")


def test_unknown_config_key_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train: {epochz: 3}\n")
    with pytest.raises(ValueError, match="train.epochz"):
        tr.load_config(path)


def test_default_config_loads():
    cfg = tr.load_config(Path(__file__).resolve().parents[1] / "config" / "train_default.yaml")
    assert cfg["model"]["residual_cnn_logits"] is True
    assert set(cfg["train"]["loss_weights"]) == {"dense_ce", "intensity", "activity", "phase"}


def test_partial_accuracy_uses_onset_plus_fraction():
    seq = ds.SequenceData(np.zeros((20, 135)), np.zeros((20, GEOMETRY_DIM)), np.zeros(20, int),
                          np.zeros(20, np.float32), np.zeros(20, int), np.ones(20, bool), 0,
                          np.array([[4, 8, 9, 12, 3, 1.0, 0.0]]), "x", "x")
    pred = np.zeros(20, int)
    pred[6] = 3   # onset + 0.25 * 8
    pred[12] = 3  # offset
    f = tr.recognition_figures([seq], [pred])
    assert f["acc@25"] == 1.0 and f["acc@50"] == 0.0 and f["acc@100"] == 1.0


@pytest.mark.skipif(not (media_dir() / "single_face.mp4").exists(), reason="sample media missing")
def test_dataset_build_runs_the_streaming_path(tmp_path):
    cfg = ds.DatasetConfig(out_dir=str(tmp_path), name="t", train_sequences=2, heldout_sequences=1,
                           workers=1, synth={"min_len": 16, "max_len": 16})
    paths = ds.build(cfg)
    seqs, info = ds.load(paths["train"])
    assert len(seqs) == 2 and all(len(s) == 16 for s in seqs)
    s = seqs[0]
    assert s.appearance.shape == (16, 135) and s.geometry.shape == (16, GEOMETRY_DIM)
    assert s.detected.mean() > 0.8  # the animated face is found on (almost) every frame
    assert np.all(s.appearance[~s.detected] == 0)
    assert not set(info["persons"]) & set(ds.load(paths["heldout"])[1]["persons"])
    # resized rebuild reuses the finished shards
    cfg2 = ds.DatasetConfig(out_dir=str(tmp_path), name="t", train_sequences=1, heldout_sequences=1,
                            workers=1, synth={"min_len": 16, "max_len": 16})
    again, _ = ds.load(ds.build(cfg2, splits=("train",))["train"])
    assert np.array_equal(again[0].appearance, s.appearance)


# ----------------------------------------------------------------------------- residual head

def test_residual_head_starts_as_the_framewise_cnn():
    from fer_ros.model import ExpressionModel, ModelConfig

    model = ExpressionModel(ModelConfig(geometry_dim=GEOMETRY_DIM, residual_cnn_logits=True)).eval()
    app = torch.randn(3, 135)
    out, _ = model.step(app, torch.randn(3, GEOMETRY_DIM))
    assert torch.allclose(out["logits"], app[:, -NUM_CLASSES:], atol=1e-6)
    seq = model(torch.randn(2, 5, 135), torch.randn(2, 5, GEOMETRY_DIM))
    assert seq["logits"].shape == (2, 5, NUM_CLASSES)


def test_configs_saved_without_the_flag_load_without_the_residual():
    from fer_ros.model import ModelConfig

    assert ModelConfig.from_dict({"geometry_dim": 8}).residual_cnn_logits is False


def test_soft_rest_targets_follow_the_cnn_on_still_frames():
    T = 6
    app = np.zeros((T, 135), np.float32)
    app[:, -NUM_CLASSES + 4] = 5.0  # the CNN says happy on every frame
    inten = np.array([0, 0, 0.5, 1.0, 0.5, 0], np.float32)
    seq = ds.SequenceData(app, np.zeros((T, GEOMETRY_DIM)), np.where(inten > 0, 6, 0), inten,
                          np.zeros(T, int), np.ones(T, bool), 4, np.zeros((0, 7)), "x", "x")
    rest = tr.rest_distribution(seq)
    assert rest.shape == (T, NUM_CLASSES) and np.allclose(rest.sum(1), 1)
    assert (rest.argmax(1) == 4).all()


# ----------------------------------------------------------------------------- resume, DDP

def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tiny_config, tmp_path, monkeypatch):
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["train"].update(epochs=3, progress=False)
    tiny_config.write_text(yaml.safe_dump(cfg))
    straight = tmp_path / "straight"
    tr.train(tiny_config, straight)

    class Interrupted(Exception):
        pass

    evaluate, calls = tr.evaluate, []

    def dies_in_epoch_3(*args, **kwargs):  # calls: before training, epochs 1, 2, 3
        calls.append(1)
        if len(calls) == 4:
            raise Interrupted
        return evaluate(*args, **kwargs)

    resumed = tmp_path / "resumed"
    monkeypatch.setattr(tr, "evaluate", dies_in_epoch_3)
    with pytest.raises(Interrupted):
        tr.train(tiny_config, resumed)
    assert load_model(resumed / tr.LAST).metadata["epoch"] == 2
    monkeypatch.setattr(tr, "evaluate", evaluate)
    tr.train(tiny_config, resumed, resume=True)

    for name in (tr.LAST, tr.CHECKPOINT):
        a, b = _weights(straight / name), _weights(resumed / name)
        assert a.keys() == b.keys()
        for k in a:
            assert torch.allclose(a[k], b[k], atol=1e-6, rtol=0), (name, k)
    m1, m2 = (json.loads((d / "metrics.json").read_text()) for d in (straight, resumed))
    assert [r["train_loss"] for r in m1["history"]] == pytest.approx([r["train_loss"] for r in m2["history"]])
    assert len(m2["history"]) == 3 and load_model(resumed / tr.LAST).metadata["epoch"] == 3


def test_resume_refuses_another_config(tiny_config, tmp_path):
    tr.train(tiny_config, tmp_path / "out", progress=False)
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["train"]["lr"] = 0.01
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ValueError, match="another config"):
        tr.train(other, tmp_path / "out", resume=True)


def test_torchrun_two_cpu_processes_write_a_loadable_checkpoint(tiny_config, tmp_path):
    pytest.importorskip("torch.distributed.run", reason="torchrun (torch.distributed.run) not importable")
    import subprocess
    import sys

    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with the gloo backend is not available")
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["train"].update(threads=1, progress=False)
    tiny_config.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "ddp"
    env = dict(__import__("os").environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "fer_ros.train", str(tiny_config), "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=120, env=env,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    model = load_model(out / tr.CHECKPOINT)
    assert model.metadata["epoch"] in (1, 2)
    assert load_model(out / tr.LAST).metadata["epoch"] == 2
    assert len(json.loads((out / "metrics.json").read_text())["history"]) == 2
