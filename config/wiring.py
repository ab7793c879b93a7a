"""What plugs into what: the one place where the lower apps meet the higher ones.

The apps depend on each other in one direction (accounts <- recommender <- studies.surveys,
studies.listening <- therapy, studies.experiments <- studies.recruitment; emotion's pure
modules import no app). Where a lower app has to call into a higher one, it offers a slot and
this module fills it, by direct reference, so a reader finds every implementer here:

1. a person's data export and erasure, section by section, in the order erasure runs;
2. the dashboard panels, in the order the dashboard shows them;
3. the demo steps of `manage.py load_demo`, in the order they run;
4. the hooks of studies.listening (which experiment decides a session's strategy; what a
   completed session means for a therapy assignment) and of studies.experiments (the analysis
   plan frozen at the first start; instrument change as a metric; recruited participants
   pinned to their study);
5. where the recommender learns a person's played sessions and own ratings;
6. where the webcam consumer hands its per-second aggregates (the trace service).

`wire()` runs once per process, from the ready() of the last installed app (config.apps), so
web, ASGI, Celery workers, management commands and tests all see the same wiring.
"""

from __future__ import annotations

from accounts import dashboard, demo, privacy
from accounts.dashboard import Panel
from accounts.demo import DemoStep
from accounts.privacy import DataSection
from emotion import consumers as webcam
from emotion.views import mood_panel_context
from recommender import panels as recommender_panels
from recommender import selectors as recommender_selectors
from recommender.services.demo_catalog import demo_catalog_load
from recommender.services.history import history_erase, history_export
from recommender.services.imports import import_runs_export
from recommender.services.playlists import playlist_titles_erase, playlists_erase, playlists_export
from studies.experiments import demo as experiments_demo
from studies.experiments import hooks as experiments_hooks
from studies.experiments.selectors import experiments_panel_for
from studies.experiments.services import choose_strategy, exposures_erase, exposures_export
from studies.listening import demo as listening_demo
from studies.listening import hooks as listening_hooks
from studies.listening import selectors as listening_selectors
from studies.listening.services import privacy as listening_privacy
from studies.listening.services.trace import trace_second_store
from studies.listening.views import dashboard_context as listening_dashboard_context
from studies.recruitment import services as recruitment
from studies.surveys import demo as surveys_demo
from studies.surveys.providers import survey_profile
from studies.surveys.selectors import surveys_panel_for
from studies.surveys.services.privacy import (
    authored_export,
    label_runs_forget_rater,
    ratings_erase,
    ratings_export,
    repeat_plans_export,
)
from therapy import demo as therapy_demo
from therapy import links as therapy_links
from therapy import privacy as therapy_privacy
from therapy.assignments import session_completed as therapy_session_completed
from therapy.panels import CLIENT_DASHBOARD_PANEL


def _nothing(user: object) -> int:
    """Erase nothing: the rows go with another section, or are not about the person."""
    return 0


def _exported_elsewhere(user: object) -> list[object]:
    return []


