"""Benchmark harness of cpas-compare (outside the installed package): ``python -m benchmarks``."""
