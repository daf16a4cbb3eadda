"""``input_mode:=ros4hri``: the expression stage of a ROS4HRI pipeline (e.g. after hri_face_detect).

Instead of camera images, the node follows a detector's faces: ``/humans/faces/tracked``
(hri_msgs/IdsList) says which faces exist, and each face's ``/humans/faces/<id>/aligned``
(sensor_msgs/Image, an aligned crop) feeds an engine of its own in aligned mode (no
detection; the crop is the face). Results go out under the detector's id:
``/humans/faces/<id>/expression``, and fer_msgs on the node's ``~/expressions`` and
``~/intervals`` with ``hri_id`` = that id. ``tracked`` and ``roi`` stay the detector's.

A face that leaves the list is retired by the worker: its open intervals close ("face
lost"), its publishers and subscription go, its engine is reset and kept for the next face
(worker.POOL_SIZE), so faces coming and going neither leak nor reload the model.
"""

from __future__ import annotations

from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image

from .camera import Camera
from .hri import FACES_NS, TRACKED_TOPIC

# Best effort matches a detector publishing either way; a lost list is replaced by the next frame's.
TRACKED_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST)


class HriInput:
    def __init__(self, node, outputs):
        self.node, self.outputs = node, outputs
        self._tracked_sub = None

    def activate(self) -> None:
        from hri_msgs.msg import IdsList

        self._tracked_sub = self.node.create_subscription(
            IdsList, TRACKED_TOPIC, self._on_tracked, TRACKED_QOS, callback_group=self.node.input_group
        )

    def _qos(self):
        if self.node.settings.image_qos == "sensor_data":
            return qos_profile_sensor_data
        return QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)

    def _on_tracked(self, msg) -> None:
        """Executor thread (input group): follow the detector's list of faces."""
        node = self.node
        wanted = [i for i in dict.fromkeys(msg.ids) if i]
        with node.lock:
            have = {c.upstream_id: c for c in node.cameras if not c.gone}
            for fid in wanted:
                if fid in have:
                    continue
                try:
                    cam = Camera(f"{FACES_NS}/{fid}/aligned", upstream_id=fid, outputs=self.outputs)
                    cam.subscription = node.create_subscription(
                        Image,
                        cam.topic,
                        lambda m, info, cam=cam: node.on_image(cam, m, info),
                        self._qos(),
                        callback_group=node.input_group,
                    )
                except Exception as e:  # e.g. an id that is not a valid topic name token
                    line = node._throttle("bad id", f"ROS4HRI face id {fid!r} skipped: {type(e).__name__}: {e}")
                    if line:
                        node.log.warning(line)
                    continue
                node.cameras.append(cam)
            for fid, cam in have.items():
                if fid not in wanted:
                    self._drop_subscription(cam)
                    cam.gone = True
            node.lock.notify_all()

    def _drop_subscription(self, cam: Camera) -> None:
        if cam.subscription is not None:
            self.node.destroy_subscription(cam.subscription)
            cam.subscription = None

    def deactivate(self) -> None:
        """Unsubscribe; the node closes the faces' intervals, then ``retire_all``."""
        if self._tracked_sub is not None:
            self.node.destroy_subscription(self._tracked_sub)
            self._tracked_sub = None
        for cam in self.node.cameras:
            self._drop_subscription(cam)

    def retire_all(self) -> None:
        """After deactivate (the worker has stopped): every face is forgotten, engines kept."""
        for cam in list(self.node.cameras):
            self.node.worker.retire(cam)
        self.node.cameras = []

    def close(self) -> None:
        self.deactivate()