# 1. Export and erasure. Erasure runs top to bottom: a section whose rows point at another's
#    comes before it (traces and events before their sessions). `erase` runs only when the person
#    had not consented to research use, unless `always_erase` (personal whatever the consent).
DATA_SECTIONS: tuple[DataSection, ...] = (
    # Playlists follow the research consent like other study data (sessions may point at one).
    DataSection(name="playlists", export=lambda u: playlists_export(user=u), erase=lambda u: playlists_erase(user=u),
                models=("recommender.Playlist", "recommender.PlaylistItem")),
    # The person's own imported history, for their own use: it goes with the account.
    DataSection(name="streaming_history", export=lambda u: history_export(user=u),
                erase=lambda u: history_erase(user=u), always_erase=True,
                models=("recommender.HistoryPlay", "recommender.HistoryUpload")),
    # A playlist's title is free text the person typed: it goes even when playlists stay.
    DataSection(name="playlist_titles", export=_exported_elsewhere, erase=lambda u: playlist_titles_erase(user=u),
                always_erase=True),
    # Catalog imports a researcher started (the runs stay: they describe the catalog).
    DataSection(name="catalog_imports_started", export=lambda u: import_runs_export(user=u), erase=_nothing,
                models=("recommender.ImportRun",)),
    # Survey answers: erased unless research use was on (then kept, keyed by participant code).
    DataSection(name="survey_ratings", export=ratings_export, erase=ratings_erase, models=("surveys.Rating",),
                research_withdrawn=label_runs_forget_rater),
    DataSection(name="survey_repeat_plans", export=repeat_plans_export, erase=_nothing,  # go with the ratings
                models=("surveys.RepeatPlan",)),
    # A researcher's surveys, label runs and data sets stay (they are the studies' records).
    DataSection(name="research_authored", export=authored_export, erase=_nothing,
                models=("surveys.Survey", "surveys.LabelRun", "surveys.LabelDataset")),
    # Listening: traces and events first, then the sessions they belong to.
    DataSection(name="listening_traces", export=listening_selectors.trace_export,
                erase=lambda u: listening_privacy.trace_erase(user=u), models=("listening.EmotionTraceSecond",)),
    DataSection(name="listening_events", export=listening_selectors.events_export,
                erase=lambda u: listening_privacy.events_erase(user=u), models=("listening.PlaybackEvent",)),
    # Free text a browser put into event payloads goes whatever the research consent.
    DataSection(name="listening_event_payloads", export=_exported_elsewhere,
                erase=lambda u: listening_privacy.event_payloads_scrub(user=u), always_erase=True),
    DataSection(name="listening_sessions", export=listening_selectors.sessions_export,
                erase=lambda u: listening_privacy.sessions_erase(user=u), models=("listening.ListeningSession",)),
    DataSection(name="listening_planned_tracks", export=listening_selectors.planned_tracks_export,
                erase=_nothing, models=("listening.PlannedTrack",)),  # deleted with the sessions
    # A reflection is free text that may identify the person: it goes whatever the consent.
    DataSection(name="listening_reflections", export=listening_selectors.reflections_export,
                erase=lambda u: listening_privacy.reflections_erase(user=u), always_erase=True),
    # Therapy is personal whatever the research consent: links are ended, notes deleted.
    DataSection(name="therapist_links", export=therapy_privacy.links_export,
                erase=lambda u: therapy_links.links_end_for_erasure(user=u), always_erase=True,
                models=("therapy.TherapistLink",)),
    DataSection(name="notes_written", export=therapy_privacy.notes_export,
                erase=lambda u: therapy_links.notes_erase(user=u), always_erase=True,
                models=("therapy.TherapistNote",)),
    # An invite code names nobody; used ones are exported to both sides.
    DataSection(name="invites_created", export=therapy_privacy.invites_created_export, erase=_nothing,
                models=("therapy.TherapistInvite",)),
    DataSection(name="invites_used", export=therapy_privacy.invites_used_export, erase=_nothing),
    DataSection(name="therapy_assignments", export=therapy_privacy.assignments_export,
                erase=therapy_privacy.assignments_erase, always_erase=True,
                models=("therapy.Assignment", "therapy.AssignmentOccurrence")),
    # Experiment exposures are research data: erased unless research use was on.
    DataSection(name="experiment_exposures", export=exposures_export, erase=exposures_erase,
                models=("experiments.Exposure",)),
    DataSection(name="instrument_responses", export=recruitment.responses_export, erase=recruitment.responses_erase,
                models=("recruitment.InstrumentResponse",)),
    # The hashed external id links the account to a recruitment-service account: always erased.
    DataSection(name="study_enrollments", export=recruitment.enrollments_export,
                erase=recruitment.enrollments_erase, always_erase=True, models=("recruitment.Enrollment",)),
)

# 2. The dashboard, top to bottom (each panel shows only to its roles).
DASHBOARD_PANELS: tuple[Panel, ...] = (
    # A recruited participant who has just finished a session finds the way back to the study.
    Panel(key="recruitment-study", roles=("participant",), template="recruitment/panels/continue.html",
          context=recruitment.open_enrollments_panel),
    CLIENT_DASHBOARD_PANEL,  # "Assigned to you" by a therapist
    Panel(key="experiments", roles=("researcher",), template="experiments/panels/experiments.html",
          context=lambda request: experiments_panel_for(viewer=request.user)),
    Panel(key="listening-sessions", roles=("participant",), template="listening/panels/recent_sessions.html",
          context=listening_dashboard_context),
    Panel(key="persona", roles=("participant",), template="recommender/panels/persona.html",
          context=recommender_panels.persona_context),
    Panel(key="mood-check", roles=("participant",), template="emotion/panels/mood_check.html",
          context=mood_panel_context),
    Panel(key="surveys", roles=("participant",), template="surveys/panels/surveys.html",
          context=lambda request: surveys_panel_for(viewer=request.user)),
)

# 3. `manage.py load_demo`, in order: the catalog first, then what uses it.
DEMO_STEPS: tuple[DemoStep, ...] = (
    DemoStep(name="catalog", run=lambda stdout: demo_catalog_load(stdout=stdout)),
    DemoStep(name="survey", run=surveys_demo.demo_step),
    DemoStep(name="listening", run=listening_demo.demo_step),
    DemoStep(name="therapy", run=therapy_demo.demo_step),
    DemoStep(name="experiment", run=experiments_demo.demo_step),
)


def wire() -> None:
    """Fill every slot (idempotent)."""
    privacy.install(DATA_SECTIONS)
    dashboard.install(DASHBOARD_PANELS)
    demo.install(DEMO_STEPS)
    # 4. A running experiment decides a session's strategy; a completed session completes the
    #    therapy assignment it played (both inside the listening service's transaction).
    listening_hooks.install_strategy_chooser(choose_strategy)
    listening_hooks.install_session_completed(therapy_session_completed)
    # Recruitment freezes the analysis plan at an experiment's first start, offers instrument
    # change (post - pre) as a metric, and pins a recruited participant to their study.
    experiments_hooks.install_start_listener(recruitment.analysis_plan_freeze)
    experiments_hooks.install_metric_source(recruitment.instrument_pre_post_by_session)
    experiments_hooks.install_study_pin(recruitment.study_pin)
    # 5. The persona card and the engine learn from played sessions and the person's own ratings.
    recommender_selectors.install_providers(history=listening_selectors.history_items, profile=survey_profile)
    # 6. The webcam's per-second aggregates go to the trace service (session and consent checked there).
    webcam.install_trace_sink(trace_second_store)
