"""manage.py train_fer on a tiny FER2013-format CSV generated here (one epoch)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from emotion import expression_model as network
from emotion import inference_pool, training
from emotion.vocab import FER


def write_csv(path, rows):
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["emotion", "pixels", "Usage"])
        writer.writerows(rows)
    return path


def synthetic_rows(n_train=70, n_public=14, n_private=14, seed=0):
    """Random faces-shaped noise; the class shifts brightness so the network can learn a little."""
    rng = np.random.default_rng(seed)
    rows = []
    for usage, n in (("Training", n_train), ("PublicTest", n_public), ("PrivateTest", n_private)):
        for i in range(n):
            label = i % 7
            pixels = np.clip(rng.normal(40 + 25 * label, 20, 48 * 48), 0, 255).astype(int)
            rows.append([label, " ".join(map(str, pixels)), usage])
    return rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train once for the module through the real command."""
    from django.conf import settings as dj_settings
    from django.test import override_settings

    models_dir = tmp_path_factory.mktemp("models")
    csv_path = write_csv(models_dir / "fer2013.csv", synthetic_rows())
    out = __import__("io").StringIO()
    with override_settings(MODELS_DIR=models_dir):
        call_command(
            "train_fer", "--csv", str(csv_path), "--epochs", "1", "--batch-size", "16", "--name", "tiny", stdout=out
        )
    assert dj_settings.MODELS_DIR != models_dir
    return models_dir, out.getvalue()


def test_command_reports_held_out_accuracy_and_confusion_matrix(trained):
    models_dir, output = trained
    assert (models_dir / "tiny.keras").exists()
    report = json.loads((models_dir / "tiny.json").read_text())
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (7, 7) and matrix.sum() == 28 == report["test_rows"]
    assert report["test_accuracy"] == pytest.approx(np.trace(matrix) / 28)
    assert report["public_test_accuracy"] is not None and report["private_test_accuracy"] is not None
    assert report["epochs"] == 1 and report["train_rows"] == 63  # 10% of 70 held back for validation
    assert report["classes"] == list(FER)
    assert "Held-out test accuracy (PublicTest + PrivateTest, 28 rows)" in output
    assert "Confusion matrix" in output and 'ATTUNE_FER_MODEL = "tiny.keras"' in output


def test_architecture_follows_design_002():
    model = training.build_model()
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert sorted({c.filters for c in convs}) == [32, 64, 128]
    assert all(c.activation.__name__ == "relu" for c in convs)
    pools = [layer for layer in model.layers if layer.__class__.__name__ == "MaxPooling2D"]
    assert pools and all(tuple(p.pool_size) == (2, 2) for p in pools)
    rates = [layer.rate for layer in model.layers if layer.__class__.__name__ == "Dropout"]
    assert rates and all(0.25 <= r <= 0.5 for r in rates)
    assert model.layers[-1].units == 7 and model.layers[-1].activation.__name__ == "softmax"
    assert model.loss == "categorical_crossentropy" and model.optimizer.__class__.__name__ == "Adam"
    names = {layer.__class__.__name__ for layer in training.augmentation().layers}
    assert {"RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation"} <= names


def test_setting_selects_the_trained_model(trained, settings):
    from emotion import conf

    models_dir, _ = trained
    settings.MODELS_DIR = models_dir
    settings.ATTUNE_FER_MODEL = "tiny.keras"
    assert conf.fer_model_path() == models_dir / "tiny.keras"
    model = network.ExpressionModel.load(conf.fer_model_path(), backend="function")
    assert model.input_size == 48
    probs = model.predict(np.full((2, 48, 48), 120, np.uint8))
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    settings.ATTUNE_FER_MODEL = ""
    assert conf.fer_model_path() is None


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([[3, " ".join(["1"] * 100), "Training"]], None, "100 pixels, expected 2304"),
        ([[9, " ".join(["1"] * 2304), "Training"]], None, "outside 0-6"),
        ([["x", " ".join(["1"] * 2304), "Training"]], None, "not an integer"),
        ([[1, " ".join(["1"] * 2304), "Validation"]], None, "Usage 'Validation'"),
        ([[1, " ".join(["300"] * 2304), "Training"]], None, "0-255"),
        ([[1, " ".join(["a"] * 2304), "Training"]], None, "must be numbers"),
        ([[1, " ".join(["1"] * 2304)]], ["emotion", "pixels"], "missing column(s) Usage"),
        ([], None, "has no rows"),
        ([[1, " ".join(["1"] * 2304), "Training"]], None, "no PublicTest/PrivateTest rows"),
    ],
)
def test_malformed_csv_is_a_clear_command_error(tmp_path, settings, rows, header, message):
    settings.MODELS_DIR = tmp_path
    path = tmp_path / "bad.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header or ["emotion", "pixels", "Usage"])
        writer.writerows(rows)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("train_fer", "--csv", str(path), "--epochs", "1")
    assert not list(tmp_path.glob("*.keras"))


def test_bad_arguments(tmp_path, settings):
    settings.MODELS_DIR = tmp_path
    with pytest.raises(CommandError, match="No such file"):
        call_command("train_fer", "--csv", str(tmp_path / "missing.csv"))
    path = write_csv(tmp_path / "ok.csv", synthetic_rows(7, 7, 0))
    with pytest.raises(CommandError, match="--epochs"):
        call_command("train_fer", "--csv", str(path), "--epochs", "0")
    with pytest.raises(CommandError, match="--name"):
        call_command("train_fer", "--csv", str(path), "--name", "../escape")
    assert not list(tmp_path.glob("*.keras"))


def test_limit_keeps_n_rows_per_usage(tmp_path):
    path = write_csv(tmp_path / "f.csv", synthetic_rows(20, 10, 10))
    data = training.read_fer2013_csv(path, limit=5)
    assert len(data.images) == 15 and data.images.shape[1:] == (48, 48)
    assert sorted(set(data.usage)) == ["PrivateTest", "PublicTest", "Training"]


def test_confusion_matrix():
    m = training.confusion_matrix(np.array([0, 0, 3, 6]), np.array([0, 3, 3, 6]))
    assert m[0, 0] == 1 and m[0, 3] == 1 and m[3, 3] == 1 and m[6, 6] == 1 and m.sum() == 4


def test_the_webcam_engine_serves_the_selected_model(trained, settings, astronaut_jpeg):

    models_dir, _ = trained
    settings.MODELS_DIR = models_dir
    settings.ATTUNE_FER_MODEL = "tiny.keras"
    settings.ATTUNE_FER_BACKEND = "function"  # skip the TFLite conversion in this test
    engine = inference_pool.get_engine()
    model = engine.model()
    assert model.path == models_dir / "tiny.keras" and model.input_size == 48
    result = engine.analyze(astronaut_jpeg)
    assert len(result.faces) == 1
    assert result.faces[0].probabilities.shape == (7,)
    assert result.faces[0].probabilities.sum() == pytest.approx(1.0)
