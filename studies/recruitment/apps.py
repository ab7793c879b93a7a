from django.apps import AppConfig


class RecruitmentConfig(AppConfig):
    name = "studies.recruitment"
    label = "recruitment"
    verbose_name = "Recruitment, instruments and analysis plans"

    def ready(self) -> None:
        from accounts import dashboard, privacy
        from studies.experiments.hooks import register_metric_source, register_start_listener, register_study_pin
        from studies.recruitment import services

        # Instrument answers are research data: kept on erasure only with research_data consent.
        privacy.register(privacy.DataSection(name="instrument_responses", export=services.responses_export,
                                             erase=services.responses_erase,
                                             models=("recruitment.InstrumentResponse",)))
        # Which study a recruited person entered; the hashed external id is personal (it links the
        # account to a recruitment-service account), so it goes on erasure whatever the consent.
        privacy.register(privacy.DataSection(name="study_enrollments", export=services.enrollments_export,
                                             erase=services.enrollments_erase, always_erase=True,
                                             models=("recruitment.Enrollment",)))
        register_start_listener(services.analysis_plan_freeze)
        # The instrument change (post − pre) as an experiment metric, per session.
        register_metric_source(services.instrument_pre_post_by_session)
        # A recruited participant's sessions belong to their study's experiment, not another one.
        register_study_pin(services.study_pin)
        # A recruited participant who has just finished a listening session finds the way back.
        dashboard.register(dashboard.Panel(key="recruitment-study", roles=("participant",),
                                           template="recruitment/panels/continue.html",
                                           context=services.open_enrollments_panel, order=1))
