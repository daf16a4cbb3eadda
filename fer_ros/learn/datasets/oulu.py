"""Oulu-CASIA NIR&VIS (Zhao et al. 2011): posed sequences neutral -> apex.

Layout (``root`` may be the folder holding ``OriginalImg`` or a parent)::

    OriginalImg/VL/Strong/P001/Anger/000.jpeg ... 0NN.jpeg
                  /Weak/ /Dark/           (illumination)
               /NI/...                    (near-infrared camera)

Expression folders: Anger, Disgust, Fear, Happiness, Sadness, Surprise; 80 subjects
P001..P080, six sequences each per condition. The papers' usual set is VL/Strong
(480 sequences), the default here; ``modality`` and ``illumination`` pick another.

Ground truth as CK+: frame 0 neutral, linear rise to the apex at the last frame:
intensity[t] = t / (T - 1). fps 25 (the camera's rate).

Uncertain: the name of the aligned-crop folder, when a copy has one; ``aligned=True``
looks for a sibling of OriginalImg called Cropped, Aligned or Aligned_Img with the same
inner layout. Folder names are matched case-insensitively; frame order comes from the
numbers in the file names.
"""

from __future__ import annotations

import re
from collections import Counter

from .common import LabelledVideo, LabelMapper, VideoList, dense_labels, posed_spans
from .files import check_root, child, find_dir, sorted_images

NAME = "oulu"
FPS = 25.0
EXPECTED = "OriginalImg/VL/Strong/P001/Anger/*.jpeg"
ALIGNED_NAMES = ("Cropped", "Aligned", "Aligned_Img", "AlignedImg")


def read(
    root,
    aligned: bool = False,
    modality: str = "VL",
    illumination: str = "Strong",
    keep_others: bool = False,
    emotion_map: dict | None = None,
    fps: float = FPS,
) -> VideoList:
    root = check_root(root, "Oulu-CASIA", EXPECTED)
    names = ALIGNED_NAMES if aligned else ("OriginalImg",)
    top = find_dir(root, names)
    if top is None:
        what = "aligned-crop folder (" + ", ".join(ALIGNED_NAMES) + ")" if aligned else "OriginalImg folder"
        raise ValueError(f"{root} does not look like Oulu-CASIA: no {what} (expected {EXPECTED})")
    mod = child(top, modality)
    base = child(mod, illumination) if mod is not None else None
    if base is None or not base.is_dir():
        have = sorted(f"{m.name}/{i.name}" for m in top.iterdir() if m.is_dir() for i in m.iterdir() if i.is_dir())
        raise ValueError(
            f"{top}: no {modality}/{illumination} folder (found: {', '.join(have) or 'none'}; expected {EXPECTED})"
        )
    mapper = LabelMapper(keep_others, emotion_map)
    skipped: Counter = Counter()
    out = []
    for subj in sorted(p for p in base.iterdir() if p.is_dir() and re.fullmatch(r"P\d+", p.name, re.I)):
        for expr in sorted(p for p in subj.iterdir() if p.is_dir() and not p.name.startswith(".")):
            frames, numbers = sorted_images(expr)
            if len(frames) < 2:
                skipped["too few frames"] += 1
                continue
            cls = mapper(expr.name, skipped)
            if cls is None:
                continue
            label, inten, phase, intervals = dense_labels(len(frames), posed_spans(len(frames), cls))
            out.append(
                LabelledVideo(
                    NAME,
                    f"{mod.name}/{base.name}/{subj.name}/{expr.name}",
                    subj.name,
                    float(fps),
                    label,
                    inten,
                    phase,
                    intervals,
                    aligned=aligned,
                    frame_paths=frames,
                    frame_numbers=numbers,
                    meta={"emotion": expr.name, "modality": mod.name, "illumination": base.name},
                )
            )
    return VideoList(out, NAME, str(root), skipped)
