"""Signals the emotion app sends.

`second_aggregated(sender, user, session_ref, aggregate)` is sent by the webcam consumer
(emotion/consumers.py) once per second of analysed frames, and only when

1. the user has the `emotion_trace` consent (checked when the client attaches a session and
   dropped at once when the consent is revoked), and
2. the client named a listening session over the socket:
   `{"type": "attach", "session": "<session reference>"}` (1-64 characters of letters, digits,
   `-`, `_`, `:`); `{"type": "detach"}` stops it.

`session_ref` is that string, unvalidated beyond its shape: the receiver (the sessions
issue's studies.services) must check that the session exists and belongs to `user`.
`aggregate` is a JSON-ready dict (emotion.smoothing.SecondAggregate.as_dict()):

    {"second": 1763900000,            # unix time of the second (UTC), whole seconds
     "frames": 3,                      # frames analysed in that second
     "frames_with_face": 2,
     "mean_probabilities": {"angry": ..., ..., "neutral": ...} | None,   # no face: None
     "valence": float | None, "arousal": float | None,                    # emotion.vocab.fer_to_va
     "stable_label": "happy" | None}   # the stabilization buffer's label at the end of it

Receivers run in a worker thread (sync_to_async) and may use the ORM. A receiver that
raises is logged and does not close the socket. Frames themselves are never passed on.
"""

from django.dispatch import Signal

second_aggregated = Signal()
