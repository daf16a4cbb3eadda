"""Sequence generator: ground truth consistency, warps move the right landmarks the right
way (measured by real MediaPipe on the warped frames), determinism, identity split."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fer_ros.engine.align import to_canonical
from fer_ros.io.media import media_dir
from fer_ros.learn import synth
from fer_ros.model.classes import CLASS_NAMES, NEUTRAL, PHASES

MEDIA = media_dir()
needs_media = pytest.mark.skipif(not (MEDIA / "single_face.mp4").exists(),
                                 reason="sample media missing; run `make media`")


# ----------------------------------------------------------------------------- ground truth

@pytest.mark.parametrize("seed", range(40))
def test_intensity_track_matches_intervals(seed):
    rng = np.random.default_rng(seed)
    length = int(rng.integers(30, 200))
    label, inten, phase, intervals = synth.intensity_track(length, rng)
    seq = synth.Sequence(np.zeros((length, 1, 1, 3), np.uint8), label, inten, phase, intervals,
                         "x", "x", NEUTRAL, np.zeros((length, 2), np.float32))
    synth.check_ground_truth(seq)  # intervals == per-frame phase/class, 0 outside, peak at apex
    for iv in intervals:
        assert inten[iv.apex] == pytest.approx(iv.peak, abs=1e-4)
        assert inten[iv.onset:iv.offset + 1].max() == pytest.approx(iv.peak, abs=1e-4)
        lo, hi = (0.2, 0.4) if iv.micro else (0.55, 1.0)
        assert lo <= iv.peak <= hi
        # rises to the apex, falls after it
        assert np.all(np.diff(inten[iv.onset:iv.apex + 1]) >= -1e-6)
        assert np.all(np.diff(inten[iv.apex_end:iv.offset + 1]) <= 1e-6)


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
    seq = synth.Sequence(np.zeros((150, 1, 1, 3), np.uint8), label, inten, phase, ivs, "x", "x", 0,
                         np.zeros((150, 2), np.float32))
    with pytest.raises(AssertionError):
        synth.check_ground_truth(seq)


# ----------------------------------------------------------------------------- real faces

@pytest.fixture(scope="module")
def landmarker():
    from fer_ros.engine.landmarks import FaceLandmarker
    lm = FaceLandmarker()
    yield lm
    lm.close()


@pytest.fixture(scope="module")
def identities(landmarker):
    if not (MEDIA / "single_face.mp4").exists():
        pytest.skip("sample media missing; run `make media`")
    return synth.load_identities(MEDIA, mirror=False, landmarker=landmarker)


@pytest.fixture(scope="module")
def man(identities):
    """A neutral base: the man of single_face.mp4."""
    return next(i for i in identities if i.name.startswith("single_face.mp4@"))


def _canonical_landmarks(landmarker, bgr):
    faces = landmarker.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert faces, "MediaPipe lost the face on the warped frame"
    pts = max(faces, key=lambda f: f.box[2] * f.box[3]).landmarks
    m = to_canonical(pts)
    return pts[:, :2] @ m[:, :2].T + m[:, 2]


def _apex_frame(ident, cls, gain=1.0):
    geo = synth.FaceGeometry(ident.landmarks)
    disp = geo.displacement({k: v * gain for k, v in synth.EXPRESSION_AUS[cls].items()})
    return synth.Warper(ident.image, ident.landmarks).warp(disp)


def test_happy_warp_lifts_and_widens_lip_corners(landmarker, man):
    src = _canonical_landmarks(landmarker, man.image)
    out = _canonical_landmarks(landmarker, _apex_frame(man, "happy"))
    l, r = 61, 291
    assert out[l, 1] < src[l, 1] - 0.01 and out[r, 1] < src[r, 1] - 0.01  # corners up
    assert (out[r, 0] - out[l, 0]) > (src[r, 0] - src[l, 0]) + 0.02      # mouth wider


def test_surprise_warp_opens_mouth_and_raises_brows(landmarker, man):
    src = _canonical_landmarks(landmarker, man.image)
    out = _canonical_landmarks(landmarker, _apex_frame(man, "surprise"))
    gap = lambda c: c[14, 1] - c[13, 1]  # noqa: E731  inner lips apart (y down)
    assert gap(out) > gap(src) + 0.03
    brows = [105, 334, 66, 296]
    assert out[brows, 1].mean() < src[brows, 1].mean() - 0.015


def test_sad_warp_lowers_lip_corners(landmarker, man):
    src = _canonical_landmarks(landmarker, man.image)
    out = _canonical_landmarks(landmarker, _apex_frame(man, "sad"))
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


def test_identities_split_by_person(identities):
    train = {i.person for i in identities if i.split == "train"}
    held = {i.person for i in identities if i.split == "heldout"}
    assert train and held and not (train & held)
    # the three clips of the same man never straddle the split; noface_face.mov is not used
    assert "man" in train
    assert not any("noface_face" in i.name for i in identities)
    # test-only media never become identities
    assert not any(i.name.endswith("-ph") or "astronaut" in i.name for i in identities)
    for i in identities:
        assert i.image.shape == (synth.FRAME_SIZE, synth.FRAME_SIZE, 3)
        assert i.landmarks.shape == (478, 3)
        assert i.rest_label == synth.rest_label_of(i.rest_probs)


def test_identity_sources_never_list_test_media():
    names = [f for split in synth.IDENTITY_SOURCES.values() for f, _ in split]
    assert "noface_face.mov" not in names
    assert not any(n.endswith("-ph.jpg") for n in names)
    train_files = {f: k for f, k in synth.IDENTITY_SOURCES["train"]}
    for f, kind in synth.IDENTITY_SOURCES["heldout"]:
        if f in train_files:  # a shared group photo: disjoint faces
            a = set(train_files[f].split(":")[1].split(","))
            b = set(kind.split(":")[1].split(","))
            assert not (a & b)
        assert not kind.startswith("video:man")
