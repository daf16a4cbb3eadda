"""Sequence generator: ground truth consistency, warps move the right landmarks the right
way (measured by real MediaPipe on the warped frames), determinism, identity split."""

from __future__ import annotations

import contextlib

import cv2
import numpy as np
import pytest

from fer_ros.engine.align import to_canonical
from fer_ros.io.media import media_dir
from fer_ros.learn import identities as ids
from fer_ros.learn import synth
from fer_ros.model.classes import CLASS_NAMES, NEUTRAL, PHASES

MEDIA = media_dir()
needs_media = pytest.mark.skipif(
    not (MEDIA / "single_face.mp4").exists(), reason="sample media missing; run `make media`"
)


# ----------------------------------------------------------------------------- ground truth


@pytest.mark.parametrize("seed", range(40))
def test_intensity_track_matches_intervals(seed):
    rng = np.random.default_rng(seed)
    length = int(rng.integers(30, 200))
    label, inten, phase, intervals = synth.intensity_track(length, rng)
    seq = synth.Sequence(
        np.zeros((length, 1, 1, 3), np.uint8),
        label,
        inten,
        phase,
        intervals,
        "x",
        "x",
        NEUTRAL,
        np.zeros((length, 2), np.float32),
    )
    synth.check_ground_truth(seq)  # intervals == per-frame phase/class, 0 outside, peak at apex
    for iv in intervals:
        assert inten[iv.apex] == pytest.approx(iv.peak, abs=1e-4)
        assert inten[iv.onset : iv.offset + 1].max() == pytest.approx(iv.peak, abs=1e-4)
        lo, hi = (0.2, 0.4) if iv.micro else (0.55, 1.0)
        assert lo <= iv.peak <= hi
        # rises to the apex, falls after it
        assert np.all(np.diff(inten[iv.onset : iv.apex + 1]) >= -1e-6)
        assert np.all(np.diff(inten[iv.apex_end : iv.offset + 1]) <= 1e-6)


def test_tracks_cover_all_classes_and_micro():
    rng = np.random.default_rng(0)
    seen, micro = set(), 0
    for _ in range(200):
        _, _, _, ivs = synth.intensity_track(120, rng)
        seen |= {iv.label for iv in ivs}
        micro += sum(iv.micro for iv in ivs)
    assert seen == set(range(1, len(CLASS_NAMES)))
    assert micro > 20


def test_check_ground_truth_catches_a_wrong_label():
    label, inten, phase, ivs = synth.intensity_track(150, np.random.default_rng(5))
    assert ivs
    label = label.copy()
    label[ivs[0].apex] = (ivs[0].label % 6) + 1  # another expression class
    seq = synth.Sequence(
        np.zeros((150, 1, 1, 3), np.uint8), label, inten, phase, ivs, "x", "x", 0, np.zeros((150, 2), np.float32)
    )
    with pytest.raises(AssertionError):
        synth.check_ground_truth(seq)


# ----------------------------------------------------------------------------- real faces


@pytest.fixture(scope="module")
def front():
    from fer_ros.engine.front_end import FrontEnd

    with contextlib.closing(FrontEnd(48, True)) as f:
        yield f


@pytest.fixture(scope="module")
def identities():
    if not (MEDIA / "single_face.mp4").exists():
        pytest.skip("sample media missing; run `make media`")
    return ids.media_identities(MEDIA, mirror=False)


@pytest.fixture(scope="module")
def man(identities):
    """A neutral base: the man of single_face.mp4."""
    return next(i for i in identities if i.name.startswith("single_face.mp4@"))


