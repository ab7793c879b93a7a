"""The pure inference core: decoding, detection, the network's backends, smoothing."""

from __future__ import annotations

import numpy as np
import pytest

from emotion import expression_model as network
from emotion import faces, fer, smoothing
from emotion.vocab import FER, fer_to_va
from tests.emotion.conftest import astronaut_frame, encode, five_faces_frame


@pytest.fixture(scope="module")
def detector():
    return faces.FaceDetector()


def _gray(image):
    import cv2

    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


class TestBackendsAgree:
    def test_tflite_and_tf_function_match_model_predict(self, expression_model, detector):
        from skimage import data

        assert expression_model.backend == "tflite"
        gray = _gray(astronaut_frame(640, 480))
        boxes = detector.detect(gray)
        crops = [faces.crop_faces(gray, boxes, 64)[0]]
        camera = data.camera()  # another real photo: crops of it are "faces" the network has not seen
        crops += [np.ascontiguousarray(camera[y : y + 128 : 2, x : x + 128 : 2]) for y, x in ((50, 200), (300, 100))]
        crops += [np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8)]
        crops = np.stack(crops)
        reference = network.ExpressionModel.load(backend="predict").predict(crops)
        fast = expression_model.predict(crops)
        function = network.ExpressionModel.load(backend="function").predict(crops)
        assert reference.shape == fast.shape == (4, 7)
        np.testing.assert_allclose(fast, reference, atol=1e-4)
        np.testing.assert_allclose(function, reference, atol=1e-4)
        np.testing.assert_allclose(fast.sum(axis=1), 1.0, atol=1e-6)

    def test_quantized_file_is_not_the_same_model(self, expression_model):
        """Why we convert the hdf5 ourselves instead of using the package's quantized TFLite."""
        from ai_edge_litert.interpreter import Interpreter

        crops = np.random.default_rng(2).integers(0, 256, (6, 64, 64), dtype=np.uint8)
        interp = Interpreter(model_path=str(network.quantized_model_path()))
        interp.allocate_tensors()
        quantized = []
        for x in network.preprocess(crops):
            interp.set_tensor(interp.get_input_details()[0]["index"], x[None])
            interp.invoke()
            quantized.append(interp.get_tensor(interp.get_output_details()[0]["index"])[0])
        assert np.abs(np.array(quantized) - expression_model.predict(crops)).max() > 1e-3

    def test_unknown_backend_and_missing_file_are_refused(self, tmp_path):
        with pytest.raises(ValueError, match="Unknown backend"):
            network.ExpressionModel.load(backend="gpu")
        with pytest.raises(FileNotFoundError):
            network.ExpressionModel.load(tmp_path / "nothing.keras")

    def test_tflite_cache_is_reused(self, expression_model, tflite_cache):
        files = list(tflite_cache.glob("emotion_model-*-f32.tflite"))
        assert len(files) == 1
        again = network.ExpressionModel.load(backend="tflite", cache_dir=tflite_cache)
        assert again._keras is None  # came from the cache: no Keras model was built
        crops = np.full((1, 64, 64), 90, np.uint8)
        np.testing.assert_allclose(again.predict(crops), expression_model.predict(crops), atol=1e-6)


