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
                name="listening_traces", export=selectors.trace_export, erase=lambda u: services.trace_erase(user=u)
            )
        )
        privacy.register(
            privacy.DataSection(
                name="listening_events", export=selectors.events_export, erase=lambda u: services.events_erase(user=u)
            )
        )
        privacy.register(
            privacy.DataSection(
                name="listening_sessions",
                export=selectors.sessions_export,
                erase=lambda u: services.sessions_erase(user=u),
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
        dashboard.register(
            dashboard.Panel(
                key="listening-sessions",
                roles=("participant",),
                template="listening/panels/recent_sessions.html",
                context=views.dashboard_context,
                order=30,
            )
        )
