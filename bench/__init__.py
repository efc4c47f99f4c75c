"""Benchmarks: each prints a ratio of two things measured side by side in the same run."""
