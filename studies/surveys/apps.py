from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "studies.surveys"
    label = "surveys"
    verbose_name = "Song-emotion surveys"

    def ready(self) -> None:
        from accounts import dashboard, demo, privacy
        from recommender.selectors import register_profile_provider
        from studies.surveys.demo import demo_step
        from studies.surveys.providers import survey_profile
        from studies.surveys.selectors import surveys_panel_for
        from studies.surveys.services.privacy import (
            authored_export,
            label_runs_forget_rater,
            ratings_erase,
            ratings_export,
            repeat_plans_export,
        )

        # A person's survey answers: in their export always; erased with the account unless
        # they had research_data on (then they stay, keyed only by participant code).
        privacy.register(privacy.DataSection(name="survey_ratings", export=ratings_export, erase=ratings_erase,
                                             models=("surveys.Rating",), research_withdrawn=label_runs_forget_rater))
        privacy.register(privacy.DataSection(name="survey_repeat_plans", export=repeat_plans_export,
                                             erase=lambda u: 0,  # deleted with the ratings above
                                             models=("surveys.RepeatPlan",)))
        # A researcher's surveys, label runs and data sets stay (they are the studies' records).
        privacy.register(privacy.DataSection(name="research_authored", export=authored_export, erase=lambda u: 0,
                                             models=("surveys.Survey", "surveys.LabelRun", "surveys.LabelDataset")))
        # The listener's own answers teach the `personal` strategy (their data, for themselves).
        register_profile_provider(survey_profile)
        demo.register(demo.DemoStep(name="survey", run=demo_step, order=60))
        dashboard.register(
            dashboard.Panel(
                key="surveys", roles=("participant",), template="surveys/panels/surveys.html",
                context=lambda request: surveys_panel_for(viewer=request.user), order=40,
            )
        )
