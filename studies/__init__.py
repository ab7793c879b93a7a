"""Studies: song-emotion surveys (`studies.surveys`), listening sessions (`studies.listening`),
A/B experiments (`studies.experiments`), and the pure science they share (labels, propagation, stats,
assignment, plots), which imports nothing from Django."""
