"""Readers for licensed expression datasets in their standard distribution layouts.

The datasets cannot be downloaded here (DESIGN.md, "Training data, honestly"): a user
who holds a licence points ``load_dataset`` (and ``fer-ros eval --dataset NAME PATH``)
at the folder as distributed; nothing is fetched. Each reader documents the layout it
expects and what about it is uncertain (see the module of each dataset):

    ckplus    CK+           cohn-kanade-images/S005/001/*.png + Emotion/S005/001/*_emotion.txt
    oulu      Oulu-CASIA    OriginalImg/VL/Strong/P001/Anger/*.jpeg
    mmi       MMI           Sessions/<id>/S001-001.avi + S001-001.xml + S001-001-oao_aucs.xml
    casme2    CASME II      CASME2_RAW_selected/sub01/EP02_01f/img*.jpg (+ Cropped/) + CASME2-coding-*.xlsx
    samm      SAMM          SAMM/006/006_1_2/*.jpg + SAMM_Micro_FACS_Codes_v2.xlsx
    casme2lv  CAS(ME)^2     rawvideo/s15/15_0101*.avi (+ rawpic/, cropped/) + CAS(ME)^2code_final.xlsx
    segments  any video     labels.csv: video,first,last,label[,subject] (a person's frame segments)

Every reader returns a ``VideoList`` (a list of ``LabelledVideo`` with ``skipped``
and ``notes`` counters) with per-frame label / intensity / phase and the interval list
in the generator's semantics (``common`` says exactly how they are derived).

Common options: ``aligned`` (read the dataset's face crops where it ships them),
``keep_others`` (keep expressions whose class is not in CLASS_NAMES with label OTHER
= -1 instead of skipping them), ``emotion_map`` (raw label -> class name / "others" /
None), ``fps`` (override). Some readers take more (``oulu``: modality, illumination;
``casme2``/``samm``/``casme2lv``: annotations=PATH; ``casme2lv``: include_unannotated).

Splits are by subject (person), never by sequence: ``subject_split``,
``leave_one_subject_out``, ``subject_folds``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from fer_ros.learn.datasets import casme2, casme2lv, ckplus, mmi, oulu, samm, segments

from .common import OTHER, LabelledVideo, VideoList, validate
from .files import reader_options

log = logging.getLogger(__name__)

READERS: dict[str, Callable[..., VideoList]] = {
    "ckplus": ckplus.read,
    "oulu": oulu.read,
    "mmi": mmi.read,
    "casme2": casme2.read,
    "samm": samm.read,
    "casme2lv": casme2lv.read,
    "segments": segments.read,
}
ALIASES = {
    "ck": "ckplus",
    "oulucasia": "oulu",
    "casmeii": "casme2",
    "cas(me)2": "casme2lv",
    "casme2long": "casme2lv",
    "casme2longvideos": "casme2lv",
    "casmesq": "casme2lv",
}
TITLES = {
    "ckplus": "CK+",
    "oulu": "Oulu-CASIA",
    "mmi": "MMI",
    "casme2": "CASME II",
    "samm": "SAMM",
    "casme2lv": "CAS(ME)^2 long videos",
    "segments": "videos labelled by frame segments (CSV)",
}

__all__ = [
    "READERS",
    "TITLES",
    "OTHER",
    "LabelledVideo",
    "VideoList",
    "load_dataset",
    "validate",
    "subject_split",
    "leave_one_subject_out",
    "subject_folds",
    "subjects_of",
]


def load_dataset(name: str, root, **options) -> VideoList:
    """Read dataset ``name`` (a READERS key) from the folder ``root``.

    Raises ValueError naming the path and the expected layout when the folder does not
    look like the dataset, and naming the option when an option is unknown.
    """
    key = str(name).lower().replace("-", "").replace("_", "").replace("+", "plus")
    key = ALIASES.get(key, key)
    reader = READERS.get(key)
    if reader is None:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(READERS)}")
    allowed = reader_options(reader)
    bad = [k for k in options if k not in allowed]
    if bad:
        raise ValueError(f"{key}: unknown option(s) {', '.join(bad)}; known: {', '.join(allowed)}")
    videos = reader(Path(root), **options)
    log.info("%s", videos.summary())
    return videos


# ----------------------------------------------------------------------------- splits


def _key(v: LabelledVideo) -> str:
    return f"{v.dataset}:{v.subject}"


def subjects_of(videos) -> list[str]:
    """Sorted distinct subject keys ("dataset:subject", so datasets never collide)."""
    return sorted({_key(v) for v in videos})


def subject_split(videos, heldout_fraction: float = 0.2, seed: int = 0):
    """(train, heldout) lists with no subject in both; about ``heldout_fraction`` of the subjects held out.

    At least one subject is held out and one kept whenever there are two or more.
    """
    if not 0.0 <= heldout_fraction <= 1.0:
        raise ValueError(f"heldout_fraction must be in [0, 1], got {heldout_fraction}")
    subjects = subjects_of(videos)
    rng = np.random.default_rng(seed)
    order = [subjects[i] for i in rng.permutation(len(subjects))]
    n = int(round(heldout_fraction * len(subjects)))
    if len(subjects) >= 2 and 0.0 < heldout_fraction < 1.0:
        n = min(max(n, 1), len(subjects) - 1)
    held = set(order[:n])
    return [v for v in videos if _key(v) not in held], [v for v in videos if _key(v) in held]


def leave_one_subject_out(videos) -> Iterator[tuple[str, list, list]]:
    """(subject key, train, test) for each subject in turn: the protocol of CASME II / SAMM / MEGC."""
    for s in subjects_of(videos):
        yield s, [v for v in videos if _key(v) != s], [v for v in videos if _key(v) == s]


def subject_folds(videos, n_folds: int = 10, seed: int = 0) -> list[tuple[list, list]]:
    """``n_folds`` subject-independent (train, test) folds (e.g. 10-fold Oulu-CASIA / CK+)."""
    subjects = subjects_of(videos)
    if not 2 <= n_folds <= len(subjects):
        raise ValueError(f"n_folds must be in [2, {len(subjects)}] (the number of subjects), got {n_folds}")
    rng = np.random.default_rng(seed)
    order = [subjects[i] for i in rng.permutation(len(subjects))]
    folds = []
    for k in range(n_folds):
        test = set(order[k::n_folds])
        folds.append(([v for v in videos if _key(v) not in test], [v for v in videos if _key(v) in test]))
    return folds
