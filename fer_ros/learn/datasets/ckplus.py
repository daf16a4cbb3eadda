"""CK+ (Extended Cohn-Kanade, Lucey et al. 2010): posed sequences neutral -> apex.

Layout (the distribution's own folders; ``root`` may be the folder holding them or any
parent up to three levels above)::

    cohn-kanade-images/S005/001/S005_001_00000001.png ... S005_001_00000011.png
    Emotion/S005/001/S005_001_00000011_emotion.txt      # one float, e.g. "   3.0000000e+00"

(``Emotion_labels/Emotion/...`` is found too.) Only 327 of the 593 sequences carry an
emotion file; the others are skipped and counted as "no emotion label".

Codes: 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness,
7 surprise. Contempt has no class here: skipped by default and counted
("class contempt"); ``keep_others=True`` keeps it as OTHER, ``emotion_map={"contempt":
...}`` maps it.

Ground truth: frame 0 is the neutral face, the expression rises linearly to the apex at
the frame the emotion file names (the last frame in the distribution) and is held to the
end: intensity[t] = t / (T - 1), phase onset on 1..T-2 and apex on T-1. fps 30 (the
recordings' nominal rate; the sequences carry no timing).

Uncertain: nothing in the layout itself; frame order comes from the numbers in the file
names. No aligned crops ship with CK+ (``aligned=True`` is refused).
"""

from __future__ import annotations

import re
from collections import Counter

from .common import LabelledVideo, LabelMapper, VideoList, dense_labels, posed_spans
from .files import check_root, find_dir, number_in, position, sorted_images

NAME = "ckplus"
FPS = 30.0
CODES = {0: "neutral", 1: "anger", 2: "contempt", 3: "disgust", 4: "fear", 5: "happy", 6: "sadness", 7: "surprise"}
EXPECTED = "cohn-kanade-images/S005/001/*.png and Emotion/S005/001/*_emotion.txt"


def read(
    root, aligned: bool = False, keep_others: bool = False, emotion_map: dict | None = None, fps: float = FPS
) -> VideoList:
    root = check_root(root, "CK+", EXPECTED)
    if aligned:
        raise ValueError(f"{root}: CK+ ships no aligned face crops; run without aligned")
    images = find_dir(root, ["cohn-kanade-images"])
    if images is None:
        raise ValueError(f"{root} does not look like CK+: no cohn-kanade-images folder (expected {EXPECTED})")
    emotions = find_dir(root, ["Emotion", "Emotion_labels"])
    if emotions is not None and emotions.name.lower() == "emotion_labels":
        emotions = find_dir(emotions, ["Emotion"]) or emotions
    if emotions is None:
        raise ValueError(f"{root} does not look like CK+: no Emotion label folder (expected {EXPECTED})")
    mapper = LabelMapper(keep_others, emotion_map)
    skipped: Counter = Counter()
    out = []
    for subj in sorted(p for p in images.iterdir() if p.is_dir() and re.fullmatch(r"S\d+", p.name, re.I)):
        for seq in sorted(p for p in subj.iterdir() if p.is_dir() and not p.name.startswith(".")):
            frames, numbers = sorted_images(seq)
            if len(frames) < 2:
                skipped["too few frames"] += 1
                continue
            files = (
                sorted((emotions / subj.name / seq.name).glob("*_emotion.txt"))
                if (emotions / subj.name / seq.name).is_dir()
                else []
            )
            if not files:
                skipped["no emotion label"] += 1
                continue
            try:
                code = int(round(float(files[0].read_text().split()[0])))
            except (ValueError, IndexError):
                skipped["unreadable emotion file"] += 1
                continue
            raw = CODES.get(code, f"code {code}")
            cls = mapper(raw, skipped)
            if cls is None:
                continue
            n = number_in(files[0].name.replace("_emotion", ""))
            apex = position(numbers, n) if n is not None else len(frames) - 1
            label, inten, phase, intervals = dense_labels(len(frames), posed_spans(len(frames), cls, apex))
            out.append(
                LabelledVideo(
                    NAME,
                    f"{subj.name}/{seq.name}",
                    subj.name,
                    float(fps),
                    label,
                    inten,
                    phase,
                    intervals,
                    aligned=False,
                    frame_paths=frames,
                    frame_numbers=numbers,
                    meta={"emotion": raw, "code": code},
                )
            )
    return VideoList(out, NAME, str(root), skipped)
