"""Benchmarks (outside the package; the package never imports them)."""
