"""Timing the train step and generation, for scripts/bench.py, beside PyTorch."""
