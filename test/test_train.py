"""Recurrent trainer and dataset builder: a tiny run on generated-format data and real stills lowers
the loss and writes a loadable model; resume is exact; the builder runs the streaming path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from dataset_fixtures import build_fer2013

from fer_ros.engine.geometry import GEOMETRY_DIM
from fer_ros.io.media import media_dir
from fer_ros.learn import batches, validation
from fer_ros.learn import sequences as ds
from fer_ros.learn import train as tr
from fer_ros.learn.losses import total_loss
from fer_ros.model.backbone import BackboneConfig, create_backbone, save_backbone
from fer_ros.model.classes import NUM_CLASSES
from fer_ros.model.expression import ExpressionModel, ModelConfig, load_model

ROOT = Path(__file__).resolve().parents[1]
TINY_CNN = BackboneConfig(widths=(4, 8), hidden=16, input_size=16)
SPEC = {"size": 16, "equalize": True}


def _fake_split(path, n, seed, person, lengths=(30, 50)):
    """A split file in the dataset format whose geometry carries the labels (learnable): the
    class's offset-from-neutral feature rises with the intensity; crops are noise."""
    rng = np.random.default_rng(seed)
    results = []
    for i in range(n):
        T = int(rng.integers(*lengths))
        cls = 1 + i % (NUM_CLASSES - 1)  # every expression class in every split
        on, off = 8, T - 8
        inten = np.zeros(T, np.float32)
        inten[on : off + 1] = np.sin(np.linspace(0.1, np.pi - 0.1, off - on + 1))
        label = np.where(inten > 0, cls, 0)
        phase = np.where(inten > 0, 1, 0)  # onset ... apex ... offset
        phase[inten > 0.9] = 2
        phase[(np.arange(T) > (on + off) // 2) & (inten > 0) & (inten <= 0.9)] = 3
        geo = rng.normal(0, 0.1, (T, GEOMETRY_DIM)).astype(np.float32)
        geo[:, GEOMETRY_DIM // 2 + cls] += 3 * inten
        det = np.ones(T, bool)
        det[0] = False  # one undetected frame: masked
        geo[0] = 0
        crops = rng.integers(0, 256, (T, SPEC["size"], SPEC["size"])).astype(np.uint8)
        crops[0] = 0
        results.append(
            dict(
                crops=crops,
                geometry=geo,
                detected=det,
                label=label.astype(np.int64),
                intensity=inten,
                phase=phase.astype(np.int64),
                intervals=[[on, on + 5, on + 6, off, cls, 1.0, 0.0]],
                rest_label=0,
                identity=person,
                person=person,
                t_synth=0.0,
                t_features=0.0,
            )
        )
    ds._save(
        path,
        results,
        {
            "persons": [person],
            "frames": sum(len(r["label"]) for r in results),
            "detected_frames": 0,
            "wall_s": 0.0,
            "crop_spec": SPEC,
        },
    )


@pytest.fixture
def tiny_config(tmp_path):
    data_dir = tmp_path / "data"
    _fake_split(data_dir / "tiny_train.npz", 6, 0, "a")
    _fake_split(data_dir / "tiny_val.npz", 6, 1, "b")
    torch.manual_seed(0)
    backbone = tmp_path / "tiny_cnn.safetensors"
    save_backbone(create_backbone(TINY_CNN).eval(), backbone)
    cfg = {
        "task": "recurrent",
        "data": {
            "dir": str(data_dir),
            "name": "tiny",
            "build_if_missing": False,
            "stills_cache": str(tmp_path / "stills"),
        },
        "model": {"backbone": str(backbone), "hidden": 24, "stream_dim": 16},
        "train": {
            "epochs": 2,
            "batch_size": 2,
            "lr": 0.02,
            "p_crop": 0.5,
            "p_resample": 0.5,
            "crop_min": 12,
            "device": "cpu",
            "stills_per_epoch": 6,
            "progress": False,
        },
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def fer2013_csv(tmp_path_factory):
    return build_fer2013(tmp_path_factory.mktemp("fer2013"), "csv", per_class=1)["path"]


def test_tiny_training_learns_and_writes_loadable_checkpoint(tiny_config, tmp_path, fer2013_csv):
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["train"].update(epochs=5, jitter_per_epoch=2)
    cfg["data"]["jitter"] = {"train": 3, "val": 2, "frames": 4, "seed": 0}
    tiny_config.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    path = tr.train(tiny_config, out, data_path=str(fer2013_csv))
    assert path == out / tr.CHECKPOINT and path.is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    first, last = metrics["initial_val"], metrics["history"][-1]["val"]
    assert last["frame_acc"] > first["frame_acc"], (first["frame_acc"], last["frame_acc"])
    assert len(metrics["history"]) == 5 and "stills_acc" in last and "baseline_stills_acc" in last
    assert 0 <= last["jitter_acc"] <= 1 and 0 <= last["jitter_flips"] <= 1 and "baseline_jitter_flips" in last
    assert (out / "epochs.csv").read_text().count("\n") == 6
    model = load_model(path)
    assert model.cfg.geometry_dim == GEOMETRY_DIM and model.cfg.backbone == TINY_CNN.to_dict()
    assert model.metadata["train_stills"] == 7 and "val" in model.metadata
    # streaming use: one step on one face
    out1, _ = model.step(torch.zeros(1, model.cfg.appearance_in), torch.zeros(1, GEOMETRY_DIM))
    assert out1["logits"].shape == (1, NUM_CLASSES)


def test_same_person_in_train_and_validation_is_refused(tiny_config, tmp_path):
    data_dir = Path(yaml.safe_load(tiny_config.read_text())["data"]["dir"])
    _fake_split(data_dir / "tiny_val.npz", 2, 1, "a")
    with pytest.raises(RuntimeError, match="share people"):
        tr.train(tiny_config, tmp_path / "out")


def test_datasets_of_another_crop_size_are_refused(tiny_config, tmp_path):
    cfg = yaml.safe_load(tiny_config.read_text())
    other = tmp_path / "cnn24.safetensors"
    save_backbone(create_backbone(TINY_CNN, input_size=24), other)
    cfg["model"]["backbone"] = str(other)
    tiny_config.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ValueError, match="rebuild"):
        tr.train(tiny_config, tmp_path / "out")


def test_unknown_config_key_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train: {epochz: 3}\n")
    with pytest.raises(ValueError, match="train.epochz"):
        tr.load_config(path)


def test_shipped_config_loads():
    cfg = tr.load_config(ROOT / "config" / "train_default.yaml")
    assert set(cfg["train"]["loss_weights"]) == {"dense_ce", "intensity", "activity", "phase"}
    assert cfg["model"]["head_logit_bound"] > 0


# ----------------------------------------------------------------------------- targets and figures


def _seq(T, app=None, inten=None, kind="generated"):
    inten = np.zeros(T, np.float32) if inten is None else inten
    app = np.zeros((T, 16 + NUM_CLASSES), np.float32) if app is None else app
    return ds.SequenceData(
        np.zeros((T, 16, 16), np.uint8),
        np.zeros((T, GEOMETRY_DIM), np.float32),
        np.where(inten > 0, 6, 0),
        inten,
        np.zeros(T, int),
        np.ones(T, bool),
        4,
        np.zeros((0, 7)),
        "x",
        "x",
        kind=kind,
        appearance=app,
    )


def test_partial_accuracy_uses_onset_plus_fraction():
    seq = _seq(20)
    seq.intervals = np.array([[4, 8, 9, 12, 3, 1.0, 0.0]])
    pred = np.zeros(20, int)
    pred[6] = 3  # onset + 0.25 * 8
    pred[12] = 3  # offset
    f = validation.recognition_figures([seq], [pred], [np.eye(NUM_CLASSES)[pred]])
    assert f["acc@25"] == 1.0 and f["acc@50"] == 0.0 and f["acc@100"] == 1.0


def test_soft_rest_targets_follow_the_cnn_on_still_frames():
    T = 6
    app = np.zeros((T, 16 + NUM_CLASSES), np.float32)
    app[:, -NUM_CLASSES + 4] = 5.0  # the CNN says happy on every frame
    rest = batches.rest_distribution(_seq(T, app, np.array([0, 0, 0.5, 1.0, 0.5, 0], np.float32)))
    assert rest.shape == (T, NUM_CLASSES) and np.allclose(rest.sum(1), 1)
    assert (rest.argmax(1) == 4).all()


def test_stills_score_the_class_term_only():
    """A batch of stills: intensity, activity and phase are unknown there, so they add nothing."""
    still = batches.still_sequences(
        np.zeros((1, 16, 16), np.uint8), np.zeros((1, GEOMETRY_DIM), np.float32), np.array([3]), ["s"]
    )[0]
    still.appearance = np.zeros((1, 16 + NUM_CLASSES), np.float32)
    item = batches.training_item(still, np.random.default_rng(0), {"still_len_max": 4})
    assert 1 <= len(item[1]) <= 4 and not item[1].any()  # the one frame, repeated
    _, _, _, tg = batches.collate([item], "cpu")
    assert not tg["dyn"].any() and (tg["label"] == 3).all()
    n, t = tg["mask"].shape
    out = {
        "logits": torch.zeros(n, t, NUM_CLASSES),
        "intensity": torch.rand(n, t),
        "activity_logits": torch.randn(n, t),
        "phase_logits": torch.randn(n, t, 4),
    }
    _, terms = total_loss(out, tg)
    assert terms["dense_ce"] > 0 and terms["intensity"] == terms["activity"] == terms["phase"] == 0


def test_residual_head_starts_as_the_framewise_cnn():
    model = ExpressionModel(ModelConfig(geometry_dim=GEOMETRY_DIM, backbone=TINY_CNN.to_dict())).eval()
    app = torch.randn(3, model.cfg.appearance_in)
    out, _ = model.step(app, torch.randn(3, GEOMETRY_DIM))
    assert torch.allclose(out["logits"], app[:, -NUM_CLASSES:], atol=1e-6)


# ----------------------------------------------------------------------------- dataset builder


@pytest.mark.skipif(not (media_dir() / "multi_face.jpg").exists(), reason="sample media missing")
def test_dataset_build_runs_the_streaming_path(tmp_path):
    """The test split (sample media people) through the real engine: crops of the shipped backbone's
    size, the animated face found on almost every frame, resumable from its shards."""
    cfg = ds.DatasetConfig(
        out_dir=str(tmp_path),
        name="t",
        sequences={"test": 2},
        workers=1,
        mirror=False,
        synth={"min_len": 16, "max_len": 16},
    )
    paths = ds.build(cfg, splits=("test",))
    seqs, info = ds.load(paths["test"])
    assert len(seqs) == 2 and all(len(s) == 16 for s in seqs)
    spec = ds.crop_spec()
    s = seqs[0]
    assert info["crop_spec"] == spec and s.crops.shape == (16, spec["size"], spec["size"])
    assert s.geometry.shape == (16, GEOMETRY_DIM) and s.crops.dtype == np.uint8
    assert s.detected.mean() > 0.8  # the animated face is found on (almost) every frame
    assert not s.crops[~s.detected].any() and s.crops[s.detected].std() > 10
    # a smaller rebuild reuses the finished shards exactly
    cfg.sequences = {"test": 1}
    again, _ = ds.load(ds.build(cfg, splits=("test",))["test"])
    assert np.array_equal(again[0].crops, s.crops) and np.array_equal(again[0].geometry, s.geometry)


# ----------------------------------------------------------------------------- resume, DDP


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tiny_config, tmp_path, monkeypatch):
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["train"].update(epochs=3)
    tiny_config.write_text(yaml.safe_dump(cfg))
    straight = tmp_path / "straight"
    tr.train(tiny_config, straight)

    class Interrupted(Exception):
        pass

    validate, calls = tr.validation.validate, []

    def dies_in_epoch_3(*args, **kwargs):  # calls: before training, epochs 1, 2, 3
        calls.append(1)
        if len(calls) == 4:
            raise Interrupted
        return validate(*args, **kwargs)

    resumed = tmp_path / "resumed"
    monkeypatch.setattr(tr.validation, "validate", dies_in_epoch_3)
    with pytest.raises(Interrupted):
        tr.train(tiny_config, resumed)
    assert load_model(resumed / tr.LAST).metadata["epoch"] == 2
    monkeypatch.setattr(tr.validation, "validate", validate)
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
    tr.train(tiny_config, tmp_path / "out")
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["train"]["lr"] = 0.01
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ValueError, match="another config"):
        tr.train(other, tmp_path / "out", resume=True)


def test_torchrun_two_cpu_processes_write_a_loadable_checkpoint(tiny_config, tmp_path):
    pytest.importorskip("torch.distributed.run", reason="torchrun (torch.distributed.run) not importable")
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with the gloo backend is not available")
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["train"].update(threads=1)
    tiny_config.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "fer_ros.cli",
            "train",
            str(tiny_config),
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    model = load_model(out / tr.CHECKPOINT)
    assert model.metadata["epoch"] in (1, 2)
    assert load_model(out / tr.LAST).metadata["epoch"] == 2
    assert len(json.loads((out / "metrics.json").read_text())["history"]) == 2
