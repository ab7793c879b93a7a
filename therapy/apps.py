from django.apps import AppConfig


class TherapyConfig(AppConfig):
    name = "therapy"
    verbose_name = "Therapy"

    def ready(self) -> None:
        # The apps below this one offer registries for now (the composition module of issue 15
        # will list these by direct reference instead).
        from accounts import dashboard, demo, privacy
        from studies.listening.hooks import register_session_completed
        from therapy import links
        from therapy import privacy as therapy_privacy
        from therapy.assignments import session_completed
        from therapy.demo import demo_step
        from therapy.panels import CLIENT_DASHBOARD_PANEL

        register_session_completed(session_completed)
        dashboard.register(CLIENT_DASHBOARD_PANEL)
        demo.register(demo.DemoStep(name="therapy", run=demo_step, order=75))
        # Personal whatever the research consent: always erased (links are ended, not deleted).
        privacy.register(
            privacy.DataSection(
                name="therapist_links",
                export=therapy_privacy.links_export,
                erase=lambda u: links.links_end_for_erasure(user=u),
                always_erase=True,
                models=("therapy.TherapistLink",),
            )
        )
        privacy.register(
            privacy.DataSection(
                name="notes_written",
                export=therapy_privacy.notes_export,
                erase=lambda u: links.notes_erase(user=u),
                always_erase=True,
                models=("therapy.TherapistNote",),
            )
        )
        privacy.register(
            privacy.DataSection(
                name="invites_created",
                export=therapy_privacy.invites_created_export,
                erase=lambda u: 0,  # a code names nobody; used ones are exported to both sides
                models=("therapy.TherapistInvite",),
            )
        )
        privacy.register(
            privacy.DataSection(name="invites_used", export=therapy_privacy.invites_used_export, erase=lambda u: 0)
        )
        privacy.register(
            privacy.DataSection(
                name="therapy_assignments",
                export=therapy_privacy.assignments_export,
                erase=therapy_privacy.assignments_erase,
                always_erase=True,
                models=("therapy.Assignment", "therapy.AssignmentOccurrence"),
            )
        )
