"""reidlab: a research-grade training system for person re-identification."""

__version__ = "0.1.0"
