"""Launch fer_node with the package's config/fer.yaml and config/fer_node.yaml.

    ros2 launch fer_ros fer_ros.launch.py image_topic:=/camera/image_raw device:=cuda model:=baseline
    ros2 launch fer_ros fer_ros.launch.py image_topic:=/cam_left/image_raw,/cam_right/image_raw lifecycle:=true

Arguments: ``image_topic`` (one topic, or several separated by commas), ``input_mode``
(images | ros4hri), ``device`` and ``model`` (empty: the YAML's), ``compressed``,
``image_qos``, ``ros4hri``, ``use_sim_time`` (bag replay with ``ros2 bag play --clock``),
``config`` and ``node_config`` (other parameter files), ``name`` and ``namespace`` of the
node, and ``lifecycle``: false starts the plain node (it configures and activates itself);
true starts it managed, as a launch_ros LifecycleNode, and this file drives it to active
(configure, then activate once it is inactive), as hri_face_detect's launch file does.
The launch and launch_ros imports live inside the functions, so this file imports where
they are absent.
"""

import os

TRUE = ("true", "1", "yes", "on")


def _node(context):
    from launch.actions import EmitEvent, RegisterEventHandler
    from launch.events import matches_action
    from launch_ros.actions import LifecycleNode, Node
    from launch_ros.event_handlers import OnStateTransition
    from launch_ros.events.lifecycle import ChangeState
    from lifecycle_msgs.msg import Transition

    arg = dict(context.launch_configurations.items())
    overrides = {
        "input_mode": arg["input_mode"],
        "image_topics": [t.strip() for t in arg["image_topic"].split(",") if t.strip()],
        "compressed": arg["compressed"].lower() in TRUE,
        "image_qos": arg["image_qos"],
        "ros4hri": arg["ros4hri"].lower() in TRUE,
        "use_sim_time": arg["use_sim_time"].lower() in TRUE,
    }
    overrides.update({k: arg[k] for k in ("device", "model") if arg[k]})
    common = dict(
        package="fer_ros",
        executable="fer_node",
        name=arg["name"],
        namespace=arg["namespace"],
        output="screen",
        parameters=[arg["config"], arg["node_config"], overrides],
    )
    if arg["lifecycle"].lower() not in TRUE:
        return [Node(**common)]
    node = LifecycleNode(arguments=["--lifecycle"], **common)
    configure = EmitEvent(
        event=ChangeState(lifecycle_node_matcher=matches_action(node), transition_id=Transition.TRANSITION_CONFIGURE)
    )
    activate = RegisterEventHandler(
        OnStateTransition(
            target_lifecycle_node=node,
            goal_state="inactive",
            entities=[
                EmitEvent(
                    event=ChangeState(
                        lifecycle_node_matcher=matches_action(node), transition_id=Transition.TRANSITION_ACTIVATE
                    )
                )
            ],
        )
    )
    return [node, activate, configure]


def generate_launch_description():
    from ament_index_python.packages import get_package_share_directory
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    from launch import LaunchDescription

    share = os.path.join(get_package_share_directory("fer_ros"), "config")
    args = [
        ("image_topic", "image_raw", "camera image topic(s), comma-separated"),
        ("input_mode", "images", "images | ros4hri (a ROS4HRI detector's aligned faces)"),
        ("device", "", "auto | cpu | cuda | cuda:N (empty: the YAML's)"),
        ("model", "", "recurrent | baseline (empty: the YAML's)"),
        ("compressed", "false", "subscribe to <topic>/compressed"),
        ("image_qos", "sensor_data", "sensor_data | reliable"),
        ("ros4hri", "true", "publish the ROS4HRI /humans/faces/... topics"),
        ("use_sim_time", "false", "follow /clock (bag replay)"),
        ("lifecycle", "false", "true: a managed node this file configures and activates"),
        ("name", "fer_node", "node name"),
        ("namespace", "", "node namespace"),
        ("config", os.path.join(share, "fer.yaml"), "engine parameter file"),
        ("node_config", os.path.join(share, "fer_node.yaml"), "node parameter file"),
    ]
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=desc) for name, default, desc in args]
        + [OpaqueFunction(function=_node)]
    )
