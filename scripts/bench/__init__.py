"""Benchmarks of ragqa (issue 6): run them through ``scripts/bench_index``, ``bench_query``, ``bench_scale``, ``bench_peer``."""
