import pytest

from emotion.vocab import GEMS_INFO, N_GEMS, one_hot_gems
from studies.listening.mood import MoodError, MoodInput, va_distance


def test_gems_mood_maps_to_the_circumplex_table():
    peace = MoodInput(gems=tuple(one_hot_gems("peacefulness")))
    info = next(i for i in GEMS_INFO if i.name == "peacefulness")
    assert peace.va() == pytest.approx((info.valence, info.arousal))
    assert peace.source == "gems"
    assert peace.stated_gems() == pytest.approx(list(one_hot_gems("peacefulness")))


def test_va_mood_gets_a_soft_gems_label_but_no_stated_gems():
    mood = MoodInput(valence=0.2, arousal=-0.3)
    assert mood.va() == (0.2, -0.3)
    assert mood.stated_gems() is None
    assert sum(mood.gems_distribution()) == pytest.approx(1.0)


def test_fer_mood():
    assert MoodInput(fer="sad").va()[0] < -0.5


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"gems": (0.0,) * N_GEMS},
        {"gems": (1.0,) * 8},
        {"gems": (1.0,) * 8 + (-1.0,)},
        {"gems": (1.0,) * 8 + (float("nan"),)},
        {"valence": 0.1},
        {"valence": 1.5, "arousal": 0},
        {"valence": True, "arousal": 0},
        {"valence": "x", "arousal": 0},
        {"fer": "bored"},
        {"fer": "sad", "valence": 0.1, "arousal": 0.1},
        {"gems": (1.0,) * N_GEMS, "valence": 0.1, "arousal": 0.1},
    ],
)
def test_bad_moods_are_refused(kwargs):
    with pytest.raises(MoodError):
        MoodInput(**kwargs)


def test_from_dict_rejects_unknown_fields_and_shapes():
    assert MoodInput.from_dict({"valence": 0.5, "arousal": 0.5}).va() == (0.5, 0.5)
    for bad in (None, [], {"gems": "abc"}, {"mood": 1}, {"fer": 3}):
        with pytest.raises(MoodError):
            MoodInput.from_dict(bad)


def test_va_distance():
    assert va_distance((0, 0), (0.3, 0.4)) == pytest.approx(0.5)
    assert va_distance((0, 0), None) is None
