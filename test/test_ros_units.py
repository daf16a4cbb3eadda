"""The ROS layer's pure rules, without a running node: stamp order, box clipping, output namespaces,
ROS4HRI ids and regions, diagnostics levels, parameter types."""

from __future__ import annotations

import pytest

from fer_ros.ros.hri import hri_id, random_prefix, roi_fields
from fer_ros.ros.messages import clip_box, output_namespace
from fer_ros.ros.timeline import IN_ORDER, JITTER, JUMP, StampGuard

MS = 1_000_000  # ns


def test_stamp_guard_tells_jitter_from_a_jump():
    g = StampGuard(jitter=0.5)
    assert g.classify(10_000 * MS) == IN_ORDER
    g.accept(10_000 * MS)
    assert g.classify(10_000 * MS) == IN_ORDER, "the same stamp again is not going back"
    assert g.classify(9_999 * MS) == JITTER and g.behind(9_999 * MS) == pytest.approx(0.001)
    assert g.classify(9_500 * MS) == JITTER, "exactly stamp_jitter back is still jitter"
    assert g.classify(9_500 * MS - 1) == JUMP
    g.accept(9_999 * MS)
    assert g.newest == 10_000 * MS, "an older stamp never moves the newest one back"
    g.reset()
    assert g.classify(1) == IN_ORDER, "after a reset any stamp starts the new timeline"
    assert StampGuard(jitter=0.0).classify(5) == IN_ORDER


def test_boxes_are_clipped_to_the_image():
    assert clip_box((-26.7, 100, 153.6, 190), (400, 360)) == pytest.approx((0.0, 100, 126.9, 190))
    assert clip_box((300, 250, 150, 150), (400, 360)) == pytest.approx((300, 250, 100, 110))
    assert clip_box((-50, -50, 20, 20), (400, 360)) == (0.0, 0.0, 0.0, 0.0), "wholly outside: empty"
    assert clip_box((10, 20, 30, 40), None) == (10, 20, 30, 40)
    roi = roi_fields((-26.7, 100, 153.6, 190), (400, 360))
    assert roi["xmin"] == 0.0 and roi["xmax"] == pytest.approx(126.9 / 400) and roi["ymax"] == pytest.approx(290 / 360)
    assert all(0.0 <= roi[k] <= 1.0 for k in ("xmin", "ymin", "xmax", "ymax"))
    assert roi_fields((350, 300, 100, 100), (400, 360))["xmax"] == 1.0


@pytest.mark.parametrize(
    "topic, ns",
    [
        ("/cam_left/image_raw", "/cam_left/fer_node"),
        ("/image_raw", "/fer_node"),
        ("/robot/head/camera/image_raw", "/robot/head/camera/fer_node"),
    ],
)
def test_a_cameras_outputs_live_in_its_namespace(topic, ns):
    assert output_namespace(topic, "fer_node") == ns


def test_ros4hri_ids_are_short_valid_topic_tokens():
    import re

    prefix = random_prefix()
    assert re.fullmatch(r"[a-z]{2}", prefix)
    assert hri_id(prefix, 7) == f"{prefix}007" and hri_id("kq", 1234) == "kq1234"
    assert len({random_prefix() for _ in range(50)}) > 1


def test_diagnostics_levels():
    pytest.importorskip("diagnostic_msgs", reason="needs the ROS 2 wheels (make ros)")
    from diagnostic_msgs.msg import DiagnosticStatus

    from fer_ros.ros.camera import Counters
    from fer_ros.ros.diagnostics import Limits, Window, level_of, updated_rate

    def window(usual=None, **d):
        return Window("/c", Counters(), Counters(**d), 1.0, [], [], [], 0, usual)

    assert level_of(window(received=30, processed=30), Limits())[0] == DiagnosticStatus.OK
    assert level_of(window(), Limits())[1] == "no images received"
    assert level_of(window(received=30, processed=29, failed=1), Limits())[0] == DiagnosticStatus.ERROR
    level, msg = level_of(window(received=30, processed=10, dropped=20), Limits(max_dropped=0.5))
    assert level == DiagnosticStatus.WARN and "67% of the frames not processed" in msg
    assert level_of(window(received=30, processed=20, dropped=10), Limits(max_dropped=0.5))[0] == DiagnosticStatus.OK
    level, msg = level_of(window(usual=30.0, received=10, processed=10), Limits(rate_fall=0.5))
    assert level == DiagnosticStatus.WARN and "input rate fell from 30.0 Hz" in msg
    assert level_of(window(usual=30.0, received=20, processed=20), Limits(rate_fall=0.5))[0] == DiagnosticStatus.OK
    assert updated_rate(None, 30.0) == 30.0 and updated_rate(30.0, 0.0) == 30.0
    assert 20.0 < updated_rate(30.0, 10.0) < 30.0


def test_repeated_warnings_are_throttled_with_a_count():
    import time

    from fer_ros.ros.camera import Throttle

    t = Throttle(period=0.2)
    assert t("jump", "stamp went back") == "stamp went back"
    assert t("jump", "stamp went back") is None and t("jump", "stamp went back") is None
    assert t("bad", "frame skipped") == "frame skipped", "each kind has its own throttle"
    time.sleep(0.25)
    assert t("jump", "stamp went back") == "stamp went back (2 more like it in the last 0.2 s)"
