"""Frames to faces: decoding uploaded frame bytes (format, size and pixel checks), Haar face
detection on a downscaled copy, tracking faces across frames, and cropping them. Pure: numpy and
OpenCV; no Django."""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")


class FrameError(ValueError):
    """A frame that cannot be analysed; the message is safe to show to the client."""


# --------------------------------------------------------------------------- decoding


@dataclass(frozen=True)
class DecodedFrame:
    gray: np.ndarray  # 2-D uint8, possibly decoded at a reduced scale
    width: int  # the image's own size, in pixels
    height: int

    @property
    def scale(self) -> float:
        """Original pixels per decoded pixel (1, 2, 4 or 8)."""
        return float(self.width / self.gray.shape[1])


def decode_frame(
    data: bytes, *, max_bytes: int = 512 * 1024, max_pixels: int = 4_000_000, target_side: int = 0
) -> DecodedFrame:
    """Decode JPEG/PNG/WebP bytes to grayscale.

    `target_side` > 0 lets a JPEG be decoded at 1/2, 1/4 or 1/8 scale as long as its longer
    side stays >= target_side (free speed for large frames). Raises FrameError with a reason.
    """
    import cv2
    from PIL import Image, UnidentifiedImageError

    if not isinstance(data, bytes | bytearray | memoryview):
        raise FrameError("A frame must be binary image data.")
    size = len(data)
    if size == 0:
        raise FrameError("Empty frame.")
    if size > max_bytes:
        raise FrameError(f"Frame of {size} bytes is larger than the limit of {max_bytes} bytes.")
    try:
        with Image.open(io.BytesIO(data)) as probe:  # reads the header only
            fmt, (width, height) = probe.format, probe.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise FrameError("Not a JPEG, PNG or WebP image.") from exc
    if fmt not in ALLOWED_FORMATS:
        raise FrameError(f"Unsupported image format {fmt}; send JPEG, PNG or WebP.")
    if width < 1 or height < 1 or width * height > max_pixels:
        raise FrameError(f"Image of {width}x{height} pixels exceeds the limit of {max_pixels} pixels.")
    flag = cv2.IMREAD_GRAYSCALE
    if fmt == "JPEG" and target_side > 0:
        longer = max(width, height)
        for factor, reduced in (
            (8, cv2.IMREAD_REDUCED_GRAYSCALE_8),
            (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
            (2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
        ):
            if longer // factor >= target_side:
                flag = reduced
                break
    gray = cv2.imdecode(np.frombuffer(bytes(data), dtype=np.uint8), flag)
    if gray is None or gray.ndim != 2 or gray.size == 0:
        raise FrameError("The image data is corrupt and could not be decoded.")
    return DecodedFrame(gray=gray, width=width, height=height)


# --------------------------------------------------------------------------- detection


Box = tuple[int, int, int, int]  # x, y, width, height in the decoded frame's pixels
FloatBox = tuple[float, float, float, float]  # the same on another pixel grid


def scale_box(box: FloatBox, k: float) -> Box:
    """A box on a grid k times finer, rounded to whole pixels."""
    x, y, w, h = box
    return (int(round(x * k)), int(round(y * k)), int(round(w * k)), int(round(h * k)))


class FaceDetector:
    """OpenCV's frontal-face Haar cascade; one cascade object per thread (they are not thread-safe)."""

    def __init__(
        self,
        *,
        max_side: int = 240,
        scale_factor: float = 1.2,
        min_neighbors: int = 5,
        min_face_fraction: float = 0.15,
        max_faces: int = 8,
    ):
        self.max_side = max_side
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_face_fraction = min_face_fraction
        self.max_faces = max_faces
        self._local = threading.local()

    def _cascade(self) -> Any:  # a cv2.CascadeClassifier
        cascade = getattr(self._local, "cascade", None)
        if cascade is None:
            import cv2

            cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")  # type: ignore[attr-defined]  # cv2.data has no stub
            if cascade.empty():
                raise RuntimeError("OpenCV's Haar cascade file could not be loaded.")
            self._local.cascade = cascade
        return cascade

    def detect(self, gray: np.ndarray, *, around: Sequence[FloatBox] | None = None) -> list[Box]:
        """Face boxes, largest first, at most `max_faces`.

        `around`: boxes where faces were a moment ago (same pixel grid as `gray`). Only the
        region around them is searched, and only for faces of about their size (0.75x-1.33x):
        a few pyramid levels on a small region instead of the whole frame.
        """
        import cv2

        if gray.ndim != 2:
            raise ValueError("detect() needs a 2-D grayscale image")
        h, w = gray.shape
        scale = 1.0
        small = gray
        if self.max_side and max(h, w) > self.max_side:
            scale = self.max_side / max(h, w)
            small = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        sh, sw = small.shape
        min_side = max(20, int(min(sh, sw) * self.min_face_fraction))
        max_size = (0, 0)
        x0 = y0 = 0
        region = small
        if around:
            boxes_s = [(bx * scale, by * scale, bw * scale, bh * scale) for bx, by, bw, bh in around]
            x0 = max(0, int(min(b[0] - 0.5 * b[2] for b in boxes_s)))
            y0 = max(0, int(min(b[1] - 0.5 * b[3] for b in boxes_s)))
            x1 = min(sw, int(max(b[0] + 1.5 * b[2] for b in boxes_s)) + 1)
            y1 = min(sh, int(max(b[1] + 1.5 * b[3] for b in boxes_s)) + 1)
            sizes = [b[2] for b in boxes_s]
            min_side = max(20, int(min(sizes) * 0.75))
            top = int(max(sizes) * 1.33) + 1
            max_size = (top, top)
            region = small[y0:y1, x0:x1]
        if min(region.shape) < min_side:
            return []
        found = self._cascade().detectMultiScale(
            region,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(min_side, min_side),
            maxSize=max_size,
        )
        boxes = []
        for x, y, bw, bh in found if len(found) else []:
            bx, by = int(round((x + x0) / scale)), int(round((y + y0) / scale))
            bw2, bh2 = int(round(bw / scale)), int(round(bh / scale))
            bw2, bh2 = min(bw2, w - bx), min(bh2, h - by)
            if bw2 > 0 and bh2 > 0:
                boxes.append((bx, by, bw2, bh2))
        boxes.sort(key=lambda b: b[2] * b[3], reverse=True)
        return boxes[: self.max_faces]


class FaceTracker:
    """Per-stream memory of where the faces were, so most frames search only near them.

    A whole-frame scan happens on the first frame, whenever the local search finds nothing,
    when the frame size changes, and every `rescan_s` seconds once at least `rescan_frames`
    local searches have been made (to notice new faces; the frame count keeps a server that
    analyses each stream only now and then from scanning every frame in full).
    Not thread-safe: one tracker per stream, one frame at a time.
    """

    def __init__(self, *, rescan_s: float = 2.0, rescan_frames: int = 3):
        self.rescan_s = rescan_s
        self.rescan_frames = rescan_frames
        self._since_full = 0
        self.boxes: list[Box] | None = None  # in the image's own pixels
        self.size: tuple[int, int] | None = None
        self.last_full = -math.inf
        self.full_scans = 0
        self.local_scans = 0

    def hint(self, t: float, size: tuple[int, int]) -> list[Box] | None:
        if not self.boxes or size != self.size:
            return None
        if t - self.last_full >= self.rescan_s and self._since_full >= self.rescan_frames:
            return None
        return self.boxes

    def update(self, boxes: list[Box], t: float, size: tuple[int, int], *, full: bool) -> None:
        self.boxes = list(boxes) or None
        self.size = size
        if full:
            self.last_full = t
            self.full_scans += 1
            self._since_full = 0
        else:
            self.local_scans += 1
            self._since_full += 1


def crop_faces(gray: np.ndarray, boxes: list[Box], size: int) -> np.ndarray:
    """(n, size, size) uint8 crops of the boxes, resized with area interpolation."""
    import cv2

    out = np.empty((len(boxes), size, size), dtype=np.uint8)
    for i, (x, y, w, h) in enumerate(boxes):
        out[i] = cv2.resize(gray[y : y + h, x : x + w], (size, size), interpolation=cv2.INTER_AREA)
    return out
