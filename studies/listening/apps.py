from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "studies.listening"
    label = "listening"
    verbose_name = "Listening sessions"

    def ready(self) -> None:
        from accounts import dashboard, demo, privacy
        from emotion.signals import second_aggregated
        from studies.listening import receivers, selectors, services, views
        from studies.listening.demo import demo_step

        second_aggregated.connect(receivers.store_trace_second, dispatch_uid="listening.store_trace_second")
        # Order matters for erasure: traces and events first, then the sessions themselves.
        privacy.register(
            privacy.DataSection(
                name="listening_traces",
                export=selectors.trace_export,
                erase=lambda u: services.trace_erase(user=u),
                models=("listening.EmotionTraceSecond",),
            )
        )
        privacy.register(
            privacy.DataSection(
                name="listening_events",
                export=selectors.events_export,
                erase=lambda u: services.events_erase(user=u),
                models=("listening.PlaybackEvent",),
            )
        )
        # Free text a browser put into event payloads goes whatever the research consent.
        privacy.register(
            privacy.DataSection(
                name="listening_event_payloads",
                export=lambda u: [],  # exported with the events above
                erase=lambda u: services.event_payloads_scrub(user=u),
                always_erase=True,
            )
        )
        privacy.register(
            privacy.DataSection(
                name="listening_sessions",
                export=selectors.sessions_export,
                erase=lambda u: services.sessions_erase(user=u),
                models=("listening.ListeningSession",),
            )
        )
        privacy.register(
            privacy.DataSection(
                name="listening_planned_tracks",
                export=selectors.planned_tracks_export,
                erase=lambda u: 0,  # deleted with the sessions above
                models=("listening.PlannedTrack",),
            )
        )
        # Free text may identify a person: it goes on erasure even when research data stays.
        privacy.register(
            privacy.DataSection(
                name="listening_reflections",
                export=selectors.reflections_export,
                erase=lambda u: services.reflections_erase(user=u),
                always_erase=True,
            )
        )
        demo.register(demo.DemoStep(name="listening", run=demo_step, order=70))
        # The persona card's listening history comes from real playback events.
        from recommender.selectors import register_history_provider

        register_history_provider(selectors.history_items)
        dashboard.register(
            dashboard.Panel(
                key="listening-sessions",
                roles=("participant",),
                template="listening/panels/recent_sessions.html",
                context=views.dashboard_context,
                order=30,
            )
        )
