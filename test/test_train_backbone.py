"""Backbone trainer on a generated FER2013 fixture: the run writes what it promises, resumes exactly,
refuses bad configs; the augmentation keeps shapes and ranges; weights load back without code."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
import yaml
from dataset_fixtures import build_fer2013

from fer_ros.cli import main
from fer_ros.learn import train_backbone as tb
from fer_ros.model.backbone import BackboneConfig, create_backbone, load_backbone, read_backbone, save_backbone

TINY = {"widths": [4, 8], "hidden": 16, "input_size": 48, "dropout": 0.1}


@pytest.fixture(scope="module")
def fer_csv(tmp_path_factory):
    return build_fer2013(tmp_path_factory.mktemp("fer"), "csv", per_class=2)["path"]


@pytest.fixture
def config(tmp_path, fer_csv):
    path = tmp_path / "bb.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "task": "backbone",
                "data": {"path": str(fer_csv), "cache_dir": str(tmp_path / "cache")},
                "model": TINY,
                "train": {"epochs": 3, "batch_size": 4, "lr": 0.05, "threads": 1, "progress": False},
            }
        )
    )
    return path


def test_run_writes_weights_csv_and_plot(config, tmp_path):
    out = tmp_path / "run"
    best = tb.train(config, out)
    assert best == out / "best.safetensors"
    rows = list(csv.DictReader(open(out / "epochs.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert {"train_loss", "val_acc", "val_uar", "val_macro_f1", "val_recall_disgust", "lr", "seconds"} <= set(rows[0])
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = load_backbone(best)
    cfg, _, extra = read_backbone(best)
    assert cfg == BackboneConfig.from_dict(TINY) and 1 <= extra["epoch"] <= 3
    assert extra["publictest"]["accuracy"] == max(float(r["val_acc"]) for r in rows)
    logits = model(torch.zeros(2, 1, 48, 48))
    assert logits.shape == (2, 7) and not model.training


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(config, tmp_path, monkeypatch):
    straight = tmp_path / "straight"
    tb.train(config, straight)

    class Killed(Exception):
        pass

    figures, calls = tb.figures, []

    def dies_in_epoch_3(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise Killed
        return figures(*args, **kwargs)

    resumed = tmp_path / "resumed"
    monkeypatch.setattr(tb, "figures", dies_in_epoch_3)
    with pytest.raises(Killed):
        tb.train(config, resumed)
    assert read_backbone(resumed / "last.safetensors")[2]["epoch"] == 2
    monkeypatch.setattr(tb, "figures", figures)
    tb.train(config, resumed, resume=True)
    for name in ("last.safetensors", "best.safetensors"):
        a, b = (load_backbone(d / name).state_dict() for d in (straight, resumed))
        for k in a:
            assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6, rtol=0), (name, k)
    assert (straight / "epochs.csv").read_text().splitlines()[1:] != []
    col = [list(csv.DictReader(open(d / "epochs.csv"))) for d in (straight, resumed)]
    assert [r["train_loss"] for r in col[0]] == [r["train_loss"] for r in col[1]]


def test_resume_refuses_another_config(config, tmp_path):
    tb.train(config, tmp_path / "run")
    cfg = yaml.safe_load(config.read_text())
    cfg["train"]["lr"] = 0.1
    config.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ValueError, match="another config"):
        tb.train(config, tmp_path / "run", resume=True)


def test_distillation_from_a_teacher_runs(config, tmp_path):
    teacher = tmp_path / "teacher.safetensors"
    save_backbone(create_backbone(BackboneConfig.from_dict({**TINY, "widths": [8, 8]})).eval(), teacher)
    cfg = yaml.safe_load(config.read_text())
    cfg["distill"] = {"teacher": str(teacher), "weight": 0.5, "temperature": 4.0}
    cfg["train"]["epochs"] = 1
    config.write_text(yaml.safe_dump(cfg))
    assert tb.train(config, tmp_path / "kd").is_file()
    cfg["distill"]["teacher"] = str(tmp_path / "missing.safetensors")
    config.write_text(yaml.safe_dump(cfg))
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        tb.train(config, tmp_path / "kd2")


def test_a_second_cycle_starts_from_the_given_weights_and_distils_their_flip_average(config, tmp_path):
    first = tb.train(config, tmp_path / "first")
    cfg = yaml.safe_load(config.read_text())
    # lr 0: the weights stay where they started (only BatchNorm's running statistics move)
    cfg["train"].update(epochs=1, lr=0.0, init=str(first))
    cfg["distill"] = {"teacher": str(first), "weight": 0.5, "temperature": 4.0, "flip": True}
    config.write_text(yaml.safe_dump(cfg))
    second = load_backbone(tb.train(config, tmp_path / "second")).state_dict()
    start = load_backbone(first).state_dict()
    for k, v in start.items():
        if "running" not in k and "num_batches" not in k:
            assert torch.equal(second[k], v), k
    cfg["train"]["init"] = str(tmp_path / "missing.safetensors")
    config.write_text(yaml.safe_dump(cfg))
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        tb.train(config, tmp_path / "third")
    save_backbone(create_backbone(BackboneConfig.from_dict({**TINY, "widths": [8, 8]})), tmp_path / "other.safetensors")
    cfg["train"]["init"] = str(tmp_path / "other.safetensors")
    config.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ValueError, match="model section differs"):
        tb.train(config, tmp_path / "fourth")


def test_flip_averaged_teacher_reads_a_face_and_its_mirror_alike():
    teacher = create_backbone(BackboneConfig.from_dict(TINY)).eval()
    x = torch.randn(3, 1, 48, 48)
    flipped = tb.teacher_logits(teacher, x, flip=True)
    torch.testing.assert_close(flipped, tb.teacher_logits(teacher, x.flip(-1), flip=True))
    plain = tb.teacher_logits(teacher, x, flip=False)
    torch.testing.assert_close(plain, teacher(x).detach())
    assert not torch.allclose(plain, tb.teacher_logits(teacher, x.flip(-1), flip=False))


@pytest.mark.parametrize("name", ["backbone_fer2013.yaml", "backbone_fer2013_cycle2.yaml"])
def test_shipped_configs_load(name):
    """The configs that made the shipped CNN are valid as they stand (keys known, shape sound)."""
    from pathlib import Path

    cfg = tb.load_config(Path(__file__).resolve().parents[1] / "config" / name)
    assert BackboneConfig.from_dict(cfg["model"]) == load_backbone().cfg


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"train": {"epochz": 1}}, "train.epochz"),
        ({"model": {"widths": [4, 8, 16, 32, 64]}}, "not divisible"),
        ({"task": "recurrent"}, "not 'backbone'"),
    ],
)
def test_bad_configs_are_refused_before_any_work(tmp_path, bad, match):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"task": "backbone", **bad}))
    with pytest.raises(ValueError, match=match):
        tb.load_config(path)


def test_cli_train_without_data_is_one_line_and_exit_2(tmp_path, caplog):
    path = tmp_path / "bb.yaml"
    path.write_text(yaml.safe_dump({"task": "backbone", "model": TINY}))
    assert main(["train", str(path), "--out", str(tmp_path / "o")]) == 2
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "--data" in errors[0].getMessage()


def test_augmentation_keeps_shape_range_and_varies():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 48).repeat(8, 1, 48, 1)
    t = tb.DEFAULTS["train"]
    a, b = tb.augment(x, t), tb.augment(x, t)
    assert a.shape == x.shape and a.min() >= -1 - 1e-5 and a.max() <= 1 + 1e-5
    assert not torch.equal(a, b) and not torch.equal(a, x)
    erased = tb.augment(
        x, {**t, "rotate": 0.0, "scale_min": 1.0, "scale_max": 1.0, "shift": 0.0, "flip": 0.0, "erase_p": 1.0}
    )
    assert ((erased == 0) & (x != 0)).flatten(1).any(1).all()  # every image got a mid-grey patch
    still = tb.augment(
        x, {**t, "rotate": 0.0, "scale_min": 1.0, "scale_max": 1.0, "shift": 0.0, "flip": 0.0, "erase_p": 0.0}
    )
    assert np.allclose(still.numpy(), x.numpy(), atol=1e-5)  # the identity transform resamples exactly
