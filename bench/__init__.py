"""Benchmarks of neariq-sms against hand-written baselines (``python -m bench``)."""
