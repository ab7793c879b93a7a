from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Catalog and playlists"

    def ready(self) -> None:
        from accounts import dashboard, demo, privacy
        from recommender import panels
        from recommender.services.demo_catalog import demo_catalog_load
        from recommender.services.history import history_erase, history_export
        from recommender.services.imports import import_runs_export
        from recommender.services.playlists import playlist_titles_erase, playlists_erase, playlists_export

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
                models=("recommender.Playlist", "recommender.PlaylistItem"),
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
                models=("recommender.HistoryPlay", "recommender.HistoryUpload"),
            )
        )
        # A playlist's title is free text the person typed: it goes even when playlists stay.
        privacy.register(
            privacy.DataSection(
                name="playlist_titles",
                export=lambda user: [],  # exported with the playlists above
                erase=lambda user: playlist_titles_erase(user=user),
                always_erase=True,
            )
        )
        # Catalog imports a researcher started (the runs stay: they describe the catalog).
        privacy.register(
            privacy.DataSection(
                name="catalog_imports_started",
                export=lambda user: import_runs_export(user=user),
                erase=lambda user: 0,
                models=("recommender.ImportRun",),
            )
        )
        demo.register(demo.DemoStep(name="catalog", run=lambda stdout: demo_catalog_load(stdout=stdout), order=20))
