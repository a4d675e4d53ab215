"""Benchmarks (`make bench`): prints figures and records them in `bench/results.json`.

Not a test: a missed target is shown as FAIL in the table, but the run still succeeds.
Each subject has its own module (`eventlog`, `messaging`); `results` records the figures of
every bench into one file so runs can be compared over time.
"""
