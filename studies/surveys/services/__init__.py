"""Writes on surveys, one module per job: status, responses, runs, aggregation, propagation,
label_sets (candidate, publish, roll back) and privacy. Import each name from its module."""
