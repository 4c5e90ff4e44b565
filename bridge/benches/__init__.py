"""Benchmarks that need a running server: streaming to a moving player, serving many viewers."""
