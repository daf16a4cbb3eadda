"""CAS(ME)^2 (Qu et al. 2017), part A: long videos with macro and micro expressions, 30 fps.

Layout (``root`` may hold these directly or one or two levels down)::

    rawvideo/s15/15_0101disgustingteeth.avi ...       (long videos)
    rawpic/s15/15_0101disgustingteeth/img1.jpg ...    (the same as frames; read when no rawvideo/)
    cropped/s15/15_0101disgustingteeth/img1.jpg ...   (aligned crops, aligned=True)
    CAS(ME)^2code_final.xlsx                          (or "...(Updated).xlsx")

The workbook, as the MEGC spotting code reads it:

- the code sheet ("CASFEcode_final" / "CASMEcode_final", else the first), no header
  row: participant (1..22), clip name ("disgust1_1": the video name and the
  expression's number in it), onset, apex, offset (1-based frame numbers; an offset of
  0 means "not coded"), AUs, emotion (positive / negative / surprise / others),
  expression type (macro-expression / micro-expression), [self-reported emotion]. A
  header row, if a copy has one, is recognised and used instead.
- sheet "naming rule1": subject folder number (15), its name ("s15"), participant (1)
  (without it the participant number is taken as the folder number).
- sheet "naming rule2": video code ("0101", maybe stored as the number 101), video name
  ("disgust1"). The video file of a clip is ``s<NN>/<NN>_<code>*``.

Ground truth: one LabelledVideo per long video with every coded interval (macro and
micro, ``micro`` from the type column); an uncoded offset is taken as apex + (apex -
onset), as some public MEGC evaluation code does (other code uses the apex); a missing
or out-of-range apex is put midway. Where intervals overlap, the per-frame arrays take
the one with the higher intensity (see common). Videos with no coded interval are kept
as all-neutral (they count in spotting: any detection there is a false positive);
``include_unannotated=False`` drops them.

Classes: the emotion column is mostly valence (positive/negative), which is no class
here; only "surprise" maps by default (``emotion_map={"positive": "happy"}`` and the
like add more). Unlike the clip datasets, an interval whose class does not map is NOT
skipped: it stays in the video as OTHER (-1), because dropping it would make real
expression frames "neutral" and spotting scores wrong. Such intervals are counted in
``notes``. ``keep_others`` is accepted for a uniform interface and has no effect.

A .csv export keeps only the first sheet, so it works only where the clip names are
4-digit video codes; use the .xlsx (or pass annotations=PATH to one).

Uncertain: the sheet names and column order above come from public code that reads
this workbook, not from a copy; sheets are found by name ("naming rule1/2", any case
or spacing) and fall back to the 2nd and 3rd sheet. The frame count comes from the
video header.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from .casme2 import annotation_file
from .common import LabelledVideo, LabelMapper, Span, VideoList, dense_labels
from .files import (
    IMAGE_EXTS,
    VIDEO_EXTS,
    check_root,
    find_dirs_with_children,
    find_header,
    norm,
    position,
    read_table,
    sheet_names,
    sorted_images,
    text,
    to_int,
    video_length,
)

NAME = "casme2lv"
FPS = 30.0
EXPECTED = "rawvideo/s15/15_0101*.avi (or rawpic/, cropped/) and CAS(ME)^2code_final.xlsx"
POSITIONAL = {"participant": 0, "clip": 1, "onset": 2, "apex": 3, "offset": 4, "aus": 5, "emotion": 6, "type": 7}
COLUMNS = {
    "participant": ("participant", "subject", "sub"),
    "clip": ("video name & expression number", "video name code", "clip name", "video name", "filename"),
    "onset": ("onset", "onset frame", "onsetframe"),
    "apex": ("apex", "apex frame", "apexframe"),
    "offset": ("offset", "offset frame", "offsetframe"),
    "aus": ("AUs", "action units"),
    "emotion": ("emotion", "estimated emotion", "extimated emotion"),
    "type": ("expression type", "type"),
}
ENTRY = re.compile(r"(\d+)_(\d{4})")


def _sheet(names: list[str], key: str, fallback: int) -> str | None:
    for n in names:
        if norm(n) == key:
            return n
    return names[fallback] if len(names) > fallback else None


def _naming(sheet_file: Path, names: list[str]):
    """participant -> subject folder number, video name -> 4-digit code (empty when absent)."""
    subjects, codes = {}, {}
    rule1 = _sheet(names, "namingrule1", 1)
    if rule1 is not None:
        for row in read_table(sheet_file, rule1):
            cells = list(row) + [None] * 3
            part = to_int(cells[2])
            num = to_int(cells[0])
            if num is None:
                m = re.search(r"\d+", text(cells[1]))
                num = int(m.group()) if m else None
            if part is not None and num is not None:
                subjects[part] = num
    rule2 = _sheet(names, "namingrule2", 2)
    if rule2 is not None:
        for row in read_table(sheet_file, rule2):
            cells = list(row) + [None] * 2
            code, name = to_int(cells[0]), text(cells[1])
            if code is not None and name:
                codes[norm(name)] = f"{code:04d}"
    return subjects, codes


def _sources(root: Path, aligned: bool) -> dict[tuple[int, str], Path]:
    """(subject folder number, video code) -> video file or frame folder."""
    found = find_dirs_with_children(root, r"s\d+")
    names = {p: norm(p.name) for p in found}
    if aligned:
        order = [p for p in found if "crop" in names[p]]
    else:
        order = [p for p in found if names[p] == "rawvideo"] + [p for p in found if names[p] == "rawpic"]
        order += [p for p in found if "crop" not in names[p] and p not in order]
    for top in order:
        out = {}
        for subj in sorted(p for p in top.iterdir() if p.is_dir() and re.fullmatch(r"s\d+", p.name, re.I)):
            for entry in sorted(subj.iterdir()):
                m = ENTRY.match(entry.name)
                ok = (entry.is_file() and entry.suffix.lower() in VIDEO_EXTS) or (
                    entry.is_dir() and any(p.suffix.lower() in IMAGE_EXTS for p in entry.iterdir())
                )
                if m and ok:
                    out.setdefault((int(m.group(1)), m.group(2)), entry)
        if out:
            return out
    kind = "aligned-crop (cropped/)" if aligned else "rawvideo/ (or rawpic/)"
    raise ValueError(
        f"{root} does not look like CAS(ME)^2: no {kind} folder of s<NN>/<NN>_<code>* videos (expected {EXPECTED})"
    )


def read(
    root,
    aligned: bool = False,
    keep_others: bool = True,
    emotion_map: dict | None = None,
    annotations=None,
    include_unannotated: bool = True,
    fps: float = FPS,
) -> VideoList:
    root = check_root(root, "CAS(ME)^2", EXPECTED)
    sheet_file = annotation_file(
        root, annotations, lambda n: n.lower().startswith("cas(me)") and "code" in n.lower(), "CAS(ME)^2", EXPECTED
    )
    names = sheet_names(sheet_file)
    main = next((n for n in names if any(k in norm(n) for k in ("codefinal", "casfecode", "casmecode"))), 0)
    rows = read_table(sheet_file, main)
    head = find_header(rows, COLUMNS, optional=("aus", "emotion", "type"), search=5)
    if head is not None:
        r0, col = head
        rows = rows[r0 + 1 :]
    else:
        col = POSITIONAL
    subjects, codes = _naming(sheet_file, names)
    sources = _sources(root, aligned)
    mapper = LabelMapper(True, emotion_map)
    skipped: Counter = Counter()
    notes: Counter = Counter()
    coded: dict[tuple[int, str], list] = defaultdict(list)
    n_rows = 0
    for row in rows:
        row = list(row) + [None] * (max(col.values()) + 1 - len(row))
        part, clip = to_int(row[col["participant"]]), text(row[col["clip"]])
        if part is None or not clip or to_int(row[col["onset"]]) is None:
            continue
        n_rows += 1
        num = subjects.get(part, part)
        video_name = re.sub(r"_\d+$", "", clip)
        code = codes.get(norm(video_name))
        if code is None and re.fullmatch(r"\d{4}", video_name):
            code = video_name
        if code is None or (num, code) not in sources:
            skipped["video missing for a coded interval"] += 1
            continue
        coded[(num, code)].append(row)
    if n_rows and not coded:
        raise ValueError(
            f"{sheet_file}: none of its {n_rows} coded intervals matches a video under "
            f"{root} (check the 'naming rule1/2' sheets and s<NN>/<NN>_<code>* names)"
        )
    out = []
    for key, src in sorted(sources.items()):
        rows_k = coded.get(key, [])
        if not rows_k and not include_unannotated:
            continue
        if src.is_file():
            length, header_fps = video_length(src)
            numbers = np.arange(1, length + 1, dtype=np.int64)
            frames = None
        else:
            frames, numbers = sorted_images(src)
            length = len(frames)
        if length < 2:
            skipped["too few frames"] += 1
            continue
        spans, raws = [], []
        for row in rows_k:
            raw = text(row[col["emotion"]]) if "emotion" in col else ""
            cls = mapper(raw, None, force_keep=True)
            if cls < 0:
                notes[f"kept as others: class {raw.lower() or '(empty)'}"] += 1
            spans.append(_span(row, col, numbers, cls, notes))
            raws.append(raw)
        if rows_k:
            notes["coded intervals"] += len(spans)
        label, inten, phase, intervals = dense_labels(length, spans)
        if len(intervals) < len(spans):
            notes["coded interval outside the video"] += len(spans) - len(intervals)
        subject = f"s{key[0]:02d}"
        out.append(
            LabelledVideo(
                NAME,
                f"{subject}/{src.stem if src.is_file() else src.name}",
                subject,
                float(fps),
                label,
                inten,
                phase,
                intervals,
                aligned=aligned,
                frame_paths=frames,
                video_path=src if frames is None else None,
                frame_numbers=numbers,
                meta={"code": key[1], "emotions": raws, "clips": [text(r[col["clip"]]) for r in rows_k]},
            )
        )
    if not out:
        raise ValueError(f"{root}: no CAS(ME)^2 video could be read (expected {EXPECTED})")
    return VideoList(out, NAME, str(root), skipped, notes)


def _span(row, col, numbers, cls, notes: Counter) -> Span:
    on, ap, off = (to_int(row[col[k]]) for k in ("onset", "apex", "offset"))
    o = position(numbers, on)
    if ap is None or ap < on or (off and ap > off):
        ap = (on + off) // 2 if off and off > on else on
        notes["apex missing or outside onset..offset: midway"] += 1
    if not off or off <= 0:
        off = ap + (ap - on)
        notes["offset not coded: apex + (apex - onset)"] += 1
    a = position(numbers, ap)
    f = position(numbers, off) if off <= numbers[-1] else len(numbers) - 1
    if on > numbers[-1]:
        o = len(numbers)  # past the end: dense_labels drops it
        f = a = len(numbers)
    typ = text(row[col["type"]]) if "type" in col else ""
    return Span(o, a, a, f, cls, "micro" in typ.lower())