class TestWebProcessWithoutTensorFlow:
    """A web worker runs the network under LiteRT and never imports TensorFlow (issue 16)."""

    PROBE = """
import json, sys
import numpy as np
from emotion import expression_model as network
model = network.get_model(backend="auto", cache_dir=sys.argv[1])
crops = np.random.default_rng(5).integers(0, 256, (4, 64, 64), dtype=np.uint8)
print(json.dumps({
    "backend": model.backend,
    "tensorflow": any(name == "tensorflow" or name.startswith(("tensorflow.", "keras")) for name in sys.modules),
    "probabilities": model.predict(crops).tolist(),
    "rss_mb": next(int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("VmRSS")),
}))
"""

    def test_litert_process_gives_the_keras_probabilities_without_loading_tensorflow(
        self, expression_model, tflite_cache
    ):
        import json
        import subprocess
        import sys
        from pathlib import Path

        root = Path(fer.__file__).resolve().parents[1]
        done = subprocess.run(
            [sys.executable, "-c", self.PROBE, str(tflite_cache)], cwd=root, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        probe = json.loads(done.stdout.strip().splitlines()[-1])
        assert probe["backend"] == "tflite"
        assert probe["tensorflow"] is False
        assert probe["rss_mb"] < 350  # the ceiling for a whole web worker; the model part is far below
        crops = np.random.default_rng(5).integers(0, 256, (4, 64, 64), dtype=np.uint8)
        reference = network.ExpressionModel.load(backend="predict").predict(crops)
        np.testing.assert_allclose(np.array(probe["probabilities"]), reference, atol=1e-4)

    def test_conversion_in_a_child_process_matches_keras(self, tmp_path):
        """What a web worker does on a cache miss: the flatbuffer comes from a child process."""
        content = network._convert_in_child(network.default_model_path())
        model = network.ExpressionModel.from_flatbuffer(network.default_model_path(), content)
        crops = np.random.default_rng(6).integers(0, 256, (3, 64, 64), dtype=np.uint8)
        reference = network.ExpressionModel.load(backend="predict").predict(crops)
        np.testing.assert_allclose(model.predict(crops), reference, atol=1e-4)

    def test_a_tflite_file_loads_directly_and_a_wrong_network_is_refused(self, expression_model, tmp_path):
        shipped = tmp_path / "mine.tflite"
        shipped.write_bytes(expression_model._tflite)
        again = network.ExpressionModel.load(shipped)
        crops = np.full((2, 64, 64), 30, np.uint8)
        np.testing.assert_allclose(again.predict(crops), expression_model.predict(crops), atol=1e-7)
        with pytest.raises(ValueError, match="not a grayscale"):
            network.ExpressionModel.from_flatbuffer(shipped, _rgb_net())

    def test_failed_conversion_is_a_clear_error(self, tmp_path):
        broken = tmp_path / "broken.hdf5"
        broken.write_bytes(b"not a model")
        with pytest.raises(network.ConversionError, match="broken.hdf5"):
            network.ExpressionModel.load(broken, backend="tflite", cache_dir=tmp_path / "cache")
        assert not list(tmp_path.rglob("*.tflite"))  # nothing half-written is left to be picked up later


def _rgb_net() -> bytes:
    """A tiny float flatbuffer whose input is 3-channel: not an expression network for our frames."""
    import keras
    import tensorflow as tf

    inputs = keras.Input((8, 8, 3), batch_size=1)
    net = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(inputs)))
    return tf.lite.TFLiteConverter.from_keras_model(net).convert()


class TestAnalysis:
    def test_astronaut_is_happy(self, expression_model, detector):
        result = fer.analyze_frame(encode(astronaut_frame()), detector, expression_model)
        assert len(result.faces) == 1
        face = result.primary
        assert face.dominant == "happy"
        assert face.probabilities[FER.index("happy")] > 0.9
        x, y, w, h = face.box
        assert 90 < x < 140 and 20 < y < 70 and 45 < w < 90  # her face, in 320x240 coordinates
        valence, arousal = fer_to_va(face.probabilities)
        assert valence > 0.7

    def test_large_jpeg_is_decoded_reduced_but_boxes_are_in_its_own_pixels(self, expression_model, detector):
        frame = faces.decode_frame(encode(astronaut_frame(1280, 960)), target_side=240, max_bytes=5_000_000)
        assert frame.gray.shape == (240, 320) and frame.scale == 4.0
        result = fer.analyze_frame(encode(astronaut_frame(1280, 960)), detector, expression_model, max_bytes=5_000_000)
        x, y, w, h = result.primary.box
        assert (result.width, result.height) == (1280, 960)
        assert 360 < x < 560 and 180 < w < 360 and result.primary.dominant == "happy"

    def test_downscaled_detection_finds_the_same_face_as_full_size(self, detector):
        gray = _gray(astronaut_frame(640, 480))
        small = detector.detect(gray)
        full = faces.FaceDetector(max_side=0).detect(gray)
        assert len(small) == len(full) == 1
        assert np.abs(np.array(small[0]) - np.array(full[0])).max() < 20

    def test_five_faces(self, expression_model, detector):
        result = fer.analyze_frame(encode(five_faces_frame()), detector, expression_model)
        assert len(result.faces) == 5
        assert all(f.dominant == "happy" for f in result.faces)
        areas = [f.box[2] * f.box[3] for f in result.faces]
        assert areas == sorted(areas, reverse=True)

    def test_max_faces_caps_the_work(self, expression_model):
        result = fer.analyze_frame(encode(five_faces_frame()), faces.FaceDetector(max_faces=2), expression_model)
        assert len(result.faces) == 2

    def test_no_face_is_an_empty_list(self, expression_model, detector, blank_jpeg, tiny_png):
        assert fer.analyze_frame(blank_jpeg, detector, expression_model).faces == []
        tiny = fer.analyze_frame(tiny_png, detector, expression_model)
        assert tiny.faces == [] and (tiny.width, tiny.height) == (10, 10) and tiny.primary is None


