"""Settings of the emotion app, read at use time so tests can override them.

Each value comes from `settings.ATTUNE_<NAME>` if set, else the environment variable of the
same name (so bench/webcam.py can configure a server process), else the default below.

| setting | default | meaning |
| --- | --- | --- |
| ATTUNE_FER_MODEL | "" | expression network file; relative paths are under MODELS_DIR; empty = the `fer` package's network |
| ATTUNE_FER_BACKEND | "auto" | auto / tflite / function / predict (see emotion/fer.py) |
| ATTUNE_FER_MAX_FRAME_BYTES | 524288 | largest accepted frame (bytes) |
| ATTUNE_FER_MAX_PIXELS | 4000000 | largest accepted frame (width x height) |
| ATTUNE_FER_MAX_FPS | 5 | frames analysed per second per connection; the rest are dropped with a notice |
| ATTUNE_FER_MAX_CONCURRENT | 2 | inferences running at once in one server process (thread-pool size) |
| ATTUNE_FER_DETECT_MAX_SIDE | 240 | frames are scaled down to this longer side before Haar detection (0 = never) |
| ATTUNE_FER_HAAR_SCALE_FACTOR | 1.2 | Haar pyramid step (OpenCV's default is 1.1: slower, a little more sensitive) |
| ATTUNE_FER_MIN_FACE_FRACTION | 0.15 | smallest face searched for, as a fraction of the frame's shorter side |
| ATTUNE_FER_MAX_FACES | 8 | faces analysed per frame, largest first |
| ATTUNE_FER_SMOOTHING_TAU | 1.0 | time constant (s) of the moving average |
| ATTUNE_FER_HOLD_SECONDS | 1.5 | how long a new expression must lead before the stable label changes |
| ATTUNE_FER_TFLITE_CACHE | MODELS_DIR/cache | where converted TFLite flatbuffers are cached ("" = no cache) |
| ATTUNE_FER_PRELOAD | true | load the network when an ASGI worker starts (lifespan), not on the first frame |
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.conf import settings

_env = environ.Env()


def _get(name: str, default, cast=str):
    key = f"ATTUNE_{name}"
    if hasattr(settings, key):
        return getattr(settings, key)
    raw = _env.str(key, default=None)
    return default if raw is None else cast(raw)


def fer_model_path() -> Path | None:
    """The configured network, or None for the default shipped with the `fer` package."""
    value = _get("FER_MODEL", "")
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else Path(settings.MODELS_DIR) / path


def fer_backend() -> str:
    return _get("FER_BACKEND", "auto")


def max_frame_bytes() -> int:
    return int(_get("FER_MAX_FRAME_BYTES", 512 * 1024, int))


def max_pixels() -> int:
    return int(_get("FER_MAX_PIXELS", 4_000_000, int))


def max_fps() -> float:
    return float(_get("FER_MAX_FPS", 5.0, float))


def max_concurrent() -> int:
    return max(1, int(_get("FER_MAX_CONCURRENT", 2, int)))


def detect_max_side() -> int:
    return int(_get("FER_DETECT_MAX_SIDE", 240, int))


def haar_scale_factor() -> float:
    return float(_get("FER_HAAR_SCALE_FACTOR", 1.2, float))


def min_face_fraction() -> float:
    return float(_get("FER_MIN_FACE_FRACTION", 0.15, float))


def max_faces() -> int:
    return max(1, int(_get("FER_MAX_FACES", 8, int)))


def smoothing_tau() -> float:
    return float(_get("FER_SMOOTHING_TAU", 1.0, float))


def hold_seconds() -> float:
    return float(_get("FER_HOLD_SECONDS", 1.5, float))


def tflite_cache_dir() -> Path | None:
    value = _get("FER_TFLITE_CACHE", str(Path(settings.MODELS_DIR) / "cache"))
    return Path(value) if value else None


def preload() -> bool:
    value = _get("FER_PRELOAD", True)
    return value if isinstance(value, bool) else str(value).strip().lower() not in ("0", "false", "no", "off", "")
