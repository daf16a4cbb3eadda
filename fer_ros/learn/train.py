"""Train the recurrent expression model on generated dynamics and real labelled stills.

    fer-ros train config/train_default.yaml --data FER2013 --out out/train

The data (learn.sequences, learn.stills; both measured through the engine's own front end):
- generated sequences of FER2013 neutral faces animated by action-unit warps, split by
  person: Training faces train, PublicTest faces validate (built when missing, cached);
- FER2013 stills: ``stills_per_epoch`` Training faces per epoch as static sequences
  (learn.batches), all PublicTest faces to validate;
- FER2013 stills held before a jittering camera (learn.stills.cached_jittered):
  ``data.jitter.train`` Training faces (``jitter_per_epoch`` of them an epoch) and
  ``data.jitter.val`` PublicTest faces to validate (accuracy and label flips under jitter).
The backbone (``model.backbone``; empty: the shipped one) encodes every crop once and is
stored, frozen, in the written model.

Loss: ``losses.total_loss`` (dense prefix-scored CE with intensity-derived labels and
class-balanced weights, intensity, spotting = activity + phase; stills score the class
term only). After every epoch: validation (learn.validation; its SELECTION picks the best
epoch), ``<out>/fer_mvlstm.safetensors`` (the best), ``metrics.json``, ``epochs.csv``, and
the run state in ``last.safetensors`` + ``last_state.safetensors`` (optimizer, schedule,
RNG states, history: ``--resume`` ends with the same weights as an uninterrupted run).

Multi-process (DDP): ``torchrun --nproc_per_node N -m fer_ros.cli train CONFIG --out DIR``
(nccl on CUDA, gloo on CPU). Each epoch the items are shuffled by (seed, epoch) and sharded
by rank; augmentation draws from (seed, epoch, rank) streams, so resuming is exact there
too. Only rank 0 validates and writes; batch_size is per process.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from fer_ros.engine.geometry import GEOMETRY_DIM
from fer_ros.model.backbone import load_backbone
from fer_ros.model.expression import (
    ExpressionModel,
    ModelConfig,
    load_model,
    save_model,
)

from . import batches, validation
from . import sequences as ds
from .losses import class_balanced_weights, total_loss
from .run_state import (
    load_state,
    replace_atomically,
    rng_state,
    save_state,
    set_rng_state,
)
from .train_config import DEFAULTS, load_config  # noqa: F401  (the trainer's config, re-exported)

log = logging.getLogger("fer_ros.learn.train")

CHECKPOINT = "fer_mvlstm.safetensors"
LAST, LAST_STATE = "last.safetensors", "last_state.safetensors"  # resumable run state
STATE_FORMAT = "fer_ros.TrainState/2"

# ----------------------------------------------------------------------------- data


def dataset_paths(data: dict) -> dict:
    dcfg = ds.DatasetConfig(
        fer2013=data["fer2013"],
        media_dir=data["media_dir"],
        out_dir=data["dir"],
        name=data["name"],
        sequences={**ds.DatasetConfig().sequences, **data["sequences"]},
        bases={**ds.DatasetConfig().bases, **data["bases"]},
        seed=data["seed"],
        workers=data["workers"],
        detect_every=data["detect_every"],
        synth={"min_len": data["min_len"], "max_len": data["max_len"]},
    )
    paths = {s: dcfg.path(s) for s in ("train", "val")}
    missing = [s for s, p in paths.items() if not p.is_file()]
    if missing:
        if not data["build_if_missing"]:
            raise FileNotFoundError(f"dataset files missing: {[str(paths[s]) for s in missing]}")
        log.info("building datasets %s", missing)
        ds.build(dcfg, splits=tuple(missing))
    return paths


def load_stills(
    data: dict, split: str, spec: dict, jittered: int, progress: bool
) -> tuple[list[ds.SequenceData], list[ds.SequenceData]]:
    """FER2013 ``split`` through the front end (cached): every face as a 1-frame sequence, and
    ``jittered`` of them held before a jittering camera; ([], []) without a copy."""
    if not data["fer2013"]:
        return [], []
    from .datasets.fer2013 import read_fer2013
    from .stills import cached_crops, cached_jittered

    stills = read_fer2013(data["fer2013"], split)
    cache = Path(data["stills_cache"]) if data["stills_cache"] else None
    crops = cached_crops(stills.images, stills.labels, spec["size"], spec["equalize"], cache, progress=progress)
    still_seqs = batches.still_sequences(crops.crops, crops.geometry, crops.labels, stills.names)
    if not jittered:
        return still_seqs, []
    j = data["jitter"]
    seed = j["seed"] + (0 if split == "Training" else 1)  # the two splits draw apart
    jc, jg, jl, pick = cached_jittered(
        stills.images, stills.labels, spec["size"], spec["equalize"], jittered, j["frames"], seed, cache, progress
    )
    return still_seqs, batches.jitter_sequences(jc, jg, jl, [stills.names[i] for i in pick])


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# ----------------------------------------------------------------------------- run state


def save_last(out_dir: Path, model, state: dict) -> None:
    """The resumable run state: state (epoch, optimizer, scheduler, RNGs, history...) -> LAST_STATE,
    then the model -> LAST (save_model, so it loads as any checkpoint)."""
    save_state(out_dir / LAST_STATE, state, STATE_FORMAT)
    replace_atomically(
        lambda p: save_model(model, p, {"epoch": state["epoch"], "resumable": LAST_STATE}), out_dir / LAST
    )


def load_last(out_dir: Path):
    """(model state_dict, run state) written by save_last, or None when there is none."""
    path, state_path = out_dir / LAST, out_dir / LAST_STATE
    if not (path.is_file() and state_path.is_file()):
        return None
    state = load_state(state_path, STATE_FORMAT)
    model = load_model(path)
    if model.metadata.get("epoch") != state["epoch"]:
        raise ValueError(
            f"{path} (epoch {model.metadata.get('epoch')}) and {state_path} "
            f"(epoch {state['epoch']}) do not belong together"
        )
    return model.state_dict(), state


def _distributed(device_name: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device); under torchrun (WORLD_SIZE > 1) joins the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = _device(device_name)
    if world <= 1:
        return 0, 1, device
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def _epoch_items(
    n_seq: int,
    pools: list[tuple[int, int]],
    epoch: int,
    rng: np.random.Generator,
    seed: int,
    rank: int,
    world: int,
):
    """This process's item order for an epoch: every generated sequence plus, from each further
    pool (its size, its items per epoch) in turn, a draw of its items (indices after the
    sequences and the pools before it), shuffled. One process: from the run's generator. DDP: a
    (seed, epoch) order padded to a multiple of world and sharded by rank; augmentation and
    dropout get a (seed, epoch, rank) stream."""
    gen = rng if world == 1 else np.random.default_rng([seed, epoch])
    parts, first = [np.arange(n_seq)], n_seq
    for size, per_epoch in pools:
        if size and per_epoch:
            parts.append(first + gen.choice(size, min(per_epoch, size), replace=False))
        first += size
    order = gen.permutation(np.concatenate(parts).astype(np.int64))
    if world == 1:
        return order, rng
    order = np.resize(order, math.ceil(len(order) / world) * world)[rank::world]
    rng = np.random.default_rng([seed, epoch, rank])
    torch.manual_seed(int(rng.integers(2**62)))
    return order, rng


# ----------------------------------------------------------------------------- training


def train(
    config_path, out_dir, data_path: str | None = None, resume: bool = False, progress: bool | None = None
) -> Path:
    """Train as the config says; returns the path of the best checkpoint.

    data_path: the FER2013 copy (overrides data.fer2013); resume: continue from
    <out_dir>/last*.safetensors (the same config); progress: the epoch bar (None: the config's).
    """
    cfg = load_config(config_path)
    if data_path:
        cfg["data"]["fer2013"] = str(data_path)
    tcfg = cfg["train"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(tcfg["seed"])
    if tcfg["threads"]:
        torch.set_num_threads(int(tcfg["threads"]))
    rank, world, device = _distributed(tcfg["device"])
    try:
        return _train(cfg, out_dir, rank, world, device, resume, tcfg["progress"] if progress is None else progress)
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()


def _model(mcfg: dict, device) -> ExpressionModel:
    """A new model whose frozen backbone is ``mcfg['backbone']`` (empty: the shipped one)."""
    cnn = load_backbone(mcfg["backbone"] or None)
    model = ExpressionModel(
        ModelConfig(
            geometry_dim=GEOMETRY_DIM, backbone=cnn.cfg.to_dict(), **{k: v for k, v in mcfg.items() if k != "backbone"}
        )
    )
    model.cnn.load_state_dict(cnn.state_dict())
    return model.to(device)


def _train(cfg, out_dir: Path, rank, world, device, resume, progress) -> Path:
    from tqdm import tqdm

    t_start = time.perf_counter()
    data, mcfg, tcfg = cfg["data"], cfg["model"], cfg["train"]
    main_process = rank == 0
    if world > 1:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel
    if not main_process:
        dist.barrier()  # rank 0 builds missing datasets first
    paths = dataset_paths(data)
    if main_process and world > 1:
        dist.barrier()
    train_seqs, train_info = ds.load(paths["train"])
    val_seqs, val_info = ds.load(paths["val"])
    if tcfg["max_sequences"]:
        train_seqs, val_seqs = train_seqs[: tcfg["max_sequences"]], val_seqs[: tcfg["max_sequences"]]
    overlap = set(train_info["persons"]) & set(val_info["persons"])
    if overlap:
        raise RuntimeError(f"train and validation share people: {sorted(overlap)[:5]}")
    model = _model(mcfg, device)
    spec = {"size": model.cnn.crop_size, "equalize": model.cnn.equalize}
    for info in (train_info, val_info):
        if info["crop_spec"] != spec:
            raise ValueError(
                f"the datasets hold {info['crop_spec']} crops, the backbone reads {spec}: "
                f"rebuild them (delete {data['dir']})"
            )
    show = progress and main_process
    train_stills, train_jitter = load_stills(data, "Training", spec, data["jitter"]["train"], show)
    val_stills, val_jitter = load_stills(data, "PublicTest", spec, data["jitter"]["val"], show)
    batches.encode(train_seqs + val_seqs + train_stills + val_stills + train_jitter + val_jitter, model.cnn)
    items = train_seqs + train_stills + train_jitter
    pools = [(len(train_stills), tcfg["stills_per_epoch"]), (len(train_jitter), tcfg["jitter_per_epoch"])]

    net = model  # what trains: the model, or its DDP wrapper
    counts = batches.class_counts(train_seqs + train_stills)
    cw = class_balanced_weights(counts, tcfg["class_balance_beta"]).to(device)
    loss_kw = dict(weights=tcfg["loss_weights"], class_weights=cw, ce_floor=tcfg["ce_floor"])
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=tcfg["lr"], weight_decay=tcfg["weight_decay"])
    per_epoch = len(train_seqs) + sum(min(size, n) for size, n in pools)
    steps_per_epoch = math.ceil(math.ceil(per_epoch / world) / tcfg["batch_size"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=tcfg["lr"], total_steps=tcfg["epochs"] * steps_per_epoch, pct_start=0.15
    )
    rng = np.random.default_rng(tcfg["seed"])
    log.info(
        "train %d sequences (%d frames) + %d stills (%d an epoch) + %d jittered (%d an epoch); "
        "validation %d sequences + %d stills + %d jittered; class counts %s; %d trainable parameters",
        len(train_seqs),
        sum(map(len, train_seqs)),
        len(train_stills),
        min(tcfg["stills_per_epoch"], len(train_stills)),
        len(train_jitter),
        min(tcfg["jitter_per_epoch"], len(train_jitter)),
        len(val_seqs),
        len(val_stills),
        len(val_jitter),
        counts.astype(int).tolist(),
        sum(p.numel() for p in trainable),
    )

    history, best, best_path = [], -1.0, out_dir / CHECKPOINT
    last = load_last(out_dir) if resume else None
    if last is not None:
        weights, st = last
        if st["config"] != cfg:
            raise ValueError(f"{out_dir / LAST_STATE}: written with another config; resume needs the same one")
        model.load_state_dict(weights)
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        set_rng_state(rng, st["rng"])
        history, best, initial = st["history"], st["best"], st["initial"]
        if main_process:
            log.info("resuming after epoch %d of %d from %s", st["epoch"], tcfg["epochs"], out_dir / LAST)
    else:
        initial = validation.validate(model, val_seqs, val_stills, device, val_jitter) if main_process else {}
    if world > 1:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    start = len(history) + 1
    bar = tqdm(
        range(start, tcfg["epochs"] + 1),
        total=tcfg["epochs"],
        initial=start - 1,
        unit="epoch",
        desc="train",
        dynamic_ncols=True,
        disable=None if progress and main_process else True,
    )
    for epoch in bar:
        net.train()
        te = time.perf_counter()
        order, erng = _epoch_items(len(train_seqs), pools, epoch, rng, tcfg["seed"], rank, world)
        tot, terms_sum, nb = 0.0, {}, 0
        for b in range(0, len(order), tcfg["batch_size"]):
            batch = [batches.training_item(items[i], erng, tcfg) for i in order[b : b + tcfg["batch_size"]]]
            app, geo, lengths, tg = batches.collate(batch, device)
            loss, terms = total_loss(net(app, geo, lengths), tg, **loss_kw)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if tcfg["grad_clip"]:
                torch.nn.utils.clip_grad_norm_(trainable, tcfg["grad_clip"])
            opt.step()
            sched.step()
            tot += loss.item()
            for k, v in terms.items():
                terms_sum[k] = terms_sum.get(k, 0.0) + v
            nb += 1
        if not main_process:  # rank 0 validates and writes; the others wait for it
            dist.barrier()
            continue
        val = validation.validate(model, val_seqs, val_stills, device, val_jitter)
        score = validation.selection_score(val)
        row = {
            "epoch": epoch,
            "train_loss": tot / nb,
            **{f"train_{k}": v / nb for k, v in terms_sum.items()},
            "val": val,
            "score": score,
            "seconds": time.perf_counter() - te,
        }
        history.append(row)
        log.info(
            "epoch %d: loss %.3f | val frame_acc %.3f acc@25/50 %.3f/%.3f spot_f1 %.3f stills %.3f "
            "(CNN %.3f) jittered %.3f, %.3f flips/frame (CNN %.3f, %.3f) | score %.3f (%.0f s)",
            epoch,
            row["train_loss"],
            val.get("frame_acc", math.nan),
            val.get("acc@25", math.nan),
            val.get("acc@50", math.nan),
            val.get("spot_f1", math.nan),
            val.get("stills_acc", math.nan),
            val.get("baseline_stills_acc", math.nan),
            val.get("jitter_acc", math.nan),
            val.get("jitter_flips", math.nan),
            val.get("baseline_jitter_acc", math.nan),
            val.get("baseline_jitter_flips", math.nan),
            score,
            row["seconds"],
        )
        if score > best:
            best = score
            save_model(
                model,
                best_path,
                {
                    "trained_on": {
                        "generated": "FER2013 Training neutral faces animated by action-unit warps "
                        "(learn.synth), measured through the engine (learn.sequences)",
                        "stills": "FER2013 Training through the front end (learn.stills)",
                        "jittered": "FER2013 Training stills held before a jittering camera (learn.stills)",
                    },
                    "train_persons": len(train_info["persons"]),
                    "val_persons": len(val_info["persons"]),
                    "train_sequences": len(train_seqs),
                    "train_stills": len(train_stills),
                    "train_jittered": len(train_jitter),
                    "epoch": epoch,
                    "epochs": tcfg["epochs"],
                    "val": {k: round(v, 4) for k, v in val.items()},
                    "selection": validation.SELECTION,
                    "config": cfg,
                },
            )
        save_last(
            out_dir,
            model,
            {
                "epoch": epoch,
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "rng": rng_state(rng),
                "history": history,
                "best": best,
                "initial": initial,
                "config": cfg,
            },
        )
        _write_epochs(history, out_dir / "epochs.csv")
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", score=f"{score:.3f}")
        if world > 1:
            dist.barrier()
    bar.close()
    if not main_process:
        return best_path
    summary = {
        "config": cfg,
        "best_score": best,
        "best_epoch": max(history, key=lambda r: r["score"])["epoch"],
        "initial_val": initial,
        "history": history,
        "class_counts": counts.tolist(),
        "class_weights": cw.cpu().tolist(),
        "seconds": time.perf_counter() - t_start,
        "dataset_info": {
            s: {k: info[k] for k in ("frames", "detected_frames", "wall_s")}
            for s, info in (("train", train_info), ("val", val_info))
        },
    }
    with open(out_dir / "metrics.json", "w") as f:
        json.dump(summary, f, indent=1, default=float)
    load_model(best_path)  # the written file must load
    log.info("best epoch %d (score %.3f) -> %s", summary["best_epoch"], best, best_path)
    return best_path


def _write_epochs(history: list[dict], path: Path) -> None:
    rows = [
        {"epoch": h["epoch"], "train_loss": h["train_loss"], "score": h["score"], "seconds": h["seconds"], **h["val"]}
        for h in history
    ]

    def write(p):
        with open(p, "w", newline="") as f:
            w = csv.DictWriter(f, list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    replace_atomically(write, path)
