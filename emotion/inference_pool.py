"""The webcam's inference pool: one per server process, holding the face detector, the expression
model and a bounded thread pool, with as many slots per event loop as pool threads so frames never
queue inside the pool. Warmed at worker start (config/asgi.py's lifespan) so the first frame is
answered at once. The websocket consumer (consumers.py) submits frames here."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

from emotion import conf, expression_model, faces, fer

logger = logging.getLogger(__name__)


class InferenceEngine:
    """One per server process: the detector, the model and the bounded thread pool."""

    def __init__(
        self,
        *,
        model_path,
        backend: str,
        cache_dir,
        max_side: int,
        max_faces: int,
        workers: int,
        max_bytes: int,
        max_pixels: int,
        scale_factor: float = 1.2,
        min_face_fraction: float = 0.15,
    ):
        self.model_path, self.backend, self.cache_dir = model_path, backend, cache_dir
        self.max_bytes, self.max_pixels = max_bytes, max_pixels
        self.detector = faces.FaceDetector(
            max_side=max_side, max_faces=max_faces, scale_factor=scale_factor, min_face_fraction=min_face_fraction
        )
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fer")
        self.workers = workers
        self._slots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def slots(self, loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
        """As many slots as pool threads, so frames never queue inside the pool (one per event loop)."""
        semaphore = self._slots.get(loop)
        if semaphore is None:
            semaphore = self._slots[loop] = asyncio.Semaphore(self.workers)
        return semaphore

    def model(self) -> expression_model.ExpressionModel:
        return expression_model.get_model(self.model_path, backend=self.backend, cache_dir=self.cache_dir)

    def warm_up(self, timeout: float = 600) -> None:
        """Load the model, then give every pool thread its interpreter and Haar cascade.

        Each pool thread runs one warm-up task; the barrier keeps a task from finishing before
        the others have started, so the pool has to start all its threads to run them.
        """
        self.model()
        self.detector._cascade()  # imports OpenCV here first: two threads importing it at once can see it half-made
        barrier = threading.Barrier(self.workers)

        def warm_thread():
            try:
                self.model().warm_up()
                self.detector._cascade()
            except BaseException:
                barrier.abort()  # the other threads stop waiting; the error is raised below
                raise
            barrier.wait(timeout=timeout)

        for future in [self.executor.submit(warm_thread) for _ in range(self.workers)]:
            future.result(timeout=timeout)

    def analyze(self, data: bytes, tracker: faces.FaceTracker | None = None) -> fer.FrameAnalysis:
        return fer.analyze_frame(
            data, self.detector, self.model(), max_bytes=self.max_bytes, max_pixels=self.max_pixels, tracker=tracker
        )


_engines: dict[tuple, InferenceEngine] = {}
_engines_lock = threading.Lock()


def get_engine() -> InferenceEngine:
    """The engine for the current settings (tests change settings; production has one)."""
    options = {
        "model_path": conf.fer_model_path(),
        "backend": conf.FER_BACKEND,
        "cache_dir": conf.tflite_cache_dir(),
        "max_side": conf.DETECT_MAX_SIDE,
        "max_faces": max(1, conf.MAX_FACES),
        "workers": max(1, conf.MAX_CONCURRENT),
        "max_bytes": conf.MAX_FRAME_BYTES,
        "max_pixels": conf.MAX_PIXELS,
        "scale_factor": conf.HAAR_SCALE_FACTOR,
        "min_face_fraction": conf.MIN_FACE_FRACTION,
    }
    key = tuple(options.items())
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = InferenceEngine(**options)
            _engines[key] = engine
    return engine


def warm_up() -> float:
    """Worker start-up (config/asgi.py's lifespan): load the network before the first frame.

    Returns the seconds it took. A failure is logged, not raised: the worker still serves
    HTTP, and the webcam socket reports the error on its first frame as before.
    """
    start = time.perf_counter()
    if not conf.PRELOAD:
        return 0.0
    try:
        get_engine().warm_up()
    except Exception:
        logger.exception("Loading the expression model at worker start failed")
    took = time.perf_counter() - start
    logger.info("Expression model ready in %.2f s", took)
    return took
