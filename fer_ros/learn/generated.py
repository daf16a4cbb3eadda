"""The generated test set of ``fer-ros eval --dataset generated``: test people only.

``synth`` sequences of the TEST identities (learn.identities: the people of the sample
media, never used in training or selection), sequence i drawn with
``np.random.default_rng([seed, EVAL_STREAM, i])`` from the base ``i % len(bases)``.
learn.sequences draws its train / val / test sequences with streams 0 / 1 / 2 of their own
bases; this stream (3) is neither.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from . import identities as ids
from . import synth
from .evaluate import EvalVideo, from_sequence

log = logging.getLogger(__name__)

EVAL_STREAM = 3
GENERATED_SYNTH = {"min_len": 40, "max_len": 120}  # sequence lengths as config/train_default.yaml
CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "eval"  # test bases, found once


def _file_key(paths) -> list:
    out = []
    for p in paths:
        p = Path(p)
        out.append([p.name, p.stat().st_size, int(p.stat().st_mtime)] if p.exists() else [p.name, None])
    return out


def test_identities(media=None, cache_dir: str | Path | None = CACHE_DIR) -> list[ids.Identity]:
    """The test base faces (``identities.media_identities``), cached on disk.

    Finding the bases runs MediaPipe over the sample clips (tens of seconds on 2 cores); the
    result is kept in ``cache_dir`` as an .npz (no pickle) keyed by the source files, the
    code that shapes it and the backbone. ``cache_dir=None``: no cache.
    """
    import fer_ros.engine.align
    import fer_ros.engine.front_end
    import fer_ros.engine.landmarks
    from fer_ros.io.media import media_dir
    from fer_ros.model.backbone import DEFAULT_BACKBONE

    media = Path(media) if media else media_dir()
    sources = [media / f for f, _ in ids.MEDIA_SOURCES]
    key_doc = json.dumps(
        {
            "sources": _file_key(sources),
            "code": [
                hashlib.sha1(Path(m.__file__).read_bytes()).hexdigest()
                for m in (ids, fer_ros.engine.align, fer_ros.engine.landmarks, fer_ros.engine.front_end)
            ],
            "cnn": _file_key([DEFAULT_BACKBONE]),
            "media": str(media.resolve()),
        },
        sort_keys=True,
    )
    key = hashlib.sha1(key_doc.encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"test_identities_{key}.npz" if cache_dir else None
    if path is not None and path.is_file():
        with np.load(path, allow_pickle=False) as z:
            info = json.loads(str(z["info"]))
            return [
                ids.Identity(
                    name=d["name"],
                    person=d["person"],
                    split=d["split"],
                    image=z[f"image{k}"],
                    landmarks=z[f"landmarks{k}"],
                    rest_probs=z[f"rest_probs{k}"],
                    rest_label=int(d["rest_label"]),
                    note=d["note"],
                )
                for k, d in enumerate(info)
            ]
    if not any(p.exists() for p in sources):
        raise FileNotFoundError(
            f"sample media not found in {media}; run `make media` (or `python -m fer_ros.io.media fetch`)"
        )
    idents = ids.media_identities(media)
    if not idents:
        raise RuntimeError(f"no test identity found in {media}")
    if path is not None:
        arrays = {}
        for k, x in enumerate(idents):
            arrays.update({f"image{k}": x.image, f"landmarks{k}": x.landmarks, f"rest_probs{k}": x.rest_probs})
        info = [
            {"name": x.name, "person": x.person, "split": x.split, "rest_label": int(x.rest_label), "note": x.note}
            for x in idents
        ]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, info=np.array(json.dumps(info)), **arrays)
            tmp.replace(path)
        except OSError as e:
            log.warning("test bases not cached (%s)", e)
    return idents


def generated_videos(
    n: int,
    seed: int = 0,
    identities=None,
    media=None,
    synth_overrides: dict | None = None,
    cache_dir: str | Path | None = CACHE_DIR,
) -> Iterator[EvalVideo]:
    """``n`` generated test sequences, made one at a time (see the module docstring)."""
    idents = identities if identities is not None else test_identities(media, cache_dir)
    bad = [x.name for x in idents if x.split != "test"]
    if bad:
        raise ValueError(f"evaluation identities must be test ones; got {bad[:3]}")
    cfg = synth.SynthConfig(**{**GENERATED_SYNTH, **(synth_overrides or {})})
    tools: dict[int, tuple] = {}
    for i in range(n):
        k = i % len(idents)
        with single_thread_blas():
            if k not in tools:
                tools[k] = (synth.FaceGeometry(idents[k].landmarks), synth.Warper(idents[k].image, idents[k].landmarks))
            geo, warper = tools[k]
            seq = synth.generate_sequence(
                idents[k], np.random.default_rng([seed, EVAL_STREAM, i]), cfg=cfg, warper=warper, geometry=geo
            )
        yield from_sequence(seq, f"generated:{i:04d}:{seq.identity}")


def single_thread_blas():
    """Context: OpenBLAS (numpy's and scipy's) on one thread.

    The generator's warps run ~1000 tiny LAPACK calls per frame (scipy's Delaunay
    barycentric transforms). With OpenBLAS threads on a busy 2-core machine beside
    torch and MediaPipe, each call can wait for a time slice: measured 1.2 s per warp
    instead of 6 ms (a 2-sequence evaluation took 156 s instead of 14 s).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is in requirements.txt
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def generated_description(n: int, seed: int, identities, synth_overrides: dict | None = None) -> dict:
    return {
        "name": "generated",
        "videos": n,
        "seed": seed,
        "rng": f"np.random.default_rng([{seed}, {EVAL_STREAM}, i])",
        "synth_config": dataclasses.asdict(synth.SynthConfig(**{**GENERATED_SYNTH, **(synth_overrides or {})})),
        "identities": [{"name": x.name, "person": x.person, "rest_label": int(x.rest_label)} for x in identities],
        "persons": sorted({x.person for x in identities}),
        "split": "test (people never used in training or selection)",
        "sources": ids.MEDIA_SOURCES,
    }
