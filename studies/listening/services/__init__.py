"""Writes on listening sessions: start, playback events (idempotent on the client's event id),
the live re-plan from the webcam trace, completion, the per-second trace, and erasure.

Playlists come from the recommender's own playlist service (see `_playlist_build`).

The package splits these by domain; every name is re-exported here, so
`from studies.listening import services` keeps working:

- common: event kinds and limits, SessionNotFound/SessionClosed, own-session lookup, mood parsing
- playlists: building a playlist through the recommender and writing the session's queue
- sessions: start (chosen or assigned playlist), completion, abandon, stale sessions
- events: recording playback events
- replan: the live re-plan from the webcam trace
- trace: the per-second webcam emotion trace
- privacy: erasure sections
"""

from studies.listening.services.common import (
    CLIENT_KINDS,
    DURATION_TOLERANCE_S,
    TRACE_REF_PREFIX,
    TRACK_BOUNDARY_KINDS,
    SessionClosed,
    SessionNotFound,
)
from studies.listening.services.common import _mood as _mood
from studies.listening.services.common import _own_session as _own_session
from studies.listening.services.events import EventInput, EventsResult, event_record, events_record
from studies.listening.services.events import _event_errors as _event_errors
from studies.listening.services.events import _session_and_queue as _session_and_queue
from studies.listening.services.playlists import BuiltPlaylist, PlannedStep
from studies.listening.services.playlists import _playlist_build as _playlist_build
from studies.listening.services.playlists import _queue_write as _queue_write
from studies.listening.services.privacy import (
    event_payloads_scrub,
    events_erase,
    reflections_erase,
    sessions_erase,
    trace_erase,
)
from studies.listening.services.replan import _trace_window as _trace_window
from studies.listening.services.replan import session_replan_check
from studies.listening.services.sessions import _check_length as _check_length
from studies.listening.services.sessions import _state as _state
from studies.listening.services.sessions import (
    mapping_target,
    session_abandon,
    session_complete,
    session_start,
    sessions_abandon_stale,
)
from studies.listening.services.trace import _probability as _probability
from studies.listening.services.trace import _probability_va as _probability_va
from studies.listening.services.trace import session_from_trace_ref, trace_second_store

__all__ = [
    "CLIENT_KINDS",
    "DURATION_TOLERANCE_S",
    "TRACE_REF_PREFIX",
    "TRACK_BOUNDARY_KINDS",
    "BuiltPlaylist",
    "EventInput",
    "EventsResult",
    "PlannedStep",
    "SessionClosed",
    "SessionNotFound",
    "event_record",
    "event_payloads_scrub",
    "events_erase",
    "events_record",
    "mapping_target",
    "reflections_erase",
    "session_abandon",
    "session_complete",
    "session_from_trace_ref",
    "session_replan_check",
    "session_start",
    "sessions_abandon_stale",
    "sessions_erase",
    "trace_erase",
    "trace_second_store",
]
