"""fer_ros as the expression stage of a ROS4HRI pipeline: hri_face_detect finds the faces, fer_node
reads their aligned crops and publishes /humans/faces/<id>/expression under the detector's ids.

    ros2 launch fer_ros fer_hri.launch.py rgb_camera:=/camera          # with hri_face_detect installed
    ros2 launch fer_ros fer_hri.launch.py detector:=false              # a detector runs elsewhere

Topics chained (REP 155): hri_face_detect subscribes to <rgb_camera>/image_raw and publishes
/humans/faces/tracked and /humans/faces/<id>/{roi,aligned,...}; fer_node (input_mode:=ros4hri)
follows /humans/faces/tracked, reads each /humans/faces/<id>/aligned and publishes
/humans/faces/<id>/expression, plus fer_msgs on /fer_node/expressions and /fer_node/intervals.
``detector``: true includes hri_face_detect's own face_detect.launch.py (it must be installed:
``apt install ros-humble-hri-face-detect`` on a ROS install; it is not on PyPI, so not here).
Other arguments: ``rgb_camera`` (the camera namespace given to hri_face_detect), ``device``,
``model``, ``lifecycle`` (as in fer_ros.launch.py).
"""

import os

TRUE = ("true", "1", "yes", "on")


def _detector(context):
    from launch.actions import IncludeLaunchDescription, LogInfo
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    if context.launch_configurations["detector"].lower() not in TRUE:
        return [LogInfo(msg="fer_hri: no detector started; waiting for /humans/faces/tracked from one")]
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        share = get_package_share_directory("hri_face_detect")
    except PackageNotFoundError:
        raise RuntimeError(
            "hri_face_detect is not installed: install it (ros-humble-hri-face-detect) or pass detector:=false "
            "and run a ROS4HRI face detector yourself"
        ) from None
    return [
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(share, "launch", "face_detect.launch.py")),
            launch_arguments={"rgb_camera": context.launch_configurations["rgb_camera"]}.items(),
        )
    ]


def generate_launch_description():
    from ament_index_python.packages import get_package_share_directory
    from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    from launch.substitutions import LaunchConfiguration

    from launch import LaunchDescription

    fer = os.path.join(get_package_share_directory("fer_ros"), "launch", "fer_ros.launch.py")
    return LaunchDescription(
        [
            DeclareLaunchArgument("detector", default_value="true", description="include hri_face_detect"),
            DeclareLaunchArgument("rgb_camera", default_value="", description="camera namespace for hri_face_detect"),
            DeclareLaunchArgument("device", default_value="", description="auto | cpu | cuda | cuda:N"),
            DeclareLaunchArgument("model", default_value="", description="recurrent | baseline"),
            DeclareLaunchArgument("lifecycle", default_value="false", description="a managed fer_node"),
            OpaqueFunction(function=_detector),
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(fer),
                launch_arguments={
                    "input_mode": "ros4hri",
                    "device": LaunchConfiguration("device"),
                    "model": LaunchConfiguration("model"),
                    "lifecycle": LaunchConfiguration("lifecycle"),
                }.items(),
            ),
        ]
    )
