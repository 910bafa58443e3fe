"""Benchmarks: the engine under test side by side with its peers (PostgreSQL, tantivy, Whoosh)."""
