from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "studies.experiments"
    label = "experiments"
    verbose_name = "A/B experiments"

    def ready(self) -> None:
        # Dependency inversion: listening asks "is there an experiment for this session?" through
        # its hook and never imports experiments (which sits above it).
        from accounts import dashboard, demo, privacy
        from studies.experiments.demo import demo_step
        from studies.experiments.selectors import experiments_panel_for
        from studies.experiments.services import choose_strategy, exposures_erase, exposures_export
        from studies.listening.hooks import register_strategy_chooser

        register_strategy_chooser(choose_strategy)
        # Exposures are research data: erased with the account unless research_data was on.
        privacy.register(privacy.DataSection(name="experiment_exposures", export=exposures_export,
                                             erase=exposures_erase, models=("experiments.Exposure",)))
        demo.register(demo.DemoStep(name="experiment", run=demo_step, order=90))
        dashboard.register(dashboard.Panel(
            key="experiments", roles=("researcher",), template="experiments/panels/experiments.html",
            context=lambda request: experiments_panel_for(viewer=request.user), order=30))