class TestTracking:
    def test_tracked_frames_search_locally_and_agree_with_full_scans(self, expression_model, detector):
        tracker = faces.FaceTracker(rescan_s=2.0)
        frame = encode(astronaut_frame())
        first = fer.analyze_frame(frame, detector, expression_model, tracker=tracker, now=0.0)
        assert (tracker.full_scans, tracker.local_scans) == (1, 0)
        second = fer.analyze_frame(frame, detector, expression_model, tracker=tracker, now=0.5)
        assert (tracker.full_scans, tracker.local_scans) == (1, 1)
        assert np.abs(np.array(second.primary.box) - np.array(first.primary.box)).max() <= 4
        assert second.primary.dominant == "happy"
        np.testing.assert_allclose(second.primary.probabilities, first.primary.probabilities, atol=0.05)
        fer.analyze_frame(frame, detector, expression_model, tracker=tracker, now=2.5)  # time, but 1 local search
        assert (tracker.full_scans, tracker.local_scans) == (1, 2)
        fer.analyze_frame(frame, detector, expression_model, tracker=tracker, now=2.6)
        assert (tracker.full_scans, tracker.local_scans) == (1, 3)
        fer.analyze_frame(frame, detector, expression_model, tracker=tracker, now=2.7)  # time and 3 searches
        assert (tracker.full_scans, tracker.local_scans) == (2, 3)

    def test_lost_face_falls_back_to_a_full_scan(self, expression_model, detector, blank_jpeg):
        tracker = faces.FaceTracker()
        fer.analyze_frame(encode(astronaut_frame()), detector, expression_model, tracker=tracker, now=0.0)
        gone = fer.analyze_frame(blank_jpeg, detector, expression_model, tracker=tracker, now=0.5)
        assert gone.faces == [] and tracker.full_scans == 2 and tracker.boxes is None
        back = fer.analyze_frame(encode(astronaut_frame()), detector, expression_model, tracker=tracker, now=1.0)
        assert back.primary.dominant == "happy" and tracker.full_scans == 3

    def test_moved_face_is_found_and_size_change_rescans(self, expression_model, detector):
        import cv2

        tracker = faces.FaceTracker()
        image = astronaut_frame()
        fer.analyze_frame(encode(image), detector, expression_model, tracker=tracker, now=0.0)
        moved = np.roll(image, (12, -15), axis=(0, 1))
        result = fer.analyze_frame(encode(moved), detector, expression_model, tracker=tracker, now=0.5)
        assert tracker.local_scans == 1 and result.primary.dominant == "happy"
        big = cv2.resize(image, (640, 480))
        fer.analyze_frame(encode(big), detector, expression_model, tracker=tracker, now=1.0)
        assert tracker.full_scans == 2


class TestDecodeRefusals:
    def test_random_bytes(self):
        with pytest.raises(faces.FrameError, match="Not a JPEG"):
            faces.decode_frame(np.random.default_rng(0).bytes(5000))

    def test_empty(self):
        with pytest.raises(faces.FrameError, match="Empty"):
            faces.decode_frame(b"")

    def test_too_large(self):
        with pytest.raises(faces.FrameError, match="larger than the limit"):
            faces.decode_frame(b"\xff" * (10 * 1024 * 1024))

    def test_other_formats(self):
        bmp = encode(np.zeros((20, 20, 3), np.uint8), ".bmp")
        with pytest.raises(faces.FrameError, match="Unsupported image format BMP"):
            faces.decode_frame(bmp)

    def test_decompression_bomb(self, png_bomb):
        assert len(png_bomb) < 100_000
        with pytest.raises(faces.FrameError, match="exceeds the limit"):
            faces.decode_frame(png_bomb, max_pixels=4_000_000)

    def test_corrupt_body_behind_a_valid_header(self, astronaut_jpeg):
        broken = astronaut_jpeg[:200] + b"\x00" * 50
        try:
            frame = faces.decode_frame(broken)
        except faces.FrameError:
            return
        assert frame.gray.shape == (240, 320)  # libjpeg may fill the missing rows: still a frame

    def test_webp_and_png_are_accepted(self):
        import cv2

        image = astronaut_frame()
        for ext in (".png", ".webp"):
            ok, buf = cv2.imencode(ext, image)
            assert faces.decode_frame(buf.tobytes()).gray.shape == (240, 320)


