from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "studies.experiments"
    label = "experiments"
    verbose_name = "A/B experiments"

    def ready(self) -> None:
        # Dependency inversion: listening asks "is there an experiment for this session?" through
        # its hook and never imports experiments (which sits above it).
        from studies.experiments.services import choose_strategy
        from studies.listening.hooks import register_strategy_chooser

        register_strategy_chooser(choose_strategy)
