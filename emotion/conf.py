"""Settings of the emotion app, declared once (config/app_settings.py) and read at call time:
``conf.MAX_FPS`` is ``settings.ATTUNE_FER_MAX_FPS`` (set from the environment by
config/settings.py, which also configures bench/webcam.py's server process) or its default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from config.app_settings import Setting, Settings

SETTINGS = Settings(
    Setting("FER_MODEL", "ATTUNE_FER_MODEL", str, "",
            "expression network file; relative paths are under MODELS_DIR; empty = the `fer` package's network"),
    Setting("FER_BACKEND", "ATTUNE_FER_BACKEND", str, "auto", "auto / tflite / function / predict (see emotion/expression_model.py)"),
    Setting("MAX_FRAME_BYTES", "ATTUNE_FER_MAX_FRAME_BYTES", int, 512 * 1024, "largest accepted frame (bytes)"),
    Setting("MAX_PIXELS", "ATTUNE_FER_MAX_PIXELS", int, 4_000_000, "largest accepted frame (width x height)"),
    Setting("MAX_FPS", "ATTUNE_FER_MAX_FPS", float, 5.0,
            "frames analysed per second per connection; the rest are dropped with a notice"),
    Setting("MAX_CONCURRENT", "ATTUNE_FER_MAX_CONCURRENT", int, 2,
            "inferences running at once in one server process (thread-pool size, at least 1)"),
    Setting("DETECT_MAX_SIDE", "ATTUNE_FER_DETECT_MAX_SIDE", int, 240,
            "frames are scaled down to this longer side before Haar detection (0 = never)"),
    Setting("HAAR_SCALE_FACTOR", "ATTUNE_FER_HAAR_SCALE_FACTOR", float, 1.2,
            "Haar pyramid step (OpenCV's default is 1.1: slower, a little more sensitive)"),
    Setting("MIN_FACE_FRACTION", "ATTUNE_FER_MIN_FACE_FRACTION", float, 0.15,
            "smallest face searched for, as a fraction of the frame's shorter side"),
    Setting("MAX_FACES", "ATTUNE_FER_MAX_FACES", int, 8, "faces analysed per frame, largest first (at least 1)"),
    Setting("SMOOTHING_TAU", "ATTUNE_FER_SMOOTHING_TAU", float, 1.0, "time constant (s) of the moving average"),
    Setting("HOLD_SECONDS", "ATTUNE_FER_HOLD_SECONDS", float, 1.5,
            "how long a new expression must lead before the stable label changes"),
    Setting("TFLITE_CACHE", "ATTUNE_FER_TFLITE_CACHE", str, lambda s: str(Path(s.MODELS_DIR) / "cache"),
            "where converted TFLite flatbuffers are cached ('' = no cache)"),
    Setting("PRELOAD", "ATTUNE_FER_PRELOAD", bool, True,
            "load the network when an ASGI worker starts (lifespan), not on the first frame"),
)


def __getattr__(name: str) -> Any:
    return SETTINGS.value(name)


def fer_model_path() -> Path | None:
    """The configured network, or None for the default shipped with the `fer` package."""
    value = SETTINGS.value("FER_MODEL")
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else Path(settings.MODELS_DIR) / path


def tflite_cache_dir() -> Path | None:
    value = SETTINGS.value("TFLITE_CACHE")
    return Path(value) if value else None
