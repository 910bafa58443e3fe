"""Full-text search for Russian news: morphology-aware analysis on a Whoosh index."""

__version__ = "0.1.0"
