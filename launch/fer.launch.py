"""Launch fer_node with the package's config/fer.yaml.

    ros2 launch fer_ros fer.launch.py image_topic:=/camera/image_raw device:=cuda model:=baseline

Arguments: ``image_topic`` (one topic, or several separated by commas), ``device`` and
``model`` (empty: the value in the YAML), ``config`` (another parameter file),
``compressed``, ``image_qos`` and ``use_sim_time`` (bag replay with ``ros2 bag play --clock``).
Everything else comes from the YAML. The launch and launch_ros imports live inside the
function, so this file imports where they are absent.
"""

import os


def _node(context):
    from launch_ros.actions import Node

    arg = dict(context.launch_configurations.items())
    overrides = {
        "image_topics": [t.strip() for t in arg["image_topic"].split(",") if t.strip()],
        "compressed": arg["compressed"].lower() in ("true", "1", "yes"),
        "image_qos": arg["image_qos"],
        "use_sim_time": arg["use_sim_time"].lower() in ("true", "1", "yes"),
    }
    overrides.update({k: arg[k] for k in ("device", "model") if arg[k]})
    return [
        Node(
            package="fer_ros",
            executable="fer_node",
            name="fer_node",
            output="screen",
            parameters=[arg["config"], overrides],
        )
    ]


def generate_launch_description():
    from ament_index_python.packages import get_package_share_directory
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    from launch import LaunchDescription

    config = os.path.join(get_package_share_directory("fer_ros"), "config", "fer.yaml")
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "image_topic", default_value="image_raw", description="camera image topic(s), comma-separated"
            ),
            DeclareLaunchArgument(
                "device", default_value="", description="auto | cpu | cuda | cuda:N (empty: the YAML's)"
            ),
            DeclareLaunchArgument("model", default_value="", description="recurrent | baseline (empty: the YAML's)"),
            DeclareLaunchArgument("compressed", default_value="false", description="subscribe to <topic>/compressed"),
            DeclareLaunchArgument("image_qos", default_value="sensor_data", description="sensor_data | reliable"),
            DeclareLaunchArgument("use_sim_time", default_value="false", description="follow /clock (bag replay)"),
            DeclareLaunchArgument("config", default_value=config, description="parameter file"),
            OpaqueFunction(function=_node),
        ]
    )