def _canonical_landmarks(front, bgr):
    faces = front.faces(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert faces, "MediaPipe lost the face on the warped frame"
    pts = max(faces, key=lambda f: f.box[2] * f.box[3]).landmarks
    m = to_canonical(pts)
    return pts[:, :2] @ m[:, :2].T + m[:, 2]


def _apex_frame(ident, cls, gain=1.0):
    geo = synth.FaceGeometry(ident.landmarks)
    disp = geo.displacement({k: v * gain for k, v in synth.EXPRESSION_AUS[cls].items()})
    return synth.Warper(ident.image, ident.landmarks).warp(disp)


def test_happy_warp_lifts_and_widens_lip_corners(front, man):
    src = _canonical_landmarks(front, man.image)
    out = _canonical_landmarks(front, _apex_frame(man, "happy"))
    left, right = 61, 291
    assert out[left, 1] < src[left, 1] - 0.01 and out[right, 1] < src[right, 1] - 0.01  # corners up
    assert (out[right, 0] - out[left, 0]) > (src[right, 0] - src[left, 0]) + 0.02  # mouth wider


def test_surprise_warp_opens_mouth_and_raises_brows(front, man):
    src = _canonical_landmarks(front, man.image)
    out = _canonical_landmarks(front, _apex_frame(man, "surprise"))
    gap = lambda c: c[14, 1] - c[13, 1]  # noqa: E731  inner lips apart (y down)
    assert gap(out) > gap(src) + 0.03
    brows = [105, 334, 66, 296]
    assert out[brows, 1].mean() < src[brows, 1].mean() - 0.015


def test_sad_warp_lowers_lip_corners(front, man):
    src = _canonical_landmarks(front, man.image)
    out = _canonical_landmarks(front, _apex_frame(man, "sad"))
    assert out[[61, 291], 1].mean() > src[[61, 291], 1].mean() + 0.008


def test_generated_sequence_is_deterministic_and_consistent(man):
    cfg = synth.SynthConfig(min_len=30, max_len=30)
    a = synth.generate_sequence(man, np.random.default_rng(7), cfg=cfg)
    b = synth.generate_sequence(man, np.random.default_rng(7), cfg=cfg)
    c = synth.generate_sequence(man, np.random.default_rng(8), cfg=cfg)
    assert a.frames.shape == (30, synth.FRAME_SIZE, synth.FRAME_SIZE, 3)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.intensity, b.intensity)
    assert a.intervals == b.intervals
    assert not np.array_equal(a.frames, c.frames)
    synth.check_ground_truth(a)
    assert a.rest_label == man.rest_label == NEUTRAL
    assert set(np.unique(a.phase)) <= set(range(len(PHASES)))


def test_test_identities_are_the_sample_media_people(identities):
    """Every sample-media person is a test base (learn.identities): never trained or selected on."""
    assert identities and {i.split for i in identities} == {"test"}
    names = {i.name.split("@")[0].split("#")[0] for i in identities}
    assert {"WolfgangLanger_Pexels.mp4", "single_face.mp4", "multi_face.jpg"} <= names
    assert not any("noface_face" in i.name for i in identities)  # face_noface.mov reversed: no new base
    # test-only media never become identities
    assert not any(i.name.endswith("-ph.jpg") or "astronaut" in i.name for i in identities)
    for i in identities:
        assert i.image.shape == (synth.FRAME_SIZE, synth.FRAME_SIZE, 3)
        assert i.landmarks.shape == (478, 3)
        assert i.rest_label == ids.rest_label_of(i.rest_probs)
    ids.check_disjoint(identities)


def test_fer2013_bases_split_by_usage(tmp_path):
    """train bases from FER2013 Training, val bases from PublicTest: disjoint people by construction."""
    from dataset_fixtures import build_fer2013

    path = build_fer2013(tmp_path / "fer", "folders", per_class=2)["path"]
    train = ids.fer2013_identities(path, "train", n=1, mirror=True)
    val = ids.fer2013_identities(path, "val", n=1, mirror=False)
    assert len(train) == 2 and len(val) == 1  # a base and its mirror image
    assert all(i.split == "train" and "train/neutral/" in i.person for i in train)
    assert all(i.split == "val" and "validation/neutral/" in i.person for i in val)
    ids.check_disjoint(train + val)
    assert train[0].image.shape == (synth.FRAME_SIZE, synth.FRAME_SIZE, 3)
