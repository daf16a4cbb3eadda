"""Dataset readers on tiny fixtures in each distribution layout (test/dataset_fixtures.py)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from dataset_fixtures import BUILDERS, _video

from fer_ros.learn import DATA_DIR
from fer_ros.learn.datasets import (
    OTHER,
    READERS,
    leave_one_subject_out,
    load_dataset,
    subject_folds,
    subject_split,
    subjects_of,
    validate,
)
from fer_ros.learn.datasets.common import LabelMapper, Span, dense_labels
from fer_ros.model.classes import CLASS_NAMES, NEUTRAL, PHASES

ONSET, APEX, OFFSET = PHASES.index("onset"), PHASES.index("apex"), PHASES.index("offset")


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    """name -> (root, expected), each layout built once."""
    base = tmp_path_factory.mktemp("datasets")
    built = {}
    for name, build in BUILDERS.items():
        root = base / name
        root.mkdir()
        expected = build(root)
        built[name] = (expected.get("root", root), expected)
    return built


def by_name(videos):
    return {v.name: v for v in videos}


def check_frames(video):
    frames = list(video.frames())
    assert len(frames) == len(video)
    for f in frames:
        assert f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3
    assert len(list(video.frames(1, 3))) == 2


def check_curve(video, iv):
    """Intensity 0 outside, rises to 1 at apex, holds, falls; phases in order."""
    i, p = video.intensity, video.phase
    assert (i[iv.onset : iv.offset + 1] > 0).all()
    assert np.all(np.diff(i[iv.onset : iv.apex + 1]) > 0)
    assert np.allclose(i[iv.apex : iv.apex_end + 1], 1.0)
    assert np.all(np.diff(i[iv.apex_end : iv.offset + 1]) < 0)
    assert (p[iv.onset : iv.apex] == ONSET).all()
    assert (p[iv.apex : iv.apex_end + 1] == APEX).all()
    assert (p[iv.apex_end + 1 : iv.offset + 1] == OFFSET).all()


# ----------------------------------------------------------------------------- posed sequences


@pytest.mark.parametrize("name", ["ckplus", "oulu"])
def test_posed_sequences_rise_linearly_to_the_last_frame(fixture, name):
    root, exp = fixture[name]
    videos = load_dataset(name, root)
    got = by_name(videos)
    assert set(got) == set(exp["videos"])
    for vname, (subject, cls, n) in exp["videos"].items():
        v = got[vname]
        validate(v)
        assert v.subject == subject and len(v) == n and not v.aligned
        assert v.intervals[0].label == CLASS_NAMES.index(cls)
        assert v.label[0] == NEUTRAL and (v.label[1:] == CLASS_NAMES.index(cls)).all()
        assert np.allclose(v.intensity, np.arange(n) / (n - 1))  # t / (T - 1)
        assert v.phase[0] == PHASES.index("neutral") and v.phase[-1] == APEX
        assert (v.phase[1:-1] == ONSET).all()
        iv = v.intervals[0]
        assert (iv.onset, iv.apex, iv.apex_end, iv.offset, iv.micro) == (1, n - 1, n - 1, n - 1, False)
        check_frames(v)


def test_ckplus_skips_unlabelled_and_contempt_with_counts(fixture):
    root, exp = fixture["ckplus"]
    videos = load_dataset("ckplus", root)
    assert dict(videos.skipped) == exp["skipped"]
    assert "contempt" in videos.summary()
    kept = by_name(load_dataset("ckplus", root, keep_others=True))
    v = kept[exp["contempt"]]
    assert v.intervals[0].label == OTHER and (v.label[1:] == OTHER).all() and not v.scored[1:].any()
    mapped = by_name(load_dataset("ck+", root / "cohn-kanade-images" / "..", emotion_map={"contempt": "disgust"}))
    assert mapped[exp["contempt"]].intervals[0].label == CLASS_NAMES.index("disgust")


def test_oulu_modality_and_illumination(fixture):
    root, exp = fixture["oulu"]
    weak = by_name(load_dataset("oulu", root, illumination="weak"))
    assert set(weak) == set(exp["weak"])
    ni = by_name(load_dataset("oulu-casia", root / "OriginalImg", modality="NI"))
    assert set(ni) == set(exp["ni"])
    with pytest.raises(ValueError, match="Dark"):
        load_dataset("oulu", root, illumination="Dark")
    with pytest.raises(ValueError, match="aligned-crop"):
        load_dataset("oulu", root, aligned=True)


# ----------------------------------------------------------------------------- MMI


def test_mmi_sessions_onset_apex_offset_from_the_au_coding(fixture):
    root, exp = fixture["mmi"]
    videos = load_dataset("mmi", root)
    got = by_name(videos)
    assert set(got) == set(exp["videos"])
    assert dict(videos.skipped) == exp["skipped"]
    for vname, (subject, cls, n, span) in exp["videos"].items():
        v = got[vname]
        validate(v)
        assert v.subject == subject and len(v) == n and v.video_path is not None
        assert v.fps == pytest.approx(25.0)
        iv = v.intervals[0]
        assert (iv.onset, iv.apex, iv.apex_end, iv.offset) == span
        assert iv.label == CLASS_NAMES.index(cls)
        check_curve(v, iv)
        assert (v.label[: iv.onset] == NEUTRAL).all() and (v.intensity[iv.offset + 1 :] == 0).all()
        check_frames(v)


# ----------------------------------------------------------------------------- micro-expression clips


@pytest.mark.parametrize("name", ["casme2", "samm"])
def test_micro_clips_from_the_coding_sheet(fixture, name):
    root, exp = fixture[name]
    videos = load_dataset(name, root)
    got = by_name(videos)
    assert set(got) == set(exp["videos"])
    assert dict(videos.skipped) == exp["skipped"]
    for vname, (subject, cls, n, span) in exp["videos"].items():
        v = got[vname]
        validate(v)
        assert v.subject == subject and len(v) == n and v.fps == 200.0 and not v.aligned
        iv = v.intervals[0]
        assert (iv.onset, iv.apex, iv.apex_end, iv.offset) == span and iv.micro
        assert iv.label == CLASS_NAMES.index(cls) and iv.peak == 1.0
        check_curve(v, iv)
        outside = np.r_[0 : iv.onset, iv.offset + 1 : n].astype(int)
        assert (v.intensity[outside] == 0).all() and (v.label[outside] == NEUTRAL).all()
        check_frames(v)
    others = by_name(load_dataset(name, root, keep_others=True))
    for vname, (_subject, _n, span) in exp["others"].items():
        v = others[vname]
        validate(v)
        iv = v.intervals[0]
        assert iv.label == OTHER and (iv.onset, iv.apex, iv.apex_end, iv.offset) == span
        assert not v.scored[iv.onset : iv.offset + 1].any()


def test_casme2_uncoded_apex_goes_midway_and_is_noted(fixture):
    root, _ = fixture["casme2"]
    videos = load_dataset("casme2", root)
    v = by_name(videos)["sub02/EP01_11f"]
    assert v.meta["notes"] and videos.notes["apex missing or outside onset..offset: midway"] == 1


def test_casme2_aligned_reads_the_cropped_frames(fixture):
    root, exp = fixture["casme2"]
    got = by_name(load_dataset("casme2", root, aligned=True))
    assert set(got) == set(exp["videos"])
    for v in got.values():
        assert v.aligned and all(p.name.startswith("reg_img") for p in v.frame_paths)
        assert "Cropped" in v.source
        check_frames(v)
    raw = by_name(load_dataset("casme2", root))
    assert all("CASME2_RAW_selected" in v.source for v in raw.values())


# ----------------------------------------------------------------------------- long videos


def test_casme2lv_long_videos_with_every_interval(fixture):
    root, exp = fixture["casme2lv"]
    videos = load_dataset("casme2lv", root)
    got = by_name(videos)
    assert set(got) == set(exp["videos"])
    assert dict(videos.skipped) == exp["skipped"]
    assert videos.notes["offset not coded: apex + (apex - onset)"] == 1
    for vname, (subject, n, spans) in exp["videos"].items():
        v = got[vname]
        validate(v)
        assert v.subject == subject and len(v) == n and v.fps == 30.0
        have = [(iv.onset, iv.apex, iv.apex_end, iv.offset, iv.label, iv.micro) for iv in v.intervals]
        want = [(o, a, a1, f, c if c == -1 else CLASS_NAMES.index(c), m) for o, a, a1, f, c, m in spans]
        assert have == want
        check_frames(v)
    empty = got["s16/16_0101disgustingteeth"]
    assert (empty.label == NEUTRAL).all() and (empty.intensity == 0).all()
    disgust = got["s15/15_0101disgustingteeth"]
    for iv in disgust.intervals:  # no overlaps here: each interval's own curve
        check_curve(disgust, iv)
    # Overlap: the micro surprise (7..10, apex 8) inside the macro (2..19, apex 9) wins only
    # where its intensity is higher (its apex frame).
    funny = got["s15/15_0502funnyerrors"]
    surprise = CLASS_NAMES.index("surprise")
    assert np.flatnonzero(funny.label == surprise).tolist() == [8]
    assert funny.phase[8] == APEX and funny.intensity[8] == 1.0
    assert (funny.label[2:20][np.arange(2, 20) != 8] == OTHER).all()
    assert len(load_dataset("casme2lv", root, include_unannotated=False)) == 2
    happy = by_name(load_dataset("casme2lv", root, emotion_map={"positive": "happy"}))
    assert happy["s15/15_0502funnyerrors"].intervals[0].label == CLASS_NAMES.index("happy")


def test_readers_find_their_folders_from_a_parent(fixture):
    parent = fixture["ckplus"][0].parent  # holds every fixture: each reader must pick its own
    for name, (root, _) in fixture.items():
        assert sorted(v.name for v in load_dataset(name, parent)) == sorted(v.name for v in load_dataset(name, root))


def test_casme2_coding_sheet_as_csv(fixture, tmp_path):
    import csv

    from fer_ros.learn.datasets.files import read_table

    root, exp = fixture["casme2"]
    copy = tmp_path / "casme2"
    shutil.copytree(root / "CASME2_RAW_selected", copy / "CASME2_RAW_selected")
    with open(copy / "CASME2-coding-20140508.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(read_table(root / "CASME2-coding-20140508.xlsx"))
    assert set(by_name(load_dataset("casme2", copy))) == set(exp["videos"])


# ----------------------------------------------------------------------------- errors

FOLDER_READERS = sorted(set(READERS) - {"segments"})  # segments reads a CSV file, tested below


@pytest.mark.parametrize("name", FOLDER_READERS)
def test_wrong_folders_give_a_clear_error(tmp_path, name):
    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError, match="no such folder"):
        load_dataset(name, missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=str(empty)):
        load_dataset(name, empty)
    (empty / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        load_dataset(name, empty / "file.txt")


@pytest.mark.parametrize("name", FOLDER_READERS)
def test_another_datasets_folder_is_refused(fixture, name):
    other = "casme2" if name != "casme2" else "ckplus"
    with pytest.raises(ValueError, match="does not look like|no coding spreadsheet|no .* folder"):
        load_dataset(name, fixture[other][0])


def test_missing_annotations_and_bad_options(fixture, tmp_path):
    root, _ = fixture["casme2"]
    copy = tmp_path / "casme2"
    shutil.copytree(root / "CASME2_RAW_selected", copy / "CASME2_RAW_selected")
    with pytest.raises(ValueError, match="coding spreadsheet"):
        load_dataset("casme2", copy)
    (copy / "CASME2-coding-20140508.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(ValueError, match="cannot read"):
        load_dataset("casme2", copy)
    ck_root, _ = fixture["ckplus"]
    copy = tmp_path / "ck"
    shutil.copytree(ck_root / "cohn-kanade-images", copy / "cohn-kanade-images")
    with pytest.raises(ValueError, match="Emotion"):
        load_dataset("ckplus", copy)
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("fer2013", root)
    with pytest.raises(ValueError, match="unknown option.*colour"):
        load_dataset("casme2", root, colour=True)
    with pytest.raises(ValueError, match="aligned"):
        load_dataset("ckplus", ck_root, aligned=True)
    with pytest.raises(ValueError, match="emotion_map"):
        load_dataset("ckplus", ck_root, emotion_map={"contempt": "smirk"})


# ----------------------------------------------------------------------------- labels and splits


def test_dense_labels_match_the_generator_conventions():
    label, inten, phase, ivs = dense_labels(12, [Span(2, 5, 6, 9, 3, True)])
    assert np.allclose(inten[2:5], [1 / 4, 2 / 4, 3 / 4]) and np.allclose(inten[5:7], 1)
    assert np.allclose(inten[7:10], [1 - 1 / 4, 1 - 2 / 4, 1 - 3 / 4])
    assert (inten[[0, 1, 10, 11]] == 0).all() and (label[2:10] == 3).all()
    assert (ivs[0].onset, ivs[0].apex, ivs[0].apex_end, ivs[0].offset, ivs[0].micro) == (2, 5, 6, 9, True)
    # Out-of-range annotations are clipped to the video or dropped.
    _, _, _, ivs = dense_labels(5, [Span(3, 8, 8, 12, 1), Span(7, 8, 8, 9, 1)])
    assert [(iv.onset, iv.apex, iv.offset) for iv in ivs] == [(3, 4, 4)]
    m = LabelMapper()
    assert m("Happiness") == CLASS_NAMES.index("happy") and m(" ANGER ") == CLASS_NAMES.index("angry")
    assert m("repression") is None and LabelMapper(keep_others=True)("repression") == OTHER


def test_subject_splits_never_share_a_person(fixture):
    videos = []
    for name in ("ckplus", "oulu", "casme2", "samm"):
        videos += load_dataset(name, fixture[name][0], keep_others=True)
    subjects = subjects_of(videos)
    assert len(subjects) >= 8
    for seed in range(5):
        train, held = subject_split(videos, 0.3, seed)
        assert train and held and len(train) + len(held) == len(videos)
        assert not set(subjects_of(train)) & set(subjects_of(held))
    assert subject_split(videos, 0.3, 1) == subject_split(videos, 0.3, 1)
    folds = list(leave_one_subject_out(videos))
    assert [s for s, _, _ in folds] == subjects
    for s, train, test in folds:
        assert subjects_of(test) == [s] and s not in subjects_of(train)
    tests = [subjects_of(test) for _, test in subject_folds(videos, 3, seed=0)]
    assert sorted(s for t in tests for s in t) == subjects


# ----------------------------------------------------------------------------- segments (CSV)


def _segments_csv(folder, rows, header="video,first,last,label,subject"):
    path = folder / "labels.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_segments_label_what_a_person_marked_and_nothing_else(tmp_path):
    _video(tmp_path / "clip.avi", 30)
    csv = _segments_csv(tmp_path, ["clip.avi,2,9,happiness,p1", "clip.avi,12,15,neutral,p1", "clip.avi,20,27,sad,p1"])
    videos = load_dataset("segments", csv)
    (v,) = videos
    assert len(v) == 30 and v.subject == "p1" and not v.intensity_known
    happy, sad = CLASS_NAMES.index("happy"), CLASS_NAMES.index("sad")
    assert [(iv.onset, iv.offset, iv.label) for iv in v.intervals] == [(2, 9, happy), (20, 27, sad)]
    assert (v.label[2:10] == happy).all() and (v.label[20:28] == sad).all()
    assert (v.label[12:16] == NEUTRAL).all() and (v.intensity[12:16] == 0).all()
    unlabelled = np.r_[0:2, 10:12, 16:20, 28:30]
    assert (v.label[unlabelled] == OTHER).all() and not v.scored[unlabelled].any()
    assert videos.notes["frames not labelled"] == len(unlabelled)
    assert len(list(v.frames())) == 30
    # a folder of CSVs reads the same
    assert [len(x) for x in load_dataset("segments", tmp_path)] == [30]


@pytest.mark.parametrize(
    "rows, words",
    [
        (["clip.avi,2,9,happy", "clip.avi,8,12,sad"], "overlaps"),
        (["clip.avi,2,40,happy"], "has 30 frames"),
        (["clip.avi,9,2,happy"], "bad segment"),
        (["clip.avi,x,2,happy"], "frame numbers"),
        (["other.avi,1,2,happy"], "not found"),
    ],
)
def test_segments_errors_name_the_line(tmp_path, rows, words):
    _video(tmp_path / "clip.avi", 30)
    csv = _segments_csv(tmp_path, rows, header="video,first,last,label")
    with pytest.raises(ValueError, match=words):
        load_dataset("segments", csv)


def test_segments_missing_column_or_file(tmp_path):
    csv = _segments_csv(tmp_path, ["clip.avi,1,2"], header="video,first,last")
    with pytest.raises(ValueError, match="missing column.*label"):
        load_dataset("segments", csv)
    with pytest.raises(ValueError, match="no label CSV"):
        load_dataset("segments", tmp_path / "nope.csv")


def test_shipped_real_clip_labels_read_the_sample_clip():

    csv = DATA_DIR / "real_clip_labels.csv"
    (v,) = load_dataset("segments", csv)
    assert len(v) == 472 and v.video_path.name == "WolfgangLanger_Pexels.mp4"
    assert [CLASS_NAMES[iv.label] for iv in v.intervals] == ["sad", "fear", "happy"]
    assert int(v.scored.sum()) == 136 + 91 + 236
