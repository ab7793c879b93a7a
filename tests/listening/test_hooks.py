import pytest

from studies.listening import hooks


def test_register_replaces_and_returns_previous():
    def first(*, user, mode):
        return hooks.StrategyChoice("iso", {}, "experiment:1/variant:1")

    def second(*, user, mode):
        return None

    old = hooks.install_strategy_chooser(first)
    try:
        assert hooks.choose_strategy(user=None, mode="personal").strategy == "iso"
        assert hooks.install_strategy_chooser(second) is first
        assert hooks.choose_strategy(user=None, mode="personal") is None
    finally:
        hooks.install_strategy_chooser(old)


def test_a_chooser_returning_garbage_is_an_error():
    old = hooks.install_strategy_chooser(lambda *, user, mode: "iso")
    try:
        with pytest.raises(TypeError):
            hooks.choose_strategy(user=None, mode="personal")
    finally:
        hooks.install_strategy_chooser(old)
