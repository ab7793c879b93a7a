"""Studies: song-emotion surveys (`studies.surveys`), listening sessions and A/B experiments
(`studies.listening`), and the pure science they share (labels, propagation, stats,
assignment, plots), which imports nothing from Django."""
