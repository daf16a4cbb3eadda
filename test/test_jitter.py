"""Jittered stills: a real face held before a swaying, noisy camera, through the front end."""

from __future__ import annotations

import numpy as np
from dataset_fixtures import fer2013_faces

from fer_ros.engine.geometry import GEOMETRY_DIM, SHAPE_DIM
from fer_ros.learn import batches
from fer_ros.learn.stills import Jitter, cached_crops, cached_jittered, jitter_frames


def test_jitter_frames_move_within_the_bounds_and_repeat_with_the_seed():
    face = fer2013_faces(1)[0]
    a = jitter_frames(face, 12, np.random.default_rng(3))
    b = jitter_frames(face, 12, np.random.default_rng(3))
    assert a.shape == (12, 48, 48) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    # The first frame is the still plus sensor noise only; later frames drift, but stay close.
    first = np.abs(a[0].astype(float) - face).mean()
    later = np.abs(a[1:].astype(float) - face).mean(axis=(1, 2))
    assert first < 4.0 and later.max() > first and later.max() < 40.0
    still = jitter_frames(
        face, 4, np.random.default_rng(0), Jitter(rotate_step=0, shift_step=0, scale_step=0, gain_step=0, noise=0)
    )
    assert (still == face[None]).all()


def test_jittered_stills_are_short_videos_of_the_same_face_through_the_front_end(tmp_path):
    faces = np.stack(fer2013_faces(5))
    labels = np.arange(5)
    crops, geo, lab, pick = cached_jittered(faces, labels, 48, True, 3, 6, seed=1, cache_dir=tmp_path)
    assert crops.shape == (3, 6, 48, 48) and geo.shape == (3, 6, GEOMETRY_DIM)
    assert len(set(pick.tolist())) == 3 and (lab == labels[pick]).all()
    # Frame 0 is the face as a still reads it (the same front end, offset 0 from its neutral)...
    ref = cached_crops(faces[pick], labels[pick], 48, True, cache_dir=None)
    assert np.abs(crops[:, 0].astype(float) - ref.crops).mean() < 8.0
    assert np.abs(geo[:, 0, SHAPE_DIM:]).max() == 0
    # ...later frames differ a little (the sway) and their offsets from the running neutral are small.
    moved = np.abs(np.diff(crops.astype(float), axis=1)).mean()
    assert 0.5 < moved < 30.0
    assert 0 < np.abs(geo[:, 1:, SHAPE_DIM:]).mean() < 0.5
    # The cache answers the same call with the same arrays, without the front end.
    again = cached_jittered(faces, labels, 48, True, 3, 6, seed=1, cache_dir=tmp_path)
    np.testing.assert_array_equal(again[0], crops)
    assert len(list(tmp_path.glob("jitter-*.npz"))) == 1
    # As training sequences: one class on every frame, every frame taken.
    seqs = batches.jitter_sequences(crops, geo, lab, ["a", "b", "c"])
    assert [s.kind for s in seqs] == ["jitter"] * 3 and (seqs[1].label == lab[1]).all()
    _, idx, shift = batches.training_item(seqs[0], np.random.default_rng(0), {})
    assert idx.tolist() == list(range(6)) and shift is None
