from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Catalog and playlists"

    def ready(self) -> None:
        from accounts import dashboard, demo, privacy
        from recommender import panels
        from recommender.services import demo_catalog_load, playlists_erase, playlists_export
        from recommender.services.history import history_erase, history_export

        dashboard.register(
            dashboard.Panel(
                key="persona",
                roles=("participant",),
                template="recommender/panels/persona.html",
                context=panels.persona_context,
                order=30,
            )
        )
        privacy.register(
            privacy.DataSection(
                name="playlists",
                export=lambda user: playlists_export(user=user),
                erase=lambda user: playlists_erase(user=user),
                # Sessions in studies may point at a playlist, so playlists follow the research
                # consent like other study data: kept (keyed by participant code) only with it.
            )
        )
        privacy.register(
            privacy.DataSection(
                name="streaming_history",
                export=lambda user: history_export(user=user),
                erase=lambda user: history_erase(user=user),
                # The person's own data brought for their own use: it goes with the account
                # whatever the research consent (research exports only ever see it while they consent).
                always_erase=True,
            )
        )
        demo.register(demo.DemoStep(name="catalog", run=lambda stdout: demo_catalog_load(stdout=stdout), order=20))
