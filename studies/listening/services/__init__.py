"""Writes on listening sessions, one module per job: common (event kinds, limits, own-session
lookup), playlists (through the recommender), sessions (start, complete, abandon), events,
replan (the live re-plan from the webcam trace), trace (the per-second emotion trace) and
privacy (erasure). Import each name from its module."""
