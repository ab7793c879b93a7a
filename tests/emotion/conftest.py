"""Fixtures for the webcam inference tests: the model is loaded once per test session."""

from __future__ import annotations

import io

import numpy as np
import pytest


def _astronaut_bgr() -> np.ndarray:
    import cv2
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def encode(image: np.ndarray, ext: str = ".jpg", **params) -> bytes:
    import cv2

    flags = []
    if ext == ".jpg":
        flags = [cv2.IMWRITE_JPEG_QUALITY, params.get("quality", 70)]
    ok, buf = cv2.imencode(ext, image, flags)
    assert ok
    return buf.tobytes()


def astronaut_frame(width: int = 320, height: int = 240) -> np.ndarray:
    """The astronaut picture cropped to 4:3 (her smiling face in the upper middle) and resized."""
    import cv2

    return cv2.resize(_astronaut_bgr()[:384], (width, height), interpolation=cv2.INTER_AREA)


def five_faces_frame() -> np.ndarray:
    """Astronaut's face tiled five times (3 + 2) on a grey canvas."""
    import cv2

    face = _astronaut_bgr()[30:210, 135:315]  # 180x180 around the face
    canvas = np.full((360, 540, 3), 128, np.uint8)
    spots = [(0, 0), (0, 180), (0, 360), (180, 90), (180, 270)]
    for y, x in spots:
        canvas[y : y + 180, x : x + 180] = face
    return cv2.resize(canvas, (480, 320), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def tflite_cache(request, tmp_path_factory):
    """Converted flatbuffers survive between runs in pytest's cache (conversion takes ~7 s)."""
    cache = getattr(request.config, "cache", None)
    return cache.mkdir("attune-fer-tflite") if cache is not None else tmp_path_factory.mktemp("fer-tflite")


@pytest.fixture(scope="session")
def expression_model(tflite_cache):
    """The default network on the fastest backend, loaded once (shared with the consumer)."""
    from emotion import expression_model as network

    return network.get_model(backend="auto", cache_dir=tflite_cache)


@pytest.fixture(scope="session")
def astronaut_jpeg() -> bytes:
    return encode(astronaut_frame())


@pytest.fixture(scope="session")
def five_faces_jpeg() -> bytes:
    return encode(five_faces_frame())


@pytest.fixture(scope="session")
def blank_jpeg() -> bytes:
    return encode(np.full((240, 320, 3), 127, np.uint8))


@pytest.fixture(scope="session")
def tiny_png() -> bytes:
    return encode(np.full((10, 10, 3), 200, np.uint8), ".png")


@pytest.fixture
def png_bomb() -> bytes:
    """A valid PNG that claims 5000x5000 pixels in a few KB."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (5000, 5000)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()
