"""Real-time AI mock-interview engine."""

__version__ = "0.1.0"
