"""fer_ros: streaming facial expression recognition and spotting for social robots."""

__version__ = "0.1.0"