def probs(label: str, p: float = 0.9) -> np.ndarray:
    out = np.full(7, (1 - p) / 6)
    out[FER.index(label)] = p
    return out


class TestStabilizationBuffer:
    def test_first_reading_sets_the_label(self):
        buf = smoothing.StabilizationBuffer(tau_s=1.0, hold_s=1.5)
        mood = buf.update(probs("sad"), t=0.0)
        assert mood.label == "sad" and mood.changed
        assert mood.valence < 0

    def test_a_short_flicker_does_not_change_the_label(self):
        buf = smoothing.StabilizationBuffer(tau_s=0.3, hold_s=1.5)
        buf.update(probs("neutral"), 0.0)
        for t in (0.5, 1.0):
            assert buf.update(probs("happy"), t).label == "neutral"  # happy leads the average, but only 0.5 s
        for t in (1.5, 2.0, 2.5):
            assert buf.update(probs("neutral"), t).label == "neutral"
        assert buf._candidate is None

    def test_a_sustained_change_switches_after_the_hold_time(self):
        buf = smoothing.StabilizationBuffer(tau_s=0.3, hold_s=1.5)
        buf.update(probs("neutral"), 0.0)
        labels = {t: buf.update(probs("happy"), t).label for t in np.arange(0.5, 3.01, 0.5)}
        switch = min(t for t, label in labels.items() if label == "happy")
        assert 1.5 <= switch <= 2.5
        assert labels[0.5] == "neutral"

    def test_average_follows_with_the_time_constant(self):
        buf = smoothing.StabilizationBuffer(tau_s=1.0, hold_s=10)
        buf.update(probs("sad", 1.0), 0.0)
        mood = buf.update(probs("happy", 1.0), 1.0)
        assert mood.probabilities[FER.index("happy")] == pytest.approx(1 - np.exp(-1), abs=1e-9)
        assert mood.label == "sad"

    def test_invalid_input(self):
        buf = smoothing.StabilizationBuffer()
        for bad in (np.zeros(7), np.ones(6), np.full(7, np.nan), -probs("sad")):
            with pytest.raises(ValueError):
                buf.update(bad, 0.0)
        with pytest.raises(ValueError):
            smoothing.StabilizationBuffer(tau_s=0)

    def test_reset(self):
        buf = smoothing.StabilizationBuffer()
        buf.update(probs("sad"), 0.0)
        buf.reset()
        assert buf.current().label is None


class TestSecondAggregator:
    def test_one_aggregate_per_second(self):
        agg = smoothing.SecondAggregator()
        assert agg.add(100.1, probs("happy", 0.8), "happy") is None
        assert agg.add(100.6, None, "happy") is None
        assert agg.add(100.9, probs("happy", 0.6), "happy") is None
        done = agg.add(101.2, probs("sad"), "happy")
        assert done.second == 100 and done.frames == 3 and done.frames_with_face == 2
        assert done.mean_probabilities[FER.index("happy")] == pytest.approx(0.7)
        assert done.valence > 0.5 and done.stable_label == "happy"
        d = done.as_dict()
        assert set(d["mean_probabilities"]) == set(FER)
        last = agg.flush()
        assert last.second == 101 and last.frames == 1
        assert agg.flush() is None

    def test_second_without_faces(self):
        agg = smoothing.SecondAggregator()
        agg.add(5.0, None, None)
        done = agg.flush()
        assert done.mean_probabilities is None and done.valence is None
        assert done.as_dict()["mean_probabilities"] is None
