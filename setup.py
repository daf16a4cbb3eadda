from glob import glob

from setuptools import find_packages, setup

package_name = "fer_ros"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*", "fer_msgs", "fer_msgs.*"]),
    package_data={package_name: ["weights/*.safetensors", "weights/*.json", "weights/*.md", "data/*.csv", "data/*.md"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*.py")),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="fer_ros developers",
    maintainer_email="fer-ros@example.com",
    description="Streaming facial expression recognition and spotting for social robots.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "fer-ros = fer_ros.cli:main",
            "fer_node = fer_ros.ros.node:main",
        ],
    },
)
