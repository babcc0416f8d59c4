"""Benchmarks (`make bench`): gas per operation and driver throughput, never run as tests."""
