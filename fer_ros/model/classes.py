"""The one place that names expression classes and phases."""

# Output order of every class-score vector in this package (model heads, messages, files).
CLASS_NAMES = ("neutral", "angry", "disgust", "fear", "happy", "sad", "surprise")
NUM_CLASSES = len(CLASS_NAMES)
NEUTRAL = 0

# Order of the FER2013 labels (the `emotion` column of fer2013.csv).
FER2013_NAMES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# FER2013_TO_OURS[i] = index in CLASS_NAMES of FER2013 output i.
FER2013_TO_OURS = tuple(CLASS_NAMES.index(n) for n in FER2013_NAMES)

# Per-frame phase of an expression, as published per face.
PHASES = ("neutral", "onset", "apex", "offset")
